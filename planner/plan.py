"""Goal + perceived scene -> a plan of skills, each step with a canonical English instruction.

The planner grounds the goal's references, then writes the skill sequence
while keeping a *virtual* copy of where things will be (a cube put in a bowl is
then at the bowl), so later steps of a multi-step goal (a stack, a swap) aim at
where things will be, not where they were. Steps name objects by handle (label,
track id, expected position), and are bound to fresh perception only when they
run: a re-plan or a moved object needs no change to the plan format.

On a robot with several arms each pick-and-place goes to an arm that reaches
both places; when none does, the object is relayed through a free spot in the
middle of the table (one arm puts it down, the other takes it on).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from embodiments.types import CONTAINER_KINDS, PICKABLE_KINDS, TABLE_HALF, DetectedObject, PerceivedScene

from .grounding import Ambiguous, Focus, GroundingError, NotFound, inside, resolve
from .intent import Goal, Ref

SIDE_POINTS = {"left": (0.0, 0.15), "right": (0.0, -0.15), "front": (-0.15, 0.0), "back": (0.15, 0.0),
               "middle": (0.0, 0.0)}
PERSON_EDGE_X = 0.17  # "give me": put it down at the person's edge of the table


class PlanningError(Exception):
    """A goal that cannot be planned (the reason is plain English, for the log and the reply)."""

    def __init__(self, reason: str, code: str = "impossible") -> None:
        self.reason, self.code = reason, code
        super().__init__(reason)


@dataclass(frozen=True)
class Handle:
    """An object as a plan step knows it: what it looks like and where it should be by then."""

    track_id: int
    kind: str
    color: str
    xy: tuple[float, float]

    @property
    def label(self) -> str:
        return f"{self.color} {self.kind}"


@dataclass(frozen=True)
class Step:
    skill: str  # a name in embodiments.skills.SKILLS
    instruction: str  # canonical English ("pick up the red cube"), for logs and the VLA controller
    arm: str | None = None
    obj: Handle | None = None
    dest: Handle | None = None
    xy: tuple[float, float] | None = None


@dataclass
class Plan:
    goal: Goal
    steps: list[Step] = field(default_factory=list)

    def describe(self) -> list[str]:
        return [f"{i + 1}. {s.instruction}" + (f" [{s.arm}]" if s.arm else "") for i, s in enumerate(self.steps)]


ReachFn = Callable[[str, tuple[float, float]], float]


class Planner:
    """Writes plans for one robot (its arm names and a reach function)."""

    def __init__(self, arms: tuple[str, ...], reach: ReachFn | None = None) -> None:
        self._held: dict[int, str] = {}
        self.arms = arms
        self.reach = reach or (lambda arm, xy: 1.0)

    # -- entry point -------------------------------------------------------------------------
    def plan(self, goal: Goal, scene: PerceivedScene, focus: Focus | None = None,
             held: dict[int, str] | None = None) -> Plan:
        """Raises `Ambiguous`/`NotFound` (ask or tell the person) or `PlanningError`.

        `held` maps the track ids of objects already in a hand to that arm: they are not
        picked again.
        """
        focus = focus or Focus()
        self._held = held or {}
        w = _Virtual(scene)
        steps: list[Step] = []
        a = goal.action
        if a in ("home", "open", "close"):
            skill = {"home": "home", "open": "gripper", "close": "gripper"}[a]
            return Plan(goal, [Step(skill, goal.describe(), xy=None)])
        for ref in (goal.objects, goal.target if a == "swap" else None):
            if ref is not None and ref.fixture:  # "lift the table": nothing to ground, nothing to move
                raise PlanningError(f"I can't move {ref.describe()}: I can only move the small objects on the "
                                    "table", "fixture")
        if goal.target is not None and goal.target.fixture:
            raise PlanningError(f"{goal.target.describe()} is not somewhere I can put things", "no_target")
        objs = self._ground(goal.objects, scene, focus, default=Ref(quantity="all") if a == "sort" else None)
        if a in ("pick", "put_in", "put_on", "place_at", "push", "give", "swap"):
            for o in objs:
                if o.kind not in PICKABLE_KINDS:
                    raise PlanningError(f"I can't lift the {o.label}", "cannot_lift")
        if a == "pick":
            if len(objs) > len(self.arms):
                raise PlanningError("I have only one hand for that" if len(self.arms) == 1 else
                                    "I can hold only two things at once", "too_many")
            for o in objs:
                steps.append(self._pick(w, o, self._arm_for(o.position[:2], None)))
        elif a in ("put_in", "put_on"):
            dest = self._ground_one(goal.target, scene, focus)
            if a == "put_on" and dest.kind in CONTAINER_KINDS:
                a = "put_in"  # "on the plate / on the tray": it goes in the container
            if a == "put_in" and dest.kind not in CONTAINER_KINDS:
                raise PlanningError(f"the {dest.label} is not something to put things in", "not_container")
            if any(o.track_id == dest.track_id for o in objs):
                raise PlanningError(f"I can't put the {dest.label} on itself", "self")
            top = dest
            for o in objs:
                if a == "put_in" and inside(o, dest):
                    continue  # already there
                steps += self._move(w, o, top, "place_in" if a == "put_in" else "place_on")
                if a == "put_on":
                    top = o  # several things "on" something make a stack
        elif a == "stack":
            if len(objs) < 2:
                raise PlanningError("I need at least two things to stack", "too_few")
            base, *rest = sorted(objs, key=lambda o: (-float(o.size[0] * o.size[1]), o.track_id))
            top = base
            for o in rest:
                steps += self._move(w, o, top, "place_on")
                top = o
        elif a == "sort":
            containers = [o for o in scene.objects if o.kind in CONTAINER_KINDS]
            for o in objs:
                if o.kind not in PICKABLE_KINDS:
                    continue
                same = [c for c in containers if c.color == o.color]
                if not same or any(inside(o, c) for c in same):
                    continue
                dest = min(same, key=lambda c: _dist(c.position[:2], o.position[:2]))
                steps += self._move(w, o, dest, "place_in")
            if not steps:
                raise PlanningError("everything is already sorted (or nothing has a container of its color)",
                                    "nothing_to_do")
        elif a in ("place_at", "push", "give"):
            xy = self._where(goal, w, scene)
            if len(objs) > 1:
                raise PlanningError("one thing at a time for that, please", "too_many")
            o = objs[0]
            if a == "push":
                arm = self._arm_for(o.position[:2], xy)
                steps.append(Step("push", f"push the {o.label} to ({xy[0]:.2f}, {xy[1]:.2f})", arm,
                                  w.handle(o), xy=xy))
                w.move(o, xy)
            else:
                steps += self._move_to_xy(w, o, xy)
        elif a == "swap":
            other = self._ground_one(goal.target, scene, focus)
            if len(objs) != 1 or objs[0].track_id == other.track_id:
                raise PlanningError("swapping needs two different things", "too_few")
            if other.kind not in PICKABLE_KINDS:
                raise PlanningError(f"I can't lift the {other.label}", "cannot_lift")
            o = objs[0]
            pa, pb = w.xy(o), w.xy(other)
            spot = w.free_spot(near=(0.0, 0.0), ignore={o.track_id, other.track_id})
            steps += self._move_to_xy(w, o, spot)
            steps += self._move_to_xy(w, other, pa)
            steps += self._move_to_xy(w, o, pb)
        else:
            raise PlanningError(f"I don't know how to {a}", "unknown_action")
        return Plan(goal, steps)

    # -- grounding -----------------------------------------------------------------------------
    def _ground(self, ref: Ref | None, scene: PerceivedScene, focus: Focus, default: Ref | None = None
                ) -> list[DetectedObject]:
        ref = ref or default
        if ref is None:
            raise PlanningError("which object do you mean?", "no_object")
        return resolve(ref, scene, focus)

    def _ground_one(self, ref: Ref | None, scene: PerceivedScene, focus: Focus) -> DetectedObject:
        if ref is None:
            raise PlanningError("where should it go?", "no_target")
        found = resolve(replace(ref, quantity="one"), scene, focus)
        return found[0]

    def _where(self, goal: Goal, w: _Virtual, scene: PerceivedScene) -> tuple[float, float]:
        if goal.action == "give":
            py = float(scene.person[1]) if scene.person is not None else 0.0
            return w.free_spot(near=(PERSON_EDGE_X, max(-0.15, min(0.15, py))))
        if goal.xy is not None:
            x, y = goal.xy
            if abs(x) > TABLE_HALF or abs(y) > TABLE_HALF:
                raise PlanningError(f"({x:.2f}, {y:.2f}) is off the table", "off_table")
            return (float(x), float(y))
        if goal.side is not None:
            return w.free_spot(near=SIDE_POINTS[goal.side])
        raise PlanningError("where should it go?", "no_target")

    # -- steps ---------------------------------------------------------------------------------
    def _arm_for(self, a_xy, b_xy) -> str:
        def score(arm: str) -> float:
            ra = self.reach(arm, tuple(map(float, a_xy)))
            rb = self.reach(arm, tuple(map(float, b_xy))) if b_xy is not None else 1.0
            return min(ra, rb)
        best = max(self.arms, key=score)
        return best

    def _reaches(self, arm: str, xy) -> bool:
        return self.reach(arm, (float(xy[0]), float(xy[1]))) > 0

    def _pick(self, w: _Virtual, o: DetectedObject, arm: str) -> Step:
        if not self._reaches(arm, w.xy(o)):
            raise PlanningError(f"the {o.label} is out of my reach", "unreachable")
        return Step("pick", f"pick up the {o.label}", arm, w.handle(o))

    def _move(self, w: _Virtual, o: DetectedObject, dest: DetectedObject, place: str) -> list[Step]:
        """Pick `o` and put it in/on `dest` (relayed between the arms when one cannot do both)."""
        verb = "in" if place == "place_in" else "on"
        steps: list[Step] = []
        a_xy, b_xy = w.xy(o), w.xy(dest)
        arm = self._held.get(o.track_id) or self._single_arm(a_xy, b_xy)
        if o.track_id in self._held:
            pass  # already in that hand
        elif arm is None:
            steps, arm = self._relay(w, o, b_xy)
        else:
            steps.append(self._pick(w, o, arm))
        steps.append(Step(place, f"put the {o.label} {verb} the {dest.label}", arm, w.handle(o), w.handle(dest)))
        w.move(o, b_xy, on=dest if place == "place_on" else None)
        return steps

    def _move_to_xy(self, w: _Virtual, o: DetectedObject, xy: tuple[float, float]) -> list[Step]:
        arm = self._held.get(o.track_id) or self._single_arm(w.xy(o), xy)
        if o.track_id in self._held:
            steps = []
        elif arm is None:
            steps, arm = self._relay(w, o, xy)
        else:
            steps = [self._pick(w, o, arm)]
        steps.append(Step("place_at", f"put the {o.label} down at ({xy[0]:.2f}, {xy[1]:.2f})", arm,
                          w.handle(o), xy=xy))
        w.move(o, xy)
        return steps

    def _single_arm(self, a_xy, b_xy) -> str | None:
        both = [a for a in self.arms if self._reaches(a, a_xy) and self._reaches(a, b_xy)]
        if not both:
            return None
        return max(both, key=lambda a: min(self.reach(a, tuple(map(float, a_xy))),
                                           self.reach(a, tuple(map(float, b_xy)))))

    def _relay(self, w: _Virtual, o: DetectedObject, to_xy) -> tuple[list[Step], str]:
        """No arm reaches both places: the arm at the object puts it in the middle for the other."""
        first = [a for a in self.arms if self._reaches(a, w.xy(o))]
        second = [a for a in self.arms if self._reaches(a, to_xy)]
        if not first or not second:
            raise PlanningError(f"the {o.label} or where it should go is out of my reach", "unreachable")
        a1, a2 = first[0], next((a for a in second if a != first[0]), second[0])
        spot = w.free_spot(near=(-0.05, 0.0), ignore={o.track_id})
        if not (self._reaches(a1, spot) and self._reaches(a2, spot)):
            raise PlanningError(f"I can't pass the {o.label} from one hand to the other here", "unreachable")
        steps = [self._pick(w, o, a1),
                 Step("place_at", f"put the {o.label} down at ({spot[0]:.2f}, {spot[1]:.2f})", a1, w.handle(o),
                      xy=spot)]
        w.move(o, spot)
        steps.append(self._pick(w, o, a2))
        return steps, a2


class _Virtual:
    """Where each object will be as the plan so far runs (by track id)."""

    def __init__(self, scene: PerceivedScene) -> None:
        self.scene = scene
        self.pos = {o.track_id: (float(o.position[0]), float(o.position[1])) for o in scene.objects}
        self.size = {o.track_id: float(max(o.size[:2])) for o in scene.objects}

    def xy(self, o: DetectedObject) -> tuple[float, float]:
        return self.pos[o.track_id]

    def handle(self, o: DetectedObject) -> Handle:
        return Handle(o.track_id, o.kind, o.color, self.pos[o.track_id])

    def move(self, o: DetectedObject, xy, on: DetectedObject | None = None) -> None:
        self.pos[o.track_id] = (float(xy[0]), float(xy[1]))

    def free_spot(self, near, ignore: set[int] | None = None, clearance: float = 0.06) -> tuple[float, float]:
        """The free point nearest `near` on a 2 cm grid, clear of every object's expected place."""
        ignore = ignore or set()
        best: tuple[float, tuple[float, float]] | None = None
        lim = TABLE_HALF - 0.05
        steps = [i * 0.02 for i in range(-int(lim / 0.02), int(lim / 0.02) + 1)]
        for x in steps:
            for y in steps:
                if all(_dist((x, y), p) > clearance + self.size[i] / 2
                       for i, p in self.pos.items() if i not in ignore):
                    d = _dist((x, y), near)
                    if best is None or d < best[0]:
                        best = (d, (round(x, 3), round(y, 3)))
        if best is None:
            raise PlanningError("there is no free space left on the table", "no_space")
        return best[1]


def _dist(a, b) -> float:
    return math.hypot(float(a[0]) - float(b[0]), float(a[1]) - float(b[1]))


__all__ = ["Ambiguous", "GroundingError", "Handle", "NotFound", "Plan", "Planner", "PlanningError", "Step"]
