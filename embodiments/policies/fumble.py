"""Recovery demonstrations: a first grasp that misses on purpose (`robot-assistant record --fumble P`).

Why: the learned policy's commonest failure (traced in closed loop) is a grasp that closes 1-2 cm
beside the object. It then lifts an empty hand and never tries again, because no demonstration
ever shows a missed grasp: the expert does not miss. DART noise (`dart.py`) teaches small
corrections on the way, not what to do once the fingers have closed on nothing.

A fumbled episode aims its first pick 2.5-4.5 cm off the object: the expert's perception is shifted
(every object by the same offset, so the grasp-yaw choice sees the same neighbours). The pick
skill then closes on nothing (or on a rim that slips out while lifting), sees it from the finger
opening and reopens (its own missed-grasp branches), and the recorder runs the step again with
true perception: a fresh look, a new approach and a real grasp, then the rest of the plan.

What is recorded starts at the first tick the fingers reopen after closing on nothing: the
deliberate miss (approach and close at the wrong place) is not behaviour to learn, the recovery
is. An episode whose shifted grasp still catches the object, or that fails another way, is not
kept (the recorder counts it as skipped).
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from ..types import PerceivedScene

CLOSED_CMD = 0.002  # m: a gripper command below this is "close"


class Fumble:
    """The shifted perception for the missed first grasp, and the gate that starts recording."""

    def __init__(self, rng: np.random.Generator, perceive: Callable[[], PerceivedScene],
                 radius: tuple[float, float] = (0.025, 0.045)) -> None:
        a = float(rng.uniform(0, 2 * math.pi))
        r = float(rng.uniform(*radius))
        self.offset = np.array([r * math.cos(a), r * math.sin(a), 0.0])
        self._perceive = perceive
        self.aiming_off = True  # the first pick's perception is shifted
        self.recording = False
        self._closed = False

    def perceive(self) -> PerceivedScene:
        scene = self._perceive()
        if not self.aiming_off:
            return scene
        moved = tuple(dataclasses.replace(o, position=np.asarray(o.position, dtype=np.float64) + self.offset)
                      for o in scene.objects)
        return dataclasses.replace(scene, objects=moved)

    def gate(self, gripper_cmds: list[float]) -> bool:
        """Whether this tick is recorded: from the first reopening after a close, on."""
        if self.recording:
            return True
        if any(g < CLOSED_CMD for g in gripper_cmds):
            self._closed = True
        elif self._closed:
            self.recording = True
        return self.recording

    @staticmethod
    def missed(reason: str) -> bool:
        """Did the shifted pick end the way it should: one of the skill's missed-grasp branches
        (closed on nothing at the object, or a rim caught and lost while lifting: the empty hand
        up in the air is the learned policy's own failure state)."""
        from ..skills.library import MISSED_GRASP, SLIPPED_GRASP

        return MISSED_GRASP in reason or SLIPPED_GRASP in reason
