"""Training data for the tiny VLA: a LeRobotDataset v3.0 (or several) as arrays, its chunk
targets, image resizing and augmentation (used by `train.py`).

The dataset's videos are decoded once into uint8 arrays (kept next to the checkpoint as
`<out>.frames.npz`, reused while the dataset is unchanged). Each training sample is one frame:
its images, its state, its task and the next K actions of the same step of the episode (a chunk
running past the step's end is padded with its last action and masked out of the loss).
"""
from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

Resize = Callable[[np.ndarray, str], np.ndarray]  # (full-size frames, camera key) -> frames to train on

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
    goal: np.ndarray | None = None  # (N, 3) float32: where the frame's step goes (see `episode_goals`), NaN unknown

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


# -- where each step goes (the auxiliary target) -----------------------------------------------
def episode_goals(rec: dict) -> dict[int, dict[str, np.ndarray]]:
    """episode_index -> {"obj": xyz, "dest": xyz}: where the episode's object and container
    stood on the table when it began, redrawn from the recording's (seed, attempt) exactly as
    `record` drew the scene (the draw is deterministic and needs no simulator). The physics then
    settles objects by a few millimetres, a ball or a duck by up to about 2 cm (on 146 recorded
    episodes the hand closed a median 0.45 cm, at most 2.2 cm, from this point): close enough for
    a training signal that asks "which object, roughly where". Episodes without a seed (another
    recorder) are left out."""
    from ...sim.objects import place_objects
    from ..record import draw_fitting_scene

    out = {}
    for e in rec.get("episodes", []):
        if "seed" not in e or "attempt" not in e:
            continue
        drawn = draw_fitting_scene(np.random.default_rng([int(e["seed"]), int(e["attempt"])]))
        if drawn is None:
            continue
        spec = drawn[0]
        placed = place_objects(spec.objects, spec.seed)
        out[int(e["episode_index"])] = {k: np.array([*placed[k][0], 0.0], dtype=np.float32) for k in ("obj", "dest")}
    return out


def frame_goals(episode: np.ndarray, task: np.ndarray, tasks: list[str], goals: dict) -> np.ndarray:
    """(N, 3): per frame, the object's place during a "pick up ..." step and the container's
    during the step that puts it there; NaN where the episode's scene is unknown."""
    out = np.full((len(episode), 3), np.nan, dtype=np.float32)
    picks = np.array([t.lower().startswith("pick") for t in tasks])
    for ep, g in goals.items():
        sel = episode == ep
        if not sel.any():
            continue
        pick = picks[task[sel]]
        out[sel] = np.where(pick[:, None], g["obj"][None, :], g["dest"][None, :])
    return out


def _fingerprint(reader) -> dict:
    return {"version": CACHE_VERSION, "root": str(Path(reader.root).resolve()), "frames": reader.num_frames,
            "episodes": reader.num_episodes, "keys": reader.video_keys}


def load_dataset(root: str | Path, cache: str | Path | None = None, progress: bool = False,
                 goals: bool = False, resize: Resize | None = None) -> TrainData:
    """One dataset's frames for training; `goals` also redraws each episode's scene for the
    auxiliary goal targets (`episode_goals`: only `train --aux-goal` needs them). `resize(frames,
    key)`, if given, maps each camera's full-size frames (cached as decoded) to what training uses."""
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
    goal = frame_goals(episode, task, list(reader.tasks), episode_goals(rec)) if goals else None
    if resize is not None:
        for k in list(images):
            images[k] = resize(images.pop(k), k)
    return TrainData(images, np.concatenate(states), np.concatenate(actions), task, episode, seg_end,
                     list(reader.tasks), reader.fps, every, arms, str(reader.info.get("robot_type") or ""),
                     pose_at, goal)


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


def load_datasets(roots: list[str | Path], cache: str | Path | None = None, progress: bool = False,
                  goals: bool = False, resize: Resize | None = None) -> TrainData:
    """Several datasets of the same robot as one (e.g. clean demonstrations + DART-noised ones):
    episodes are numbered on, instructions merged. Each keeps its own decoded-frames cache."""
    if len(roots) == 1:
        return load_dataset(roots[0], cache, progress, goals, resize)
    def cache_of(i: int):  # the first dataset's cache is the single-dataset one (a resume reuses it)
        return None if cache is None else (cache if i == 0 else Path(cache).with_name(f"{Path(cache).name}.{i}.npz"))

    parts = [load_dataset(r, cache_of(i), progress, goals, resize) for i, r in enumerate(roots)]
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
                     first.every, first.arms, first.embodiment, first.pose_at,
                     np.concatenate([d.goal if d.goal is not None else np.full((d.n, 3), np.nan, np.float32)
                                     for d in parts]) if goals else None)


# -- augmentation -------------------------------------------------------------------------------
def mirror_columns(data: TrainData) -> tuple[list[int], list[int]]:
    """(state columns, action columns) that change sign when the world is mirrored left-right
    (y -> -y): each arm's hand y and yaw, and the y and yaw of its actions."""
    if len(data.arms) != 1:
        raise ValueError("mirroring swaps the arms of a two-arm robot: only one-arm datasets can be mirrored")
    st = [c for off in data.pose_at for c in (off + 1, off + 3)]
    ac = [c for a in range(len(data.arms)) for c in (a * 5 + 1, a * 5 + 3)]
    return st, ac


def hand_state_columns(data: TrainData) -> list[int]:
    """Each arm's hand pose and gripper in the state (ee_x, ee_y, ee_z, yaw, gripper): what a
    mirror-trained model sees (mirrored joint angles are not the joint angles negated)."""
    return [c for off in data.pose_at for c in range(off, off + 5)]


def mirror_batch(images: dict, state: np.ndarray, target: np.ndarray, goal: np.ndarray, flip: np.ndarray,
                 columns: tuple[list[int], list[int]]) -> None:
    """Mirror the samples `flip` (a (B,) bool mask) in place, as if the table were seen in a
    mirror through the robot's base (y -> -y): the front camera looks straight down the x axis
    from above and the wrist camera is beside the fingers in the hand's x-z plane, so both images
    mirror to a left-right flip (a test renders a scene and its mirror image to check this); the
    hand's y and yaw, the actions' y and yaw, and the goal's y change sign. The instructions name
    no sides, so they stay. One more layout for every recorded one, for free."""
    if not flip.any():
        return
    st_cols, ac_cols = columns
    state[np.ix_(flip, st_cols)] *= -1
    sub = target[flip]
    sub[..., ac_cols] *= -1
    target[flip] = sub
    goal[flip, 1] *= -1
    import torch

    m = torch.from_numpy(flip)
    for k, x in images.items():
        images[k] = torch.where(m[:, None, None, None], x.flip(-1), x)


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
