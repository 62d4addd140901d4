"""Registry + lazy factories for transcribers and speakers (heavy imports happen on `make_*`)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .types import Speaker, Transcriber

_TRANSCRIBERS: dict[str, Callable[..., Transcriber]] = {}
_SPEAKERS: dict[str, Callable[..., Speaker]] = {}


def register_transcriber(name: str):
    def deco(fn):
        _TRANSCRIBERS[name] = fn
        return fn
    return deco


def register_speaker(name: str):
    def deco(fn):
        _SPEAKERS[name] = fn
        return fn
    return deco


def available_transcribers() -> list[str]:
    return sorted(_TRANSCRIBERS)


def available_speakers() -> list[str]:
    return sorted(_SPEAKERS)


def make_transcriber(name: str = "whisper", **kwargs: Any) -> Transcriber:
    if name not in _TRANSCRIBERS:
        raise ValueError(f"unknown transcriber {name!r}; one of {', '.join(available_transcribers())}")
    return _TRANSCRIBERS[name](**kwargs)


def make_speaker(name: str = "espeak", **kwargs: Any) -> Speaker:
    if name not in _SPEAKERS:
        raise ValueError(f"unknown speaker {name!r}; one of {', '.join(available_speakers())}")
    return _SPEAKERS[name](**kwargs)


@register_transcriber("whisper")
def _whisper(**kwargs: Any) -> Transcriber:
    from .whisper import WhisperTranscriber, cached_transcriber

    shared = kwargs.pop("shared", True)  # one model per configuration per process (it is ~150 MB)
    return cached_transcriber(**kwargs) if shared else WhisperTranscriber(**kwargs)


@register_speaker("espeak")
def _espeak(**kwargs: Any) -> Speaker:
    from .tts import EspeakSpeaker

    return EspeakSpeaker(**kwargs)
