"""Success of a household-benchmark episode, from ground truth only.

Manipulation goals are read with `embodiments.predicates.WorldTruth` (the simulator's true
poses and finger contacts), never from what the assistant says it did. A goal is about the
objects still on the table: when someone takes one of them away mid-task, the rest must still
get done; when every object the goal is about is gone, the only right outcome is to report
that it cannot be done (`reported_failure`). Answers to questions are checked against the
true scene at the moment of asking, in the person's language: the right number, or the
catalogue's words for the true side of the table (and no side at all for an object taken away).
"""
from __future__ import annotations

import itertools
import re

from embodiments.predicates import WorldTruth

from .tasks import Goal

SIDE_MARGIN = 0.05  # m: the same left/right strip as planner.grounding.side_of


def judge_world(goal: Goal, robot) -> tuple[bool, str]:
    """(holds, why) for a manipulation goal over the objects still in the scene."""
    truth = WorldTruth(robot)
    present = [o for o in goal.objects if o in robot.world.ids]
    if not present:
        return False, "every object of the goal was removed"
    if goal.kind == "in":
        return _all(truth.check({"in": [o, goal.dest]}) for o in present)
    if goal.kind == "near":
        (o,) = present
        ok, why = truth.check({"near": [o, goal.dest]})
        held = truth.holder(o)
        if ok and held:
            return False, f"{o} is still held by the {held} gripper"
        return ok, why
    if goal.kind == "sorted":
        out = []
        for o in present:
            color = o.split("_", 1)[1]
            bowl = f"bowl_{color}"
            out.append(truth.check({"in": [o, bowl]}) if bowl in robot.world.ids else (False, f"no {bowl}"))
        return _all(out)
    if goal.kind == "tower":
        return _tower(truth, present)
    raise ValueError(f"not a world goal: {goal.kind}")


def _all(results) -> tuple[bool, str]:
    results = list(results)
    bad = [why for ok, why in results if not ok]
    return (not bad), ("; ".join(bad) if bad else "; ".join(why for _, why in results))


def _tower(truth: WorldTruth, ids: list[str]) -> tuple[bool, str]:
    """One tower: some order of the objects with each one on the one below it."""
    if len(ids) == 1:
        return True, f"only {ids[0]} is left"
    best = ""
    for order in itertools.permutations(ids):
        checks = [truth.check({"on": [a, b]}) for a, b in zip(order[1:], order[:-1])]
        if all(ok for ok, _ in checks):
            return True, "tower " + " < ".join(order)
        best = best or next(why for ok, why in checks if not ok)
    return False, f"no tower: {best}"


def true_side(robot, oid: str) -> str:
    y = float(robot.world.position(oid)[1])
    return "left" if y > SIDE_MARGIN else "right" if y < -SIDE_MARGIN else "middle"


def judge_answer(question: str, reply_text: str, reply_language: str, language: str, robot,
                 about: str = "duck") -> tuple[bool, str]:
    """Is the reply the right answer, in the person's language, to the question on the true scene?"""
    from assistant.messages import catalogue

    if reply_language != language:
        return False, f"answered in {reply_language}, asked in {language}"
    if question == "count":
        n = sum(1 for k in robot.world.kinds.values() if k == "cube")
        ok = re.search(rf"(?<![0-9]){n}(?![0-9])", reply_text) is not None
        return ok, f"{n} cubes on the table; reply {reply_text!r}"
    if question == "where":
        names = catalogue(language).get("side_names", {})
        if about not in robot.world.ids:  # taken away: any answer that places it somewhere is wrong
            claimed = [s for s, name in names.items() if name in reply_text]
            return not claimed, f"the {about} was removed; reply {reply_text!r} places it: {claimed or 'nowhere'}"
        side = true_side(robot, about)
        want = names.get(side, side)
        wrong = [names[s] for s in ("left", "right") if s != side and s in names and names[s] in reply_text]
        ok = want in reply_text and not wrong
        return ok, f"the {about} is on the {side} ({want!r}); reply {reply_text!r}"
    raise ValueError(f"unknown question {question!r}")
