"""The scripted skills: pick, place_in, place_on, place_at, stack, push, handover, home, gripper.

Targets are objects as *perceived* (`DetectedObject`), never simulator ground
truth, so the same skills run on a real arm with a real camera. Each skill
checks its own outcome from proprioception (finger opening) and, when a
perception function is available, from a fresh look at the scene.
"""
from __future__ import annotations

import math

from ..types import TABLE_HALF, DetectedObject, SkillResult
from .common import (
    CLEAR_Z,
    EMPTY_WIDTH,
    _clear_grasp_yaw,
    _fail,
    _find_near,
    _holding_arm,
    _look,
    _ok,
    _park_others,
    _reachable,
)
from .motion import (
    APPROACH_SPEED,
    TRANSIT_SPEED,
    move_to,
    set_width,
    wait,
)
from .push import push
from .runner import Held, Skill, SkillContext

CONTAINER_FLOOR = 0.012  # inside floor height of bowls, plates, mugs, trays (their base plates)
# pick's missed-grasp failures (the recorder's `--fumble` recognises them: policies/fumble.py)
MISSED_GRASP = "missed: the gripper closed on nothing"
SLIPPED_GRASP = "the object slipped out of the gripper while lifting"


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
    yield from _park_others(ctx, arm)
    x, y = float(target.position[0]), float(target.position[1])
    across = float(min(target.size[0], target.size[1])) if target.size is not None else 0.05
    top = float(target.top_z)
    grasp_z = max(0.012, top - min(0.022, top * 0.5))
    yaw = _clear_grasp_yaw(ctx, arm, target, grasp_z)
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
        return _fail(name, arm, MISSED_GRASP)
    yield from move_to(ctx, arm, (x, y, clear), speed=APPROACH_SPEED * 2)
    yield from wait(ctx, 0.1)
    if ctx.width(arm) < EMPTY_WIDTH:
        yield from set_width(ctx, arm, max_w)
        return _fail(name, arm, SLIPPED_GRASP)
    ctx.holding[arm] = Held(target.kind, target.color, top, grasp_z, width)
    return _ok(name, arm)


# -- place ---------------------------------------------------------------------------------------
def _release(ctx: SkillContext, arm: str, name: str, xy, release_z: float, clear: float,
             check=None) -> Skill:
    held = ctx.holding[arm]
    xy = (xy[0] - held.offset[0], xy[1] - held.offset[1])  # e.g. held off-centre after a handover
    yield from _park_others(ctx, arm)
    if not _points_down(ctx.cmd_quat[arm]):
        release_z = max(release_z, 0.05)  # a level hand is ~7 cm thick: keep it off the table
    if not (yield from move_to(ctx, arm, (xy[0], xy[1], clear))):
        return _fail(name, arm, "could not reach above the place")
    if not (yield from move_to(ctx, arm, (xy[0], xy[1], release_z), speed=APPROACH_SPEED, tol=0.01, guard=0.012)):
        # What it holds touched down early (it sits lower in the fingers than when it was
        # picked, or a full container): the guarded move stopped there; let go there.
        pass
    yield from set_width(ctx, arm, min(0.08, held.width + 0.04))
    del ctx.holding[arm]
    yield from move_to(ctx, arm, (xy[0], xy[1], clear), speed=TRANSIT_SPEED)
    yield from wait(ctx, 0.15)  # let it settle before looking
    problem = None
    if check is not None:
        problem = yield from _look(ctx, arm, lambda scene: check(scene, held))
    if problem:
        return _fail(name, arm, problem)
    return _ok(name, arm)


def _points_down(q) -> bool:
    x, y, z, w = q
    return 1 - 2 * (x * x + y * y) < -0.9  # world-z component of the hand's z axis


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
        still = [o for o in scene.objects if o.kind == container.kind and o.color == container.color
                 and math.hypot(o.position[0] - xy[0], o.position[1] - xy[1]) < inner]
        if not still:  # someone moved it while the hand was on its way
            return f"the {container.label} is not where it was"
        if _find_near(scene, h, xy, inner + 0.01):
            return None
        return f"the {h.color} {h.kind} did not end up in the {container.label}"
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
    from .transfer import handover_motion

    return (yield from handover_motion(ctx, from_arm, to_arm))


SKILLS = {
    "pick": pick, "place_in": place_in, "place_on": place_on, "place_at": place_at, "stack": stack,
    "push": push, "handover": handover, "home": home, "gripper": set_gripper,
}
