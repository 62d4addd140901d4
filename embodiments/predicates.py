"""World predicates of the dialogue-script spec's `final:` table, read from ground truth.

These are success checks: they look at the simulator's true poses and contacts,
never at what perception or the assistant believe. Each check returns
`(holds, why)` where `why` says in plain words what was measured, so a failing
script or benchmark reports something a person can act on.

| check | holds when |
| `in: [A, B]` | A's centre inside B's footprint (x, y), above B's base, A not held |
| `not_in: [A, B]` | the opposite of `in` |
| `on: [A, B]` | A's centre over B's footprint, A's bottom within 0.015 m of B's top, A not held |
| `left_of` / `right_of: [A, B]` | A's y more than 0.05 m greater / smaller than B's |
| `near: [A, B]` | centres within 0.12 m in the table plane |
| `unmoved: A` | within 0.02 m of its start (or of where a scene `move` put it) |
| `held: A` / `gripper_empty: true` | a gripper holds A / no gripper holds anything |

`status` and `refused` are about the dialogue, not the world: the script runner
checks those itself.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .types import UnknownObjectError

ON_GAP = 0.015
SIDE_GAP = 0.05
NEAR = 0.12
UNMOVED = 0.02
WORLD_CHECKS = ("in", "not_in", "on", "left_of", "right_of", "near", "unmoved", "held", "gripper_empty")


class PredicateError(ValueError):
    """A malformed check (unknown name, wrong arguments)."""


class WorldTruth:
    """Ground-truth checks on a connected `SimRobot` (its world and its arms' fingers)."""

    def __init__(self, robot) -> None:
        self.robot = robot
        self.world = robot.world

    # -- geometry ---------------------------------------------------------------------------
    def centre(self, oid: str) -> np.ndarray:
        """Centre of the object's bounding box (the body origin of a mesh can be off-centre)."""
        lo, hi = self.world.aabb(oid)
        return (lo + hi) / 2

    def footprint(self, oid: str) -> tuple[np.ndarray, float, np.ndarray]:
        """(centre xy, yaw, half extents xy in the object's own frame) of its collision shape."""
        c = self.world.c
        body = self.world.body(oid)
        pos, quat = c.getBasePositionAndOrientation(body)
        yaw = c.getEulerFromQuaternion(quat)[2]
        # The world-axis box of a turned object is too big; read the box with the yaw
        # taken out, then put the pose back exactly (velocities are untouched by a reset).
        roll, pitch, _ = c.getEulerFromQuaternion(quat)
        c.resetBasePositionAndOrientation(body, pos, c.getQuaternionFromEuler([roll, pitch, 0.0]))
        lo, hi = c.getAABB(body)
        c.resetBasePositionAndOrientation(body, pos, quat)
        lo, hi = np.array(lo), np.array(hi)
        local_centre = (lo[:2] + hi[:2]) / 2 - np.array(pos[:2])
        cy, sy = math.cos(yaw), math.sin(yaw)
        centre = np.array(pos[:2]) + np.array([cy * local_centre[0] - sy * local_centre[1],
                                               sy * local_centre[0] + cy * local_centre[1]])
        return centre, yaw, (hi[:2] - lo[:2]) / 2

    def over(self, a: str, b: str) -> tuple[bool, str]:
        """Is A's centre inside B's footprint (x, y)?"""
        p = self.centre(a)[:2]
        centre, yaw, half = self.footprint(b)
        d = p - centre
        u = d[0] * math.cos(yaw) + d[1] * math.sin(yaw)
        v = -d[0] * math.sin(yaw) + d[1] * math.cos(yaw)
        inside = abs(u) <= half[0] and abs(v) <= half[1]
        return inside, f"{a} is {np.hypot(*d):.3f} m from the middle of {b}"

    def holder(self, oid: str) -> str | None:
        """The arm whose two fingers touch the object, if any."""
        body = self.world.body(oid)
        for name in self.robot.arms:
            if self.robot.arm(name).touching(body):
                return name
        return None

    # -- the checks -------------------------------------------------------------------------
    def check(self, spec: dict[str, Any]) -> tuple[bool, str]:
        """One `final:` entry, e.g. `{"in": ["red_cube", "blue_bowl"]}` -> (holds, why)."""
        if not isinstance(spec, dict) or len(spec) != 1:
            raise PredicateError(f"a check is one key and its arguments, got {spec!r}")
        (name, args), = spec.items()
        if name not in WORLD_CHECKS:
            raise PredicateError(f"unknown world check {name!r}; known: {', '.join(WORLD_CHECKS)}")
        if name == "gripper_empty":
            if args is not True:
                raise PredicateError("gripper_empty takes `true`")
            return self.gripper_empty()
        if name in ("unmoved", "held"):
            if not isinstance(args, str):
                raise PredicateError(f"{name} takes one object id, got {args!r}")
            self.world.body(args)  # UnknownObjectError for a typo
            return getattr(self, name)(args)
        if not (isinstance(args, (list, tuple)) and len(args) == 2 and all(isinstance(x, str) for x in args)):
            raise PredicateError(f"{name} takes two object ids [A, B], got {args!r}")
        for oid in args:
            self.world.body(oid)
        return getattr(self, "in_" if name == "in" else name)(*args)

    def check_all(self, checks: list[dict[str, Any]]) -> list[tuple[str, bool, str]]:
        return [(_fmt(c), *self.check(c)) for c in checks]

    def in_(self, a: str, b: str) -> tuple[bool, str]:
        inside, why = self.over(a, b)
        if not inside:
            return False, f"{a} is not inside {b} ({why})"
        base = self.world.aabb(b)[0][2]
        if self.centre(a)[2] <= base:
            return False, f"{a} is below the base of {b}"
        arm = self.holder(a)
        if arm:
            return False, f"{a} is still held by the {arm} gripper"
        return True, f"{a} is in {b} ({why})"

    def not_in(self, a: str, b: str) -> tuple[bool, str]:
        ok, why = self.in_(a, b)
        return (not ok), why

    def on(self, a: str, b: str) -> tuple[bool, str]:
        inside, why = self.over(a, b)
        if not inside:
            return False, f"{a} is not over {b} ({why})"
        gap = float(self.world.aabb(a)[0][2] - self.world.aabb(b)[1][2])
        if abs(gap) > ON_GAP:
            return False, f"{a}'s bottom is {gap:+.3f} m from {b}'s top (limit {ON_GAP})"
        arm = self.holder(a)
        if arm:
            return False, f"{a} is still held by the {arm} gripper"
        return True, f"{a} is on {b} (gap {gap:+.3f} m)"

    def left_of(self, a: str, b: str) -> tuple[bool, str]:
        dy = float(self.centre(a)[1] - self.centre(b)[1])
        return dy > SIDE_GAP, f"{a} is {dy:+.3f} m to the left of {b} (needs > {SIDE_GAP})"

    def right_of(self, a: str, b: str) -> tuple[bool, str]:
        dy = float(self.centre(b)[1] - self.centre(a)[1])
        return dy > SIDE_GAP, f"{a} is {dy:+.3f} m to the right of {b} (needs > {SIDE_GAP})"

    def near(self, a: str, b: str) -> tuple[bool, str]:
        d = float(np.hypot(*(self.centre(a)[:2] - self.centre(b)[:2])))
        return d <= NEAR, f"{a} and {b} are {d:.3f} m apart (near: <= {NEAR})"

    def unmoved(self, a: str) -> tuple[bool, str]:
        d = float(np.linalg.norm(self.world.position(a) - self.world.start_pos[a]))
        return d <= UNMOVED, f"{a} moved {d:.3f} m (unmoved: <= {UNMOVED})"

    def held(self, a: str) -> tuple[bool, str]:
        arm = self.holder(a)
        return arm is not None, (f"{a} is held by the {arm} gripper" if arm else f"no gripper holds {a}")

    def gripper_empty(self) -> tuple[bool, str]:
        held = [(oid, arm) for oid in self.world.ids if (arm := self.holder(oid))]
        if held:
            return False, ", ".join(f"the {arm} gripper holds {oid}" for oid, arm in held)
        return True, "no gripper holds anything"


def _fmt(check: dict[str, Any]) -> str:
    (name, args), = check.items()
    if isinstance(args, (list, tuple)):
        return f"{name}: [{', '.join(map(str, args))}]"
    return f"{name}: {str(args).lower() if isinstance(args, bool) else args}"


__all__ = ["WorldTruth", "PredicateError", "WORLD_CHECKS", "UnknownObjectError"]
