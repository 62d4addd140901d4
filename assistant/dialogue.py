"""The dialogue manager: turns into intents, intents into the one live task, ticks into motion.

`handle(text)` is called between control ticks (so a stop takes effect on the
next tick), `tick()` once per control tick. Everything the person hears comes
from the reply catalogues in their language; everything that happened is in
`task.history`.

This module reads the turns and answers them; the rest of the manager is in its mixins:
`changes.py` (change of object or target, cancel, undo), `execution.py` (starting plans,
steps, looking again, retries and re-planning) and `objects.py` (what it remembers about
the objects, the conversation's focus, questions about objects and "which one?" answers).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from embodiments.types import DetectedObject, PerceivedScene
from planner.grounding import Ambiguous, Focus, NotFound
from planner.intent import Act, Goal, Intent
from planner.language import NAMES, SUPPORTED, DomainLanguageDetector, LanguageGuess
from planner.lexicon_parser import LexiconParser
from planner.plan import Planner, PlanningError

from .changes import Changes
from .controllers import ScriptedController, StepController
from .execution import Execution
from .messages import fixture_name, has_catalogue, join, object_name, ref_name, say
from .objects import ObjectMemory
from .safety import check as safety_check
from .safety import refusal_text
from .task import Status, TaskState

MAX_TURN_CHARS = 2000


@dataclass(frozen=True)
class Reply:
    text: str
    language: str
    status: Status
    intent: Intent | None = None


class DialogueManager(Changes, Execution, ObjectMemory):
    def __init__(self, robot, perceive: Callable[[], PerceivedScene], parser=None, detector=None,
                 planner: Planner | None = None, scene_fn: Callable[[], PerceivedScene] | None = None,
                 controller: StepController | None = None) -> None:
        self.robot, self.perceive = robot, perceive
        self.scene_fn = scene_fn or perceive  # what turns are planned on (may be a recent cached view)
        self.memory: dict[str, DetectedObject] = {}  # label -> where it was last seen
        raw_perceive, raw_scene = self.perceive, self.scene_fn
        self.perceive = lambda: self.remember(raw_perceive())
        self.scene_fn = lambda: self.remember(raw_scene())
        # what drives the arm for each step (assistant/controllers.py): the scripted skills by default
        self.runner = controller if controller is not None else ScriptedController(robot, perceive)
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
        self._looked_again = False  # the arms went home to look again for the current step
        self._homed_to_check = False  # the arms went home to check that the goal holds (execution.py)
        # The task log's hook (assistant/tasklog.py): on_event(event, sim_time, fields), task-level only.
        self.on_event: Callable[[str, float, dict], None] | None = None
        self._clip_counts = dict(getattr(getattr(robot, "clips", None), "counts", {}))

    # -- turns -----------------------------------------------------------------------------
    def handle(self, text: str, language: str | None = None) -> Reply:
        """One turn. `language` is given for spoken turns (Whisper's language for the audio);
        typed turns are identified here."""
        text = text if isinstance(text, str) else ""
        self._emit("turn", text=text[:500], language=language)
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
        fallback = intent.extras.get("fallback")
        self._emit("understood", language=lang, act=intent.act.value,
                   goal=intent.goal.describe() if intent.goal else None, fallback=fallback)
        if fallback:  # the LLM endpoint failed (timeout, bad answer): the lexicon understood instead
            self._emit("fault", kind="llm", error=str(fallback))
        refusal = self._refuse_if_unsafe(text, lang, intent)
        if refusal is not None:
            return refusal
        handler = getattr(self, f"_on_{intent.act.value}")
        return handler(intent, lang)

    def _refuse_if_unsafe(self, text: str, lang: str, intent: Intent) -> Reply | None:
        """The constitution (assistant/safety.py) before any planning, whichever backend parsed
        the turn. Stop and cancel are always obeyed; questions and chit-chat move nothing.
        A refusal moves nothing, and a safe task already under way goes on."""
        if intent.act in (Act.STOP, Act.CANCEL, Act.QUERY, Act.CHAT):
            return None
        verdict = safety_check(text, lang, intent, self.scene_fn().person is not None)
        if verdict.safe:
            return None
        if self.task.status not in (Status.RUNNING, Status.PAUSED):
            self.task.status, self.task.reason = Status.REFUSED, f"unsafe: {verdict.rule}"
        self.task.log(self.robot.time, f"refused ({verdict.rule})")
        self._emit("refusal", rule=verdict.rule, reason=verdict.reason_key)
        reply = self._reply(refusal_text(verdict, lang), lang, intent)
        return Reply(reply.text, lang, Status.REFUSED, intent)

    def _reply(self, text: str, lang: str, intent: Intent | None = None) -> Reply:
        self.task.log(self.robot.time, f"said: {text}")
        self._emit("reply", text=text, language=lang, status=self.task.status.value)
        return Reply(text, lang, self.task.status, intent)

    # -- the task log (assistant/tasklog.py) -----------------------------------------------------
    def _emit(self, event: str, **fields) -> None:
        if self.on_event is not None:
            self.on_event(event, self.robot.time, fields)

    def _flush_clips(self) -> None:
        """What the robot's safety limits changed since the last summary, summed per kind: they may
        clip every tick, and the log takes task-level events only."""
        clips = getattr(self.robot, "clips", None)
        if clips is None or self.on_event is None:
            return
        new = {k: n - self._clip_counts.get(k, 0) for k, n in clips.counts.items() if n > self._clip_counts.get(k, 0)}
        self._clip_counts = dict(clips.counts)
        if not new:
            return
        recent = list(clips.recent)[-sum(new.values()):]
        reasons = list(dict.fromkeys((c.arm, c.reason) for c in recent))[:10]
        self._emit("safety_clips", step=self.task.step + 1, counts=new, reasons=[list(r) for r in reasons])

    def _on_stop(self, intent: Intent, lang: str) -> Reply:
        self.runner.stop()  # the robot holds from the next control tick, whatever it was doing
        if self.task.status is Status.RUNNING:
            self.task.status = Status.PAUSED
        self._emit("control", action="stop", status=self.task.status.value)
        self._flush_clips()
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
        self._emit("control", action="resume", status=self.task.status.value)
        return self._reply(say(lang, "resumed"), lang, intent)

    def _on_new_task(self, intent: Intent, lang: str) -> Reply:
        assert intent.goal is not None
        if self.task.status in (Status.RUNNING, Status.PAUSED):  # a new request replaces the task
            self._abort_motion()
        self.pending = None
        return self._plan_and_reply(intent.goal, lang, intent)

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
            if e.ref.anaphora in ("it", "them") and not (e.ref.kind or e.ref.color):  # nothing talked about yet
                return self._reply(say(lang, "which_object"), lang, intent)
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


_ERROR_KEYS = {"cannot_lift", "unreachable", "off_table", "not_container", "too_few", "too_many", "nothing_to_do",
               "no_space", "unsafe", "fixture"}
