"""Binding plan steps to fresh perception and turning them into skill generators.

A step names objects by `Handle` (label + where the object should be by then);
at run time the handle binds to the perceived object of that label nearest the
expected place. Binding fails (`BindError`) when nothing of that label is in
sight: the dialogue manager then re-plans or reports the object as gone.
"""
from __future__ import annotations

import math

from embodiments.types import DetectedObject, PerceivedScene

from .plan import Handle, Step

BIND_RADIUS = 0.15  # m: the object may have been nudged; farther than this it is "somewhere else"


class BindError(Exception):
    def __init__(self, handle: Handle) -> None:
        self.handle = handle
        super().__init__(f"I can't see the {handle.label} any more")


def bind(handle: Handle, scene: PerceivedScene, radius: float = BIND_RADIUS) -> DetectedObject:
    """The perceived object a handle means now: same track id if still there, else same label nearest."""
    same_id = [o for o in scene.objects if o.track_id == handle.track_id and o.kind == handle.kind
               and o.color == handle.color]
    if same_id:
        return same_id[0]
    cands = [o for o in scene.objects if o.kind == handle.kind and o.color == handle.color]
    if not cands:
        raise BindError(handle)
    best = min(cands, key=lambda o: math.hypot(o.position[0] - handle.xy[0], o.position[1] - handle.xy[1]))
    if math.hypot(best.position[0] - handle.xy[0], best.position[1] - handle.xy[1]) > radius and len(cands) > 1:
        raise BindError(handle)
    return best


def skill_for(step: Step, ctx, scene: PerceivedScene):
    """The skill generator that carries out `step` now (objects bound in `scene`)."""
    from embodiments.skills import home, pick, place_at, place_in, place_on, push, set_gripper

    if step.skill == "pick":
        return pick(ctx, bind(step.obj, scene), step.arm)
    if step.skill == "place_in":
        return place_in(ctx, bind(step.dest, scene), step.arm)
    if step.skill == "place_on":
        return place_on(ctx, _top_of(bind(step.dest, scene), scene), step.arm)
    if step.skill == "place_at":
        return place_at(ctx, step.xy[0], step.xy[1], step.arm)
    if step.skill == "push":
        return push(ctx, bind(step.obj, scene), step.xy[0], step.xy[1], step.arm)
    if step.skill == "home":
        return home(ctx, step.arm)
    if step.skill == "gripper":
        return set_gripper(ctx, "open" if "open" in step.instruction else "close", step.arm)
    raise ValueError(f"no skill {step.skill!r}")


def _top_of(base: DetectedObject, scene: PerceivedScene) -> DetectedObject:
    """What to put a thing "on": the base, or whatever already stands on it (a growing stack)."""
    top = base
    for o in sorted(scene.objects, key=lambda o: o.top_z):
        if o is not base and math.hypot(o.position[0] - base.position[0], o.position[1] - base.position[1]) < 0.025 \
                and o.top_z > top.top_z:
            top = o
    return top
