"""The robot interface, in the style of lerobot's `Robot`.

A robot connects, observes, acts and disconnects. `send_action` returns what was
actually sent after the safety limits clipped it. A robot also owns its control
clock (`advance`): in simulation that steps physics; a real driver would sleep
until the next control tick.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from .types import ArmCommand, Observation


class Robot(ABC):
    name: str = "robot"
    arms: tuple[str, ...] = ()
    control_hz: int = 60

    @abstractmethod
    def connect(self) -> None: ...

    @abstractmethod
    def disconnect(self) -> None: ...

    @property
    @abstractmethod
    def is_connected(self) -> bool: ...

    @abstractmethod
    def get_observation(self, cameras: bool = True) -> Observation: ...

    @abstractmethod
    def send_action(self, action: dict[str, ArmCommand]) -> dict[str, ArmCommand]:
        """Apply one command per arm for the next tick; returns the commands actually sent."""

    @abstractmethod
    def advance(self) -> None:
        """Let one control tick pass."""

    @abstractmethod
    def halt(self) -> None:
        """E-stop: from the next tick on, hold still and ignore commands until `release`."""

    @abstractmethod
    def release(self) -> None: ...

    @property
    @abstractmethod
    def halted(self) -> bool: ...

    @abstractmethod
    def max_joint_speed(self) -> float:
        """Fastest joint (rad/s or m/s for fingers) over all arms: the 'at rest' measure."""

    @abstractmethod
    def reach(self, arm: str, point: np.ndarray) -> float:
        """How well `arm` reaches `point` from above (0 = not at all, 1 = comfortably)."""

    @abstractmethod
    def home_pose(self, arm: str) -> tuple[np.ndarray, float]:
        """Where `arm`'s hand rests between tasks (out of the cameras' way): position and yaw."""

    @property
    def time(self) -> float:
        return 0.0

    @property
    def observation_features(self) -> dict[str, tuple]:
        f: dict[str, tuple] = {}
        for a in self.arms:
            f.update({f"{a}.q": (7,), f"{a}.dq": (7,), f"{a}.ee_pos": (3,), f"{a}.gripper": (1,)})
        return f

    @property
    def action_features(self) -> dict[str, tuple]:
        f: dict[str, tuple] = {}
        for a in self.arms:
            f.update({f"{a}.ee_pos": (3,), f"{a}.ee_quat": (4,), f"{a}.gripper": (1,)})
        return f

    def __enter__(self) -> Robot:
        self.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.disconnect()

    def hold(self) -> dict[str, ArmCommand]:
        """A command that keeps every arm where it is (used between skills)."""
        obs = self.get_observation(cameras=False)
        return {a: ArmCommand(ee_pos=obs.arms[a].ee_pos, ee_quat=obs.arms[a].ee_quat) for a in self.arms}
