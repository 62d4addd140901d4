"""Small deterministic policies: `hold` (stand still) and `replay` (actions from a .npy file).

They serve tests (of the policy server and its clients) and are handy as a safe placeholder
controller. Registered in `embodiments.policies` as "hold" and "replay".
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..types import Observation
from .base import ACTION_DIM, Policy


def hold_row(observation: Observation, arm: str) -> list[float]:
    """Zero motion for one arm, its gripper kept as it is: a hand closed (on an object) keeps
    being told to close (target 0: full grip force), an open one keeps its current opening; a
    position hold at the measured width would drop the grip force and let an object slip."""
    st = observation.arms[arm]
    return [0.0, 0.0, 0.0, 0.0, 0.0 if st.gripper_closed else float(st.gripper_width)]


class HoldPolicy(Policy):
    """Zero end-effector motion, gripper unchanged, for every arm."""

    name = "hold"

    def predict_action_chunk(self, observation: Observation, instruction: str) -> np.ndarray:
        row = np.asarray([v for a in self.arms for v in hold_row(observation, a)], dtype=np.float32)
        return np.tile(row, (self.chunk_size, 1))


class ReplayPolicy(Policy):
    """Plays back recorded actions: a .npy of shape (T, ACTION_DIM * n_arms), `chunk_size` rows per
    call, ignoring the observation. At the end it starts over (`loop`) or raises; `reset` rewinds."""

    name = "replay"

    def __init__(self, path: str | Path, arms: tuple[str, ...] = ("arm",), chunk_size: int = 1,
                 loop: bool = False) -> None:
        super().__init__(arms, chunk_size)
        self.path = Path(path)
        actions = np.load(self.path)
        if actions.ndim == 1:
            actions = actions[None]
        dim = ACTION_DIM * len(self.arms)
        if actions.ndim != 2 or actions.shape[1] != dim or len(actions) == 0:
            raise ValueError(f"replay: {self.path} holds actions of shape {actions.shape}; expected (T, {dim})")
        self.actions = actions.astype(np.float32)
        self.loop = loop
        self._pos = 0

    def reset(self) -> None:
        super().reset()
        self._pos = 0

    def predict_action_chunk(self, observation: Observation, instruction: str) -> np.ndarray:
        if self._pos >= len(self.actions):
            if not self.loop:
                raise RuntimeError(f"replay: all {len(self.actions)} recorded actions of {self.path.name} "
                                   "were played (reset to start over)")
            self._pos = 0
        chunk = self.actions[self._pos:self._pos + self.chunk_size]
        self._pos += len(chunk)
        return chunk.copy()
