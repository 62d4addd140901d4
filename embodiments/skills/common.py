"""Helpers shared by the skills: typed results, reach, what a hand holds, looking again,
and keeping the hand clear of neighbours and of the other arm."""
from __future__ import annotations

import math

import numpy as np

from ..types import DetectedObject, SkillResult, SkillStatus
from .motion import grasp_yaw, move_to
from .runner import Held, SkillContext

EMPTY_WIDTH = 0.004  # fingers closer than this hold nothing
CLEAR_Z = 0.13  # travel height above the table for the hand's grasp point


def _ok(skill: str, arm: str) -> SkillResult:
    return SkillResult(skill, SkillStatus.SUCCEEDED, arm=arm)


def _fail(skill: str, arm: str, reason: str) -> SkillResult:
    return SkillResult(skill, SkillStatus.FAILED, reason, arm=arm)


def _reachable(ctx: SkillContext, arm: str, xy) -> bool:
    return ctx.robot.reach(arm, np.array([xy[0], xy[1], 0.0])) > 0.0


def _holding_arm(ctx: SkillContext, arm: str | None) -> str | None:
    if arm is not None:
        return arm if arm in ctx.holding else None
    return next(iter(ctx.holding), None)


def _find_near(scene, held: Held, xy, radius: float):
    best = None
    for o in scene.objects:
        if o.kind == held.kind and o.color == held.color:
            d = math.hypot(o.position[0] - xy[0], o.position[1] - xy[1])
            if d <= radius and (best is None or d < best[0]):
                best = (d, o)
    return best[1] if best else None


def _look(ctx: SkillContext, arm: str, check):
    """Check the outcome on a fresh perception; if it fails, take the arm home (out of the
    cameras' way) and look once more before believing it. Returns the problem or None."""
    scene = ctx.perceive()
    if scene is None:
        return None
    problem = check(scene)
    if problem:
        pos, yaw = ctx.robot.home_pose(arm)
        if float(np.linalg.norm(ctx.hand(arm) - pos)) > 0.05:
            yield from move_to(ctx, arm, pos, yaw, tol=0.02)
            scene = ctx.perceive()
            problem = check(scene) if scene is not None else None
    return problem


def _park_others(ctx: SkillContext, arm: str):
    """Send the other, empty-handed arms home first, so two arms never work the same space.

    On the bimanual robot an arm left above the far side of the table after its own
    skill is in the way of its neighbour (links collide, objects get knocked off).
    """
    for other in ctx.robot.arms:
        if other == arm or other in ctx.holding:
            continue
        pos, yaw = ctx.robot.home_pose(other)
        if float(np.linalg.norm(ctx.hand(other) - pos)) > 0.08:
            ctx.gripper[other] = 0.08
            yield from move_to(ctx, other, pos, yaw, tol=0.02)


HAND_HALF_LENGTH = 0.11  # m: half the hand's length along the finger opening (Panda hand ~0.2 m)
HAND_HALF_WIDTH = 0.035  # m: half its thickness across


def _clear_grasp_yaw(ctx: SkillContext, arm: str, target: DetectedObject, grasp_z: float) -> float:
    """Grasp yaw whose hand outline misses the neighbours that stand taller than the grasp.

    The hand is long along the finger opening; coming down next to a bowl's rim or a
    mug, one of the equivalent grasps of a square object (a quarter turn apart) often
    clears it where the other hits. Long objects have one grasp only (across them).
    """
    base = grasp_yaw(target.yaw, ctx.neutral_yaw(arm))
    square = target.size is not None and min(target.size[:2]) > 0.8 * max(target.size[:2])
    # A square object also fits across its diagonal (the fingers turn it flat as they
    # close): a last resort when both flat grasps would hit a neighbour.
    offsets = (0.0, math.pi / 2, math.pi / 4, -math.pi / 4) if square and max(target.size[:2]) < 0.05 else \
        (0.0, math.pi / 2) if square else (0.0,)
    cands = [grasp_yaw(target.yaw + o, ctx.neutral_yaw(arm)) for o in offsets]
    penalty = {c: (2e-4 if i >= 2 else 0.0) for i, c in enumerate(cands)}
    scene = ctx.perceive() if len(cands) > 1 else None
    if scene is None:
        return base
    def cost(psi: float) -> float:
        return _hand_overlap(scene, target.position[:2], psi, grasp_z - 0.02, target)
    return min(cands, key=lambda psi: (round(cost(psi) + penalty[psi], 6), cands.index(psi)))


def _hand_overlap(scene, centre, psi: float, min_top: float, skip: DetectedObject | None = None) -> float:
    """How much the hand's outline, pointing down at `centre` with yaw `psi`, overlaps
    objects taller than `min_top` (m^2, summed over objects; 0 = clear)."""
    axis = np.array([math.sin(psi), -math.cos(psi)])  # finger opening direction: the hand's long side
    c = 0.0
    for o in scene.objects:
        rel = np.asarray(o.position[:2]) - np.asarray(centre)
        if o.top_z <= min_top or o is skip or float(np.hypot(*rel)) < 0.01 or float(np.hypot(*rel)) > 0.3:
            continue
        rad = float(max(o.size[:2])) / 2
        along, side = abs(float(rel @ axis)), abs(float(rel @ np.array([-axis[1], axis[0]])))
        c += max(0.0, HAND_HALF_LENGTH + rad - along) * max(0.0, HAND_HALF_WIDTH + rad - side)
    return c
