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

from embodiments.limits import SafetyLimits
from embodiments.types import CONTAINER_KINDS, PICKABLE_KINDS, TABLE_HALF, DetectedObject, PerceivedScene

from .grounding import Ambiguous, Focus, GroundingError, NotFound, inside, on_top, resolve
from .intent import Goal, Ref

SIDE_POINTS = {"left": (0.0, 0.15), "right": (0.0, -0.15), "front": (-0.15, 0.0), "back": (0.15, 0.0),
               "middle": (0.0, 0.0)}
PERSON_EDGE_X = 0.17  # "give me": put it down at the person's edge of the table
BESIDE_MIN, BESIDE_MAX = 0.08, 0.11  # m between centres: "next to the duck" (the spec's `near` is <= 0.12)
FINGER_ROOM = 0.04  # m: room for the open fingers between a thing put down and its other neighbours
RIM = 0.01  # m: a centre this close inside a container's footprint may be on its rim, not in it
LIMITS = SafetyLimits()  # the person's keep-out checked at plan time (the robot applies its own limits)


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
        self._grasping: dict[int, str] = {}
        self.arms = arms
        self.reach = reach or (lambda arm, xy: 1.0)

    # -- entry point -------------------------------------------------------------------------
    def plan(self, goal: Goal, scene: PerceivedScene, focus: Focus | None = None,
             held: dict[int, str] | None = None, grasping: dict[int, str] | None = None) -> Plan:
        """Raises `Ambiguous`/`NotFound` (ask or tell the person) or `PlanningError`.

        `held` maps the track ids of objects already in a hand to that arm: they are not
        picked again. `grasping` maps objects whose grasp is under way to the arm grasping
        them: that arm picks them (the step under way) and puts them down. Objects in (or
        going into) a hand are planned first.
        """
        focus = focus or Focus()
        self._held = held or {}
        self._grasping = {i: a for i, a in (grasping or {}).items() if i not in self._held}
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
        objs.sort(key=lambda o: self._arm_of(o) is None)  # what a hand has (or is taking) goes first
        if a in ("pick", "put_in", "put_on", "place_at", "push", "give", "swap"):
            for o in objs:
                if o.kind not in PICKABLE_KINDS:
                    raise PlanningError(f"I can't lift the {o.label}", "cannot_lift")
        if a == "pick":
            if len(objs) > len(self.arms):
                raise PlanningError("I have only one hand for that" if len(self.arms) == 1 else
                                    "I can hold only two things at once", "too_many")
            for o in objs:
                steps.append(self._pick(w, o, self._arm_of(o) or self._arm_for(o.position[:2], None)))
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
                if a == "put_in" and self._already_in(o, dest):
                    continue  # already there
                if a == "put_on" and self._arm_of(o) is None and on_top(o, top):
                    top = o  # already there (a re-plan, or a check that the goal holds)
                    continue
                steps += self._move(w, o, top, "place_in" if a == "put_in" else "place_on")
                if a == "put_on":
                    top = o  # several things "on" something make a stack
        elif a == "stack":
            if len(objs) < 2:
                raise PlanningError("I need at least two things to stack", "too_few")
            # A tower already standing (a re-plan half-way, after a failure or a change) is built on,
            # not taken apart; the base is on the table, never in a hand; what a hand holds goes next.
            on_table = [o for o in objs if self._arm_of(o) is None] or objs
            tower = _standing_tower(on_table)
            if len(tower) < 2:
                tower = [min(on_table, key=lambda o: (-float(o.size[0] * o.size[1]), o.track_id))]
            rest = sorted((o for o in objs if all(o.track_id != t.track_id for t in tower)),
                          key=lambda o: (self._arm_of(o) is None, -float(o.size[0] * o.size[1]), o.track_id))
            if not rest:
                raise PlanningError("they are already stacked", "nothing_to_do")
            top = tower[-1]
            for o in rest:
                steps += self._move(w, o, top, "place_on")
                top = o
        elif a == "sort":
            containers = [o for o in scene.objects if o.kind in CONTAINER_KINDS]
            for o in objs:
                if o.kind not in PICKABLE_KINDS:
                    continue
                same = [c for c in containers if c.color == o.color]
                if not same or any(self._already_in(o, c) for c in same):
                    continue
                dest = min(same, key=lambda c: _dist(c.position[:2], o.position[:2]))
                steps += self._move(w, o, dest, "place_in")
            if not steps:
                raise PlanningError("everything is already sorted (or nothing has a container of its color)",
                                    "nothing_to_do")
        elif a in ("place_at", "push", "give"):
            if len(objs) > 1:
                raise PlanningError("one thing at a time for that, please", "too_many")
            o = objs[0]
            xy = self._where(goal, w, scene, focus, o)
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
        _check_keep_out(steps, scene)
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

    def _where(self, goal: Goal, w: _Virtual, scene: PerceivedScene, focus: Focus, o: DetectedObject
               ) -> tuple[float, float]:
        if goal.action == "give":
            py = float(scene.person[1]) if scene.person is not None else 0.0
            return w.free_spot(near=(PERSON_EDGE_X, max(-0.15, min(0.15, py))))
        if goal.xy is not None:
            x, y = goal.xy
            if abs(x) > TABLE_HALF or abs(y) > TABLE_HALF:
                raise PlanningError(f"({x:.2f}, {y:.2f}) is off the table", "off_table")
            return (float(x), float(y))
        if goal.target is not None:  # "next to the duck"
            anchor = self._ground_one(goal.target, scene, focus)
            if anchor.track_id == o.track_id:
                raise PlanningError(f"I can't put the {o.label} next to itself", "self")
            return self._beside(w, anchor, o, goal.side)
        if goal.side is not None:
            return w.free_spot(near=SIDE_POINTS[goal.side])
        raise PlanningError("where should it go?", "no_target")

    def _beside(self, w: _Virtual, anchor: DetectedObject, o: DetectedObject, side: str | None = None
                ) -> tuple[float, float]:
        """A free spot on the table next to `anchor` for `o`: its centre BESIDE_MIN..BESIDE_MAX
        from the anchor's (farther for a big anchor, so the two do not touch), clear of every
        other object with room for the hand, and reachable. Preferred: on `side` of the anchor
        if one was said ("left of the duck"), then one an arm can reach from where `o` is, then
        the snuggest, then the nearest the middle of the table."""
        ax, ay = w.xy(anchor)
        half_o = float(max(o.size[:2])) / 2
        r_min = max(BESIDE_MIN, w.size[anchor.track_id] / 2 + half_o + 0.015)
        r_max = max(BESIDE_MAX, r_min + 0.02)
        lim = TABLE_HALF - 0.04
        free: list[tuple[tuple, tuple[float, float]]] = []
        n = int(r_max / 0.01) + 1
        for i in range(-n, n + 1):
            for j in range(-n, n + 1):
                x, y = round(ax + i * 0.01, 3), round(ay + j * 0.01, 3)
                d = math.hypot(x - ax, y - ay)
                if not (r_min <= d <= r_max) or abs(x) > lim or abs(y) > lim:
                    continue
                if not all(_dist((x, y), p) > w.size[k] / 2 + half_o + FINGER_ROOM
                           for k, p in w.pos.items() if k not in (o.track_id, anchor.track_id)):
                    continue
                off_side = side is not None and side != "middle" and \
                    (SIDE_POINTS[side][0] * (x - ax) + SIDE_POINTS[side][1] * (y - ay)) <= 0
                free.append(((off_side, round(d - r_min, 2), math.hypot(x, y)), (x, y)))
        free.sort()
        # Reach is an IK query per new point: ask in order of preference and stop at the first fit.
        for group in (False, True):
            spots = [xy for key, xy in free if key[0] == group]
            fallback = None
            for xy in spots:
                if self._single_arm(w.xy(o), xy) is not None:
                    return xy
                if fallback is None and any(self._reaches(arm, xy) for arm in self.arms):
                    fallback = xy  # reachable, with a relay
            if fallback is not None:
                return fallback
        raise PlanningError(f"there is no free space next to the {anchor.label}", "no_space")

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
        b_xy = w.xy(dest)
        steps, arm = self._take(w, o, b_xy)
        steps.append(Step(place, f"put the {o.label} {verb} the {dest.label}", arm, w.handle(o), w.handle(dest)))
        w.move(o, b_xy, on=dest if place == "place_on" else None)
        return steps

    def _move_to_xy(self, w: _Virtual, o: DetectedObject, xy: tuple[float, float]) -> list[Step]:
        steps, arm = self._take(w, o, xy)
        steps.append(Step("place_at", f"put the {o.label} down at ({xy[0]:.2f}, {xy[1]:.2f})", arm,
                          w.handle(o), xy=xy))
        w.move(o, xy)
        return steps

    def _already_in(self, o: DetectedObject, c: DetectedObject) -> bool:
        """Is `o` in container `c` already: not in a hand, its centre well inside `c`'s footprint. (Not
        `grounding.inside` alone, which also wants it seen raised off the table: a tray's floor is
        thin, and the bottom of a cube under another one in it is hidden.)"""
        if self._arm_of(o) is not None or c.kind not in CONTAINER_KINDS or o.kind == c.kind:
            return False
        return inside(o, c) or _dist(o.position[:2], c.position[:2]) < float(min(c.size[:2])) / 2 - RIM

    def _arm_of(self, o: DetectedObject) -> str | None:
        """The arm that holds `o` or is grasping it now, if any."""
        return self._held.get(o.track_id) or self._grasping.get(o.track_id)

    def _take(self, w: _Virtual, o: DetectedObject, to_xy) -> tuple[list[Step], str]:
        """The steps that bring `o` into the hand of an arm that reaches `to_xy`, and that arm.

        An object already in a hand (or being grasped) stays with that hand: it picks it (unless it
        holds it already) and puts it down, relaying it to the other arm only when it cannot reach
        where it goes."""
        arm = self._arm_of(o)
        if arm is None:
            arm = self._single_arm(w.xy(o), to_xy)
            if arm is None:
                return self._relay(w, o, to_xy)
            return [self._pick(w, o, arm)], arm
        steps = [] if o.track_id in self._held else [Step("pick", f"pick up the {o.label}", arm, w.handle(o))]
        if self._reaches(arm, to_xy) or len(self.arms) == 1:
            return steps, arm
        relay, other = self._relay(w, o, to_xy, from_arm=arm)
        return steps + relay[1:], other

    def _single_arm(self, a_xy, b_xy) -> str | None:
        both = [a for a in self.arms if self._reaches(a, a_xy) and self._reaches(a, b_xy)]
        if not both:
            return None
        return max(both, key=lambda a: min(self.reach(a, tuple(map(float, a_xy))),
                                           self.reach(a, tuple(map(float, b_xy)))))

    def _relay(self, w: _Virtual, o: DetectedObject, to_xy, from_arm: str | None = None) -> tuple[list[Step], str]:
        """No arm reaches both places: the arm at the object (or `from_arm`, which has it) puts it
        in the middle for the other."""
        first = [from_arm] if from_arm is not None else [a for a in self.arms if self._reaches(a, w.xy(o))]
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


def _check_keep_out(steps: list[Step], scene: PerceivedScene, limits: SafetyLimits = LIMITS) -> None:
    """A plan whose waypoints (where the hand picks, puts or pushes) enter the keep-out around the
    person is refused. The robot checks every commanded step again against the person's shape
    (embodiments/sim/contact.py); this says no before anything moves."""
    if scene.person is None:
        return
    for s in steps:
        for xy in (s.obj.xy if s.obj else None, s.dest.xy if s.dest else None, s.xy):
            if xy is not None and limits.near_person(xy, scene.person):
                raise PlanningError(f"{s.instruction}: ({xy[0]:.2f}, {xy[1]:.2f}) is too close to the person",
                                    "unsafe")


def _dist(a, b) -> float:
    return math.hypot(float(a[0]) - float(b[0]), float(a[1]) - float(b[1]))


def _standing_tower(objs: list[DetectedObject]) -> list[DetectedObject]:
    """The tallest stack of `objs` already standing, bottom first (one object if none)."""
    best: list[DetectedObject] = []
    for base in objs:
        if any(on_top(base, o) for o in objs if o is not base):
            continue  # not a bottom
        chain = [base]
        while True:
            above = [o for o in objs if all(o is not c for c in chain) and on_top(o, chain[-1])]
            if not above:
                break
            chain.append(min(above, key=lambda o: o.top_z))
        if len(chain) > len(best):
            best = chain
    return best


__all__ = ["Ambiguous", "GroundingError", "Handle", "NotFound", "Plan", "Planner", "PlanningError", "Step"]
