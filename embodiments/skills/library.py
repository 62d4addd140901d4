"""The scripted skills: pick, place_in, place_on, place_at, stack, push, handover, home, gripper.

Targets are objects as *perceived* (`DetectedObject`), never simulator ground
truth, so the same skills run on a real arm with a real camera. Each skill
checks its own outcome from proprioception (finger opening) and, when a
perception function is available, from a fresh look at the scene.
"""
from __future__ import annotations

import math

import numpy as np

from ..types import TABLE_HALF, DetectedObject, SkillResult, SkillStatus
from .motion import APPROACH_SPEED, TRANSIT_SPEED, down_quat, grasp_yaw, move_to, set_width, wait
from .runner import Held, Skill, SkillContext

EMPTY_WIDTH = 0.004  # fingers closer than this hold nothing
CLEAR_Z = 0.13  # travel height above the table for the hand's grasp point
CONTAINER_FLOOR = 0.012  # inside floor height of bowls, plates, mugs, trays (their base plates)


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


def _down_yaw(q) -> float:
    x, y, z, w = q
    # For q = qz(psi) * qx(pi): x = cos(psi/2), y = sin(psi/2), z = w = 0.
    return 2 * math.atan2(y, x)


# -- pick ---------------------------------------------------------------------------------------
def pick(ctx: SkillContext, target: DetectedObject, arm: str | None = None) -> Skill:
    arm = arm or ctx.best_arm(target.position, free=True)
    name = f"pick({target.label})"
    if not _reachable(ctx, arm, target.position):
        return _fail(name, arm, f"the {target.label} is out of reach")
    if arm in ctx.holding:
        return _fail(name, arm, f"the hand already holds the {ctx.holding[arm].color} {ctx.holding[arm].kind}")
    x, y = float(target.position[0]), float(target.position[1])
    yaw = grasp_yaw(target.yaw, ctx.neutral_yaw(arm))
    across = float(min(target.size[0], target.size[1])) if target.size is not None else 0.05
    top = float(target.top_z)
    grasp_z = max(0.012, top - min(0.022, top * 0.5))
    clear = max(CLEAR_Z, top + 0.08)
    max_w = 0.08
    if not (yield from move_to(ctx, arm, (x, y, clear), yaw)):
        return _fail(name, arm, "could not reach above the object")
    yield from set_width(ctx, arm, min(max_w, across + 0.035))
    if not (yield from move_to(ctx, arm, (x, y, grasp_z + 0.03), speed=TRANSIT_SPEED)):
        return _fail(name, arm, "could not approach the object")
    if not (yield from move_to(ctx, arm, (x, y, grasp_z), speed=APPROACH_SPEED, tol=0.008)):
        return _fail(name, arm, "blocked on the way down to the object")
    yield from set_width(ctx, arm, 0.0)
    width = ctx.width(arm)
    if width < EMPTY_WIDTH:
        yield from set_width(ctx, arm, max_w)
        yield from move_to(ctx, arm, (x, y, clear))
        return _fail(name, arm, "missed: the gripper closed on nothing")
    yield from move_to(ctx, arm, (x, y, clear), speed=APPROACH_SPEED * 2)
    yield from wait(ctx, 0.1)
    if ctx.width(arm) < EMPTY_WIDTH:
        yield from set_width(ctx, arm, max_w)
        return _fail(name, arm, "the object slipped out of the gripper while lifting")
    ctx.holding[arm] = Held(target.kind, target.color, top, grasp_z, width)
    return _ok(name, arm)


# -- place ---------------------------------------------------------------------------------------
def _release(ctx: SkillContext, arm: str, name: str, xy, release_z: float, clear: float,
             check=None) -> Skill:
    held = ctx.holding[arm]
    xy = (xy[0] - held.offset[0], xy[1] - held.offset[1])  # e.g. held off-centre after a handover
    if not _points_down(ctx.cmd_quat[arm]):
        release_z = max(release_z, 0.05)  # a level hand is ~7 cm thick: keep it off the table
    if not (yield from move_to(ctx, arm, (xy[0], xy[1], clear))):
        return _fail(name, arm, "could not reach above the place")
    if not (yield from move_to(ctx, arm, (xy[0], xy[1], release_z), speed=APPROACH_SPEED, tol=0.01)):
        # Something is in the way below (e.g. a full container): let go where we are.
        pass
    yield from set_width(ctx, arm, min(0.08, held.width + 0.04))
    del ctx.holding[arm]
    yield from move_to(ctx, arm, (xy[0], xy[1], clear), speed=TRANSIT_SPEED)
    yield from wait(ctx, 0.15)  # let it settle before looking
    if check is not None:
        scene = ctx.perceive()
        if scene is not None:
            problem = check(scene, held)
            if problem:
                return _fail(name, arm, problem)
    return _ok(name, arm)


def _points_down(q) -> bool:
    x, y, z, w = q
    return 1 - 2 * (x * x + y * y) < -0.9  # world-z component of the hand's z axis


def _find_near(scene, held: Held, xy, radius: float):
    best = None
    for o in scene.objects:
        if o.kind == held.kind and o.color == held.color:
            d = math.hypot(o.position[0] - xy[0], o.position[1] - xy[1])
            if d <= radius and (best is None or d < best[0]):
                best = (d, o)
    return best[1] if best else None


def place_in(ctx: SkillContext, container: DetectedObject, arm: str | None = None) -> Skill:
    name = f"place_in({container.label})"
    arm = _holding_arm(ctx, arm)
    if arm is None:
        return _fail(name, "", "nothing in hand to put in")
    if not _reachable(ctx, arm, container.position):
        return _fail(name, arm, f"the {container.label} is out of this arm's reach")
    held = ctx.holding[arm]
    xy = container.position[:2]
    release_z = CONTAINER_FLOOR + held.grasp_z + 0.012
    clear = max(CLEAR_Z, container.top_z + held.height + 0.05)
    inner = max(0.02, float(min(container.size[:2])) / 2 - 0.01)

    def check(scene, h):
        return None if _find_near(scene, h, xy, inner + 0.01) else f"the {h.color} {h.kind} did not end up in the {container.label}"
    return (yield from _release(ctx, arm, name, xy, release_z, clear, check))


def place_on(ctx: SkillContext, target: DetectedObject, arm: str | None = None) -> Skill:
    name = f"place_on({target.label})"
    arm = _holding_arm(ctx, arm)
    if arm is None:
        return _fail(name, "", "nothing in hand to put down")
    if not _reachable(ctx, arm, target.position):
        return _fail(name, arm, f"the {target.label} is out of this arm's reach")
    held = ctx.holding[arm]
    xy = target.position[:2]
    release_z = target.top_z + held.grasp_z + 0.008
    clear = max(CLEAR_Z, target.top_z + held.height + 0.05)

    def check(scene, h):
        o = _find_near(scene, h, xy, 0.03)
        if o is None or o.top_z < target.top_z + h.height * 0.5:
            return f"the {h.color} {h.kind} did not stay on the {target.label}"
        return None
    return (yield from _release(ctx, arm, name, xy, release_z, clear, check))


def place_at(ctx: SkillContext, x: float, y: float, arm: str | None = None) -> Skill:
    name = f"place_at({x:.2f}, {y:.2f})"
    arm = _holding_arm(ctx, arm)
    if arm is None:
        return _fail(name, "", "nothing in hand to put down")
    if abs(x) > TABLE_HALF or abs(y) > TABLE_HALF:
        return _fail(name, arm, f"({x:.2f}, {y:.2f}) is off the table")
    if not _reachable(ctx, arm, (x, y)):
        return _fail(name, arm, f"({x:.2f}, {y:.2f}) is out of this arm's reach")
    held = ctx.holding[arm]

    def check(scene, h):
        return None if _find_near(scene, h, (x, y), 0.03) else f"the {h.color} {h.kind} is not at ({x:.2f}, {y:.2f})"
    return (yield from _release(ctx, arm, name, (x, y), held.grasp_z + 0.008, CLEAR_Z, check))


def stack(ctx: SkillContext, top: DetectedObject, bottom: DetectedObject, arm: str | None = None) -> Skill:
    r = yield from pick(ctx, top, arm)
    if not r.ok:
        return SkillResult(f"stack({top.label} on {bottom.label})", r.status, r.reason, arm=r.arm)
    r = yield from place_on(ctx, bottom, r.arm)
    return SkillResult(f"stack({top.label} on {bottom.label})", r.status, r.reason, arm=r.arm)


# -- push ------------------------------------------------------------------------------------------
def push(ctx: SkillContext, target: DetectedObject, x: float, y: float, arm: str | None = None) -> Skill:
    """Push an object along the table to (x, y) with the closed fingers."""
    name = f"push({target.label} -> {x:.2f}, {y:.2f})"
    arm = arm or ctx.best_arm(target.position, free=True)
    if abs(x) > TABLE_HALF or abs(y) > TABLE_HALF:
        return _fail(name, arm, f"({x:.2f}, {y:.2f}) is off the table")
    if arm in ctx.holding:
        return _fail(name, arm, "the hand is holding something")
    p = np.asarray(target.position[:2], dtype=float)
    goal = np.array([x, y])
    d = goal - p
    dist = float(np.linalg.norm(d))
    if dist < 0.01:
        return _ok(name, arm)
    d /= dist
    radius = float(max(target.size[:2])) / 2 if target.size is not None else 0.03
    start = p - d * (radius + 0.035)
    end = goal - d * (radius + 0.012)
    for pt in (start, end):
        if not _reachable(ctx, arm, pt):
            return _fail(name, arm, "the push path is out of reach")
    yaw = grasp_yaw(math.atan2(d[1], d[0]), ctx.neutral_yaw(arm))  # fingers side by side across the push
    z = float(np.clip(target.top_z * 0.45, 0.012, 0.03))
    yield from set_width(ctx, arm, 0.0)
    if not (yield from move_to(ctx, arm, (start[0], start[1], CLEAR_Z), yaw)):
        return _fail(name, arm, "could not reach the start of the push")
    if not (yield from move_to(ctx, arm, (start[0], start[1], z), speed=TRANSIT_SPEED)):
        return _fail(name, arm, "blocked going down behind the object")
    yield from move_to(ctx, arm, (end[0], end[1], z), speed=APPROACH_SPEED, tol=0.01)
    back = end - d * 0.03
    yield from move_to(ctx, arm, (back[0], back[1], z), speed=APPROACH_SPEED)
    yield from move_to(ctx, arm, (back[0], back[1], CLEAR_Z))
    scene = ctx.perceive()
    if scene is not None:
        held = Held(target.kind, target.color, target.top_z, 0.0, 0.0)
        if _find_near(scene, held, (x, y), 0.035) is None:
            return _fail(name, arm, f"the {target.label} did not arrive at ({x:.2f}, {y:.2f})")
    return _ok(name, arm)


# -- gripper, home ---------------------------------------------------------------------------------
def set_gripper(ctx: SkillContext, action: str, arm: str | None = None) -> Skill:
    arm = arm or ctx.robot.arms[0]
    if action not in ("open", "close"):
        return _fail(f"gripper({action})", arm, "the gripper can only open or close")
    yield from set_width(ctx, arm, 0.08 if action == "open" else 0.0)
    if action == "open":
        ctx.holding.pop(arm, None)
    return _ok(f"{action}_gripper", arm)


def home(ctx: SkillContext, arm: str | None = None) -> Skill:
    """Move (each) arm to its home pose above its base; an empty hand opens."""
    arms = [arm] if arm else list(ctx.robot.arms)
    for a in arms:
        pos, yaw = ctx.robot.home_pose(a)
        if a not in ctx.holding:
            ctx.gripper[a] = 0.08
        if not (yield from move_to(ctx, a, pos, yaw, tol=0.01)):
            return _fail("home", a, "could not reach the home pose")
    return _ok("home", arm or "all")


# -- handover (two arms) -----------------------------------------------------------------------------
def handover(ctx: SkillContext, from_arm: str | None = None, to_arm: str | None = None) -> Skill:
    """Pass the held object from one hand to the other in mid-air."""
    from .handover import handover_motion

    return (yield from handover_motion(ctx, from_arm, to_arm))


SKILLS = {
    "pick": pick, "place_in": place_in, "place_on": place_on, "place_at": place_at, "stack": stack,
    "push": push, "handover": handover, "home": home, "gripper": set_gripper,
}
