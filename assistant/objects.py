"""The objects in the conversation: where each was last seen, where it was first picked up from,
what each hand holds, what "it" and "the other one" mean (the focus), and the turns about
objects: questions ("where is the duck?") and the answer to "which one?".

A mixin of `DialogueManager` (assistant/dialogue.py); the state lives on the manager:
`memory` (label -> last sighting), `origins` (label -> where it was first picked up),
`last_moved`, `focus` (planner.grounding.Focus), `pending` (the goal waiting for "which one?")
and `runner` (the skill runner, whose context knows what the hands hold).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from embodiments.types import CONTAINER_KINDS, DetectedObject, PerceivedScene
from planner.grounding import Focus, matches, side_of
from planner.intent import Intent, Ref
from planner.plan import Step

from .messages import catalogue, join, object_name, say
from .task import Status

HIDDEN_UNDER_HAND = 0.12  # m: an object last seen this close under a hand may be hidden by it
HELD_NEAR_HAND = 0.1  # m: a perceived object this close to the hand holding its look is the held one
HOME_SEES_ALL = 0.08  # m: a hand this close to its home pose hides nothing from the cameras
STACKED_ABOVE = 0.02  # m: a top this much higher than a hidden object's, over its place, stands on it


class ObjectMemory:
    memory: dict[str, DetectedObject]
    origins: dict[str, tuple[float, float]]
    last_moved: str | None
    focus: Focus

    def remember(self, scene: PerceivedScene) -> PerceivedScene:
        """Keep the last place each uniquely-labelled object was seen (for objects an arm hides)."""
        labels = [f"{o.color} {o.kind}" for o in scene.objects]
        for o, label in zip(scene.objects, labels):
            if labels.count(label) == 1:
                self.memory[label] = o
        return scene

    def _scene_with_hands(self) -> tuple[PerceivedScene, dict[int, str]]:
        """The perceived scene, with what each hand holds marked (added if the hand hides it)."""
        scene = self.scene_fn()
        objs, held = list(scene.objects), {}
        ctx = self.runner.ctx
        in_hand = {f"{h.color} {h.kind}" for h in ctx.holding.values()}
        # Objects seen before but hidden now by an arm (a cube under the hand that is about
        # to grasp it) or by what stands on them (the lower cubes of a tower, seen from the front
        # camera) are still there: plan with where they were last seen. A hand at its home pose
        # hides nothing (home is out of the cameras' view of the table): what is not seen then is
        # gone, even if it was last seen near the home pose.
        hiding = [a for a in self.robot.arms if float(np.linalg.norm(ctx.hand(a) - self.robot.home_pose(a)[0]))
                  > HOME_SEES_ALL]
        added = True
        while added:  # (a tower of three: the middle one is found under the top, the bottom under it)
            added = False
            for label, o in self.memory.items():
                if label in in_hand or any(f"{v.color} {v.kind}" == label for v in objs):
                    continue
                under_hand = any(float(np.hypot(*(o.position[:2] - ctx.hand(a)[:2]))) < HIDDEN_UNDER_HAND
                                 for a in hiding)
                if under_hand or any(_stands_on(v, o) for v in objs):
                    objs.append(o)
                    added = True
        for i, (arm, h) in enumerate(ctx.holding.items()):
            hand = ctx.hand(arm)
            near = [o for o in objs if o.kind == h.kind and o.color == h.color
                    and float(np.hypot(*(o.position[:2] - hand[:2]))) < HELD_NEAR_HAND]
            if near:
                held[near[0].track_id] = arm
            else:
                tid = -1 - i
                objs.append(DetectedObject(tid, h.kind, h.color, hand.copy(), np.array([0.04, 0.04, h.height]),
                                           (0, 0), (0, 0, 0, 0), 1.0, top_z=float(hand[2])))
                held[tid] = arm
        return PerceivedScene(scene.time, tuple(objs), scene.person), held

    def _held_label(self) -> str | None:
        h = next(iter(self.runner.ctx.holding.values()), None)
        return f"{h.color} {h.kind}" if h is not None else None

    def _picking(self, o: DetectedObject) -> None:
        """A pick of `o` starts: remember where it came from, and that it is what "it" means now."""
        self.origins.setdefault(o.label, (float(o.position[0]), float(o.position[1])))
        self.focus.remember([o])

    def _put_down(self, step: Step) -> None:
        """A place step succeeded: the object is where it was put (for "put it back", "it")."""
        if step.obj is None:
            return
        self.last_moved = step.obj.label
        xy = step.xy if step.xy is not None else (step.dest.xy if step.dest is not None else None)
        if xy is not None:
            self.focus.moved(step.obj.track_id, step.obj.kind, step.obj.color, xy)

    # -- turns about objects -------------------------------------------------------------------
    def _on_answer(self, intent: Intent, lang: str):
        if self.pending is None or intent.ref is None:
            return self._reply(say(lang, "not_understood"), lang, intent)
        goal, slot, cands = self.pending
        scene = PerceivedScene(0.0, tuple(cands))
        chosen = [c for c in cands if matches(c, intent.ref, scene)]
        if len(chosen) != 1:
            names = join(lang, [object_name(lang, c.kind, c.color) for c in cands])
            return self._reply(say(lang, "clarify", options=names), lang, intent)
        self.pending = None
        if slot == "target" and goal.objects is not None and goal.objects.anaphora:
            # "put it in the bowl" - "which bowl?": "it" stays the object; the bowl is named
            goal = replace(goal, target=_name_of(chosen[0], cands))
        else:  # the one chosen is "it" now, and the others offered are "the other one"
            self.focus.remember(chosen, others=[c for c in cands if c is not chosen[0]])
            goal = replace(goal, **{slot: Ref(anaphora="it")})
        return self._plan_and_reply(goal, lang, intent)

    def _on_query(self, intent: Intent, lang: str):
        scene = self.scene_fn()
        objs = list(scene.objects)
        if intent.ref is not None and intent.ref.anaphora in ("it", "them"):  # "where is it?"
            objs = self.focus.locate(self.focus.it, scene)
        elif intent.ref is not None:
            objs = [o for o in objs if matches(o, intent.ref, scene)]
            if objs and intent.question in ("where", "count", "what"):
                # "where is the duck?" ... "put it on the plate": what was asked about is "it" now
                self.focus.remember(objs[:1] if intent.question == "where" else objs)
        if intent.question == "status":
            key = {Status.RUNNING: "status_running", Status.PAUSED: "status_paused"}.get(self.task.status,
                                                                                      "status_idle")
            total = len(self.task.plan.steps) if self.task.plan else 0
            return self._reply(say(lang, key, i=min(self.task.step + 1, total), total=total), lang, intent)
        if intent.question == "count":
            return self._reply(say(lang, "count", n=len(objs)), lang, intent)
        if intent.question == "where" and objs:
            o = objs[0]
            side = say(lang, "where", obj=object_name(lang, o.kind, o.color),
                       side=_side_name(lang, side_of(o)))
            return self._reply(side, lang, intent)
        if not objs and intent.ref is not None:  # "where is the duck?" with the duck gone: say that,
            name = self._asked_name(lang, intent.ref)  # not that the table is empty
            if name:
                return self._reply(say(lang, "not_found", obj=name), lang, intent)
        if not objs:
            return self._reply(say(lang, "see_nothing"), lang, intent)
        names = [object_name(lang, o.kind, o.color) for o in objs]
        return self._reply(say(lang, "see", objects=join(lang, names, "and")), lang, intent)

    def _asked_name(self, lang: str, ref: Ref) -> str:
        """What a question was about, in `lang`: the thing named, or what "it" last meant ("" if neither)."""
        if ref.kind or ref.color:
            return object_name(lang, ref.kind, ref.color)
        if ref.anaphora not in ("it", "them"):
            return ""
        memo = next((self.focus.memos[i] for i in self.focus.it if i in self.focus.memos), None)
        return object_name(lang, memo.kind, memo.color) if memo is not None else ""


def _stands_on(v: DetectedObject, o: DetectedObject) -> bool:
    """Does the perceived `v` stand on `o`'s last place (so it hides `o`)? It is over that place and its
    top is well above `o`'s: on the table there, it would be no taller than itself. (Not from `v`'s
    support height: with the thing under it hidden, perception measures that from the table around.)"""
    return v.kind not in CONTAINER_KINDS and v.top_z > o.top_z + STACKED_ABOVE \
        and float(np.hypot(*(v.position[:2] - o.position[:2]))) < float(max(o.size[:2])) / 2


def _side_name(lang: str, side: str) -> str:
    return catalogue(lang).get("side_names", {}).get(side, side)


def _name_of(o: DetectedObject, among: list[DetectedObject]) -> Ref:
    """A description that picks `o` out of `among`: its kind and colour, and its side if needed."""
    ref = Ref(o.kind, o.color)
    if sum(1 for c in among if c.kind == o.kind and c.color == o.color) > 1:
        ref = replace(ref, side=side_of(o))
    return ref
