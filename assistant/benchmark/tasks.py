"""The task families of the household benchmark: a seeded scene, what the person says, and
what must be true at the end.

Each family builds its scene from the episode's seed (object colours, extra objects, the
layout drawn by `sim.objects.place_objects`), the first turn and the mid-task change in the
episode's language (`phrases.py`), and the goal as data (`Goal`), judged later on ground
truth only (`judge.py`). Every (kind, colour) label in a scene is unique, so each command
names exactly one thing and a failure is the assistant's, not an ambiguous request.

| family | scene | first turn | the change ("no, ...") |
| pick_place | a cube, two bowls, one extra | the cube into one bowl | into the other bowl |
| multi_object | two cubes, two balls, a tray | all the cubes into the tray | the balls instead |
| sort_color | two cubes, two blocks, bowls of their colours | sort the cubes by colour | the blocks instead |
| stacking | three cubes, two blocks | stack the cubes | the blocks instead |
| spatial | two cubes, the duck, one extra | a cube next to the duck | the other cube |
| questions | 2-3 cubes, the duck left or right, a ball, a bowl | how many cubes? / where's the duck? | the other one |

The `distractors` perturbation adds 2-3 objects of similar kinds and colours (a red block
beside the red cube, an orange cube, a plate beside the bowl), none of which the command names.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from embodiments.scene_spec import SceneSpec

from .phrases import COLORS, say

if TYPE_CHECKING:  # numpy is imported where scenes are built: `robot-assistant --help` stays quick
    import numpy as np

FAMILIES = ("pick_place", "multi_object", "sort_color", "stacking", "spatial", "questions")
PERTURBATIONS = ("none", "changed", "moved", "removed", "distractors")
ALL_COLORS = ("red", "green", "blue", "yellow", "orange", "purple", "white", "black", "pink", "brown")
SIMILAR_COLORS = {"red": ("orange", "pink"), "green": ("yellow", "blue"), "blue": ("purple", "green"),
                  "yellow": ("orange", "white")}
EXTRA_KINDS = ("ball", "teddy", "lego", "mug")
TIMEOUT = {"pick_place": 45.0, "multi_object": 75.0, "sort_color": 75.0, "stacking": 90.0, "spatial": 45.0,
           "questions": 10.0}
PERTURBED_EXTRA = 30.0  # s: a change, a move or a removal costs a re-plan and maybe a put-back
NEAR_START = 0.2  # m: in `spatial`, no cube starts this close to the duck (else the goal would hold already)


@dataclass(frozen=True)
class Goal:
    """What must hold at the end, over object ids (see `judge.py` for each kind)."""

    kind: str  # in | sorted | tower | near | answer
    objects: tuple[str, ...] = ()
    dest: str | None = None
    question: str | None = None  # answer: count | where


@dataclass(frozen=True)
class Task:
    scene: SceneSpec
    command: str  # the first turn
    goal: Goal
    change: str | None = None  # the second turn of a `changed` episode
    changed_goal: Goal | None = None
    primary: str = ""  # the object a move or removal is about when no step is under way
    timeout: float = 60.0
    notes: dict = field(default_factory=dict)


def build_task(family: str, language: str, perturbation: str, seed: int) -> Task:
    """The episode's task; the layout is redrawn (same seed stream) until everything fits."""
    if family not in _BUILDERS:
        raise ValueError(f"unknown task family {family!r} (known: {', '.join(FAMILIES)})")
    import numpy as np

    rng = np.random.default_rng(seed)
    objs, task_kw = _BUILDERS[family](rng, language)
    if perturbation == "distractors":
        objs += _distractors(family, objs, rng)
    scene = _layout(objs, seed, family)
    timeout = TIMEOUT[family] + (PERTURBED_EXTRA if perturbation in ("changed", "moved", "removed") else 0.0)
    return Task(scene=scene, timeout=timeout, **task_kw)


# -- the families ------------------------------------------------------------------------------
def _colors(rng: np.random.Generator, n: int) -> list[str]:
    return [str(c) for c in rng.permutation(COLORS)[:n]]


def _extra(rng: np.random.Generator, used: set[tuple[str, str]]) -> dict:
    while True:
        kind, color = str(rng.choice(EXTRA_KINDS)), str(rng.choice(ALL_COLORS))
        if (kind, color) not in used:
            return {"id": "extra", "kind": kind, "color": color}


def _pick_place(rng, lang):
    c1, c2, c3 = _colors(rng, 3)
    objs = [{"id": "cube", "kind": "cube", "color": c1}, {"id": "bowl", "kind": "bowl", "color": c2},
            {"id": "bowl_alt", "kind": "bowl", "color": c3}]
    objs.append(_extra(rng, {("cube", c1), ("bowl", c2), ("bowl", c3)}))
    return objs, dict(command=say(lang, "put_in", cube=c1, bowl=c2), goal=Goal("in", ("cube",), "bowl"),
                      change=say(lang, "change_dest", bowl=c3), changed_goal=Goal("in", ("cube",), "bowl_alt"),
                      primary="cube")


def _multi(rng, lang):
    cubes, balls = _colors(rng, 2), _colors(rng, 2)
    objs = [{"id": f"cube_{c}", "kind": "cube", "color": c} for c in cubes]
    objs += [{"id": f"ball_{c}", "kind": "ball", "color": c} for c in balls]
    objs.append({"id": "tray", "kind": "tray", "color": str(rng.choice(("white", "black", "brown", "purple")))})
    return objs, dict(command=say(lang, "put_all"), goal=Goal("in", tuple(f"cube_{c}" for c in cubes), "tray"),
                      change=say(lang, "change_balls"),
                      changed_goal=Goal("in", tuple(f"ball_{c}" for c in balls), "tray"), primary=f"cube_{cubes[0]}")


def _sort(rng, lang):
    cols = _colors(rng, 2)
    objs = [{"id": f"{k}_{c}", "kind": k, "color": c} for k in ("cube", "block", "bowl") for c in cols]
    return objs, dict(command=say(lang, "sort"), goal=Goal("sorted", tuple(f"cube_{c}" for c in cols)),
                      change=say(lang, "change_blocks"),
                      changed_goal=Goal("sorted", tuple(f"block_{c}" for c in cols)), primary=f"cube_{cols[0]}")


def _stacking(rng, lang):
    cubes, blocks = _colors(rng, 3), _colors(rng, 2)
    objs = [{"id": f"cube_{c}", "kind": "cube", "color": c} for c in cubes]
    objs += [{"id": f"block_{c}", "kind": "block", "color": c} for c in blocks]
    return objs, dict(command=say(lang, "stack"), goal=Goal("tower", tuple(f"cube_{c}" for c in cubes)),
                      change=say(lang, "change_blocks"),
                      changed_goal=Goal("tower", tuple(f"block_{c}" for c in blocks)), primary=f"cube_{cubes[0]}")


def _spatial(rng, lang):
    c1, c3 = _colors(rng, 2)
    objs = [{"id": "cube", "kind": "cube", "color": c1}, {"id": "cube_alt", "kind": "cube", "color": c3},
            {"id": "duck", "kind": "duck"}]
    objs.append(_extra(rng, {("cube", c1), ("cube", c3), ("duck", "yellow")}))
    return objs, dict(command=say(lang, "near", cube=c1), goal=Goal("near", ("cube",), "duck"),
                      change=say(lang, "change_one", one=c3), changed_goal=Goal("near", ("cube_alt",), "duck"),
                      primary="cube")


def _questions(rng, lang):
    n = int(rng.integers(2, 4))
    objs = [{"id": f"cube_{c}", "kind": "cube", "color": c} for c in _colors(rng, n)]
    side = 1.0 if rng.random() < 0.5 else -1.0  # the duck clearly on the robot's left or right
    duck_at = [round(float(rng.uniform(-0.12, 0.12)), 3), round(side * float(rng.uniform(0.13, 0.19)), 3)]
    objs.append({"id": "duck", "kind": "duck", "at": duck_at})
    objs += [{"id": "ball", "kind": "ball", "color": str(rng.choice(ALL_COLORS))},
             {"id": "bowl", "kind": "bowl", "color": str(rng.choice(ALL_COLORS))}]
    first = "count" if rng.random() < 0.5 else "where"
    second = "where" if first == "count" else "count"
    return objs, dict(command=say(lang, first), goal=Goal("answer", question=first), change=say(lang, second),
                      changed_goal=Goal("answer", question=second),
                      primary=objs[0]["id"] if first == "count" else "duck")


_BUILDERS = {"pick_place": _pick_place, "multi_object": _multi, "sort_color": _sort, "stacking": _stacking,
             "spatial": _spatial, "questions": _questions}


# -- distractors and layout --------------------------------------------------------------------
def _distractors(family: str, objs: list[dict], rng: np.random.Generator) -> list[dict]:
    """2-3 objects like the named ones (kind or colour), none of them named by any turn."""
    named = [o for o in objs if o["id"] not in ("extra",)]
    first = named[0]
    c = first.get("color", "yellow")
    near = SIMILAR_COLORS.get(c, ("orange", "pink"))
    cands = {
        "pick_place": [("block", c), ("cube", near[0]), ("plate", objs[1]["color"]), ("lego", c)],
        "multi_object": [("block", c), ("lego", near[0]), ("plate", near[1])],
        "sort_color": [("lego", c), ("ball", objs[1]["color"]), ("bowl", near[0])],
        "stacking": [("lego", c), ("ball", near[0]), ("lego", near[1])],
        "spatial": [("block", c), ("teddy", "brown"), ("ball", "yellow"), ("cube", near[0])],
        "questions": [("block", c), ("lego", near[0]), ("teddy", "brown")],
    }[family]
    used = {(o["kind"], o.get("color")) for o in objs}
    cands = [k for k in cands if k not in used]
    n = min(len(cands), int(rng.integers(2, 4)))
    picked = [cands[i] for i in sorted(rng.choice(len(cands), size=n, replace=False))]
    return [{"id": f"distractor{i}", "kind": k, "color": col} for i, (k, col) in enumerate(picked)]


def _layout(objs: list[dict], seed: int, family: str) -> SceneSpec:
    """Fixed positions for every object, drawn from the seed; redrawn until they fit (and, in
    `spatial`, until no cube starts near the duck)."""
    from embodiments.sim.objects import place_objects

    spec = SceneSpec.from_dict({"seed": seed, "objects": objs})
    for attempt in range(50):
        try:
            placed = place_objects(spec.objects, seed * 101 + attempt)
        except ValueError:
            continue
        if family == "spatial":
            d = placed["duck"][0]
            if min(math.dist(placed[i][0], d) for i in ("cube", "cube_alt")) < NEAR_START:
                continue
        fixed = [dict(o, at=[round(placed[o["id"]][0][0], 4), round(placed[o["id"]][0][1], 4)],
                      yaw=round(placed[o["id"]][1], 4)) for o in objs]
        return SceneSpec.from_dict({"seed": seed, "objects": fixed})
    raise ValueError(f"no layout fits the {family} scene of seed {seed}")
