"""Speech in and out, offline: audio decoding, voice activity, Whisper ASR, streaming, espeak-ng TTS.

Nothing heavy is imported here: `faster_whisper` (ctranslate2, onnxruntime) loads only
when a transcriber is built (`make_transcriber`), so `import speech` stays cheap.
"""
from __future__ import annotations

from .registry import available_speakers, available_transcribers, make_speaker, make_transcriber
from .types import AudioError, Segment, Speaker, SpeechEvent, Timings, Transcriber, Transcript

__all__ = [
    "AudioError", "Segment", "Speaker", "SpeechEvent", "Timings", "Transcriber", "Transcript",
    "available_speakers", "available_transcribers", "make_speaker", "make_transcriber",
]
