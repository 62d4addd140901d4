"""The dialogue manager: turns into intents, intents into the one live task, ticks into motion.

`handle(text)` is called between control ticks (so a stop takes effect on the
next tick), `tick()` once per control tick. Everything the person hears comes
from the reply catalogues in their language; everything that happened is in
`task.history`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from embodiments.skills import SkillRunner
from embodiments.types import DetectedObject, PerceivedScene
from planner.execute import BindError, skill_for
from planner.grounding import Ambiguous, Focus, NotFound, matches, side_of
from planner.intent import Act, Goal, Intent, Ref
from planner.language import NAMES, SUPPORTED, DomainLanguageDetector, LanguageGuess
from planner.lexicon_parser import LexiconParser
from planner.plan import Handle, Plan, Planner, PlanningError, Step

from .messages import fixture_name, has_catalogue, join, object_name, ref_name, say
from .task import Status, TaskState

MAX_TURN_CHARS = 2000
MAX_RETRIES = 2


@dataclass(frozen=True)
class Reply:
    text: str
    language: str
    status: Status
    intent: Intent | None = None


class DialogueManager:
    def __init__(self, robot, perceive: Callable[[], PerceivedScene], parser=None, detector=None,
                 planner: Planner | None = None, scene_fn: Callable[[], PerceivedScene] | None = None) -> None:
        self.robot, self.perceive = robot, perceive
        self.scene_fn = scene_fn or perceive  # what turns are planned on (may be a recent cached view)
        self.memory: dict[str, DetectedObject] = {}  # label -> where it was last seen
        raw_perceive, raw_scene = self.perceive, self.scene_fn
        self.perceive = lambda: self.remember(raw_perceive())
        self.scene_fn = lambda: self.remember(raw_scene())
        self.runner = SkillRunner(robot, perceive)
        self.parser = parser or LexiconParser()
        self.detector = detector or DomainLanguageDetector()
        self.planner = planner or Planner(robot.arms, lambda arm, xy: robot.reach(arm, np.array([xy[0], xy[1], 0.0])))
        self.task = TaskState()
        self.focus = Focus()
        self.language: str | None = None
        self.last_detected: str | None = None  # the language detected for the last turn (even unsupported)
        self.pending: tuple[Goal, str, list] | None = None  # a goal waiting for "which one?"
        self.origins: dict[str, tuple[float, float]] = {}  # object label -> where it was first picked
        self.last_moved: str | None = None
        self.queue: list[Goal] = []  # goals to plan once the current (clean-up) plan is done
        self.events: list[Reply] = []  # replies produced while ticking (done, failed)

    # -- turns -----------------------------------------------------------------------------
    def handle(self, text: str, language: str | None = None) -> Reply:
        """One turn. `language` is given for spoken turns (Whisper's language for the audio);
        typed turns are identified here."""
        text = text if isinstance(text, str) else ""
        lang = self.language or "en"
        if not text.strip():
            return self._reply(say(lang, "empty"), lang)
        if len(text) > MAX_TURN_CHARS:
            return self._reply(say(lang, "too_long"), lang)
        if language is not None and language in SUPPORTED:
            guess = LanguageGuess(language, 1.0, True)
        else:
            guess = self.detector.detect(text[:500], previous=self.language)
        self.last_detected = guess.language
        if not guess.supported or not has_catalogue(guess.language):
            name = NAMES.get(guess.language, guess.language)
            return self._reply(say("en", "unsupported_language", language=name), "en")
        lang = self.language = guess.language
        self.task.language = lang
        context = {Status.RUNNING: "running", Status.PAUSED: "paused", Status.CLARIFYING: "clarifying"}.get(
            self.task.status, "idle")
        intent = self.parser.parse(text, lang, context)
        self.task.log(self.robot.time, f"heard ({lang}): {text[:80]!r} -> {intent.act.value}")
        handler = getattr(self, f"_on_{intent.act.value}")
        return handler(intent, lang)

    def _reply(self, text: str, lang: str, intent: Intent | None = None) -> Reply:
        self.task.log(self.robot.time, f"said: {text}")
        return Reply(text, lang, self.task.status, intent)

    def _on_stop(self, intent: Intent, lang: str) -> Reply:
        self.runner.stop()  # the robot holds from the next control tick, whatever it was doing
        if self.task.status is Status.RUNNING:
            self.task.status = Status.PAUSED
        return self._reply(say(lang, "stopped"), lang, intent)

    def emergency_stop(self) -> Reply:
        """The STOP button (no words to parse): the same as a spoken stop, in the conversation's language."""
        lang = self.language or "en"
        return self._on_stop(Intent(Act.STOP, language=lang), lang)

    def _on_resume(self, intent: Intent, lang: str) -> Reply:
        if self.task.status is not Status.PAUSED:
            if self.runner.paused:
                self.runner.resume()
            return self._reply(say(lang, "nothing_to_resume"), lang, intent)
        self.runner.resume()
        self.task.status = Status.RUNNING
        return self._reply(say(lang, "resumed"), lang, intent)

    def _on_cancel(self, intent: Intent, lang: str) -> Reply:
        if self.task.status not in (Status.RUNNING, Status.PAUSED, Status.CLARIFYING):
            return self._reply(say(lang, "nothing_to_cancel"), lang, intent)
        self._abort_motion()
        self.pending, self.queue = None, []
        self._run(Plan(Goal("home"), self._put_back_steps() + [Step("home", "go home")]), Status.CANCELLED)
        return self._reply(say(lang, "cancelled"), lang, intent)

    def _on_undo(self, intent: Intent, lang: str) -> Reply:
        held = self._held_label()
        label = held or self.last_moved
        if label is None or label not in self.origins:
            return self._reply(say(lang, "nothing_to_undo"), lang, intent)
        self._abort_motion()
        kind, color = label.split(" ", 1)[1], label.split(" ", 1)[0]
        goal = Goal("place_at", Ref(kind, color), xy=self.origins[label])
        if held:
            self._run(Plan(goal, self._put_back_steps() + [Step("home", "go home")]), Status.RUNNING)
        else:
            self.queue = []
            if not self._start(goal, lang):
                return self._reply(say(lang, "failed"), lang, intent)
        return self._reply(say(lang, "undone"), lang, intent)

    def _on_new_task(self, intent: Intent, lang: str) -> Reply:
        assert intent.goal is not None
        if self.task.status in (Status.RUNNING, Status.PAUSED):  # a new request replaces the task
            self._abort_motion()
        self.pending = None
        return self._plan_and_reply(intent.goal, lang, intent)

    def _on_change(self, intent: Intent, lang: str) -> Reply:
        goal = self.task.goal
        if goal is None or self.task.status not in (Status.RUNNING, Status.PAUSED):
            if intent.goal is not None:
                return self._on_new_task(intent, lang)
            return self._reply(say(lang, "not_understood"), lang, intent)
        old = goal.objects if intent.slot == "objects" else goal.target
        new = intent.ref
        if old is not None and new is not None and not new.anaphora:  # "the green one": keep the kind
            new = replace(new, kind=new.kind or old.kind, quantity=old.quantity)
        changed = replace(goal, **{intent.slot or "objects": new})
        held = self._held_label()
        step = self._current_step()
        if intent.slot == "target" and step is not None and step.skill == "pick" and self.runner.busy:
            # Only where it goes changed: let the grasp under way finish, re-plan the rest.
            return self._replan_keeping_pick(changed, step, lang, intent, new)
        grasping = step is not None and step.skill == "pick" and self.runner.busy
        self._abort_motion()
        if grasping and not held:
            # Interrupted mid-grasp: let go of whatever the fingers may have closed on first.
            self.queue = [changed]
            self._run(Plan(goal, [Step("gripper", "open the gripper", step.arm), Step("home", "go home", step.arm)]),
                      Status.RUNNING)
            self.task.goal = changed
            return self._reply(say(lang, "ack_change", obj=ref_name(lang, new)), lang, intent)
        if held and intent.slot == "objects":
            # The wrong object is in hand: put it back where it was first, then the new goal.
            self.queue = [changed]
            self._run(Plan(goal, self._put_back_steps()), Status.RUNNING)
            self.task.goal = changed
            return self._reply(say(lang, "ack_change", obj=ref_name(lang, new)), lang, intent)
        if held and intent.slot == "target":  # keep what is in hand: re-plan from the hand
            self.queue = []
        reply = self._plan_and_reply(changed, lang, intent, ack="ack_change", obj=ref_name(lang, new))
        return reply

    def _current_step(self) -> Step | None:
        t = self.task
        if t.plan is None or t.step >= len(t.plan.steps):
            return None
        return t.plan.steps[t.step]

    def _replan_keeping_pick(self, goal: Goal, step: Step, lang: str, intent: Intent, new: Ref) -> Reply:
        try:
            scene, held = self._scene_with_hands()
            plan = self.planner.plan(goal, scene, self.focus, held)
        except (Ambiguous, NotFound, PlanningError):
            return self._plan_and_reply(goal, lang, intent, ack="ack_change", obj=ref_name(lang, new))
        first = plan.steps[0] if plan.steps else None
        if first is None or first.skill != "pick" or first.obj is None or step.obj is None \
                or first.obj.label != step.obj.label:
            self._abort_motion()
            return self._plan_and_reply(goal, lang, intent, ack="ack_change", obj=ref_name(lang, new))
        plan.steps[0] = step  # the pick under way is this plan's first step...
        for i, s in enumerate(plan.steps[1:], start=1):  # ...and the hand that grasps it puts it down
            if s.skill == "pick":
                break
            if s.obj is not None and s.obj.label == step.obj.label:
                plan.steps[i] = replace(s, arm=step.arm)
        status = self.task.status
        self.task = TaskState(goal, plan, 0, status, lang, history=self.task.history)
        self.task.log(self.robot.time, "re-plan keeping the grasp: " + "; ".join(plan.describe()))
        return self._reply(say(lang, "ack_change", obj=ref_name(lang, new)), lang, intent)

    def _on_answer(self, intent: Intent, lang: str) -> Reply:
        if self.pending is None or intent.ref is None:
            return self._reply(say(lang, "not_understood"), lang, intent)
        goal, slot, cands = self.pending
        scene = PerceivedScene(0.0, tuple(cands))
        chosen = [c for c in cands if matches(c, intent.ref, scene)]
        if len(chosen) != 1:
            names = join(lang, [object_name(lang, c.kind, c.color) for c in cands])
            return self._reply(say(lang, "clarify", options=names), lang, intent)
        self.pending = None
        self.focus.it = [chosen[0].track_id]
        goal = replace(goal, **{slot: Ref(anaphora="it")})
        return self._plan_and_reply(goal, lang, intent)

    def _on_query(self, intent: Intent, lang: str) -> Reply:
        scene = self.scene_fn()
        objs = list(scene.objects)
        if intent.ref is not None:
            objs = [o for o in objs if matches(o, intent.ref, scene)]
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
        if not objs:
            return self._reply(say(lang, "see_nothing"), lang, intent)
        names = [object_name(lang, o.kind, o.color) for o in objs]
        return self._reply(say(lang, "see", objects=join(lang, names, "and")), lang, intent)

    def _on_chat(self, intent: Intent, lang: str) -> Reply:
        key = intent.question if intent.question in ("greeting", "thanks", "bye") else "greeting"
        return self._reply(say(lang, key), lang, intent)

    def _on_unknown(self, intent: Intent, lang: str) -> Reply:
        key = "empty" if intent.reason == "empty" else "not_understood"
        return self._reply(say(lang, key), lang, intent)

    # -- planning ----------------------------------------------------------------------------
    def _plan_and_reply(self, goal: Goal, lang: str, intent: Intent | None, ack: str = "ack_task", **kw) -> Reply:
        try:
            ok = self._start(goal, lang, raise_errors=True)
        except Ambiguous as e:
            slot = "target" if goal.target is not None and e.ref == goal.target else "objects"
            self.pending = (goal, slot, e.candidates)
            self.task.goal, self.task.status = goal, Status.CLARIFYING
            names = join(lang, [object_name(lang, c.kind, c.color) for c in e.candidates])
            return self._reply(say(lang, "clarify", options=names), lang, intent)
        except NotFound as e:
            self._fail(f"not found: {e}")
            return self._reply(say(lang, "not_found", obj=ref_name(lang, e.ref) or "?"), lang, intent)
        except PlanningError as e:
            self._fail(e.reason, refused=e.code == "unsafe")
            obj = ref_name(lang, goal.objects) if goal.objects else ""
            if e.code == "not_container" and goal.target is not None:
                obj = ref_name(lang, goal.target)
            if e.code == "fixture":  # "lift the table": say what cannot be moved, and why
                ref = goal.objects if goal.objects is not None and goal.objects.fixture else goal.target
                obj = fixture_name(lang, ref.fixture if ref is not None else None)
            key = e.code if e.code in _ERROR_KEYS else "failed"
            return self._reply(say(lang, key, obj=obj), lang, intent)
        return self._reply(say(lang, ack if ok else "failed", **kw), lang, intent)

    def _start(self, goal: Goal, lang: str, raise_errors: bool = False) -> bool:
        try:
            scene, held = self._scene_with_hands()
            plan = self.planner.plan(goal, scene, self.focus, held)
        except (Ambiguous, NotFound, PlanningError):
            if raise_errors:
                raise
            return False
        if self.runner.paused:  # a new request after a stop is the go-ahead
            self.runner.resume()
        self.task = TaskState(goal, plan, 0, Status.RUNNING, lang, history=self.task.history)
        self.task.log(self.robot.time, "plan: " + "; ".join(plan.describe()))
        return True

    def _scene_with_hands(self) -> tuple[PerceivedScene, dict[int, str]]:
        """The perceived scene, with what each hand holds marked (added if the hand hides it)."""
        scene = self.scene_fn()
        objs, held = list(scene.objects), {}
        # Objects seen before but hidden now by an arm (a cube under the hand that is about
        # to grasp it) are still there: plan with where they were last seen.
        for label, o in self.memory.items():
            visible = any(f"{v.color} {v.kind}" == label for v in objs)
            under_hand = any(float(np.hypot(*(o.position[:2] - self.runner.ctx.hand(a)[:2]))) < 0.12
                             for a in self.robot.arms)
            if not visible and under_hand and label not in {f"{h.color} {h.kind}" for h in
                                                            self.runner.ctx.holding.values()}:
                objs.append(o)
        for i, (arm, h) in enumerate(self.runner.ctx.holding.items()):
            hand = self.runner.ctx.hand(arm)
            near = [o for o in objs if o.kind == h.kind and o.color == h.color
                    and float(np.hypot(*(o.position[:2] - hand[:2]))) < 0.1]
            if near:
                held[near[0].track_id] = arm
            else:
                tid = -1 - i
                objs.append(DetectedObject(tid, h.kind, h.color, hand.copy(), np.array([0.04, 0.04, h.height]),
                                           (0, 0), (0, 0, 0, 0), 1.0, top_z=float(hand[2])))
                held[tid] = arm
        return PerceivedScene(scene.time, tuple(objs), scene.person), held

    def remember(self, scene: PerceivedScene) -> PerceivedScene:
        """Keep the last place each uniquely-labelled object was seen (for objects an arm hides)."""
        labels = [f"{o.color} {o.kind}" for o in scene.objects]
        for o, label in zip(scene.objects, labels):
            if labels.count(label) == 1:
                self.memory[label] = o
        return scene

    def _run(self, plan: Plan, status: Status) -> None:
        self.task = TaskState(plan.goal, plan, 0, status, self.task.language, history=self.task.history)

    def _fail(self, reason: str, refused: bool = False) -> None:
        self.task.status = Status.REFUSED if refused else Status.FAILED
        self.task.reason = reason
        self.task.log(self.robot.time, f"failed: {reason}")

    def _abort_motion(self) -> None:
        self.runner.cancel()
        if self.runner.paused:
            self.runner.resume()

    def _held_label(self) -> str | None:
        h = next(iter(self.runner.ctx.holding.values()), None)
        return f"{h.color} {h.kind}" if h is not None else None

    def _put_back_steps(self) -> list[Step]:
        """Put whatever is in hand back where it was first picked up."""
        steps = []
        for arm, h in self.runner.ctx.holding.items():
            label = f"{h.color} {h.kind}"
            xy = self.origins.get(label)
            if xy is not None:
                steps.append(Step("place_at", f"put the {label} back at ({xy[0]:.2f}, {xy[1]:.2f})", arm,
                                  Handle(-1, h.kind, h.color, xy), xy=xy))
        return steps

    # -- ticking -----------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """Motion under way or about to start (a running plan, or a clean-up after a cancel)."""
        t = self.task
        return self.runner.busy or (t.plan is not None and t.step < len(t.plan.steps)
                                    and t.status in (Status.RUNNING, Status.CANCELLED))

    def tick(self) -> None:
        t = self.task
        if t.plan is not None and t.status in (Status.RUNNING, Status.CANCELLED) and not self.runner.busy \
                and not self.runner.paused:
            if t.step < len(t.plan.steps):
                self._start_step(t.plan.steps[t.step])
            elif t.status is Status.RUNNING:
                if self.queue:
                    goal = self.queue.pop(0)
                    if not self._start(goal, t.language):
                        self._fail("could not plan the changed task")
                        self.events.append(self._reply(say(t.language, "failed"), t.language))
                else:
                    t.status = Status.DONE
                    self.events.append(self._reply(say(t.language, "done"), t.language))
        r = self.runner.tick()
        if r is not None:
            self._finished(r)

    def _start_step(self, step: Step) -> None:
        scene = self.perceive()
        try:
            gen = skill_for(step, self.runner.ctx, scene)
        except BindError as e:
            self._retry_or_fail(str(e))
            return
        if step.skill == "pick" and step.obj is not None:
            label = step.obj.label
            o = next((o for o in scene.objects if o.kind == step.obj.kind and o.color == step.obj.color), None)
            if o is not None:
                self.origins.setdefault(label, (float(o.position[0]), float(o.position[1])))
                self.focus.remember([o])
        self.task.log(self.robot.time, f"step {self.task.step + 1}: {step.instruction}")
        self.runner.start(gen, step.instruction)

    def _finished(self, r) -> None:
        t = self.task
        if r.ok:
            step = t.plan.steps[t.step] if t.plan and t.step < len(t.plan.steps) else None
            if step is not None and step.skill.startswith("place") and step.obj is not None:
                self.last_moved = step.obj.label
            t.step += 1
            t.retries = 0
            return
        if r.status.value == "interrupted":
            return
        self._retry_or_fail(r.reason)

    def _retry_or_fail(self, reason: str) -> None:
        """A step failed: look again and re-plan what is left (twice), then report the failure."""
        t = self.task
        t.log(self.robot.time, f"step failed: {reason}")
        if t.retries < MAX_RETRIES and t.goal is not None and t.status is Status.RUNNING:
            retries = t.retries + 1
            if self._held_label() is None:
                try:
                    if self._start(t.goal, t.language, raise_errors=True):
                        self.task.retries = retries
                        return
                except PlanningError as e:
                    if e.code == "nothing_to_do":  # what is left was taken away: the goal holds
                        t.status = Status.DONE
                        t.log(self.robot.time, "nothing left to do after a fresh look")
                        self.events.append(self._reply(say(t.language, "done"), t.language))
                        return
                except (Ambiguous, NotFound):
                    pass
            if self._held_label() is not None and t.plan is not None:  # keep going from the hand
                t.retries = retries
                return
        self._fail(reason)
        self.events.append(self._reply(say(t.language, "failed"), t.language))


_ERROR_KEYS = {"cannot_lift", "unreachable", "off_table", "not_container", "too_few", "too_many", "nothing_to_do",
               "no_space", "unsafe", "fixture"}


def _side_name(lang: str, side: str) -> str:
    from .messages import catalogue

    return catalogue(lang).get("side_names", {}).get(side, side)
