"""Closed-loop pushing along the table."""
from __future__ import annotations

import math

import numpy as np

from ..types import TABLE_HALF, DetectedObject
from .common import (
    CLEAR_Z,
    _fail,
    _find_near,
    _hand_overlap,
    _look,
    _ok,
    _park_others,
    _reachable,
)
from .motion import APPROACH_SPEED, TRANSIT_SPEED, grasp_yaw, move_to, set_width
from .runner import Held, Skill, SkillContext

PUSH_TOL = 0.03  # m: a pushed object this close to the goal has arrived


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
    for _ in range(attempts):
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
            cost_across = _hand_overlap(scene, start, across, z + 0.045, current)
            if _hand_overlap(scene, start, along, z + 0.045, current) < cost_across:
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
