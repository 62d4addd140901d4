"""`robot-assistant train`: fit a tiny VLA checkpoint on a LeRobotDataset v3.0 of demonstrations.

    robot-assistant train --dataset runs/demos-40 --out runs/tiny_vla.pt [--steps 4000] [--batch 64] [--resume]

The dataset's videos are decoded once into uint8 arrays (kept next to the checkpoint as
`<out>.frames.npz`, reused while the dataset is unchanged). Each training sample is one frame:
its images (random shift + colour jitter), its state, its task's MiniLM embedding, and the next
K actions of the same step of the episode (a chunk running past the step's end is padded with
its last action and masked out of the loss). L1 on actions normalised by the training set's
mean/std; AdamW, a linear warm-up then a cosine decay; a checkpoint (atomic write) and a loss
plot (`<out>.loss.png`) every `--ckpt-every` steps and at the end; `--resume` continues from
the checkpoint's step with its optimizer.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CACHE_VERSION = 1


@dataclass
class TrainData:
    images: dict[str, np.ndarray]  # key -> (N, h, w, 3) uint8
    state: np.ndarray  # (N, S) float32
    action: np.ndarray  # (N, A) float32
    task: np.ndarray  # (N,) int: index into tasks
    episode: np.ndarray  # (N,) int
    segment_end: np.ndarray  # (N,) int: the last frame of the frame's step (same episode and task)
    tasks: list[str]
    fps: int
    every: int
    arms: tuple[str, ...]
    embodiment: str
    pose_at: tuple[int, ...] = ()  # per arm: the index of its ee_x in the state (ee_x, ee_y, ee_z, yaw follow)

    @property
    def n(self) -> int:
        return len(self.state)

    def chunk_indices(self, idx: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(B, k) frame indices of each sample's next k actions (clamped to its step) and the mask."""
        raw = idx[:, None] + np.arange(k)[None, :]
        end = self.segment_end[idx][:, None]
        return np.minimum(raw, end), raw <= end

    def chunk_targets(self, idx: np.ndarray, k: int, mode: str) -> tuple[np.ndarray, np.ndarray]:
        """(B, k, A) training targets for the samples `idx` and the (B, k) mask (see model.py's
        `action_mode`). "target": the commanded hand pose of each future frame (its measured pose +
        its recorded action) relative to the pose measured at the sample's frame; the finger
        opening as recorded."""
        ci, mask = self.chunk_indices(idx, k)
        act = self.action[ci]
        if mode == "delta":
            return act, mask
        if mode != "target":
            raise ValueError(f"unknown action mode {mode!r}")
        out = act.copy()
        for a, off in enumerate(self.pose_at):
            col = a * 5  # ACTION_DIM per arm: dx, dy, dz, dyaw, gripper
            rel = self.state[ci][..., off:off + 4] + act[..., col:col + 4] - self.state[idx][:, None, off:off + 4]
            rel[..., 3] = (rel[..., 3] + np.pi) % (2 * np.pi) - np.pi
            out[..., col:col + 4] = rel
        return out, mask


def _fingerprint(reader) -> dict:
    return {"version": CACHE_VERSION, "root": str(Path(reader.root).resolve()), "frames": reader.num_frames,
            "episodes": reader.num_episodes, "keys": reader.video_keys}


def load_dataset(root: str | Path, cache: str | Path | None = None, progress: bool = False) -> TrainData:
    from tqdm import tqdm

    from ...datasets import LeRobotV3Reader

    reader = LeRobotV3Reader(root)
    if reader.num_episodes == 0:
        raise ValueError(f"{root}: no episodes")
    rec_path = Path(root) / "meta" / "recording.json"
    rec = json.loads(rec_path.read_text()) if rec_path.exists() else {}
    every = int(rec.get("every", 3))
    names = reader.features["action"]["names"]
    arms = tuple(dict.fromkeys(n.split(".")[0] for n in names))
    state_names = list(reader.features["observation.state"]["names"])
    pose_at = tuple(state_names.index(f"{a}.ee_x") for a in arms)
    fp = _fingerprint(reader)
    images: dict[str, np.ndarray] | None = None
    if cache is not None and Path(cache).exists():
        try:
            with np.load(cache, allow_pickle=False) as z:
                if json.loads(str(z["fingerprint"])) == fp:
                    images = {k: z[f"img/{k}"] for k in reader.video_keys}
        except (OSError, ValueError, KeyError):
            images = None
    states, actions, tasks, eps = [], [], [], []
    frames: dict[str, list[np.ndarray]] = {k: [] for k in reader.video_keys}
    for ep in tqdm(range(reader.num_episodes), desc="decoding", unit="ep", disable=not progress, file=sys.stderr):
        e = reader.episode(ep, videos=images is None)
        n = len(e["observation.state"])
        states.append(e["observation.state"].astype(np.float32))
        actions.append(e["action"].astype(np.float32))
        tasks.append(np.asarray(e["task_index"], dtype=np.int64))
        eps.append(np.full(n, ep, dtype=np.int64))
        if images is None:
            for k in reader.video_keys:
                if len(e[k]) != n:
                    raise ValueError(f"episode {ep}: {len(e[k])} {k} frames for {n} rows")
                frames[k].append(e[k])
    if images is None:
        images = {k: np.concatenate(v).astype(np.uint8) for k, v in frames.items()}
        if cache is not None:
            tmp = Path(cache).with_name(f".{Path(cache).name}.{os.getpid()}.tmp.npz")
            np.savez(tmp, fingerprint=json.dumps(fp), **{f"img/{k}": v for k, v in images.items()})
            os.replace(tmp, cache)
    task = np.concatenate(tasks)
    episode = np.concatenate(eps)
    n = len(task)
    seg_end = np.empty(n, dtype=np.int64)
    last = n - 1
    for i in range(n - 1, -1, -1):
        if i < n - 1 and (episode[i + 1] != episode[i] or task[i + 1] != task[i]):
            last = i
        seg_end[i] = last
    return TrainData(images, np.concatenate(states), np.concatenate(actions), task, episode, seg_end,
                     list(reader.tasks), reader.fps, every, arms, str(reader.info.get("robot_type") or ""),
                     pose_at)


def resize_frames(frames: np.ndarray, h: int, w: int, batch: int = 2048) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, h, w, 3) uint8, exactly as the policy resizes one frame at run time."""
    from .policy import resize

    if frames.shape[1:3] == (h, w):
        return frames
    return np.concatenate([resize_batch(frames[i:i + batch], h, w, resize) for i in range(0, len(frames), batch)])


def resize_batch(frames: np.ndarray, h: int, w: int, one) -> np.ndarray:
    H, W = frames.shape[1:3]
    if H % h == 0 and W % w == 0:  # the policy's area average: the same on a batch
        return np.stack([one(f, h, w) for f in frames])
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()
    t = F.interpolate(t, size=(h, w), mode="bilinear", antialias=True, align_corners=False)
    return t.permute(0, 2, 3, 1).round().clamp(0, 255).to(torch.uint8).numpy()


def load_datasets(roots: list[str | Path], cache: str | Path | None = None, progress: bool = False) -> TrainData:
    """Several datasets of the same robot as one (e.g. clean demonstrations + DART-noised ones):
    episodes are numbered on, instructions merged. Each keeps its own decoded-frames cache."""
    if len(roots) == 1:
        return load_dataset(roots[0], cache, progress)
    def cache_of(i: int):  # the first dataset's cache is the single-dataset one (a resume reuses it)
        return None if cache is None else (cache if i == 0 else Path(cache).with_name(f"{Path(cache).name}.{i}.npz"))

    parts = [load_dataset(r, cache_of(i), progress) for i, r in enumerate(roots)]
    first = parts[0]
    for d, r in zip(parts[1:], roots[1:]):
        if (d.fps, d.every, d.arms, d.pose_at, d.state.shape[1], d.action.shape[1]) != (
                first.fps, first.every, first.arms, first.pose_at, first.state.shape[1], first.action.shape[1]) \
                or {k: v.shape[1:] for k, v in d.images.items()} != {k: v.shape[1:] for k, v in first.images.items()}:
            raise ValueError(f"{r}: not the same robot, rate, cameras or state/action layout as {roots[0]}")
    tasks = list(dict.fromkeys(t for d in parts for t in d.tasks))
    index = {t: i for i, t in enumerate(tasks)}
    ep_off, fr_off, task, episode, seg_end = 0, 0, [], [], []
    for d in parts:
        task.append(np.array([index[d.tasks[i]] for i in d.task], dtype=np.int64))
        episode.append(d.episode + ep_off)
        seg_end.append(d.segment_end + fr_off)
        ep_off += int(d.episode.max()) + 1
        fr_off += d.n
    return TrainData({k: np.concatenate([d.images[k] for d in parts]) for k in first.images},
                     np.concatenate([d.state for d in parts]), np.concatenate([d.action for d in parts]),
                     np.concatenate(task), np.concatenate(episode), np.concatenate(seg_end), tasks, first.fps,
                     first.every, first.arms, first.embodiment, first.pose_at)


# -- augmentation -------------------------------------------------------------------------------
def augment(x, pad: int = 4, jitter: float = 0.2):
    """Random shift (replicate-pad then crop, per sample) and colour jitter (brightness, contrast,
    per-channel gain) on a (B, 3, h, w) batch in [0, 1]."""
    import torch
    import torch.nn.functional as F

    b, _, h, w = x.shape
    if pad:
        xp = F.pad(x, (pad, pad, pad, pad), mode="replicate")
        dy = torch.randint(0, 2 * pad + 1, (b,))
        dx = torch.randint(0, 2 * pad + 1, (b,))
        rows = (dy[:, None] + torch.arange(h)[None, :])  # (b, h)
        cols = (dx[:, None] + torch.arange(w)[None, :])  # (b, w)
        bi = torch.arange(b)[:, None, None]
        x = xp.permute(0, 2, 3, 1)[bi, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
    if jitter:
        bright = 1 + (torch.rand(b, 1, 1, 1) * 2 - 1) * jitter
        contrast = 1 + (torch.rand(b, 1, 1, 1) * 2 - 1) * jitter
        gain = 1 + (torch.rand(b, 3, 1, 1) * 2 - 1) * jitter / 2
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = ((x - mean) * contrast + mean) * bright * gain
        x = x.clamp(0, 1)
    return x


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
          embedder=None, log=None, action_mode: str = "target", image_scale: float = 1.0) -> dict:
    """Train (or resume) and return a summary: steps done, first/last losses, checkpoint paths."""
    import torch
    from tqdm import tqdm

    from .model import TinyVLA, TinyVLAConfig, fit_text_whitening, images_to_tensor, param_count

    if threads:
        torch.set_num_threads(threads)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    roots = [dataset] if isinstance(dataset, str | Path) else list(dataset)
    data = load_datasets(roots, out.with_name(out.name + ".frames.npz"), progress=progress)
    prev = None
    if resume and out.exists():
        from .policy import load_checkpoint

        prev = load_checkpoint(out)
    if prev is not None:
        sizes = {k: tuple(v) for k, v in prev["config"]["cameras"].items()}
    else:
        sizes = {k: (round(v.shape[1] * image_scale), round(v.shape[2] * image_scale)) for k, v in data.images.items()}
    data.images = {k: resize_frames(v, *sizes[k]) for k, v in data.images.items()}
    # held-out episodes (for an honest loss curve): every 20th episode, when there are 10 or more
    n_eps = int(data.episode.max()) + 1
    val_eps = set(range(19, n_eps, 20)) if n_eps >= 10 else set()
    is_val = np.isin(data.episode, list(val_eps))
    train_idx, val_idx = np.flatnonzero(~is_val), np.flatnonzero(is_val)

    if embedder is None:
        from .text import default_embedder

        embedder = default_embedder()
    text = torch.from_numpy(embedder.embed(data.tasks))  # (n_tasks, 384): the encoder runs once per task
    if prev is not None:
        cfg = TinyVLAConfig.from_dict(prev["config"])
    else:
        st = data.state[train_idx]
        sample = np.random.default_rng(seed).choice(train_idx, size=min(len(train_idx), 20000), replace=False)
        ac_chunks, ac_mask = data.chunk_targets(np.sort(sample), chunk, action_mode)
        ac = ac_chunks[ac_mask]  # every valid (sample, k) row: one set of statistics for all k
        t_mean, t_proj = fit_text_whitening(text.numpy()) if len(data.tasks) >= 8 else (None, None)
        cfg = TinyVLAConfig(action_mode=action_mode, text_mean=t_mean, text_proj=t_proj, cameras=sizes,
                            state_dim=data.state.shape[1], action_dim=data.action.shape[1], chunk=chunk,
                            state_mean=st.mean(0).tolist(), state_std=np.maximum(st.std(0), 1e-3).tolist(),
                            action_mean=ac.mean(0).tolist(), action_std=np.maximum(ac.std(0), 1e-3).tolist())

    torch.manual_seed(seed + (prev["step"] if prev else 0))
    rng = np.random.default_rng([seed, prev["step"] if prev else 0])
    model = TinyVLA(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    step, losses, vals = 0, [], []
    if prev is not None:
        model.load_state_dict(prev["model"])
        opt.load_state_dict(prev["optimizer"])
        step, losses, vals = int(prev["step"]), [tuple(x) for x in prev["losses"]], [tuple(x) for x in prev["val"]]
    warmup = min(200, max(1, steps // 20))
    val_every = val_every or ckpt_every
    meta = {"every": data.every, "fps": data.fps, "arms": list(data.arms), "embodiment": data.embodiment,
            "dataset": ", ".join(str(Path(r).resolve()) for r in roots), "frames": data.n, "episodes": n_eps,
            "val_episodes": sorted(val_eps), "params": param_count(model)}

    def batch_tensors(idx: np.ndarray, aug: bool):
        target, mask = data.chunk_targets(idx, cfg.chunk, cfg.action_mode)
        imgs = {}
        for k, arr in data.images.items():
            x = images_to_tensor(arr[idx])
            imgs[k] = augment(x) if aug else x
        return (imgs, torch.from_numpy(data.state[idx]), text[torch.from_numpy(data.task[idx])],
                torch.from_numpy(target), torch.from_numpy(mask))

    def loss_of(imgs, state, txt, target, mask):
        pred = model(imgs, state, txt)
        err = (pred - model.normalise_actions(target)).abs().mean(-1)
        return (err * mask).sum() / mask.sum().clamp(min=1)

    def validate() -> float | None:
        if len(val_idx) == 0:
            return None
        model.eval()
        sel = val_idx[np.linspace(0, len(val_idx) - 1, min(512, len(val_idx))).astype(int)]
        tot, n = 0.0, 0
        with torch.no_grad():
            for i in range(0, len(sel), 128):
                part = sel[i:i + 128]
                tot += float(loss_of(*batch_tensors(part, False))) * len(part)
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
        loss = loss_of(*batch_tensors(idx, True))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        losses.append((step, float(loss.detach())))
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
                  threads=getattr(args, "threads", 2),
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
