"""Language identification for typed turns: which of the supported languages is this?

General detectors are unreliable on three-word robot commands (GUIDE.md: langdetect
69%, lingua restricted to our languages 92%), but commands are in-domain: the
share of a turn that a language's lexicon explains is a strong signal. The
`DomainLanguageDetector` scores each supported language by
1. the writing system (Hangul is Korean, kana Japanese, Bengali script Bengali...),
2. lexicon coverage (words of the turn the language's lexicon knows),
3. lingua's confidence restricted to the supported languages (when installed),
and keeps the conversation's language for very short or ambiguous turns ("stop",
"the green one"), where no detector can tell. A turn in a language outside the
set is reported as such (`supported=False`) with lingua's best guess of which.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from .lexicon_parser import available_languages, coverage, load_lexicon, normalise

SUPPORTED = ("en", "es", "fr", "de", "it", "pt", "nl", "pl", "ru", "uk", "tr", "ar", "hi", "bn", "zh", "ja", "ko",
             "vi", "id", "sw")
NAMES = {"en": "English", "es": "Spanish", "fr": "French", "de": "German", "it": "Italian", "pt": "Portuguese",
         "nl": "Dutch", "pl": "Polish", "ru": "Russian", "uk": "Ukrainian", "tr": "Turkish", "ar": "Arabic",
         "hi": "Hindi", "bn": "Bengali", "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "vi": "Vietnamese",
         "id": "Indonesian", "sw": "Swahili"}


@dataclass(frozen=True)
class LanguageGuess:
    language: str  # ISO 639-1
    confidence: float
    supported: bool = True
    kept: bool = False  # True when the turn was too short to tell and the conversation's language was kept


class LanguageDetector(Protocol):
    def detect(self, text: str, previous: str | None = None) -> LanguageGuess: ...


def script_languages(text: str) -> set[str] | None:
    """Languages a turn's writing system allows (None: Latin or unknown, no constraint)."""
    counts: dict[str, int] = {}
    for ch in text:
        if not ch.isalpha():
            continue
        name = unicodedata.name(ch, "")
        for key in ("HANGUL", "HIRAGANA", "KATAKANA", "CJK", "ARABIC", "DEVANAGARI", "BENGALI", "CYRILLIC"):
            if name.startswith(key):
                counts[key] = counts.get(key, 0) + 1
                break
        else:
            counts["LATIN"] = counts.get("LATIN", 0) + 1
    if not counts:
        return None
    top = max(counts, key=lambda k: counts[k])
    if counts.get("HIRAGANA") or counts.get("KATAKANA"):
        return {"ja"}
    return {"HANGUL": {"ko"}, "CJK": {"zh", "ja"}, "ARABIC": {"ar"}, "DEVANAGARI": {"hi"}, "BENGALI": {"bn"},
            "CYRILLIC": {"ru", "uk"}}.get(top)


@lru_cache(maxsize=1)
def _lingua():
    try:
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder
    except ImportError:  # optional: the lexicon alone still works
        return None
    langs = [Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper())) for c in SUPPORTED]
    return LanguageDetectorBuilder.from_languages(*langs).build()


@lru_cache(maxsize=1)
def _lingua_all():
    try:
        from lingua import LanguageDetectorBuilder
    except ImportError:
        return None
    return LanguageDetectorBuilder.from_all_languages().build()


class DomainLanguageDetector:
    """Script + lexicon coverage + lingua, with the conversation's language for short turns."""

    name = "domain"

    def __init__(self, languages: tuple[str, ...] | None = None) -> None:
        self.languages = tuple(lang for lang in (languages or SUPPORTED) if lang in available_languages())

    def scores(self, text: str) -> dict[str, float]:
        allowed = script_languages(text)
        cands = [lang for lang in self.languages if allowed is None or lang in allowed]
        norm = normalise(text)
        out: dict[str, float] = {}
        for lang in cands:
            lex = load_lexicon(lang)
            found = lex.find(norm) if norm.strip() else []  # once per language: this runs for all 20
            # filler and bare negation words ("не", "not") are shared by many languages: half weight
            ms = [m for m in found if m.cat not in ("filler", "negation")]
            fill = [m for m in found if m.cat in ("filler", "negation")]
            out[lang] = coverage(norm, ms, lex.match) + 0.5 * coverage(norm, fill, lex.match)
        det = _lingua()
        if det is not None and norm.strip():
            for cv in det.compute_language_confidence_values(text):
                code = cv.language.iso_code_639_1.name.lower()
                if code in out:
                    out[code] += 0.6 * cv.value
        return out

    def detect(self, text: str, previous: str | None = None) -> LanguageGuess:
        words = re.findall(r"\w+", text)
        scores = self.scores(text)
        if not scores:
            return LanguageGuess(previous or "en", 0.0, kept=previous is not None)
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        best, s1 = ranked[0]
        s2 = ranked[1][1] if len(ranked) > 1 else 0.0
        short = len(words) < 3 and script_languages(text) is None or len("".join(words)) < 3
        # Keep the conversation's language when the turn fits it about as well as the best.
        if previous in scores and (short or scores[previous] >= s1 - 0.05):
            return LanguageGuess(previous, scores[previous], kept=previous != best)
        if short and previous is None and scores.get("en", 0.0) >= 0.5:
            # A first turn like "stop" or "ok" is words of many languages: English, as for
            # any turn whose language cannot be told.
            return LanguageGuess("en", scores["en"], kept=best != "en")
        if s1 < 0.35:  # nothing of ours explains it: maybe another language altogether
            other = _other_language(text)
            if other is not None and other not in SUPPORTED:
                return LanguageGuess(other, 1.0 - s1, supported=False)
        return LanguageGuess(best, min(1.0, s1 - s2 + 0.5))


def _other_language(text: str) -> str | None:
    det = _lingua_all()
    if det is None or len(re.findall(r"\w+", text)) < 3:
        return None
    lang = det.detect_language_of(text)
    return lang.iso_code_639_1.name.lower() if lang is not None else None
