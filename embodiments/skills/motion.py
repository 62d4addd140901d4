"""Motion primitives the skills are built from (all generators, one command per tick)."""
from __future__ import annotations

import math
from collections.abc import Generator
from typing import TYPE_CHECKING

import numpy as np

from ..types import ArmCommand

if TYPE_CHECKING:
    from .runner import SkillContext

Action = dict[str, ArmCommand]
Motion = Generator[Action, None, bool]

TRANSIT_SPEED = 0.3  # m/s, free-space moves (the robot's safety cap may lower it)
APPROACH_SPEED = 0.1  # m/s, the last centimetres to a grasp or a release
REACH_TOL = 0.006  # m: a waypoint counts as reached when the hand is this close


def quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return np.array([aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx,
                     aw * bz + ax * by - ay * bx + az * bw,
                     aw * bw - ax * bx - ay * by - az * bz])


def down_quat(yaw: float) -> np.ndarray:
    """Hand pointing straight down, turned by `yaw` about z (xyzw; same as pybullet's euler(pi, 0, yaw))."""
    qz = np.array([0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)])
    return quat_mul(qz, np.array([1.0, 0.0, 0.0, 0.0]))


def wrap(a: float) -> float:
    return (a + math.pi) % (2 * math.pi) - math.pi


def grasp_yaw(object_yaw: float, neutral: float) -> float:
    """Hand yaw that closes the fingers across the object's short side.

    The fingers open along the hand's y axis, so with the hand pointing down at yaw
    psi they close along (sin psi, -cos psi): perpendicular to an object whose long
    axis has direction psi. A parallel gripper is symmetric under a half turn, so of
    psi and psi +- pi we take the one nearest the arm's neutral wrist angle, which
    keeps the last joint away from its limits.
    """
    cands = [object_yaw + k * math.pi for k in (-2, -1, 0, 1, 2)]
    return min(cands, key=lambda c: abs(wrap(c - neutral)) + 1e-9 * abs(c))


def move_to(ctx: SkillContext, arm: str, pos, yaw: float | None = None, speed: float = TRANSIT_SPEED,
            tol: float = REACH_TOL, settle_s: float = 2.0, quat: np.ndarray | None = None,
            guard: float | None = None) -> Motion:
    """Straight-line Cartesian move of the hand at `speed`, then wait until it is there.

    Returns False when the hand did not get within `tol` in `settle_s` after the
    path ended (blocked, or the point is out of reach). With `guard` (metres), a
    guarded move: as soon as the measured hand lags the commanded path by more
    than `guard` (it has run into something, e.g. a held object touching the
    table), the hand holds where it is and the move returns False at once, instead
    of pressing on and bending the wrist sideways.
    """
    start = ctx.cmd_pos[arm].copy()
    start_q = ctx.cmd_quat[arm].copy()
    goal = np.asarray(pos, dtype=float)
    goal_q = quat if quat is not None else (down_quat(yaw) if yaw is not None else start_q)
    if float(np.dot(goal_q, start_q)) < 0:
        goal_q = -goal_q
    dist = float(np.linalg.norm(goal - start))
    turn = 2 * math.acos(min(1.0, abs(float(np.dot(goal_q, start_q)))))
    n = max(1, math.ceil(max(dist / (speed * ctx.dt), turn / (1.5 * ctx.dt))))
    for i in range(1, n + 1):
        f = i / n
        f = f * f * (3 - 2 * f)  # smoothstep: no jerk at either end
        p = start + (goal - start) * f
        q = start_q + (goal_q - start_q) * f
        q /= np.linalg.norm(q)
        yield ctx.command(arm, p, q, speed=speed)
        if guard is not None and _blocked(ctx, arm, p, guard):
            yield from _hold_here(ctx, arm, q)
            return False
    for _ in range(int(settle_s / ctx.dt)):
        if np.linalg.norm(ctx.hand(arm) - goal) < tol:
            return True
        yield ctx.command(arm, goal, goal_q, speed=speed)
        if guard is not None and _blocked(ctx, arm, goal, guard):
            yield from _hold_here(ctx, arm, goal_q)
            return False
    return bool(np.linalg.norm(ctx.hand(arm) - goal) < tol * 2)


def _blocked(ctx: SkillContext, arm: str, commanded: np.ndarray, guard: float) -> bool:
    """Is the hand lagging behind where it was sent (by the distance the motors' tracking
    lag cannot explain)?"""
    return float(np.linalg.norm(ctx.hand(arm) - commanded)) > guard


def _hold_here(ctx: SkillContext, arm: str, quat: np.ndarray) -> Motion:
    """Take the measured hand pose, lifted a few millimetres, as the new command (stop pressing)."""
    here = ctx.hand(arm) + np.array([0.0, 0.0, 0.004])
    for _ in range(6):
        yield ctx.command(arm, here, quat, speed=APPROACH_SPEED)
    return True


def set_width(ctx: SkillContext, arm: str, width: float, max_s: float = 1.2) -> Motion:
    """Command the gripper opening and wait until the fingers stop moving."""
    ctx.gripper[arm] = width
    last = ctx.width(arm)
    still = 0
    for _ in range(int(max_s / ctx.dt)):
        yield ctx.command(arm, ctx.cmd_pos[arm], ctx.cmd_quat[arm])
        w = ctx.width(arm)
        still = still + 1 if abs(w - last) < 2e-4 else 0
        last = w
        if still >= 4:
            break
    return True


def wait(ctx: SkillContext, seconds: float) -> Motion:
    for _ in range(max(1, int(seconds / ctx.dt))):
        yield ctx.hold_all()
    return True
