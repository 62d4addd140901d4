"""Dataclasses and protocols at the speech boundary (what the dialogue, CLI and UI see)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

SAMPLE_RATE = 16_000  # what Whisper and Silero VAD work at; every input is resampled to it


class AudioError(ValueError):
    """Audio that cannot be used: undecodable, empty, too long or too big. The message says which."""


@dataclass(frozen=True)
class Segment:
    start: float  # seconds in the original audio
    end: float
    text: str


@dataclass(frozen=True)
class Timings:
    """Wall seconds per stage; `total` includes decoding the file."""
    decode: float = 0.0
    vad: float = 0.0
    language: float = 0.0
    asr: float = 0.0
    total: float = 0.0


@dataclass(frozen=True)
class Transcript:
    text: str  # "" when nothing was heard
    language: str | None  # Whisper's language code for the speech (None: nothing heard)
    probability: float  # Whisper's probability for that language
    segments: tuple[Segment, ...] = ()
    timings: Timings = field(default_factory=Timings)
    duration: float = 0.0  # seconds of audio in
    speech_duration: float = 0.0  # seconds the VAD kept
    translated: bool = False  # the language is not one the assistant speaks: `text` is Whisper's English
    heard: bool = True  # False: silence or noise only (no hallucinated sentence)
    task: str = "transcribe"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SpeechEvent:
    """What the streaming recognizer emits: an early "stop" or a whole utterance."""
    kind: str  # "stop" (a stop word heard before the utterance ended) | "utterance"
    transcript: Transcript
    at: float  # seconds of stream audio when it was emitted


@runtime_checkable
class Transcriber(Protocol):
    def transcribe(self, audio: np.ndarray | str | bytes, *, language_hint: str | None = None,
                   prompt: str | Callable[[str], str] | None = None, **kw: Any) -> Transcript: ...


@runtime_checkable
class Speaker(Protocol):
    def voices(self) -> dict[str, str]: ...

    def synthesize(self, text: str, language: str) -> tuple[np.ndarray, int]: ...

    def to_wav(self, text: str, language: str) -> bytes: ...
