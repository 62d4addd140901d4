"""`robot-assistant train`: fit a tiny VLA checkpoint on a LeRobotDataset v3.0 of demonstrations.

    robot-assistant train --dataset runs/demos-40 --out runs/tiny_vla.pt [--steps 4000] [--batch 64] [--resume]

The data (decoded frames, chunk targets, resizing, augmentation) comes from `data.py`. Each
training sample is one frame: its images (random shift + colour jitter), its state, its task's
MiniLM embedding, and the chunk of targets of the same step of the episode. L1 on targets
normalised by the training set's mean/std; AdamW, a linear warm-up then a cosine decay; a
checkpoint (atomic write) and a loss plot (`<out>.loss.png`) every `--ckpt-every` steps and at
the end; `--resume` continues from the checkpoint's step with its optimizer.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

from .data import augment, hand_state_columns, load_datasets, mirror_batch, mirror_columns, resize_frames


# -- checkpoints --------------------------------------------------------------------------------
def save_checkpoint(path: str | Path, ck: dict) -> None:
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        torch.save(ck, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def plot_losses(path: str | Path, losses: list[tuple[int, float]], val: list[tuple[int, float]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    if losses:
        s, v = np.array(losses).T
        ax.plot(s, v, lw=0.6, alpha=0.4, label="train (per step)")
        if len(v) >= 20:
            k = max(5, len(v) // 50)
            sm = np.convolve(v, np.ones(k) / k, mode="valid")
            ax.plot(s[k - 1:], sm, lw=1.5, label=f"train (mean of {k})")
    if val:
        s, v = np.array(val).T
        ax.plot(s, v, "o-", lw=1.5, label="held-out episodes")
    ax.set_xlabel("step")
    ax.set_ylabel("L1 (normalised actions)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, path)


def lr_at(step: int, total: int, lr: float, warmup: int) -> float:
    if step < warmup:
        return lr * (step + 1) / warmup
    p = min(1.0, (step - warmup) / max(1, total - warmup))
    return lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * p)))


_FP32 = ("_mean", "_std", "_proj")  # normalisation and whitening buffers stay exact


def export_checkpoint(src: str | Path, dst: str | Path) -> dict:
    """The policy alone, to ship or serve: config, float16 weights (loaded back into float32;
    the rounding moves actions by well under a millimetre), the training instructions'
    embeddings, the meta and the loss history. No optimizer state (two thirds of a training
    checkpoint)."""
    import torch

    from .policy import load_checkpoint

    ck = load_checkpoint(src)
    out = {"config": ck["config"], "step": ck["step"], "steps": ck.get("steps"), "meta": ck.get("meta", {}),
           "losses": ck.get("losses", [])[::10], "val": ck.get("val", []),
           "text_embeddings": ck.get("text_embeddings", {}), "saved": ck.get("saved"),
           "model": {k: (v.half() if v.is_floating_point() and not k.endswith(_FP32) else v)
                     for k, v in ck["model"].items()},
           "exported_from": str(src)}
    save_checkpoint(dst, out)
    return {"out": str(dst), "bytes": Path(dst).stat().st_size, "params": sum(v.numel() for v in ck["model"].values()
                                                                                if isinstance(v, torch.Tensor))}


# -- training -----------------------------------------------------------------------------------
def train(dataset: str | Path | list, out: str | Path, steps: int = 4000, batch: int = 64, resume: bool = False,
          lr: float = 1e-3, weight_decay: float = 1e-4, chunk: int = 10, ckpt_every: int = 500,
          val_every: int | None = None, seed: int = 0, threads: int = 2, progress: bool = True,
          embedder=None, log=None, action_mode: str = "target", image_scale: float = 1.0,
          aux_goal: float = 0.0, mirror: bool = False, init: str | Path | None = None) -> dict:
    """Train (or resume) and return a summary: steps done, first/last losses, checkpoint paths.

    `init` fine-tunes: the network, its image sizes and its normalisation start from that
    checkpoint (trained or exported), with a fresh optimizer and schedule, e.g. to add newly
    recorded demonstrations to a trained model in a fraction of the steps. `resume` wins over it
    when `out` already exists (the interrupted fine-tune goes on)."""
    import torch
    from tqdm import tqdm

    from .model import GOAL_SCALE, TinyVLA, TinyVLAConfig, fit_text_whitening, images_to_tensor, param_count
    from .policy import load_checkpoint

    if threads:
        torch.set_num_threads(threads)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    roots = [dataset] if isinstance(dataset, str | Path) else list(dataset)
    prev = load_checkpoint(out) if resume and out.exists() else None
    base = load_checkpoint(init) if init is not None and prev is None else None
    trained_sizes = {k: tuple(v) for k, v in (prev or base)["config"]["cameras"].items()} if (prev or base) else None

    def size_of(key: str, hw: tuple[int, int]) -> tuple[int, int]:
        return trained_sizes[key] if trained_sizes else (round(hw[0] * image_scale), round(hw[1] * image_scale))

    # each dataset's frames are resized as it loads: the full-size frames of all of them at once
    # would not fit in memory beside the resized ones (165 k frames: 10.6 GB at full size)
    data = load_datasets(roots, out.with_name(out.name + ".frames.npz"), progress=progress, goals=aux_goal > 0,
                         resize=lambda frames, key: resize_frames(frames, *size_of(key, frames.shape[1:3])))
    sizes = {k: tuple(v.shape[1:3]) for k, v in data.images.items()}
    # held-out episodes (for an honest loss curve): every 20th episode, when there are 10 or more
    n_eps = int(data.episode.max()) + 1
    val_eps = set(range(19, n_eps, 20)) if n_eps >= 10 else set()
    is_val = np.isin(data.episode, list(val_eps))
    train_idx, val_idx = np.flatnonzero(~is_val), np.flatnonzero(is_val)

    if embedder is None:
        from .text import default_embedder

        embedder = default_embedder()
    text = torch.from_numpy(embedder.embed(data.tasks))  # (n_tasks, 384): the encoder runs once per task
    columns = mirror_columns(data) if mirror else None
    if prev is not None or base is not None:
        cfg = TinyVLAConfig.from_dict((prev or base)["config"])
        if base is not None and aux_goal > 0:
            cfg.aux_goal = True  # the goal heads are added to the fine-tuned network (fresh)
        if mirror and cfg.state_keep is None:
            raise ValueError("--mirror on a checkpoint trained without it (its network reads the joint angles)")
    else:
        st = data.state[train_idx]
        sample = np.random.default_rng(seed).choice(train_idx, size=min(len(train_idx), 20000), replace=False)
        ac_chunks, ac_mask = data.chunk_targets(np.sort(sample), chunk, action_mode)
        ac = ac_chunks[ac_mask]  # every valid (sample, k) row: one set of statistics for all k
        if mirror:  # statistics of the data as trained on (each sample and its mirror image): symmetric
            st_m, ac_m = st.copy(), ac.copy()
            st_m[:, columns[0]] *= -1
            ac_m[:, columns[1]] *= -1
            st, ac = np.concatenate([st, st_m]), np.concatenate([ac, ac_m])
        t_mean, t_proj = fit_text_whitening(text.numpy()) if len(data.tasks) >= 8 else (None, None)
        cfg = TinyVLAConfig(action_mode=action_mode, aux_goal=aux_goal > 0,
                            state_keep=hand_state_columns(data) if mirror else None,
                            text_mean=t_mean, text_proj=t_proj, cameras=sizes,
                            state_dim=data.state.shape[1], action_dim=data.action.shape[1], chunk=chunk,
                            state_mean=st.mean(0).tolist(), state_std=np.maximum(st.std(0), 1e-3).tolist(),
                            action_mean=ac.mean(0).tolist(), action_std=np.maximum(ac.std(0), 1e-3).tolist())

    torch.manual_seed(seed + (prev["step"] if prev else 0))
    rng = np.random.default_rng([seed, prev["step"] if prev else 0])
    model = TinyVLA(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    step, losses, vals = 0, [], []
    if base is not None:
        weights = {k: v.float() if v.is_floating_point() else v for k, v in base["model"].items()}
        missing, unexpected = model.load_state_dict(weights, strict=False)
        # only heads this run adds (the goal heads of `aux_goal` on a checkpoint without them) start fresh
        if unexpected or any(not k.startswith("goal_") for k in missing):
            raise ValueError(f"--init {init}: not the same network (missing {missing[:3]}, unexpected "
                             f"{unexpected[:3]})")
    if prev is not None:
        model.load_state_dict(prev["model"])
        opt.load_state_dict(prev["optimizer"])
        step, losses, vals = int(prev["step"]), [tuple(x) for x in prev["losses"]], [tuple(x) for x in prev["val"]]
    warmup = min(200, max(1, steps // 20))
    val_every = val_every or ckpt_every
    meta = {"every": data.every, "fps": data.fps, "arms": list(data.arms), "embodiment": data.embodiment,
            "dataset": ", ".join(str(Path(r).resolve()) for r in roots), "frames": data.n, "episodes": n_eps,
            "val_episodes": sorted(val_eps), "params": param_count(model), "mirror": mirror, "aux_goal": aux_goal,
            "init": str(init) if base is not None else (prev or {}).get("meta", {}).get("init")}

    use_aux = aux_goal > 0 and cfg.aux_goal and data.goal is not None and not np.isnan(data.goal).all()
    if aux_goal > 0 and not use_aux:
        print("train: no goal positions for these episodes (no seeds in meta/recording.json, or a checkpoint "
              "without the goal heads): training without the auxiliary loss", file=sys.stderr)
    hand = data.pose_at[0] if data.pose_at else 0

    def batch_tensors(idx: np.ndarray, aug: bool):
        target, mask = data.chunk_targets(idx, cfg.chunk, cfg.action_mode)
        imgs = {}
        for k, arr in data.images.items():
            x = images_to_tensor(arr[idx])
            imgs[k] = augment(x) if aug else x
        goal = data.goal[idx] if use_aux else np.full((len(idx), 3), np.nan, np.float32)
        state = data.state[idx]  # (fancy indexing: copies, safe to mirror in place)
        if aug and mirror:
            mirror_batch(imgs, state, target, goal, rng.random(len(idx)) < 0.5, columns)
        return (imgs, torch.from_numpy(state), text[torch.from_numpy(data.task[idx])],
                torch.from_numpy(target), torch.from_numpy(mask), torch.from_numpy(goal))

    def loss_of(imgs, state, txt, target, mask, goal, with_aux: bool = False):
        """(loss to minimise, action loss): with `with_aux` the first adds `aux_goal` times the goal
        heads' L1 (in GOAL_SCALE units) on the frames whose goal is known; the curves show the
        action loss alone, so runs with and without the heads compare."""
        out = model(imgs, state, txt, aux=True) if use_aux else model(imgs, state, txt)
        pred = out[0] if use_aux else out
        err = (pred - model.normalise_actions(target)).abs().mean(-1)
        loss = (err * mask).sum() / mask.sum().clamp(min=1)
        if not (with_aux and use_aux):
            return loss, loss
        known = ~torch.isnan(goal).any(-1)
        if not known.any():
            return loss, loss
        g = goal[known] / GOAL_SCALE
        rel = g - state[known][:, hand:hand + 3] / GOAL_SCALE
        aux = (out[1][known] - g).abs().mean() + (out[2][known] - rel).abs().mean()
        return loss + aux_goal * aux, loss

    def validate() -> float | None:
        if len(val_idx) == 0:
            return None
        model.eval()
        sel = val_idx[np.linspace(0, len(val_idx) - 1, min(512, len(val_idx))).astype(int)]
        tot, n = 0.0, 0
        with torch.no_grad():
            for i in range(0, len(sel), 128):
                part = sel[i:i + 128]
                tot += float(loss_of(*batch_tensors(part, False))[1]) * len(part)
                n += len(part)
        model.train()
        return tot / n

    def checkpoint() -> None:
        v = validate()
        if v is not None and (not vals or vals[-1][0] != step):
            vals.append((step, v))
        ck = {"config": cfg.as_dict(), "model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
              "steps": steps, "losses": losses, "val": vals, "meta": meta,
              "text_embeddings": {t: text[i].numpy().copy() for i, t in enumerate(data.tasks)},
              "saved": time.time()}
        save_checkpoint(out, ck)
        plot_losses(out.with_name(out.stem + ".loss.png"), losses, vals)

    start = step
    model.train()
    bar = tqdm(total=steps, initial=step, desc="train", unit="step", disable=not progress, file=sys.stderr)
    t0 = time.perf_counter()
    while step < steps:
        for g in opt.param_groups:
            g["lr"] = lr_at(step, steps, lr, warmup)
        idx = rng.choice(train_idx, size=min(batch, len(train_idx)), replace=len(train_idx) < batch)
        loss, act_loss = loss_of(*batch_tensors(idx, True), with_aux=True)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        losses.append((step, float(act_loss.detach())))
        bar.update(1)
        if step % 10 == 0:
            bar.set_postfix(loss=f"{np.mean([v for _, v in losses[-50:]]):.4f}")
        if step % ckpt_every == 0 or step == steps:
            checkpoint()
            if log:
                log(f"step {step}: loss {np.mean([v for _, v in losses[-50:]]):.4f}"
                    + (f", held-out {vals[-1][1]:.4f}" if vals else ""))
    bar.close()
    if step == start and not out.exists():
        checkpoint()
    wall = time.perf_counter() - t0
    return {"out": str(out), "steps": step, "started_at": start, "frames": data.n, "episodes": n_eps,
            "tasks": len(data.tasks), "params": param_count(model),
            "first_loss": losses[0][1] if losses else None,
            "last_loss": float(np.mean([v for _, v in losses[-50:]])) if losses else None,
            "val": vals[-1][1] if vals else None, "wall_s": round(wall, 1),
            "s_per_step": round(wall / max(1, step - start), 4), "loss_png": str(out.with_name(out.stem + ".loss.png"))}


def main(args: argparse.Namespace) -> int:
    from ...datasets import DatasetError

    try:
        s = train(args.dataset, args.out, args.steps, args.batch, args.resume, lr=args.lr, chunk=args.chunk,
                  ckpt_every=args.ckpt_every, seed=args.seed, progress=not args.quiet,
                  action_mode=getattr(args, "action_mode", "target"), image_scale=getattr(args, "image_scale", 1.0),
                  threads=getattr(args, "threads", 2), aux_goal=getattr(args, "aux_goal", 0.0),
                  mirror=getattr(args, "mirror", False), init=getattr(args, "init", None),
                  log=(lambda m: print(m, file=sys.stderr)) if args.quiet else None)
    except (DatasetError, ValueError) as e:
        print(f"train: {e}", file=sys.stderr)
        return 2
    if getattr(args, "export", None):
        x = export_checkpoint(args.out, args.export)
        print(f"exported the policy to {x['out']} ({x['bytes'] / 1e6:.1f} MB)", file=sys.stderr)
    print(f"trained {s['started_at']} -> {s['steps']} steps on {s['frames']} frames ({s['episodes']} episodes, "
          f"{s['tasks']} instructions), {s['params']:,} parameters, {s['s_per_step']} s/step; "
          f"loss {s['first_loss']} -> {s['last_loss']}"
          + (f", held-out {s['val']:.4f}" if s["val"] is not None else "")
          + f"; checkpoint {s['out']}, loss plot {s['loss_png']}")
    return 0
