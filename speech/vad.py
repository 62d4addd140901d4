"""Voice activity with the Silero VAD model that ships inside faster-whisper, tuned for commands.

faster-whisper's defaults are for long recordings (2 s of silence before a speech chunk
ends, 400 ms padding); a spoken command is one or two seconds, so chunks end after
300 ms of silence and keep 150 ms of padding, and blips under 120 ms are dropped.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .types import SAMPLE_RATE


@dataclass(frozen=True)
class VadConfig:
    threshold: float = 0.5
    min_speech_ms: int = 120
    min_silence_ms: int = 300
    speech_pad_ms: int = 150
    min_total_speech_s: float = 0.2  # less than this in the whole clip is "nothing heard"

    def options(self):
        from faster_whisper.vad import VadOptions

        return VadOptions(threshold=self.threshold, min_speech_duration_ms=self.min_speech_ms,
                          min_silence_duration_ms=self.min_silence_ms, speech_pad_ms=self.speech_pad_ms)


def speech_spans(audio: np.ndarray, config: VadConfig = VadConfig()) -> list[tuple[int, int]]:
    """(start, end) sample indices of speech; [] for silence or noise only."""
    from faster_whisper.vad import get_speech_timestamps

    if audio.size < SAMPLE_RATE // 10:
        return []
    spans = [(int(c["start"]), int(c["end"])) for c in get_speech_timestamps(audio, config.options())]
    if sum(e - s for s, e in spans) < config.min_total_speech_s * SAMPLE_RATE:
        return []
    return spans


def keep_speech(audio: np.ndarray, spans: list[tuple[int, int]], gap_s: float = 0.1) -> np.ndarray:
    """The speech spans joined with short gaps (leading, trailing and long inner silences dropped)."""
    gap = np.zeros(int(gap_s * SAMPLE_RATE), dtype=np.float32)
    parts: list[np.ndarray] = []
    for s, e in spans:
        if parts:
            parts.append(gap)
        parts.append(audio[s:e])
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
