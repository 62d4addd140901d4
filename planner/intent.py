"""What a person asked for, as data: references, goals and intents.

Understanding backends (the multilingual lexicon, LLMs) produce these; the
planner grounds them in what perception sees and turns goals into plans. A
reference is a *description* ("the red cube", "it", "all red things",
"everything on the left"), never a resolved object: it is resolved against the
scene at planning time, so a re-plan after the scene changed resolves it again.
Numpy-free and dependency-free, so the types can be serialised as the JSON
schema the LLM backends are asked to fill.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Literal

Side = Literal["left", "right", "front", "back", "middle"]
Quantity = Literal["one", "all"]
Anaphora = Literal["it", "other", "them"]
# What is there but is not an object the robot can move: the table, the robot itself, the floor,
# a wall, a person. Named so that "lift the table" gets a clear "I can't" instead of a shrug.
Fixture = Literal["table", "robot", "floor", "wall", "person"]
FIXTURES: tuple[str, ...] = ("table", "robot", "floor", "wall", "person")


@dataclass(frozen=True)
class Ref:
    """A description of one or more objects in the scene.

    `kind`/`color` filter by what perception reports; `side` by where on the
    table (robot's left is +y); `quantity="all"` asks for every match;
    `anaphora` points back into the conversation ("it" = the object last talked
    about, "other" = the candidate not chosen last time, "them" = the last group).
    `relation`/`anchor` narrow by another object ("the cube in the bowl",
    "the cube next to the duck"). `fixture` names something that is not an object on the
    table ("lift the table", "push the wall"): such a reference never resolves to an object,
    and a goal that would move it is refused with a reason.
    """

    kind: str | None = None
    color: str | None = None
    quantity: Quantity = "one"
    side: Side | None = None
    anaphora: Anaphora | None = None
    relation: Literal["in", "on", "near"] | None = None
    anchor: Ref | None = None
    fixture: Fixture | None = None

    def describe(self) -> str:
        """Canonical English words for the reference ("the red cube", "all the cubes")."""
        if self.fixture:
            return "myself" if self.fixture == "robot" else f"the {self.fixture}"
        if self.anaphora == "it":
            return "it"
        if self.anaphora == "them":
            return "them"
        noun = self.kind or ("thing" if self.quantity == "one" else "things")
        if self.quantity == "all" and self.kind:
            noun = _plural(self.kind)
        words = [w for w in (self.color, noun) if w]
        text = ("all the " if self.quantity == "all" else "the ") + " ".join(words)
        if self.anaphora == "other":
            text = "the other " + " ".join(words)
        if self.side:
            text += f" on the {self.side}" if self.side in ("left", "right") else f" at the {self.side}"
        if self.relation and self.anchor:
            text += f" {'next to' if self.relation == 'near' else self.relation} {self.anchor.describe()}"
        return text


Action = Literal["pick", "put_in", "put_on", "place_at", "stack", "sort", "swap", "push", "give", "home",
                 "open", "close"]


@dataclass(frozen=True)
class Goal:
    """What should become true, in terms of references.

    | action | meaning |
    | `pick` | hold `objects` |
    | `put_in` / `put_on` | `objects` in / on `target` |
    | `place_at` | `objects` at `xy` (or at `side` of the table, or next to `target`) |
    | `stack` | `objects` in one tower |
    | `sort` | every object into the container of its colour |
    | `swap` | `objects` and `target` trade places |
    | `push` | slide `objects` to `xy` / `side` |
    | `give` | `objects` handed to the person (put down at their edge of the table) |
    | `home`, `open`, `close` | the arm(s) / gripper |
    """

    action: Action
    objects: Ref | None = None
    target: Ref | None = None
    xy: tuple[float, float] | None = None
    side: Side | None = None

    def describe(self) -> str:
        o = self.objects.describe() if self.objects else ""
        t = self.target.describe() if self.target else ""
        where = f"({self.xy[0]:.2f}, {self.xy[1]:.2f})" if self.xy else (f"the {self.side}" if self.side else "")
        return {
            "pick": f"pick up {o}", "put_in": f"put {o} in {t}", "put_on": f"put {o} on {t}",
            "place_at": f"put {o} next to {t}" if t and not where else f"put {o} down at {where}",
            "stack": f"stack {o}", "sort": "sort the objects by color",
            "swap": f"swap {o} and {t}", "push": f"push {o} to {where}", "give": f"give me {o}",
            "home": "go home", "open": "open the gripper", "close": "close the gripper",
        }[self.action]


class Act(StrEnum):
    NEW_TASK = "new_task"
    CHANGE = "change"  # change the object, the target or the relation of the current task
    STOP = "stop"  # stop / pause: hold still, resumable
    RESUME = "resume"
    CANCEL = "cancel"
    UNDO = "undo"  # put it back
    QUERY = "query"  # a question about the scene
    ANSWER = "answer"  # the answer to a clarifying question
    CHAT = "chat"  # greetings, thanks, small talk
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Intent:
    """One turn, understood. Which fields matter depends on `act`:

    NEW_TASK: `goal`. CHANGE: `slot` ("objects", "target" or "action") and the new
    `ref` (or `goal` for a new action). ANSWER: `ref` (the chosen object). QUERY:
    `question` ("what", "where", "count", "status") and `ref`. UNKNOWN: `reason`.
    """

    act: Act
    goal: Goal | None = None
    slot: Literal["objects", "target", "action"] | None = None
    ref: Ref | None = None
    question: str | None = None
    reason: str = ""
    language: str = "en"
    confidence: float = 1.0
    extras: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _plural(kind: str) -> str:
    return {"box": "boxes", "teddy": "teddies", "lego": "lego bricks"}.get(kind, kind + "s")
