"""TinyVLAPolicy ("tiny_vla"): a trained tiny VLA checkpoint as a `Policy`.

One stored action (the dataset's, at `fps` = control_hz / every, 20 fps by default) is what the
recorder saw the robot take on one control tick: the hand's target relative to the measured hand,
after the safety limits, and the finger opening. The expert's skills ask for such a target every
tick, and between two recorded frames the hand keeps running towards a target about that far
ahead, so one predicted 20 fps action stands for `every` (3) consecutive control ticks: it is
repeated, not divided. A chunk of K predicted actions is therefore K * every control ticks.

Images: the camera frames of the observation (`front`, `wrist_<arm>`), resized to the training
sizes; or, given `robot=` (a simulated robot), the policy renders the dataset's own small images
itself, only when it needs a new chunk (the runner then asks for no cameras every tick).

`n_action_steps` (at the dataset's fps) is how much of each chunk runs before the next
prediction (default: half of it, as Diffusion Policy runs 8 of 16: on 20 held-out tables a
539-demonstration checkpoint succeeded 5% of the time running all 10 frames, 25% running 5,
10% running 3 and 0% predicting every frame); `temporal_ensemble=m` predicts at every dataset frame and averages
the overlapping chunks' actions with ACT's weights exp(-m * i) (i = 0 the oldest prediction).

A "target" checkpoint (model.py's `action_mode`) predicts hand poses relative to the hand at
prediction time. They are made absolute once, and each control tick's action is that frame's
absolute target minus the hand measured on that tick, so the arm servoes to where the policy
wanted it rather than replaying velocities. Ensembling averages the absolute targets.
`predict_action_chunk` (what a remote server sends) gives the same targets relative to the
observed hand, i.e. the open-loop version of the same actions.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...types import Observation
from ..base import ACTION_DIM, Policy, PolicyInfo


def load_checkpoint(path: str | Path) -> dict:
    import torch

    return torch.load(str(path), map_location="cpu", weights_only=False)


class TinyVLAPolicy(Policy):
    name = "tiny_vla"

    def __init__(self, checkpoint: str | Path | dict, arms: tuple[str, ...] | None = None, robot=None,
                 n_action_steps: int | None = None, temporal_ensemble: float | None = None,
                 embedder=None, threads: int | None = 1) -> None:
        from .model import TinyVLA, TinyVLAConfig

        self.threads = threads  # torch threads while predicting (batch 1: one is fastest; None: leave as is)
        ck = checkpoint if isinstance(checkpoint, dict) else load_checkpoint(checkpoint)
        self.cfg = TinyVLAConfig.from_dict(ck["config"])
        self.model = TinyVLA(self.cfg).eval()
        self.model.load_state_dict(ck["model"])
        meta = ck.get("meta", {})
        self.every = int(meta.get("every", 3))
        ck_arms = tuple(meta.get("arms", ("arm",)))
        arms = tuple(arms) if arms is not None else (tuple(robot.arms) if robot is not None else ck_arms)
        if ACTION_DIM * len(arms) != self.cfg.action_dim:
            raise ValueError(f"the checkpoint acts for {self.cfg.action_dim // ACTION_DIM} arm(s), got arms {arms}")
        self.robot = robot
        self.n_action_steps = int(n_action_steps or max(1, self.cfg.chunk // 2))
        if not 1 <= self.n_action_steps <= self.cfg.chunk:
            raise ValueError(f"n_action_steps must be 1..{self.cfg.chunk}")
        self.ensemble = temporal_ensemble
        super().__init__(arms, (1 if temporal_ensemble is not None else self.n_action_steps) * self.every)
        self._known = {k: np.asarray(v, dtype=np.float32) for k, v in ck.get("text_embeddings", {}).items()}
        self._embedder = embedder
        self._text_cache: dict[str, object] = {}
        self._history: list[tuple[int, np.ndarray]] = []
        self._frame = 0
        self._renderer = None
        self._targets: list[np.ndarray] = []  # "target" mode: absolute per-tick targets still to run

    @property
    def info(self) -> PolicyInfo:
        cams = () if self.robot is not None else ("front", *(f"wrist_{a}" for a in self.arms))
        return PolicyInfo(self.name, self.arms, self.chunk_size, ACTION_DIM * len(self.arms), cams,
                          {"chunk": self.cfg.chunk, "every": self.every})

    def reset(self) -> None:
        super().reset()
        self._history.clear()
        self._frame = 0
        self._targets = []

    # -- inputs -------------------------------------------------------------------------------
    def text_embedding(self, instruction: str):
        import torch

        t = self._text_cache.get(instruction)
        if t is None:
            e = self._known.get(instruction)
            if e is None:
                if self._embedder is None:
                    from .text import default_embedder

                    self._embedder = default_embedder()
                e = self._embedder.embed_one(instruction)
            t = torch.from_numpy(np.asarray(e, dtype=np.float32)).unsqueeze(0)
            self._text_cache[instruction] = t
        return t

    def _camera_for(self, key: str) -> str:
        suffix = key.rsplit(".", 1)[-1]  # front, wrist, wrist_<arm>
        if suffix == "wrist":
            return f"wrist_{self.arms[0]}"
        return suffix

    def images(self, observation: Observation) -> dict[str, np.ndarray]:
        """key -> (h, w, 3) uint8 at the training size."""
        if self.robot is not None:
            if self._renderer is None:
                from ..record import DatasetCameras

                self._renderer = DatasetCameras(self.robot, None)
            frames = self._renderer.render()
        else:
            frames = {}
            for key in self.cfg.cameras:
                cam = self._camera_for(key)
                if cam not in observation.cameras:
                    raise ValueError(f"tiny_vla needs the {cam!r} camera; the observation has "
                                     f"{sorted(observation.cameras) or 'none'}")
                frames[key] = observation.cameras[cam].rgb
        return {k: resize(frames[k], *self.cfg.cameras[k]) for k in self.cfg.cameras}

    def predict_normalised_input(self, observation: Observation, instruction: str):
        import torch

        from ..record import state_vector
        from .model import images_to_tensor

        imgs = {k: images_to_tensor(v[None]) for k, v in self.images(observation).items()}
        state = torch.from_numpy(state_vector(observation, self.arms)).unsqueeze(0)
        return imgs, state, self.text_embedding(instruction)

    # -- the chunk ----------------------------------------------------------------------------
    def predict_chunk_at_fps(self, observation: Observation, instruction: str) -> np.ndarray:
        """(K, action_dim) actions at the dataset's fps."""
        import torch

        before = torch.get_num_threads()
        if self.threads and self.threads != before:
            torch.set_num_threads(self.threads)
        try:
            with torch.inference_mode():
                return self.model.predict(*self.predict_normalised_input(observation, instruction))[0].numpy()
        finally:
            if self.threads and self.threads != before:
                torch.set_num_threads(before)

    # -- "target" mode -----------------------------------------------------------------------------
    def _hands(self, observation: Observation) -> np.ndarray:
        """(n_arms, 4): the measured x, y, z, yaw of each hand."""
        from ..base import yaw_of

        return np.array([[*observation.arms[a].ee_pos, yaw_of(observation.arms[a].ee_quat)] for a in self.arms],
                        dtype=np.float64)

    def _absolute(self, chunk: np.ndarray, hands: np.ndarray) -> np.ndarray:
        """Relative chunk (K, 5 * n_arms) -> absolute targets (same shape; the gripper as is)."""
        out = chunk.astype(np.float64).copy()
        for i in range(len(self.arms)):
            out[:, 5 * i:5 * i + 4] += hands[i]
        return out

    def _relative(self, targets: np.ndarray, hands: np.ndarray) -> np.ndarray:
        out = targets.copy()
        for i in range(len(self.arms)):
            out[..., 5 * i:5 * i + 4] -= hands[i]
            out[..., 5 * i + 3] = (out[..., 5 * i + 3] + np.pi) % (2 * np.pi) - np.pi
        return out.astype(np.float32)

    def _next_targets(self, observation: Observation, instruction: str) -> list[np.ndarray]:
        """The absolute targets for the next control ticks (each frame's repeated `every` times)."""
        absolute = self._absolute(self.predict_chunk_at_fps(observation, instruction), self._hands(observation))
        if self.ensemble is None:
            rows = absolute[:self.n_action_steps]
        else:
            self._history.append((self._frame, absolute))
            self._history = [(t, c) for t, c in self._history if self._frame - t < len(c)]
            stacked = np.stack([c[self._frame - t] for t, c in self._history])  # oldest first
            w = np.exp(-self.ensemble * np.arange(len(stacked)))
            mean = (stacked * w[:, None]).sum(0) / w.sum()
            for i in range(len(self.arms)):  # yaw: average on the circle
                col = 5 * i + 3
                mean[col] = np.arctan2((np.sin(stacked[:, col]) * w).sum(), (np.cos(stacked[:, col]) * w).sum())
            rows = mean[None]
            self._frame += 1
        return [r for r in rows for _ in range(self.every)]

    def select_action(self, observation: Observation, instruction: str) -> np.ndarray:
        if self.cfg.action_mode != "target":
            return super().select_action(observation, instruction)
        if instruction != self._instruction:  # a changed instruction drops the old targets now
            self._targets, self._history, self._frame = [], [], 0  # (and the old chunks from the ensemble)
            self._instruction = instruction
        if not self._targets:
            self._targets = self._next_targets(observation, instruction)
        return self._relative(self._targets.pop(0), self._hands(observation))

    def predict_action_chunk(self, observation: Observation, instruction: str) -> np.ndarray:
        if self.cfg.action_mode == "target":
            hands = self._hands(observation)
            return np.stack([self._relative(t, hands) for t in self._next_targets(observation, instruction)])
        chunk = self.predict_chunk_at_fps(observation, instruction)
        if self.ensemble is None:
            acts = chunk[:self.n_action_steps]
        else:
            self._history.append((self._frame, chunk))
            self._history = [(t, c) for t, c in self._history if self._frame - t < len(c)]
            rows = np.stack([c[self._frame - t] for t, c in self._history])  # oldest first
            w = np.exp(-self.ensemble * np.arange(len(rows)))
            acts = ((rows * w[:, None]).sum(0) / w.sum())[None]
            self._frame += 1
        return np.repeat(acts.astype(np.float32), self.every, axis=0)


def resize(img: np.ndarray, h: int, w: int) -> np.ndarray:
    """(H, W, 3) uint8 -> (h, w, 3) uint8 (area-averaged when shrinking by a whole factor)."""
    img = np.asarray(img)[..., :3]
    H, W = img.shape[:2]
    if (H, W) == (h, w):
        return np.ascontiguousarray(img, dtype=np.uint8)
    if H % h == 0 and W % w == 0:
        fy, fx = H // h, W // w
        return img.reshape(h, fy, w, fx, 3).mean(axis=(1, 3)).round().astype(np.uint8)
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].float()
    t = F.interpolate(t, size=(h, w), mode="bilinear", antialias=True, align_corners=False)
    return t[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()
