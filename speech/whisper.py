"""Whisper ASR through faster-whisper, decoding tuned for short robot commands.

Why not just `WhisperModel.transcribe`: with `language=None` it runs the encoder twice
(once to detect the language, once to transcribe: ~0.9 s extra per command on 2 cores,
GUIDE.md), its language guess ranges over 99 languages (espeak-ng Spanish came out as
Thai), and its defaults for long recordings (beam 5, six temperatures, conditioning on
previous text) let synthetic voices fall into repetition loops for tens of seconds.
So for audio up to one Whisper window (30 s) we encode once, read the language from that
encoder output (restricted to the languages the assistant speaks, with the
conversation's language as a prior), and decode with guards:
- a domain prompt (the scene's objects in the person's language) as previous text,
- a token budget proportional to the speech's length,
- few temperature fallbacks, a compression-ratio limit, no conditioning on earlier turns,
- "no speech" + low log-probability means nothing was heard, and a repeated phrase
  left by a loop is collapsed.
`robust=False` is plain `WhisperModel.transcribe` with its defaults on the raw audio,
kept for the side-by-side figures in bench/speech.py and for long audio.
"""
from __future__ import annotations

import logging
import os
import re
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import numpy as np

from .audio import load_audio
from .models import resolve_model
from .types import SAMPLE_RATE, Segment, Timings, Transcript
from .vad import VadConfig, keep_speech, speech_spans

log = logging.getLogger(__name__)

SUPPORTED = ("en", "es", "fr", "de", "it", "pt", "nl", "pl", "ru", "uk", "tr", "ar", "hi", "bn", "zh", "ja", "ko",
             "vi", "id", "sw")  # the assistant's languages (planner.language.SUPPORTED; kept equal by a test)
WINDOW_S = 30.0


@dataclass(frozen=True)
class WhisperConfig:
    model: str | None = None  # None/"base": the offline default; a size name or a CTranslate2 folder
    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int = 0  # 0: all cores
    beam_size: int = 2
    languages: tuple[str, ...] = SUPPORTED
    # A language outside `languages` is a (translated) candidate when Whisper is this sure of it.
    unsupported_min: float = 0.6
    # Candidate languages decoded and compared (the encoder runs once; a decode is ~0.2 s):
    # score = mean token log-prob + language_weight * log P(language) + hint_bonus (the
    # conversation's language) + domain_weight * scorer(text, language) (e.g. the share of
    # words the domain lexicon knows). Decoding stops early when the hint explains the turn.
    n_candidates: int = 2
    n_best: int = 4  # beam width and hypotheses re-ranked with the domain score (1: no re-ranking)
    language_weight: float = 0.05
    hint_bonus: float = 0.3
    domain_weight: float = 1.5
    domain_enough: float = 0.6
    temperatures: tuple[float, ...] = (0.0, 0.3, 0.6)
    compression_ratio_threshold: float = 2.2
    log_prob_threshold: float = -1.0
    no_speech_threshold: float = 0.6
    tokens_per_second: float = 14.0  # token budget per second of speech (CJK is dense)
    vad: VadConfig = VadConfig()


class WhisperTranscriber:
    name = "whisper"

    def __init__(self, config: WhisperConfig | None = None, **overrides: Any) -> None:
        from faster_whisper import WhisperModel

        self.config = replace(config or WhisperConfig(), **overrides)
        c = self.config
        threads = c.cpu_threads or (os.cpu_count() or 2)
        self.model = WhisperModel(resolve_model(c.model), device=c.device, compute_type=c.compute_type,
                                  cpu_threads=threads)
        self._lock = threading.Lock()  # one decode at a time: the cores are shared with the physics

    # -- public -------------------------------------------------------------------------------
    def transcribe(self, audio: np.ndarray | str | bytes, *, language_hint: str | None = None,
                   prompt: str | None = None, robust: bool = True, sample_rate: int | None = None,
                   max_seconds: float | None = None, max_new_tokens: int | None = None,
                   scorer: Callable[[str, str], float] | None = None) -> Transcript:
        t0 = time.perf_counter()
        a = load_audio(audio, sample_rate) if not _is_16k(audio, sample_rate) else audio.astype(np.float32)
        t_dec = time.perf_counter() - t0
        duration = a.size / SAMPLE_RATE
        with self._lock:
            if not robust:
                return self._plain(a, t0, t_dec, duration)
            t1 = time.perf_counter()
            spans = speech_spans(a, self.config.vad)
            t_vad = time.perf_counter() - t1
            if not spans:
                return Transcript("", None, 0.0, (), Timings(t_dec, t_vad, 0, 0, time.perf_counter() - t0),
                                  duration, 0.0, heard=False)
            speech = keep_speech(a, spans)
            if max_seconds is not None:
                speech = speech[: int(max_seconds * SAMPLE_RATE)]
            if speech.size / SAMPLE_RATE > WINDOW_S:  # longer than one window: the library's own loop
                text_prompt = prompt(language_hint or "en") if callable(prompt) else prompt
                return self._plain(a, t0, t_dec, duration, language=language_hint, prompt=text_prompt)
            return self._decode(speech, spans, language_hint, prompt, t0, t_dec, t_vad, duration, max_new_tokens,
                                scorer)

    def detect_language(self, audio: np.ndarray) -> dict[str, float]:
        """Whisper's language probabilities for 16 kHz audio (one encoder pass)."""
        from faster_whisper.audio import pad_or_trim

        m = self.model
        with self._lock:
            feats = m.feature_extractor(audio)
            enc = m.encode(pad_or_trim(feats[..., : m.feature_extractor.nb_max_frames]))
            return {tok[2:-2]: p for tok, p in m.model.detect_language(enc)[0]}

    def language_candidates(self, probs: dict[str, float], hint: str | None) -> list[tuple[str, float, bool]]:
        """Languages worth decoding in, best first: [(language, probability, supported)].

        The candidates are the most likely supported languages and the conversation's
        language; Whisper base often mistakes synthetic or accented speech for English, Thai
        or Latin (GUIDE.md), so its first guess alone is not trusted and the decodes are
        compared afterwards. A language outside `languages` that Whisper is sure of is one
        more candidate, decoded with task="translate" and judged on its English."""
        c = self.config
        top = max(probs, key=probs.get)
        sup = sorted(((k, v) for k, v in probs.items() if k in c.languages), key=lambda kv: -kv[1])
        out = [(k, v, True) for k, v in sup[: c.n_candidates]]
        if hint in c.languages and all(k != hint for k, _, _ in out):
            out.append((hint, probs.get(hint, 0.0), True))
        if top not in c.languages and probs[top] >= c.unsupported_min:
            out.insert(0, (top, probs[top], False))  # translated; it competes with the others on its English
        return out

    # -- internals ------------------------------------------------------------------------------
    def _decode(self, speech, spans, hint, prompt, t0, t_dec, t_vad, duration, max_new_tokens,
                scorer=None) -> Transcript:
        from faster_whisper.audio import pad_or_trim

        c, m = self.config, self.model
        t1 = time.perf_counter()
        features = m.feature_extractor(speech)
        encoder_output = m.encode(pad_or_trim(features[..., : m.feature_extractor.nb_max_frames]))
        probs = {tok[2:-2]: p for tok, p in m.model.detect_language(encoder_output)[0]}
        cands = self.language_candidates(probs, hint)
        t_lang = time.perf_counter() - t1
        seconds = speech.size / SAMPLE_RATE
        budget = max_new_tokens or int(min(200, 10 + c.tokens_per_second * seconds))
        best = None
        for lang, p_lang, supported in cands:
            text_prompt = (prompt(lang) if callable(prompt) else prompt) if supported else None
            judge = (lambda s, lg=(lang if supported else "en"): scorer(s, lg)) if scorer is not None else None
            text, logprob, no_speech, domain = self._decode_one(encoder_output, lang, supported, text_prompt,
                                                                budget, judge)
            if _echoes(text, text_prompt):  # it copied the prompt: decode again without one
                text, logprob, no_speech, domain = self._decode_one(encoder_output, lang, supported, None, budget,
                                                                    judge)
            score = logprob + c.language_weight * float(np.log(max(p_lang, 1e-4)))
            if lang == hint:
                score += c.hint_bonus
            score += c.domain_weight * domain
            heard = bool(text) and not (no_speech > c.no_speech_threshold and logprob < c.log_prob_threshold)
            cand = (score if heard else score - 10.0, lang, p_lang, supported, text if heard else "")
            log.debug("candidate %s p=%.2f logprob=%.2f domain=%.2f score=%.2f %r", lang, p_lang, logprob, domain,
                      cand[0], text)
            if best is None or cand[0] > best[0]:
                best = cand
            if heard and domain >= c.domain_enough and (lang == hint or hint is None):
                break  # the conversation's language explains the words: no need to try others
        _score, lang, p_lang, supported, text = best
        t_asr = time.perf_counter() - t1 - t_lang
        start, end = spans[0][0] / SAMPLE_RATE, spans[-1][1] / SAMPLE_RATE
        segs = (Segment(round(start, 3), round(end, 3), text),) if text else ()
        timings = Timings(t_dec, t_vad, t_lang, t_asr, time.perf_counter() - t0)
        task = "transcribe" if supported else "translate"
        return Transcript(text, lang, float(p_lang), segs, timings, duration, seconds,
                          translated=not supported, heard=bool(text), task=task)

    def _decode_one(self, encoder_output, lang: str, supported: bool, prompt: str | None, budget: int,
                    judge: Callable[[str], float] | None = None) -> tuple[str, float, float, float]:
        """(text, mean token log-prob, no-speech probability, domain score) for one language.

        With a `judge` (the domain score), the beam's `n_best` hypotheses are re-ranked by
        log-prob + domain_weight * score: the beam often holds the right command just below
        a near-miss ("cuento azul" above "cuenco azul"). Without one, or when every
        hypothesis looks like a loop, faster-whisper's temperature fallback decides."""
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_compression_ratio

        c, m = self.config, self.model
        tok = Tokenizer(m.hf_tokenizer, True, task="transcribe" if supported else "translate", language=lang)
        previous = tok.encode(" " + prompt.strip())[-100:] if prompt else []
        sot = m.get_prompt(tok, previous, without_timestamps=True)
        if judge is not None and c.n_best > 1:
            res = m.model.generate(encoder_output, [sot], beam_size=c.n_best, num_hypotheses=c.n_best,
                                   max_length=min(m.max_length, len(sot) + budget), return_scores=True,
                                   return_no_speech_prob=True, suppress_blank=True, suppress_tokens=[-1])[0]
            best = None
            for ids, score in zip(res.sequences_ids, res.scores):
                text = collapse_repeats(tok.decode(ids).strip())
                if not text or get_compression_ratio(text) > c.compression_ratio_threshold:
                    continue
                logprob = score * len(ids) / (len(ids) + 1)  # faster-whisper's mean log-prob (length penalty 1)
                domain = judge(text)
                key = logprob + c.domain_weight * domain
                if best is None or key > best[0]:
                    best = (key, text, float(logprob), domain)
            if best is not None:
                return best[1], best[2], float(res.no_speech_prob), best[3]
        result, avg_logprob, _temp, _ratio = m.generate_with_fallback(encoder_output, sot, tok,
                                                                     _options(self.config, budget))
        text = collapse_repeats(tok.decode(result.sequences_ids[0]).strip())
        domain = judge(text) if (judge is not None and text) else 0.0
        return text, float(avg_logprob), float(result.no_speech_prob), domain

    def _plain(self, a, t0, t_dec, duration, language=None, prompt=None) -> Transcript:
        """faster-whisper's own loop with its defaults (the baseline; also long audio)."""
        t1 = time.perf_counter()
        segments, info = self.model.transcribe(a, language=language, initial_prompt=prompt)
        segs = tuple(Segment(round(s.start, 3), round(s.end, 3), s.text.strip()) for s in segments)
        text = " ".join(s.text for s in segs if s.text).strip()
        timings = Timings(t_dec, 0.0, 0.0, time.perf_counter() - t1, time.perf_counter() - t0)
        return Transcript(text, info.language, float(info.language_probability), segs, timings, duration,
                          float(info.duration_after_vad), heard=bool(text))


def _is_16k(audio, rate) -> bool:
    return isinstance(audio, np.ndarray) and audio.ndim == 1 and rate in (None, SAMPLE_RATE) and \
        audio.dtype == np.float32


def _options(c: WhisperConfig, max_new_tokens: int):
    from faster_whisper.transcribe import TranscriptionOptions

    return TranscriptionOptions(
        beam_size=c.beam_size, best_of=2, patience=1.0, length_penalty=1.0, repetition_penalty=1.0,
        no_repeat_ngram_size=0, log_prob_threshold=c.log_prob_threshold,
        no_speech_threshold=c.no_speech_threshold, compression_ratio_threshold=c.compression_ratio_threshold,
        condition_on_previous_text=False, prompt_reset_on_temperature=0.5, temperatures=list(c.temperatures),
        initial_prompt=None, prefix=None, suppress_blank=True, suppress_tokens=[-1], without_timestamps=True,
        max_initial_timestamp=1.0, word_timestamps=False, prepend_punctuations="", append_punctuations="",
        multilingual=False, max_new_tokens=max_new_tokens, clip_timestamps="0",
        hallucination_silence_threshold=None, hotwords=None)


_REPEAT = re.compile(r"(\b.{2,40}?)(?:[\s,.、，]*\1){2,}", re.S)


def collapse_repeats(text: str) -> str:
    """"put the cube put the cube put the cube" -> "put the cube": what a decoding loop leaves."""
    prev = None
    while prev != text:
        prev, text = text, _REPEAT.sub(r"\1", text)
    return text.strip()


def _norm(s: str) -> str:
    s = unicodedata.normalize("NFKC", s).lower()
    return " ".join(re.sub(r"[^\w]+", " ", s).split())


def _echoes(text: str, prompt: str | None) -> bool:
    """The decoder copied the prompt instead of transcribing (Whisper does this when the audio
    does not fit the language it was told): every word is a prompt word and two or more of
    the prompt's object names are in it. A real answer names one object ("the red cube") or
    has words of its own ("put", "and", "in")."""
    if not text or not prompt:
        return False
    t = _norm(text)
    items = [_norm(i) for i in re.split(r"[,、。.]", prompt) if _norm(i)]
    if any(ord(ch) >= 0x2E80 for ch in t):  # CJK (no spaces between words): compare characters
        if not set(t.replace(" ", "")) <= set("".join(items)):
            return False
    elif not t or not set(t.split()) <= set(" ".join(items).split()):
        return False
    return sum(1 for i in set(items) if i in t) >= 2 or bool(re.search(r"[,、]", text))


@lru_cache(maxsize=4)
def _shared(config: WhisperConfig) -> WhisperTranscriber:
    return WhisperTranscriber(config)


def cached_transcriber(**kwargs: Any) -> WhisperTranscriber:
    """One model per configuration per process (the UI's sessions share it; it has its own lock)."""
    return _shared(replace(WhisperConfig(), **kwargs))
