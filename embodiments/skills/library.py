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
PUSH_TOL = 0.03  # m: a pushed object this close to the goal has arrived
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
    problem = yield from _look(ctx, arm, lambda scene: check(scene, held)) if check is not None else None
    if problem:
        return _fail(name, arm, problem)
    return _ok(name, arm)


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
def push(ctx: SkillContext, target: DetectedObject, x: float, y: float, arm: str | None = None,
         attempts: int = 3) -> Skill:
    """Push an object along the table to (x, y) with the closed fingers, closed-loop.

    One straight push rarely lands an irregular object (a duck turns about its
    contact point), so after each push the skill looks again and, while the object
    is more than PUSH_TOL from the goal, pushes again from where it now is.
    """
    name = f"push({target.label} -> {x:.2f}, {y:.2f})"
    arm = arm or ctx.best_arm(target.position, free=True)
    if abs(x) > TABLE_HALF or abs(y) > TABLE_HALF:
        return _fail(name, arm, f"({x:.2f}, {y:.2f}) is off the table")
    if arm in ctx.holding:
        return _fail(name, arm, "the hand is holding something")
    goal = np.array([x, y])
    held = Held(target.kind, target.color, target.top_z, 0.0, 0.0)
    current: DetectedObject = target
    for attempt in range(attempts):
        p = np.asarray(current.position[:2], dtype=float)
        d = goal - p
        dist = float(np.linalg.norm(d))
        if dist < PUSH_TOL * 0.5:
            break
        d /= dist
        radius = float(max(current.size[:2])) / 2 if current.size is not None else 0.03
        start = p - d * (radius + 0.035)
        end = goal - d * (radius + 0.012)
        for pt in (start, end):
            if not _reachable(ctx, arm, pt):
                return _fail(name, arm, "the push path is out of reach")
        z = float(np.clip(current.top_z * 0.45, 0.012, 0.03))
        # The closed fingers are one small pad either way; turn the hand's long side across
        # the push (steadier) unless that hits a tall neighbour behind the object.
        across = grasp_yaw(math.atan2(d[1], d[0]), ctx.neutral_yaw(arm))
        along = grasp_yaw(math.atan2(d[1], d[0]) + math.pi / 2, ctx.neutral_yaw(arm))
        yaw = across
        scene = ctx.perceive()
        if scene is not None and _hand_overlap(scene, start, across, z + 0.045, current) > 0:
            if _hand_overlap(scene, start, along, z + 0.045, current) < _hand_overlap(scene, start, across, z + 0.045, current):
                yaw = along
        yield from _park_others(ctx, arm)
        yield from set_width(ctx, arm, 0.0)
        if not (yield from move_to(ctx, arm, (start[0], start[1], CLEAR_Z), yaw)):
            return _fail(name, arm, "could not reach the start of the push")
        if not (yield from move_to(ctx, arm, (start[0], start[1], z), speed=TRANSIT_SPEED)):
            yield from move_to(ctx, arm, (start[0], start[1], CLEAR_Z))
            return _fail(name, arm, f"no room behind the {target.label} to push it")
        yield from move_to(ctx, arm, (end[0], end[1], z), speed=APPROACH_SPEED, tol=0.01)
        back = end - d * 0.03
        yield from move_to(ctx, arm, (back[0], back[1], z), speed=APPROACH_SPEED)
        yield from move_to(ctx, arm, (back[0], back[1], CLEAR_Z))
        if ctx.perceive_fn is None:
            return _ok(name, arm)
        found = _find_near(ctx.perceive(), held, goal, 0.2)
        if found is None:  # the arm may hide it: look again from home
            pos, home_yaw = ctx.robot.home_pose(arm)
            yield from move_to(ctx, arm, pos, home_yaw, tol=0.02)
            found = _find_near(ctx.perceive(), held, goal, 0.2)
        if found is None:
            break  # lost: the final look below reports it
        current = found
    problem = yield from _look(ctx, arm, lambda scene: None if _find_near(scene, held, (x, y), PUSH_TOL) else
                               f"the {target.label} did not arrive at ({x:.2f}, {y:.2f})")
    if problem:
        return _fail(name, arm, problem)
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
    from .transfer import handover_motion

    return (yield from handover_motion(ctx, from_arm, to_arm))


SKILLS = {
    "pick": pick, "place_in": place_in, "place_on": place_on, "place_at": place_at, "stack": stack,
    "push": push, "handover": handover, "home": home, "gripper": set_gripper,
}
