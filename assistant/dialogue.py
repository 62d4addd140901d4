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

from embodiments.skills import SkillRunner
from embodiments.types import DetectedObject, PerceivedScene
from planner.grounding import Ambiguous, Focus, NotFound
from planner.intent import Act, Goal, Intent
from planner.language import NAMES, SUPPORTED, DomainLanguageDetector, LanguageGuess
from planner.lexicon_parser import LexiconParser
from planner.plan import Planner, PlanningError

from .changes import Changes
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
        self._looked_again = False  # the arms went home to look again for the current step

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
        reply = self._reply(refusal_text(verdict, lang), lang, intent)
        return Reply(reply.text, lang, Status.REFUSED, intent)

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
