"""The canonical English instructions of plan steps, parsed back into goals (a strict grammar).

Plan steps (`planner/plan.py`) carry a canonical English instruction ("pick up the red cube",
"put the red cube in the blue bowl", "put the red cube down at (0.10, -0.05)", "push the red
cube to (0.00, 0.15)", "go home", "open the gripper"). They are written by our own planner, so
this is a strict grammar, not language understanding: anything else is an
`InstructionError` naming what was expected. A reference is "the [colour] kind" with the
vocabulary of `embodiments.types`.

| instruction | goal |
| --- | --- |
| `pick up the <ref>` | pick |
| `put the <ref> in the <ref>` / `put the <ref> on the <ref>` | put_in / put_on |
| `put the <ref> down at (<x>, <y>)` / `put the <ref> down at the <side>` | place_at |
| `push the <ref> to (<x>, <y>)` / `push the <ref> to the <side>` | push |
| `give me the <ref>` | give |
| `go home`, `open the gripper`, `close the gripper` | home, open, close |
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..types import COLORS, OBJECT_KINDS

SIDES = ("left", "right", "front", "back", "middle")
_REF = r"the (?:(?P<{p}c>{colors}) )?(?P<{p}k>{kinds})"
_NUM = r"(-?\d+(?:\.\d+)?)"


class InstructionError(ValueError):
    """Not an instruction of the canonical grammar (the message says what is understood)."""


@dataclass(frozen=True)
class Parsed:
    """One instruction as data (planner-free, so the success checks can use it cheaply)."""

    action: str  # pick | put_in | put_on | place_at | push | give | home | open | close
    kind: str | None = None
    color: str | None = None
    dest_kind: str | None = None
    dest_color: str | None = None
    xy: tuple[float, float] | None = None
    side: str | None = None

    def goal(self):
        """The planner's `Goal` for this instruction."""
        from planner.intent import Goal, Ref

        obj = Ref(kind=self.kind, color=self.color) if self.kind else None
        dest = Ref(kind=self.dest_kind, color=self.dest_color) if self.dest_kind else None
        return Goal(self.action, objects=obj, target=dest, xy=self.xy, side=self.side)  # type: ignore[arg-type]


def _ref(p: str) -> str:
    return _REF.format(p=p, colors="|".join(COLORS), kinds="|".join(OBJECT_KINDS))


_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("pick", re.compile(rf"pick up {_ref('o')}")),
    ("put", re.compile(rf"put {_ref('o')} (?P<rel>in|on) {_ref('d')}")),
    ("place_at", re.compile(rf"put {_ref('o')} down at \({_NUM}, {_NUM}\)")),
    ("place_side", re.compile(rf"put {_ref('o')} down at the (?P<side>{'|'.join(SIDES)})")),
    ("push", re.compile(rf"push {_ref('o')} to \({_NUM}, {_NUM}\)")),
    ("push_side", re.compile(rf"push {_ref('o')} to the (?P<side>{'|'.join(SIDES)})")),
    ("give", re.compile(rf"give me {_ref('o')}")),
    ("home", re.compile(r"go home(?: to look again)?")),
    ("open", re.compile(r"open the gripper")),
    ("close", re.compile(r"close the gripper")),
]


def parse_instruction(text: str) -> Parsed:
    """Parse one canonical instruction; `InstructionError` when it is not one."""
    t = " ".join(str(text).lower().strip().rstrip(".!").split())
    for name, pat in _PATTERNS:
        m = pat.fullmatch(t)
        if m is None:
            continue
        g = m.groupdict()
        obj = {"kind": g.get("ok"), "color": g.get("oc")}
        if name == "pick":
            return Parsed("pick", **obj)
        if name == "put":
            return Parsed("put_in" if g["rel"] == "in" else "put_on", **obj, dest_kind=g["dk"], dest_color=g["dc"])
        if name in ("place_at", "push"):
            nums = [float(v) for v in m.groups()[-2:]]
            return Parsed(name, **obj, xy=(nums[0], nums[1]))
        if name in ("place_side", "push_side"):
            return Parsed("place_at" if name == "place_side" else "push", **obj, side=g["side"])
        if name == "give":
            return Parsed("give", **obj)
        return Parsed(name)
    raise InstructionError(
        f"not a canonical instruction: {text!r} (expected e.g. 'pick up the red cube', 'put the red cube in "
        "the blue bowl', 'put the red cube down at (0.10, 0.05)', 'push the red cube to the left', 'go home')")
