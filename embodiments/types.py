"""Plain dataclasses that cross module boundaries in `embodiments`.

Everything here is numpy + stdlib only, so importing the types never pulls in
pybullet (a real arm driver or a unit test can use them without a simulator).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

import numpy as np

# The vocabulary of ../shared/specs/dialogue-scripts.md, in one place.
OBJECT_KINDS: tuple[str, ...] = (
    "cube", "block", "bowl", "plate", "tray", "mug", "ball", "duck", "teddy", "lego",
)
CONTAINER_KINDS: tuple[str, ...] = ("bowl", "plate", "tray", "mug")
PICKABLE_KINDS: tuple[str, ...] = ("cube", "block", "ball", "duck", "teddy", "lego")
COLORS: dict[str, tuple[float, float, float]] = {
    "red": (0.85, 0.12, 0.10),
    "green": (0.15, 0.65, 0.20),
    "blue": (0.12, 0.30, 0.85),
    "yellow": (0.95, 0.85, 0.10),
    "orange": (0.98, 0.50, 0.05),
    "purple": (0.50, 0.15, 0.65),
    "white": (0.93, 0.93, 0.93),
    "black": (0.08, 0.08, 0.08),
    "pink": (0.98, 0.55, 0.75),
    "brown": (0.50, 0.30, 0.12),
}
# Kinds with a natural look: color may be omitted in a scene description.
NATURAL_COLORS: dict[str, str] = {"duck": "yellow", "teddy": "brown", "mug": "white"}

# Half-extent of the usable table area in the scene frame (metres).
TABLE_HALF = 0.25


class RobotError(Exception):
    """Base of every typed error raised by embodiments; the message is user-readable."""


class UnknownObjectError(RobotError):
    pass


class UnreachableError(RobotError):
    pass


class OffTableError(RobotError):
    pass


@dataclass(frozen=True)
class CameraFrame:
    """One rendered (or captured) camera image with what is needed to deproject it."""

    name: str
    rgb: np.ndarray  # (H, W, 3) uint8
    depth: np.ndarray  # (H, W) float32, metres along the optical axis
    segmentation: np.ndarray  # (H, W) int32 instance ids (-1 background); ids carry no semantics
    view: np.ndarray  # (4, 4) world -> camera (OpenGL convention, column-major flattened by pybullet)
    proj: np.ndarray  # (4, 4) projection
    near: float
    far: float


@dataclass(frozen=True)
class ArmState:
    q: np.ndarray  # joint positions (rad)
    dq: np.ndarray  # joint velocities (rad/s)
    ee_pos: np.ndarray  # (3,) scene frame
    ee_quat: np.ndarray  # (4,) xyzw
    gripper_width: float  # metres between the fingers
    gripper_closed: bool  # last gripper command was "close"


@dataclass(frozen=True)
class Observation:
    time: float  # sim seconds
    arms: dict[str, ArmState]
    cameras: dict[str, CameraFrame] = field(default_factory=dict)


@dataclass
class ArmCommand:
    """What a controller asks one arm to do for the next control tick.

    Either a Cartesian end-effector target (ee_pos [+ ee_quat]) that the embodiment
    turns into joints with its own IK, or joint positions. `gripper` is a target
    opening in metres (None keeps the last one).
    """

    ee_pos: np.ndarray | None = None
    ee_quat: np.ndarray | None = None
    joints: np.ndarray | None = None
    gripper: float | None = None
    max_speed: float | None = None  # m/s cap requested by the skill (never above the safety cap)


@dataclass(frozen=True)
class Clip:
    """A record of a command the safety limits changed, with the reason."""

    arm: str
    reason: str


class SkillStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class SkillResult:
    skill: str
    status: SkillStatus
    reason: str = ""
    sim_seconds: float = 0.0
    arm: str = ""

    @property
    def ok(self) -> bool:
        return self.status is SkillStatus.SUCCEEDED

    def __str__(self) -> str:
        tail = f": {self.reason}" if self.reason else ""
        return f"{self.skill} [{self.arm}] {self.status.value}{tail} ({self.sim_seconds:.2f}s)"


@dataclass(frozen=True)
class DetectedObject:
    """An object as perception sees it (never the simulator's ground truth)."""

    track_id: int
    kind: str
    color: str
    position: np.ndarray  # (3,) scene frame, centre of the visible points
    size: np.ndarray  # (3,) extents of the visible points (x, y, z)
    point: tuple[int, int]  # Gemini-Robotics-ER style [y, x], 0-1000
    box: tuple[int, int, int, int]  # [y0, x0, y1, x1], 0-1000
    confidence: float
    yaw: float = 0.0  # radians: direction of the footprint's long axis (grasp across it)
    top_z: float = 0.0  # height of the highest visible point above the table
    kind_scores: dict[str, float] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.color} {self.kind}"


@dataclass(frozen=True)
class PerceivedScene:
    """What perception made of one set of camera frames."""

    time: float
    objects: tuple[DetectedObject, ...]
    person: np.ndarray | None = None  # (3,) position of a person at the table, if one is seen

    def find(self, kind: str | None = None, color: str | None = None) -> list[DetectedObject]:
        return [o for o in self.objects if (kind is None or o.kind == kind) and (color is None or o.color == color)]


GripperAction = Literal["open", "close"]
