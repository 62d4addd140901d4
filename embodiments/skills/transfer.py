"""Mid-air handover between the two arms of the bimanual robot.

The giver holds the object from above and turns it so its long side points at
the receiver; the receiver comes in level, from the side, fingers across the
object's short side, and grips the end that sticks out beyond the giver's
fingers; then the giver lets go and backs off. Both hands never come closer
than the object's free end allows (about 5 mm between the finger pads for an
8 cm block), so long objects (blocks) are the ones to hand over.
"""
from __future__ import annotations

import math

import numpy as np

from ..types import SkillResult, SkillStatus
from .motion import APPROACH_SPEED, grasp_yaw, move_to, set_width, wait
from .runner import Held, Skill, SkillContext

HANDOVER_POINT = np.array([-0.06, 0.0, 0.22])
RECEIVE_OFFSET = 0.028  # m from the object's centre to the receiver's grasp point
EMPTY_WIDTH = 0.004


def quat_from_matrix(m: np.ndarray) -> np.ndarray:
    """Rotation matrix -> quaternion (x, y, z, w)."""
    t = float(np.trace(m))
    if t > 0:
        s = math.sqrt(t + 1.0) * 2
        return np.array([(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, 0.25 * s])
    i = int(np.argmax(np.diag(m)))
    j, k = (i + 1) % 3, (i + 2) % 3
    s = math.sqrt(1.0 + m[i, i] - m[j, j] - m[k, k]) * 2
    q = np.zeros(4)
    q[i] = 0.25 * s
    q[j] = (m[j, i] + m[i, j]) / s
    q[k] = (m[k, i] + m[i, k]) / s
    q[3] = (m[k, j] - m[j, k]) / s
    return q


def level_quat(approach: np.ndarray) -> np.ndarray:
    """A hand pointing horizontally along `approach` with its fingers opening horizontally."""
    z = approach / np.linalg.norm(approach)
    y = np.cross(np.array([0.0, 0.0, 1.0]), z)  # horizontal, perpendicular to the approach
    y /= np.linalg.norm(y)
    x = np.cross(y, z)
    return quat_from_matrix(np.column_stack([x, y, z]))


def handover_motion(ctx: SkillContext, from_arm: str | None, to_arm: str | None) -> Skill:
    arms = list(ctx.robot.arms)
    name = "handover"
    if len(arms) < 2:
        return SkillResult(name, SkillStatus.FAILED, "a handover needs two arms", arm=arms[0])
    giver = from_arm or next((a for a in arms if a in ctx.holding), None)
    if giver is None or giver not in ctx.holding:
        return SkillResult(name, SkillStatus.FAILED, "nothing in hand to hand over", arm=giver or "")
    receiver = to_arm or next(a for a in arms if a != giver)
    if receiver in ctx.holding:
        return SkillResult(name, SkillStatus.FAILED, "the receiving hand is full", arm=receiver)
    held = ctx.holding[giver]
    # Which way the receiver lies, seen from the giver (sign of y between their bases).
    side = -1.0 if ctx.robot.home_pose(receiver)[0][1] < ctx.robot.home_pose(giver)[0][1] else 1.0
    h = HANDOVER_POINT.copy()
    # The object's long side along y: hand yaw pi/2 (mod pi), see motion.grasp_yaw.
    yaw = grasp_yaw(math.pi / 2, ctx.neutral_yaw(giver))
    if not (yield from move_to(ctx, giver, h, yaw, tol=0.01)):
        return SkillResult(name, SkillStatus.FAILED, "the giving hand could not reach the handover point", arm=giver)
    yield from wait(ctx, 0.2)
    centre = ctx.hand(giver).copy()
    q = level_quat(np.array([0.0, -side, 0.0]))  # receiver points back toward the giver
    grasp = centre + np.array([0.0, side * RECEIVE_OFFSET, 0.0])
    pre = grasp + np.array([0.0, side * 0.09, 0.0])
    ctx.gripper[receiver] = 0.08
    if not (yield from move_to(ctx, receiver, pre + np.array([0.0, 0.0, 0.06]), quat=q, tol=0.012)):
        return SkillResult(name, SkillStatus.FAILED, "the receiving hand could not get ready", arm=receiver)
    yield from move_to(ctx, receiver, pre, quat=q, tol=0.01)
    if not (yield from move_to(ctx, receiver, grasp, quat=q, speed=APPROACH_SPEED, tol=0.008)):
        yield from move_to(ctx, receiver, pre, quat=q)
        return SkillResult(name, SkillStatus.FAILED, "the receiving hand could not reach the object", arm=receiver)
    yield from set_width(ctx, receiver, 0.0)
    if ctx.width(receiver) < EMPTY_WIDTH:
        yield from set_width(ctx, receiver, 0.08)
        yield from move_to(ctx, receiver, pre, quat=q)
        return SkillResult(name, SkillStatus.FAILED, "the receiving hand closed on nothing", arm=receiver)
    width = ctx.width(receiver)
    yield from set_width(ctx, giver, 0.08)
    del ctx.holding[giver]
    yield from move_to(ctx, giver, ctx.cmd_pos[giver] + np.array([0.0, 0.0, 0.08]), tol=0.02)
    yield from wait(ctx, 0.2)
    if ctx.width(receiver) < EMPTY_WIDTH:
        return SkillResult(name, SkillStatus.FAILED, "the object fell during the handover", arm=receiver)
    ctx.holding[receiver] = Held(held.kind, held.color, held.height, held.height / 2, width,
                                 offset=centre - ctx.hand(receiver))
    home_pos, _ = ctx.robot.home_pose(giver)
    yield from move_to(ctx, giver, home_pos, tol=0.02)
    return SkillResult(name, SkillStatus.SUCCEEDED, arm=f"{giver}->{receiver}")
