"""Physical safety limits every command passes through (always on, not bypassable).

The embodiment applies these inside `send_action`, so a scripted skill, a learned
policy and a remote policy server are all clipped the same way; each clip is
recorded with its reason. A robot that stops itself (unexpected contact, see
`sim/contact.py`) reports it as a `SafetyStop` in `robot.safety_stop` until released.
"""
from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from .types import Clip

log = logging.getLogger(__name__)

PERSON_SPEED = 0.25  # m/s at the end effector with a person in the scene (ISO/TS 15066 reduced speed)
# A person seen as one point (perception's `PerceivedScene.person`, the mock's person) is modelled
# as a vertical cylinder of this radius. Perception's point is the median of the person's visible
# points, on the near side of the body (x = 0.45 m for the simulated person whose torso front is
# at 0.45 m), so the radius stands for a head or a hand leaning forward, not the torso's depth.
# Objects on the table (|x| <= 0.25 m) stay clear of it with 2 cm to spare.
PERSON_RADIUS = 0.10


@dataclass(frozen=True)
class SafetyLimits:
    workspace_lo: tuple[float, float, float] = (-0.36, -0.45, 0.008)
    workspace_hi: tuple[float, float, float] = (0.34, 0.45, 0.6)
    max_ee_speed: float = 0.5  # m/s
    person_ee_speed: float = PERSON_SPEED
    max_lead: float = 0.04  # m: how far a Cartesian target may run ahead of the real hand
    # m: no robot link may be commanded closer than this to the person (the keep-out). Normal
    # skills at the table's far edge come within 0.107 m (kuka wrist, measured in sim/contact.py);
    # 0.08 m is three times what the arm travels while it stops at the reduced speed (0.025 m).
    person_margin: float = 0.08
    # N: contact force (mean over a control tick) of the hand on what it handles above which the
    # robot stops; any contact with the table, a fixture, the other arm or the person above
    # `contact_min_force` stops it. Numbers measured on the normal skills: see sim/contact.py.
    contact_force_limit: float = 700.0
    contact_min_force: float = 2.0

    def ee_speed(self, person_present: bool) -> float:
        return min(self.max_ee_speed, self.person_ee_speed) if person_present else self.max_ee_speed

    def person_clearance(self, point, person) -> float:
        """How far `point` (a hand, a plan's waypoint) is from a person seen at `person` (inf: none).

        The person is a point here (what perception reports), modelled as a vertical cylinder of
        PERSON_RADIUS around it. The simulated robot also checks every link against the
        person's real shape (sim/contact.py)."""
        if person is None:
            return float("inf")
        return float(np.hypot(point[0] - person[0], point[1] - person[1])) - PERSON_RADIUS

    def near_person(self, point, person) -> bool:
        """Is `point` inside the person's keep-out (closer than `person_margin`)?"""
        return self.person_clearance(point, person) < self.person_margin


@dataclass(frozen=True)
class SafetyStop:
    """The robot stopped itself: why, where and when. Held (and reported) until `release()`."""

    time: float  # sim seconds
    arm: str
    reason: str  # "contact: panda_hand touched the table (35 N)"
    link: str = ""
    other: str = ""  # table | fixture | person | arm <name> | object
    force: float = 0.0  # N


@dataclass
class ClipLog:
    """The recent clips, for tests, the UI and the task log."""

    recent: deque[Clip] = field(default_factory=lambda: deque(maxlen=200))
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, arm: str, reason: str) -> None:
        self.recent.append(Clip(arm, reason))
        key = reason.split(":")[0]
        if key not in self.counts:
            log.info("safety clip on %s: %s", arm, reason)
        self.counts[key] = self.counts.get(key, 0) + 1


def clip_box(p: np.ndarray, lo, hi) -> tuple[np.ndarray, bool]:
    q = np.clip(p, lo, hi)
    return q, bool(np.any(np.abs(q - p) > 1e-9))


def clip_step(target: np.ndarray, current: np.ndarray, max_step: float) -> tuple[np.ndarray, bool]:
    """Move from `current` toward `target` by at most `max_step` (Euclidean)."""
    d = target - current
    n = float(np.linalg.norm(d))
    if n <= max_step:
        return target, False
    return current + d * (max_step / n), True
