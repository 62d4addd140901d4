"""Word forms the safety word lists would otherwise have to spell out one by one.

Why: the safety lists (`safety:` in `planner/lexicon/<lang>.yaml`) are matched phrase by phrase,
and three languages build a request out of pieces no list can enumerate:

- Spanish hangs object pronouns on the verb: "tírasela" = tira + se + la, "arrójale" = arroja + le;
- Swahili puts subject and object markers before the verb root and a mood ending after it:
  "umrushie" = u-m-rush-ie (that you throw to him), "wapige" = wa-pig-e (hit them);
- Dutch splits separable verbs: "gooi de toren om" is "omgooien" (knock over), and the particle
  ends the clause.

`base_forms` rewrites such words to a form the list already has ("tira", "rusha", "gooi om"),
only when that form is listed, so a list stays the one place that decides what is unsafe. The
rewritten text feeds the safety check only, never understanding. Negated forms (Swahili "usi-",
"si-") are never rewritten: they are not the verb asked for.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import product

from planner.lexicon_parser import _CLAUSE, normalise

# Spanish enclitic pronouns, longest first ("tírasela", "lánzale", "golpéalos").
_ES_ENCLITICS = ("noslas", "noslos", "selas", "selos", "melas", "melos", "telas", "telos", "nosla", "noslo",
                 "sela", "selo", "mela", "melo", "tela", "telo", "les", "los", "las", "nos", "le", "lo", "la",
                 "me", "te", "se", "os")
# Swahili verb slots: subject (or infinitive) marker, tense, object marker, then the root and a mood
# ending. No third-person subject "a-": "achana" (leave it) is its own verb, not a-chana.
_SW_FIRST = ("ku", "tu", "wa", "ni", "u", "m", "")
_SW_TENSE = ("ta", "na", "")  # "utampiga" (you will hit him), after a subject only
_SW_OBJECT = ("mw", "wa", "ni", "tu", "ki", "vi", "zi", "li", "ya", "m", "i", "u", "")
_SW_ENDINGS = ("ieni", "eeni", "eni", "ie", "ee", "ia", "ea", "e", "a")
# Real Swahili words that look like a listed verb with markers ("mkate", bread, is not m-kat-e, cut him).
_SW_NOT_FORMS = frozenset({"mkate", "mikate", "ukate", "mchana", "michana", "ukata", "mkata", "wakati", "kipande",
                           "vipande", "upande", "pande"})
# Dutch separable-verb particles: the second word of a listed "verb particle" phrase ("gooi om").
_NL_PARTICLES = frozenset({"om", "omver", "kapot", "stuk", "neer", "toe", "uit", "aan", "plat", "open", "eraf",
                           "af", "weg", "door", "over", "fijn"})
_NL_CONJUNCTIONS = frozenset({"en", "maar", "zodat", "dan", "of", "want", "terwijl", "als"})
_ES_PRONOUNS = frozenset({"lo", "la", "los", "las", "le", "les", "me", "te", "se", "nos", "os"})
_NEGATIONS = {"es": frozenset({"no", "sin", "nunca", "jamás", "jamas", "ni"}), "sw": frozenset({"bila", "wala"})}


@dataclass(frozen=True)
class Forms:
    """What a language's lists already have: the one-word verbs forms are rewritten to (accents
    dropped -> as listed), the two-word "verb particle" phrases, and every listed phrase (as said,
    a listed phrase is never rewritten: "hata nikipiga kelele" stays whole)."""

    words: dict[str, str]
    pairs: frozenset[tuple[str, str]]
    listed: frozenset[str] = frozenset()
    longest: int = 1  # words in the longest listed phrase
    moves: frozenset[str] = frozenset()  # the understanding lexicon's moves among `words` (keys)


def forms_of(verbs: Iterable[str], listed: Iterable[str] = (), moves: Iterable[str] = ()) -> Forms:
    """The `Forms` of a language: `verbs`, the normalised phrases forms may be rewritten to (the
    harmful verbs); `listed`, every safety phrase; `moves`, the understanding lexicon's moves
    ("beba", lift: "mbebe mtoto" lifts a child)."""
    words: dict[str, str] = {}
    pairs: set[tuple[str, str]] = set()
    verbs, moves = list(verbs), [p for p in moves if " " not in p]
    for p in [*verbs, *moves]:
        parts = p.split()
        if len(parts) == 1:
            words.setdefault(_plain(p), p)
        elif len(parts) == 2 and parts[1] in _NL_PARTICLES:
            pairs.add((parts[0], parts[1]))
    every = frozenset(listed)
    return Forms(words, frozenset(pairs), every, max((len(p.split()) for p in every), default=1),
                 frozenset(_plain(p) for p in moves if p not in verbs))


def base_forms(text: str, language: str, forms: Forms) -> str:
    """`normalise(text)` with the language's affixed or split verb forms rewritten to listed ones,
    clause by clause; a listed verb right after a negation ("sin golpearlo", "bila kulivunja") is
    dropped: it is what must not happen."""
    reduce = {"es": _es_base, "sw": _sw_base, "nl": None}
    if language not in reduce:
        return normalise(text)
    out: list[str] = []
    for clause in _CLAUSE.split(unicodedata.normalize("NFKC", text).lower()):
        words = normalise(clause).split()
        if language == "nl":
            out += _rejoin_particles(words, forms)
            continue
        kept = _listed(words, forms)
        for i, w in enumerate(words):
            base = w if _plain(w) in forms.words or i in kept else reduce[language](w, forms)
            if base is not None and i not in kept and _negated(words[:i], language):
                continue
            out.append(base or w)
    return " " + " ".join(out) + " "


def _listed(words: list[str], forms: Forms) -> set[int]:
    """Positions of the words that are part of a listed phrase of several words, as said."""
    kept: set[int] = set()
    for n in range(forms.longest, 1, -1):
        for i in range(len(words) - n + 1):
            if " ".join(words[i:i + n]) in forms.listed:
                kept.update(range(i, i + n))
    return kept


def _negated(before: list[str], language: str) -> bool:
    """Does a negation stand right before the next word (Spanish: maybe with pronouns between)?"""
    if language == "es":
        while before and before[-1] in _ES_PRONOUNS:
            before = before[:-1]
    return bool(before) and before[-1] in _NEGATIONS[language]


def _es_base(word: str, forms: Forms) -> str | None:
    plain = _plain(word)
    for ending in _ES_ENCLITICS:
        stem = plain[:-len(ending)]
        if plain.endswith(ending) and len(stem) >= 3 and stem in forms.words:
            return forms.words[stem]
    return None


def _sw_base(word: str, forms: Forms) -> str | None:
    if word in _SW_NOT_FORMS:
        return None
    for first, tense, obj in product(_SW_FIRST, _SW_TENSE, _SW_OBJECT):
        if tense and first in ("", "ku") or not word.startswith(head := first + tense + obj):
            continue
        core = word[len(head):]
        if len(core) >= 5 and core in forms.words:  # a loanword verb with its markers ("iharibu")
            return forms.words[core]
        for ending in _SW_ENDINGS if head else ("ieni", "eni"):  # bare: only the plural "pigeni"
            root = core[:-len(ending)]
            if not core.endswith(ending) or len(root) < 3:
                continue
            # the applicative ("mwangushie": drop it on him) first when it is listed, else the verb;
            # but an applicative move is not a move of its object: "msogezee mtoto sahani" (slide the
            # plate toward the child) moves the plate
            applicative = ending[0] in "ie" and ending != "e"
            for base in ((root + ending[0] + "a",) if applicative else ()) + (root + "a",):
                if base in forms.words and not (applicative and base in forms.moves):
                    return forms.words[base]
    return None


def _rejoin_particles(words: list[str], forms: Forms) -> list[str]:
    """Dutch: a particle that ends its clause joins a verb earlier in that clause when the two make a
    listed phrase ("gooi de toren om" -> "gooi om de toren"); "om" inside a clause ("om te spelen")
    is left alone. A conjunction ("en", "zodat") starts a new clause."""
    cut = [i for i, w in enumerate(words) if w in _NL_CONJUNCTIONS and i > 0] + [len(words)]
    out, start = [], 0
    for end in cut:
        part = words[start:end]
        start = end
        if len(part) >= 3 and part[-1] in _NL_PARTICLES:
            verb = next((i for i, w in enumerate(part[:-2]) if (w, part[-1]) in forms.pairs), None)
            if verb is not None:
                part = [*part[:verb], f"{part[verb]} {part[-1]}", *part[verb + 1:-1]]
        out += part
    return out


_ACCENT = re.compile("[\u0300-\u036f]")


def _plain(word: str) -> str:
    """Without accents ("tírasela" -> "tirasela"): people write them or not."""
    return _ACCENT.sub("", unicodedata.normalize("NFD", word))
