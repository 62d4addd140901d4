"""Resolving references ("the red cube", "it", "all red things") against a perceived scene.

Grounding is deterministic and explains itself: no match raises `NotFound`,
several matches for a "one" reference raise `Ambiguous` with the candidates (the
dialogue manager turns that into a clarifying question), and the conversation
memory (`Focus`) carries what "it", "them" and "the other one" point at.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from embodiments.types import CONTAINER_KINDS, DetectedObject, PerceivedScene

from .intent import Ref

SIDE_MARGIN = 0.05  # m: "on the left" means y > +5 cm (robot's left); the middle strip is neither
NEAR = 0.12  # m: "next to"


class GroundingError(Exception):
    """A reference that cannot be resolved; the message is plain English for logs."""


class NotFound(GroundingError):
    def __init__(self, ref: Ref) -> None:
        self.ref = ref
        super().__init__(f"no {ref.describe().removeprefix('the ').removeprefix('all the ')} in sight")


class Ambiguous(GroundingError):
    def __init__(self, ref: Ref, candidates: list[DetectedObject]) -> None:
        self.ref, self.candidates = ref, candidates
        super().__init__(f"{ref.describe()} could be: " + ", ".join(c.label for c in candidates))


@dataclass
class Focus:
    """Conversation memory for anaphora: what was last talked about, by track id."""

    it: list[int] = field(default_factory=list)  # the last object(s) referred to
    others: list[int] = field(default_factory=list)  # candidates not chosen in the last clarification
    labels: list[tuple[str, str]] = field(default_factory=list)  # their (kind, color): they get new ids when moved

    def remember(self, objs: list[DetectedObject]) -> None:
        self.it = [o.track_id for o in objs]
        self.labels = [(o.kind, o.color) for o in objs]


def side_of(o: DetectedObject) -> str:
    y, x = float(o.position[1]), float(o.position[0])
    if y > SIDE_MARGIN:
        return "left"
    if y < -SIDE_MARGIN:
        return "right"
    return "back" if x > 0.08 else "front" if x < -0.08 else "middle"


def _on_side(o: DetectedObject, side: str) -> bool:
    y, x = float(o.position[1]), float(o.position[0])
    return {"left": y > SIDE_MARGIN, "right": y < -SIDE_MARGIN, "front": x < -0.05, "back": x > 0.05,
            "middle": abs(x) < 0.1 and abs(y) < 0.1}[side]


def inside(o: DetectedObject, c: DetectedObject) -> bool:
    """Is `o` in container `c` (centre within its footprint and above its floor)?"""
    if c.kind not in CONTAINER_KINDS or o is c:
        return False
    r = float(min(c.size[:2])) / 2
    d = float(((o.position[:2] - c.position[:2]) ** 2).sum()) ** 0.5
    bottom = 2 * float(o.position[2]) - o.top_z  # perception's z is halfway between support and top
    return d < r and bottom > 0.004 and c.kind != o.kind  # raised off the table: on the container's floor


def on_top(o: DetectedObject, b: DetectedObject) -> bool:
    """Is `o` standing on `b` (a stack)?"""
    if o is b or b.kind in CONTAINER_KINDS:
        return False
    d = float(((o.position[:2] - b.position[:2]) ** 2).sum()) ** 0.5
    return d < float(max(b.size[:2])) / 2 and o.top_z > b.top_z + 0.01


def matches(o: DetectedObject, ref: Ref, scene: PerceivedScene) -> bool:
    if ref.kind and o.kind != ref.kind:
        return False
    if ref.color and o.color != ref.color:
        return False
    if ref.side and not _on_side(o, ref.side):
        return False
    return True


def resolve(ref: Ref, scene: PerceivedScene, focus: Focus | None = None,
            exclude: set[int] | None = None) -> list[DetectedObject]:
    """The objects `ref` means: exactly one for a "one" reference, one or more for "all"."""
    focus = focus or Focus()
    exclude = exclude or set()
    by_id = {o.track_id: o for o in scene.objects}
    if ref.anaphora in ("it", "them"):
        found = [by_id[i] for i in focus.it if i in by_id]
        if not found:  # moved since (a new track): the same kind and colour, if that is unique
            for kind, color in focus.labels:
                same = [o for o in scene.objects if o.kind == kind and o.color == color]
                found += same[:1] if len(same) == 1 else []
        if not found:
            raise NotFound(ref)
        return found if ref.anaphora == "them" or len(found) == 1 else found[:1]
    cands = [o for o in scene.objects if o.track_id not in exclude and matches(o, ref, scene)]
    if ref.relation and ref.anchor is not None:
        anchors = resolve(Ref(ref.anchor.kind, ref.anchor.color, "all", ref.anchor.side), scene, focus)
        test = {"in": inside, "on": on_top,
                "near": lambda a, b: float(((a.position[:2] - b.position[:2]) ** 2).sum()) ** 0.5 < NEAR}
        cands = [o for o in cands if any(test[ref.relation](o, a) for a in anchors if a is not o)]
    if ref.anaphora == "other":
        pool = [o for o in cands if o.track_id in focus.others] or \
               [o for o in cands if o.track_id not in focus.it]
        cands = pool
    if not cands:
        raise NotFound(ref)
    if ref.quantity == "all":
        return sorted(cands, key=lambda o: o.track_id)
    if len(cands) > 1:
        raise Ambiguous(ref, cands)
    return cands
