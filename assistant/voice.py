"""Spoken turns: audio -> speech pipeline -> dialogue manager, and replies -> speech.

The bridge between `speech/` (which knows nothing of robots) and the dialogue:
- the decoding hint is the conversation's language, and the domain prompt is the names
  of the objects the robot currently sees, in the language Whisper heard;
- a spoken turn is near-miss repaired against the lexicon (planner.fuzzy), then handled
  with Whisper's language (text language ID is for typed turns);
- speech in a language the assistant does not speak was translated to English by Whisper:
  the reply is in English and says so;
- silence gives "I didn't hear anything" and undecodable audio a clear error, in the
  conversation's language, with no motion.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from planner.fuzzy import domain_coverage, repair
from planner.language import NAMES

from .dialogue import Reply
from .messages import object_name, say

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VoiceTurn:
    reply: Reply
    transcript: Any | None = None  # speech.Transcript (None when the audio could not be read)
    text: str = ""  # what the dialogue manager got (after near-miss repair)
    repairs: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None


class Voice:
    """Speech in and out for one Session. Models load lazily, on the first spoken turn."""

    def __init__(self, session, transcriber=None, speaker=None, robust: bool = True) -> None:
        self.session, self._transcriber, self._speaker, self.robust = session, transcriber, speaker, robust

    @property
    def transcriber(self):
        if self._transcriber is None:
            from speech import make_transcriber

            self._transcriber = make_transcriber("whisper")
        return self._transcriber

    @property
    def speaker(self):
        if self._speaker is None:
            from speech import make_speaker

            self._speaker = make_speaker("espeak")
        return self._speaker

    def transcribe(self, audio: np.ndarray | str | bytes, sample_rate: int | None = None,
                   objects: list[tuple[str, str | None]] | None = None):
        """Speech -> Transcript, hinted with the conversation's language and prompted with the
        objects in view (`objects` given by a caller that must not touch the scene from its
        thread, e.g. ui/live.py). Raises speech.AudioError for audio it cannot use."""
        if objects is None:
            objects = [(o.kind, o.color) for o in self.session.dm.scene_fn().objects]
        return self.transcriber.transcribe(audio, language_hint=self.session.dm.language,
                                           prompt=lambda lang: self.prompt_from(objects, lang),
                                           robust=self.robust, sample_rate=sample_rate, scorer=domain_coverage)

    @staticmethod
    def prompt_from(objects: list[tuple[str, str | None]], language: str) -> str:
        names: list[str] = []
        for kind, color in objects:
            n = object_name(language, kind, color if kind not in ("duck", "teddy") else None)
            if n not in names:
                names.append(n)
        sep, end = ("、", "。") if language in ("zh", "ja") else (", ", ".")
        return sep.join(names) + end if names else ""

    def audio_error(self, error: Exception) -> VoiceTurn:
        dm = self.session.dm
        lang = dm.language or "en"
        return VoiceTurn(dm._reply(say(lang, "audio_error", error=str(error)), lang), None, error=str(error))

    def hear(self, audio: np.ndarray | str | bytes, sample_rate: int | None = None) -> VoiceTurn:
        from speech import AudioError

        try:
            t = self.transcribe(audio, sample_rate)
        except AudioError as e:
            return self.audio_error(e)
        return self.handle_transcript(t)

    def handle_transcript(self, t) -> VoiceTurn:
        dm = self.session.dm
        if not t.heard or not t.text.strip():
            lang = dm.language or "en"
            dm.task.log(dm.robot.time, "heard nothing (silence or noise)")
            return VoiceTurn(dm._reply(say(lang, "nothing_heard"), lang), t)
        if t.translated:
            name = NAMES.get(t.language, t.language)
            dm.task.log(dm.robot.time, f"heard {t.language} (not supported); Whisper translated: {t.text!r}")
            reply = dm.handle(t.text, language="en")
            dm.last_detected = t.language  # what was heard, not the translation's language
            note = say("en", "translated_speech", language=_language_name(t.language, name))
            return VoiceTurn(Reply(note + " " + reply.text, "en", reply.status, reply.intent), t, t.text)
        text, changes = repair(t.text, t.language)
        if changes:
            log.info("near-miss repair: %s", changes)
        reply = dm.handle(text if changes else t.text, language=t.language)
        return VoiceTurn(reply, t, text if changes else t.text, changes)

    def speak(self, reply: Reply) -> bytes:
        """The reply as WAV bytes in its language."""
        return self.speaker.to_wav(reply.text, reply.language)


def _language_name(code: str | None, fallback: str) -> str:
    return _WHISPER_NAMES.get(code or "", fallback)


# English names for languages Whisper may hear that the assistant does not speak (the common ones).
_WHISPER_NAMES = {
    "sv": "Swedish", "fi": "Finnish", "da": "Danish", "no": "Norwegian", "cs": "Czech", "sk": "Slovak",
    "hu": "Hungarian", "ro": "Romanian", "el": "Greek", "he": "Hebrew", "th": "Thai", "fa": "Persian",
    "ur": "Urdu", "ta": "Tamil", "te": "Telugu", "ms": "Malay", "tl": "Tagalog", "ca": "Catalan",
    "hr": "Croatian", "sr": "Serbian", "bg": "Bulgarian", "lt": "Lithuanian", "lv": "Latvian", "et": "Estonian",
    "la": "Latin", "cy": "Welsh", "ga": "Irish", "is": "Icelandic", "af": "Afrikaans", "yo": "Yoruba",
}
