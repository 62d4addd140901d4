"""Streaming speech: audio chunks in (a microphone), utterances out when the person stops.

Voice activity runs on the pending audio as it grows (Silero VAD costs milliseconds per
second of audio). An utterance ends after `end_silence_s` of silence following speech,
and is then transcribed whole. While the person is still talking, the first
`early_window_s` of speech are transcribed once, with a short token budget: if that
already says "stop" (any supported language, checked by `is_stop`, e.g. the dialogue's
lexicon), a `stop` event goes out at once, without waiting for the end of a long
utterance ("stop, stop, no wait, I meant the other bowl").
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .audio import resample, to_float_mono
from .types import SAMPLE_RATE, SpeechEvent
from .vad import VadConfig, speech_spans


@dataclass(frozen=True)
class StreamConfig:
    end_silence_s: float = 0.5  # silence after speech that ends an utterance
    early_window_s: float = 1.2  # speech checked for an early stop word
    max_utterance_s: float = 20.0  # cut an utterance that never pauses
    vad_every_s: float = 0.1  # run VAD at most this often (audio time)
    vad: VadConfig = VadConfig(min_total_speech_s=0.15)


class StreamingRecognizer:
    def __init__(self, transcriber, config: StreamConfig = StreamConfig(),
                 is_stop: Callable[[str, str | None], bool] | None = None,
                 language_hint: Callable[[], str | None] | None = None,
                 prompt=None, scorer=None) -> None:
        self.t, self.config, self.is_stop = transcriber, config, is_stop
        self.language_hint = language_hint or (lambda: None)
        self.prompt, self.scorer = prompt, scorer
        self.reset()

    def reset(self) -> None:
        self.buffer = np.zeros(0, dtype=np.float32)
        self.offset = 0  # samples of the stream before `buffer`
        self._since_vad = 0
        self._early_done = False

    @property
    def stream_time(self) -> float:
        return (self.offset + self.buffer.size) / SAMPLE_RATE

    def feed(self, chunk: np.ndarray, sample_rate: int = SAMPLE_RATE) -> list[SpeechEvent]:
        a = resample(to_float_mono(chunk), sample_rate)
        self.buffer = np.concatenate([self.buffer, a])
        self._since_vad += a.size
        if self._since_vad < self.config.vad_every_s * SAMPLE_RATE:
            return []
        self._since_vad = 0
        return self._step(final=False)

    def flush(self) -> list[SpeechEvent]:
        """The stream ended (button released): whatever speech is pending becomes an utterance."""
        return self._step(final=True)

    def _step(self, final: bool) -> list[SpeechEvent]:
        c = self.config
        spans = speech_spans(self.buffer, c.vad)
        if not spans:
            # keep only the last half second of silence (speech may be starting)
            keep = int(0.5 * SAMPLE_RATE)
            if self.buffer.size > keep:
                self.offset += self.buffer.size - keep
                self.buffer = self.buffer[-keep:]
            if final:
                self.reset()
            return []
        events: list[SpeechEvent] = []
        start, end = spans[0][0], spans[-1][1]
        silence_after = (self.buffer.size - end) / SAMPLE_RATE
        length = (end - start) / SAMPLE_RATE
        if not self._early_done and self.is_stop is not None and length >= c.early_window_s:
            self._early_done = True
            part = self.buffer[start:start + int(c.early_window_s * SAMPLE_RATE)]
            t = self.t.transcribe(part, language_hint=self.language_hint(), max_new_tokens=12, scorer=self.scorer)
            if t.heard and self.is_stop(t.text, t.language):
                events.append(SpeechEvent("stop", t, self.stream_time))
        if final or silence_after >= c.end_silence_s or length >= c.max_utterance_s:
            utter = self.buffer[: min(self.buffer.size, end + int(0.2 * SAMPLE_RATE))]
            t = self.t.transcribe(utter, language_hint=self.language_hint(), prompt=self.prompt, scorer=self.scorer)
            # Emitted even after an early stop: the rest may carry a change ("stop, the other bowl").
            if t.heard:
                events.append(SpeechEvent("utterance", t, self.stream_time))
            self.offset += self.buffer.size
            self.buffer = np.zeros(0, dtype=np.float32)
            self._early_done = False
        return events
