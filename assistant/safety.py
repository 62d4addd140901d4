"""The semantic safety layer: is this request one the robot must refuse?

`assistant/constitution.yaml` states the rules in plain English (no harm to people or
animals, no throwing, no hitting, no sharp or hot things toward people, no damage, no
haste near people, no bypassing the limits). `SafetyChecker.check(text, language, intent,
scene_has_person)` returns a `SafetyVerdict`; the dialogue manager calls it on every request
before planning, whichever understanding backend parsed it, and a refusal moves nothing.
`constitution_prompt()` renders the rules for LLM backends; `refusal_text()` is the reply.

Why word lists are the offline default: the assistant must answer in 20 languages within
milliseconds, with no model to download, and a refusal must be explainable and easy to fix
(a missed phrase is one line in `planner/lexicon/<lang>.yaml`, `safety:` section). The lists
are matched exactly like the understanding lexicon (same normalisation, plus Arabic short vowels
ignored; whole words, word stems or substrings per language), after the verb forms a list cannot
enumerate are brought back to listed ones (`safety_forms.py`: Spanish "tírasela", Swahili
"umrushie", Dutch "gooi de toren om"). They are combined with what the parser understood and
with where words stand: the objects and the person named, the destination (a "toss it into the
bowl" is a placement; "on his foot", "op de kat" is not), what is moved (the cat in "lift the
cat"), the action (a knife *given* to someone), and whether a person is at the table. A person
named only inside a `benign` phrase ("away from the child") is not whom the request is aimed at.

What it cannot do: it reads words, not meaning. It misses harm described without a listed
word ("put the mug where her hand is, then let go"), indirect or multi-turn plans (each turn
is judged alone), sarcasm, made-up spellings, and mixed languages (only the turn's language's
lists are used); it cannot tell what is hot or sharp from the scene (only from words), and it
does not understand negation beyond the explicit harmless phrases listed under `benign`
("don't drop it") and a listed verb right after a Spanish or Swahili negation ("sin romperlo").
Word order is read roughly: a person or animal named first, right after a move verb, is taken as
the thing moved, so "pick up the cat" is refused and so is "pick up the cat food" (a thing the
lists do not know). The motion-level limits
in `embodiments/limits.py` (speed near a person, the workspace) apply to every command whatever
this layer decides.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol, runtime_checkable

from embodiments.types import CONTAINER_KINDS
from planner.intent import Intent, Ref
from planner.lexicon_parser import LEXICON_DIR, MAX_CHARS, Lexicon, Match, load_lexicon, load_yaml, normalise

from .messages import say
from .safety_forms import Forms, base_forms, forms_of
from .safety_scene import Scene, is_person_word

CONSTITUTION = Path(__file__).with_name("constitution.yaml")
# The categories of the `safety:` section of every lexicon (tests check that each language has all).
CATEGORIES = ("throw", "hit", "harm", "damage", "drop", "height", "sharp_hot", "fast", "bypass", "disable",
              "limits", "living", "toward", "benign")
_HARAKAT = re.compile("[\u064b-\u0652\u0670]")
MOVES = ("pick", "put_in", "put_on", "place_at", "push", "swap", "stack", "give")
VERBS = ("throw", "hit", "harm", "damage", "drop", "disable")  # the categories whose words inflect


@dataclass(frozen=True)
class Rule:
    id: str
    text: str
    reply: str  # message key: why it is refused
    alternative: str | None = None  # message key: what the robot offers instead


@dataclass(frozen=True)
class Constitution:
    preamble: str
    rules: dict[str, Rule]
    allowed: tuple[str, ...]


@dataclass(frozen=True)
class SafetyVerdict:
    safe: bool
    rule: str | None = None
    reason_key: str | None = None
    alternative_key: str | None = None


SAFE = SafetyVerdict(True)


@runtime_checkable
class SafetyChecker(Protocol):
    """Judges one request: `text` as said, its `language`, what a backend understood (`intent`,
    may be None) and whether a person is at the table. Never raises; unsure means safe."""

    def check(self, text: str, language: str, intent: Intent | None = None,
              scene_has_person: bool = False) -> SafetyVerdict: ...


@cache
def load_constitution(path: Path = CONSTITUTION) -> Constitution:
    data = load_yaml(path)
    rules = {r["id"]: Rule(r["id"], " ".join(str(r["text"]).split()), r["reply"], r.get("alternative"))
             for r in data["rules"]}
    return Constitution(" ".join(str(data.get("preamble", "")).split()), rules,
                        tuple(str(a) for a in data.get("allowed") or []))


def constitution_prompt(path: Path = CONSTITUTION) -> str:
    """The constitution as a block for an LLM's system prompt (no braces: safe to `.format`)."""
    c = load_constitution(path)
    lines = [c.preamble, "Rules:", *(f"- {r.id}: {r.text}" for r in c.rules.values())]
    if c.allowed:
        lines += ["Allowed (not refused):", *(f"- {a}" for a in c.allowed)]
    return "\n".join(lines).replace("{", "(").replace("}", ")")


@cache
def safety_lexicon(language: str) -> Lexicon:
    """The `safety:` section of a language's lexicon, matched in the lexicon's own mode."""
    path = LEXICON_DIR / f"{language}.yaml"
    data = load_yaml(path if path.exists() else LEXICON_DIR / "en.yaml")
    rows = [(n, cat, cat) for cat, phrases in (data.get("safety") or {}).items()
            for p in phrases or [] if (n := _bare(normalise(str(p))).strip())]
    rows.sort(key=lambda r: -len(r[0]))  # longest first: "don't drop" (benign) beats "drop"
    return Lexicon(language=data["language"], match=data.get("match", "word"),
                   relation_marker=data.get("relation_marker", "before"), phrases=rows)


@cache
def safety_forms(language: str) -> Forms:
    """The verb forms a language's list has, for `base_forms` ("tírasela" -> the listed "tira")."""
    listed = safety_lexicon(language).phrases
    moves = [p for p, cat, v in load_lexicon(language).phrases if cat == "action" and v in Scene.MOVING]
    return forms_of([p for p, cat, _ in listed if cat in VERBS], [p for p, _, _ in listed], moves)


def _find_bare(lex: Lexicon, norm: str) -> list[Match]:
    """The safety lexicon's matches in `norm`, found without Arabic short vowels but at positions
    in `norm` itself (where the understanding lexicon's matches are)."""
    bare = _bare(norm)
    if bare == norm:
        return lex.find(norm)
    kept = [i for i, ch in enumerate(norm) if not _HARAKAT.match(ch)] + [len(norm)]
    return [Match(kept[m.start], kept[m.end - 1] + 1, m.cat, m.value, m.phrase) for m in lex.find(bare)]


def refusal_text(verdict: SafetyVerdict, language: str) -> str:
    """The reply to a refused request: why, then what the robot can do instead (if anything)."""
    keys = [k for k in (verdict.reason_key or "unsafe", verdict.alternative_key) if k]
    return ("" if language in ("zh", "ja") else " ").join(say(language, k) for k in keys)


class WordListChecker:
    """The embedded, offline `SafetyChecker` (see the module docstring for what it cannot do)."""

    name = "embedded"

    def __init__(self, constitution: Path = CONSTITUTION) -> None:
        self.constitution = load_constitution(constitution)

    def check(self, text: str, language: str, intent: Intent | None = None,
              scene_has_person: bool = False) -> SafetyVerdict:
        lang = language if (LEXICON_DIR / f"{language}.yaml").exists() else "en"
        lex = safety_lexicon(lang)
        norm = base_forms((text if isinstance(text, str) else "")[:4 * MAX_CHARS], lang, safety_forms(lang))
        rule = self.rule(_find_bare(lex, norm), load_lexicon(lang).find(norm), intent, scene_has_person,
                         lex.relation_marker, norm)
        return self.verdict(rule) if rule else SAFE

    def verdict(self, rule_id: str) -> SafetyVerdict:
        r = self.constitution.rules.get(rule_id)
        if r is None:  # a rule the constitution no longer has: still refuse, generically
            return SafetyVerdict(False, rule_id, "unsafe", None)
        return SafetyVerdict(False, r.id, r.reply, r.alternative)

    @staticmethod
    def rule(found: list[Match], words: list[Match], intent: Intent | None, scene_has_person: bool,
             marker: str = "before", text: str = "") -> str | None:
        """The first rule the request breaks, from what was said (`found`: the safety lists' matches,
        `words`: the understanding lexicon's, at positions in the same text) and what was understood
        (`intent`). `marker`: whether the language's relation words stand before their noun or after."""
        said = {m.cat for m in found}
        benign = [m for m in found if m.cat == "benign"]
        hidden = [w for w in words if any(b.start <= w.start and w.end <= b.end for b in benign)]
        words = [w for w in words if w not in hidden]
        # "the knife in the drawer, away from the child": a person named only inside a harmless
        # phrase is not whom the request is aimed at (an intent naming a person no word names still is)
        away = any(is_person_word(w) for w in hidden) and not any(is_person_word(w) for w in words)
        goal = intent.goal if intent is not None else None
        refs = [r for r in (goal.objects if goal else None, goal.target if goal else None,
                            intent.ref if intent else None) if r is not None and not (away and _is_person(r))]
        person = any(is_person_word(m) for m in words) or any(r.fixture == "person" for r in refs)
        living = person or "living" in said
        kinds = {m.value for m in words if m.cat == "kind"} | {r.kind for r in refs if r.kind}
        relations = {m.value for m in words if m.cat == "relation"}
        floor = "height" in said or any(m.cat == "fixture" and m.value == "floor" for m in words) or \
            any(r.fixture == "floor" for r in refs)
        scene = Scene(found, words, marker, text)
        if "bypass" in said or {"disable", "limits"} <= said:  # "turn your safety limits off"
            return "no_bypass"
        if "harm" in said:  # "burn the teddy" damages a thing; "burn him", "hurt it" harm
            return "no_harm" if living or not kinds else "no_damage"
        if not away and _moves_a_person(intent):  # "push the child", "lift the person"
            return "no_harm"
        if "hit" in said:
            return "no_harm" if living else "no_hitting"
        if "throw" in said and (living or floor or "toward" in said or not _placed(goal, words, relations)):
            return "no_throwing"
        if "damage" in said:
            return "no_damage"
        if scene.moves_living():  # "lift the cat", "coge al gato y mételo en el cuenco"
            return "no_harm"
        pushed = "drop" in said or any(m.cat == "action" and m.value == "push" for m in words)
        if living and not kinds and pushed:  # "shove the kid" (but "push the cube toward the child" is fine)
            return "no_harm"
        if "drop" in said and living and (scene.onto_living(("in", "on")) or "near" not in relations
                                          and not _container_last(words) and not any(m.cat == "side" for m in words)):
            return "no_harm"  # "drop the block on his foot", "drop the mug on the cat" (not "in her bowl")
        if scene.onto_living(("on",)) and any(m.cat == "action" for m in words):
            return "no_harm"  # "put the heavy block on his foot"
        if pushed and floor:  # "drop the mug on the floor", "push the cup off the table"
            return "no_damage"
        give = goal is not None and goal.action == "give"
        front = scene_has_person and any(m.cat == "side" and m.value == "front" for m in words)
        if "sharp_hot" in said and (living or give or front or "toward" in said):
            return "no_sharp_hot_toward_people"
        if "fast" in said and (scene_has_person or person):
            return "no_unsafe_speed"
        return None


def _moves_a_person(intent: Intent | None) -> bool:
    goal = intent.goal if intent is not None else None
    return goal is not None and goal.action in MOVES and _is_person(goal.objects)


def _is_person(ref: Ref | None) -> bool:
    return ref is not None and ref.fixture == "person"


def _placed(goal, words: list[Match], relations: set[str]) -> bool:
    """Is a "throw"/"toss" a placement into a container ("toss the duck into the bowl")? Yes when
    the parser read a put into one, or a container is marked as the destination, or named last
    after another object (case endings: "হাঁসটা বাটিতে ছুঁড়ে দাও")."""
    if goal is not None and goal.action in ("put_in", "put_on") and goal.target is not None:
        return goal.target.kind in CONTAINER_KINDS
    kinds = [m.value for m in words if m.cat == "kind"]
    return _container_last(words) and (bool(relations & {"in", "on"}) or len(kinds) >= 2)


def _container_last(words: list[Match]) -> bool:
    kinds = [m.value for m in words if m.cat == "kind"]
    return bool(kinds) and kinds[-1] in CONTAINER_KINDS


def _bare(text: str) -> str:
    """Without Arabic short vowels and shadda (حرّك = حرك): people write them or not, the lists do not."""
    return _HARAKAT.sub("", text)


@cache
def default_checker() -> WordListChecker:
    return WordListChecker()


def check(text: str, language: str, intent: Intent | None = None, scene_has_person: bool = False) -> SafetyVerdict:
    """`default_checker().check(...)`: the embedded checker with the shipped constitution."""
    return default_checker().check(text, language, intent, scene_has_person)
