"""Policies: observation + instruction -> actions, lerobot-style, for every controller.

The interface every controller implements (the scripted expert, the learned tiny VLA,
a remote policy server): `reset()`, `predict_action_chunk(obs, instruction)` returning
a chunk of actions, and `select_action(obs, instruction)` popping one action per
control tick from a queue refilled by `predict_action_chunk`. A new instruction (the
person changed their mind, or the plan moved on) drops whatever is queued from the old
one at the very next tick, as lerobot's `set_task` does.

Actions are end-effector deltas, the same for every embodiment (so one policy can drive
a Panda or a KUKA), ACTION_DIM numbers per arm in the robot's arm order:
    [dx, dy, dz, dyaw, gripper]
dx, dy, dz: metres to move the gripper in the scene frame during this control tick;
dyaw: radians about the vertical (grasps are top-down); gripper: target opening in
metres. `to_commands` turns one action into `ArmCommand`s; the robot's safety limits
(workspace, speed, joints) clip it like any other command.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from ..types import ArmCommand, Observation

ACTION_DIM = 5  # per arm: dx, dy, dz, dyaw, gripper
ACTION_NAMES = ("dx", "dy", "dz", "dyaw", "gripper")


@dataclass(frozen=True)
class PolicyInfo:
    name: str
    arms: tuple[str, ...]
    chunk_size: int
    action_dim: int  # ACTION_DIM * len(arms)
    cameras: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)


class Policy(ABC):
    """Base class: subclasses implement `predict_action_chunk` (and may override `reset`)."""

    name = "policy"

    def __init__(self, arms: tuple[str, ...], chunk_size: int = 1) -> None:
        self.arms, self.chunk_size = tuple(arms), chunk_size
        self._queue: deque[np.ndarray] = deque()
        self._instruction: str | None = None

    @property
    def info(self) -> PolicyInfo:
        return PolicyInfo(self.name, self.arms, self.chunk_size, ACTION_DIM * len(self.arms))

    def reset(self) -> None:
        self._queue.clear()
        self._instruction = None

    @abstractmethod
    def predict_action_chunk(self, observation: Observation, instruction: str) -> np.ndarray:
        """(chunk, ACTION_DIM * n_arms) actions for the next control ticks."""

    def select_action(self, observation: Observation, instruction: str) -> np.ndarray:
        """One action for this control tick (ACTION_DIM * n_arms numbers)."""
        if instruction != self._instruction:  # a changed instruction drops the old chunk now
            self._queue.clear()
            self._instruction = instruction
        if not self._queue:
            chunk = np.asarray(self.predict_action_chunk(observation, instruction), dtype=np.float32)
            if chunk.ndim != 2 or chunk.shape[1] != ACTION_DIM * len(self.arms) or len(chunk) == 0:
                raise ValueError(f"{self.name}: expected a (chunk, {ACTION_DIM * len(self.arms)}) action chunk, "
                                 f"got shape {chunk.shape}")
            self._queue.extend(chunk)
        return self._queue.popleft()


def yaw_of(quat: np.ndarray) -> float:
    """Yaw of a top-down gripper orientation (xyzw)."""
    x, y, z, w = (float(v) for v in quat)
    return float(np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)))


def to_commands(action: np.ndarray, observation: Observation, arms: tuple[str, ...]) -> dict[str, ArmCommand]:
    """One action vector -> ArmCommands relative to the arms' current end-effector poses."""
    from ..skills.runner import home_quat

    a = np.asarray(action, dtype=np.float64).reshape(len(arms), ACTION_DIM)
    out: dict[str, ArmCommand] = {}
    for row, arm in zip(a, arms):
        st = observation.arms[arm]
        pos = np.asarray(st.ee_pos, dtype=np.float64) + row[:3]
        yaw = yaw_of(st.ee_quat) + float(row[3])
        out[arm] = ArmCommand(ee_pos=pos, ee_quat=home_quat(yaw), gripper=float(row[4]))
    return out


def from_commands(commands: dict[str, ArmCommand], observation: Observation,
                  arms: tuple[str, ...]) -> np.ndarray:
    """ArmCommands (e.g. a scripted skill's) -> one action vector, the inverse of `to_commands`;
    an arm with no command holds still with its gripper as it is."""
    rows = []
    for arm in arms:
        st, cmd = observation.arms[arm], commands.get(arm)
        if cmd is None or cmd.ee_pos is None:
            rows.append([0.0, 0.0, 0.0, 0.0, st.gripper_width if cmd is None or cmd.gripper is None else cmd.gripper])
            continue
        d = np.asarray(cmd.ee_pos, dtype=np.float64) - np.asarray(st.ee_pos, dtype=np.float64)
        dyaw = 0.0 if cmd.ee_quat is None else _wrap(yaw_of(cmd.ee_quat) - yaw_of(st.ee_quat))
        grip = st.gripper_width if cmd.gripper is None else cmd.gripper
        rows.append([d[0], d[1], d[2], dyaw, grip])
    return np.asarray(rows, dtype=np.float32).reshape(-1)


def _wrap(a: float) -> float:
    return float((a + np.pi) % (2 * np.pi) - np.pi)
