"""Physical safety limits every command passes through (always on, not bypassable).

The embodiment applies these inside `send_action`, so a scripted skill, a learned
policy and a remote policy server are all clipped the same way; each clip is
recorded with its reason.
"""
from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from .types import Clip

log = logging.getLogger(__name__)

PERSON_SPEED = 0.25  # m/s at the end effector with a person in the scene (ISO/TS 15066 reduced speed)


@dataclass(frozen=True)
class SafetyLimits:
    workspace_lo: tuple[float, float, float] = (-0.36, -0.45, 0.008)
    workspace_hi: tuple[float, float, float] = (0.34, 0.45, 0.6)
    max_ee_speed: float = 0.5  # m/s
    person_ee_speed: float = PERSON_SPEED
    max_lead: float = 0.04  # m: how far a Cartesian target may run ahead of the real hand

    def ee_speed(self, person_present: bool) -> float:
        return min(self.max_ee_speed, self.person_ee_speed) if person_present else self.max_ee_speed


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
