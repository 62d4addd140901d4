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


@dataclass(frozen=True)
class Memo:
    """An object as the conversation remembers it: its track id then, its look and its place.

    Perception gives an object a new track id when it comes back into view (the hand hid it,
    the robot moved it), so a memo is found again by its look (and place) when the id is gone.
    """

    track_id: int
    kind: str
    color: str
    xy: tuple[float, float]

    @staticmethod
    def of(o: DetectedObject) -> Memo:
        return Memo(o.track_id, o.kind, o.color, (float(o.position[0]), float(o.position[1])))

    def looks_like(self, o: DetectedObject) -> bool:
        return o.kind == self.kind and o.color == self.color


@dataclass
class Focus:
    """Conversation memory: what "it"/"them" point at, and what "the other one" may mean.

    `it`: the object(s) last talked about; `others`: the alternatives to them, i.e. the candidates
    of the last "which one?" that were not chosen (or the one given up for one of them). Both are
    track ids; `memos` keeps each one's look and last place, so `locate` finds it again under a
    new track id.
    """

    it: list[int] = field(default_factory=list)
    others: list[int] = field(default_factory=list)
    memos: dict[int, Memo] = field(default_factory=dict)

    def remember(self, objs: list[DetectedObject], others: list[DetectedObject] | None = None) -> None:
        """`objs` are now what is talked about; `others`, if given, the candidates not chosen.

        Without `others`, the alternatives stay while the focus stays among the same candidates
        (the chosen one picked up; or one of the others taken instead, which makes the earlier
        choice the other one); a focus on anything else forgets them.
        """
        if others is None:
            old = [self._memo(i) for i in self.it]
            alts = [self._memo(i) for i in self.others]
            group = old + alts
            if objs and all(any(self._same(m, o, group) for m in group) for o in objs):
                others = [m for m in alts + old if not any(self._same(m, o, group) for o in objs)]
            else:
                others = []
            memos = list(others)
        else:
            memos = [Memo.of(o) for o in others]
        memos += [Memo.of(o) for o in objs]
        self.it = [o.track_id for o in objs]
        self.others = [m.track_id for m in memos[:len(memos) - len(objs)]]
        self.memos = {m.track_id: m for m in memos}

    def moved(self, track_id: int, kind: str, color: str, xy: tuple[float, float]) -> None:
        """The robot put a remembered object down somewhere else: remember the new place."""
        for i, m in list(self.memos.items()):
            if i == track_id or (m.kind == kind and m.color == color and
                                 sum(1 for n in self.memos.values() if n.kind == kind and n.color == color) == 1):
                self.memos[i] = Memo(m.track_id, m.kind, m.color, (float(xy[0]), float(xy[1])))

    def locate(self, ids: list[int], scene: PerceivedScene, taken: set[int] | None = None) -> list[DetectedObject]:
        """The objects of the scene that the remembered `ids` are now: the same track id, else the
        one object of that look, else of several the one nearest where it was last seen."""
        taken = set(taken or ())
        by_id = {o.track_id: o for o in scene.objects}
        found: dict[int, DetectedObject] = {}
        for i in ids:  # the same track id first, so that a look-alike never takes its place
            o, memo = by_id.get(i), self.memos.get(i)
            if o is not None and (memo is None or memo.looks_like(o)) and i not in taken:
                found[i] = o
                taken.add(i)
        for i in ids:
            memo = self.memos.get(i)
            if i in found or memo is None:
                continue
            same = [o for o in scene.objects if memo.looks_like(o) and o.track_id not in taken]
            if not same:
                continue
            o = min(same, key=lambda s: _dist(s.position, memo.xy))
            if len(same) > 1 and _dist(o.position, memo.xy) > NEAR:
                continue  # several of that look and none where it was: not known which
            found[i] = o
            taken.add(o.track_id)
        return [found[i] for i in ids if i in found]

    def _memo(self, i: int) -> Memo:
        return self.memos.get(i) or Memo(i, "", "", (0.0, 0.0))

    @staticmethod
    def _same(m: Memo, o: DetectedObject, group: list[Memo]) -> bool:
        """Is `o` the remembered `m`? The same track id, or the same look where no other
        remembered object has that look (else also the same place)."""
        if m.track_id == o.track_id:
            return True
        if not m.looks_like(o):
            return False
        alike = [n for n in group if n.kind == m.kind and n.color == m.color]
        return len(alike) == 1 or _dist(o.position, m.xy) < 0.05


def _dist(a, b) -> float:
    return float(((float(a[0]) - float(b[0])) ** 2 + (float(a[1]) - float(b[1])) ** 2) ** 0.5)


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
    if ref.anaphora in ("it", "them"):
        found = focus.locate(focus.it, scene)
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
        cands = _the_other(ref, cands, scene, focus)
    if not cands:
        raise NotFound(ref)
    if ref.quantity == "all":
        return sorted(cands, key=lambda o: o.track_id)
    if len(cands) > 1:
        raise Ambiguous(ref, cands)
    return cands


def _the_other(ref: Ref, cands: list[DetectedObject], scene: PerceivedScene, focus: Focus) -> list[DetectedObject]:
    """"The other one": of the candidates, one that is not what is talked about now; the
    alternatives offered in the last "which one?" first. Said bare ("the other one", "另一个"), it
    means another thing of the kind talked about."""
    current = {o.track_id for o in focus.locate(focus.it, scene)}
    alternatives = {o.track_id for o in focus.locate(focus.others, scene, taken=current)}
    if not (ref.kind or ref.color):
        kinds = {m.kind for i, m in focus.memos.items() if i in focus.it or i in focus.others} or \
            {o.kind for o in scene.objects if o.track_id in current | alternatives}
        if kinds:
            cands = [o for o in cands if o.kind in kinds]
    return [o for o in cands if o.track_id in alternatives] or [o for o in cands if o.track_id not in current]
