"""The embedded understanding backend: a multilingual domain lexicon, deterministic and fast.

Why hand-written rather than a library: the robot's domain is small (ten kinds,
ten colours, a dozen actions) and must work offline in 20 languages within a
few milliseconds; general NLU libraries either need models we cannot ship or
cover a handful of languages. Each language is data (`lexicon/<lang>.yaml`):
phrases per meaning, how to match them (whole words, word stems for
inflected languages, substrings for scripts without spaces) and whether the
word marking a destination comes before its noun (prepositions) or after it
(postpositions and case endings). The engine here is language-independent:

1. normalise (NFKC, lower case, punctuation to spaces);
2. find every lexicon phrase, keep the longest non-overlapping ones;
3. read the sequence: control words (stop, resume, ...) win; then questions;
   then descriptor runs (colour, kind, "all", "it", a side) become references,
   the one next to a relation marker on its marked side is the destination;
   an action word picks the goal; with no action, the dialogue context
   decides (an answer to "which one?", a change of the running task).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import yaml

from embodiments.types import CONTAINER_KINDS

from .intent import Act, Goal, Intent, Ref

LEXICON_DIR = Path(__file__).with_name("lexicon")
MAX_CHARS = 500  # longer turns are refused by the dialogue manager before they get here
_PUNCT = re.compile(r"[\s\.,;:!\?¿¡\"“”„«»()\[\]{}…。、，！？：；「」『』・~\-–—'’`´/\\]+")
DESCRIPTORS = ("kind", "color", "all", "everything", "it", "them", "other")
# Languages whose colour adjective follows the noun ("le cube rouge"); elsewhere it precedes it,
# so a colour after a noun already named starts the next reference ("the ball and the red cube").
COLOR_AFTER_NOUN = {"fr", "es", "it", "pt", "vi", "id", "sw", "ar"}


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return " " + _PUNCT.sub(" ", text).strip() + " "


@dataclass(frozen=True)
class Match:
    start: int
    end: int
    cat: str  # kind, color, action, relation, side, all, everything, it, them, other, control, change, ...
    value: str  # e.g. "cube", "red", "put_in"... (the category itself for flags)
    phrase: str


@dataclass
class Lexicon:
    language: str
    match: str  # word | prefix | substring
    relation_marker: str  # before | after
    phrases: list[tuple[str, str, str]]  # (normalised phrase, category, value), longest first
    _suffixes: tuple[str, ...] | None = None

    def find(self, text: str) -> list[Match]:
        """Longest non-overlapping phrase matches in normalised text, in text order."""
        found: list[Match] = []
        taken = [False] * len(text)
        # Most phrases cannot occur at all: skip those whose first two characters are not in
        # the text (a set lookup instead of a scan; language ID runs this for every language).
        grams = {text[i:i + 2] for i in range(len(text) - 1)}
        for phrase, cat, value in self.phrases:
            head = phrase[:2]
            if (head not in grams) if len(head) == 2 else (head not in text):
                continue
            suffix = self.match == "prefix" and cat == "relation" and self.relation_marker == "after"
            for m in self._occurrences(text, phrase, suffix):
                s, e = m
                if any(taken[s:e]):
                    continue
                for i in range(s, e):
                    taken[i] = True
                found.append(Match(s, e, cat, value, phrase.strip()))
        return sorted(found, key=lambda m: m.start)

    def _occurrences(self, text: str, phrase: str, suffix: bool = False):
        """Where `phrase` occurs. Stems (prefix mode) cover the rest of their word, except a
        case ending that is itself a relation marker (Korean 그릇+에, Turkish kase+ye): that
        is left for the relation, which may then match as a word ending (`suffix`)."""
        p = phrase.strip()
        if not p:
            return
        start = 0
        while True:
            i = text.find(p, start)
            if i < 0:
                return
            start = i + 1
            end = i + len(p)
            if suffix and text[end] == " ":
                yield (i, end)
                continue
            before_ok = self.match == "substring" or text[i - 1] == " "
            after_ok = self.match in ("substring", "prefix") or text[end] == " "
            if before_ok and after_ok:
                if self.match == "prefix":  # a stem covers the whole word it starts...
                    word_end = text.index(" ", end)
                    rest = text[end:word_end]
                    # ...but not an ending that marks the destination
                    if not (self.relation_marker == "after" and any(rest.endswith(r) for r in self.suffixes)):
                        end = word_end
                    else:
                        end = word_end - max(len(r) for r in self.suffixes if rest.endswith(r))
                yield (i, end)

    @property
    def suffixes(self) -> tuple[str, ...]:
        if self._suffixes is None:
            self._suffixes = tuple(p for p, c, _ in self.phrases if c == "relation" and " " not in p)
        return self._suffixes


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans only: in YAML 1.1 the keys `on`, `yes`, `no` would become True/False."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))


def load_yaml(path: Path):
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 (a SafeLoader)


@cache
def load_lexicon(language: str) -> Lexicon:
    path = LEXICON_DIR / f"{language}.yaml"
    data = load_yaml(path)
    rows: list[tuple[str, str, str]] = []

    def add(phrases, cat: str, value: str) -> None:
        for p in phrases or []:
            n = normalise(str(p)).strip()
            if n:
                rows.append((n, cat, value))

    for cat in ("kinds", "colors", "actions", "relations", "sides", "control", "questions", "chat"):
        for value, phrases in (data.get(cat) or {}).items():
            add(phrases, cat.rstrip("s") if cat not in ("control", "chat") else cat, str(value))
    for flag in ("all", "everything", "it", "them", "other", "change", "yes", "no", "filler"):
        add(data.get(flag), flag, flag)
    # Longest first: "put it back" (undo) beats "put" (action); "pick up" beats "pick".
    rows.sort(key=lambda r: -len(r[0]))
    return Lexicon(language, data.get("match", "word"), data.get("relation_marker", "before"), rows)


def available_languages() -> list[str]:
    return sorted(p.stem for p in LEXICON_DIR.glob("*.yaml"))


class LexiconParser:
    """`parse(text, language, context)` -> Intent. Context: idle | running | paused | clarifying."""

    name = "lexicon"

    def parse(self, text: str, language: str = "en", context: str = "idle") -> Intent:
        lex = load_lexicon(language)
        norm = normalise(text[:MAX_CHARS])
        if not norm.strip():
            return Intent(Act.UNKNOWN, reason="empty", language=language, confidence=0.0)
        ms = lex.find(norm)
        share = coverage(norm, ms, lex.match)
        cats = {m.cat for m in ms}

        def intent(act: Act, **kw) -> Intent:
            return Intent(act, language=language, confidence=share, **kw)

        # 1. Control words win: "stop" must never be missed because of other words around it.
        # Cancel and undo stop the arm too, and say more ("wait, better cancel it"): they come
        # first. A stop word inside a change of mind ("no, wait, the green one") is the change,
        # which also aborts the motion at once.
        controls = {m.value for m in ms if m.cat == "control"}
        refs, target, side = _references(ms, lex.relation_marker, language in COLOR_AFTER_NOUN)
        new_request = any(m.cat == "action" for m in ms) and any(r[0].kind or r[0].color for r in refs)
        for c in ("undo", "cancel"):  # "never mind, put it back": the undo is what is asked
            # "Leave it. Put the blue ball in the green bowl instead": the cancel word only
            # dismisses the old task; the new request (which replaces it) is what counts.
            if c in controls and not (c == "cancel" and new_request):
                return intent(Act(c))
        if "stop" in controls:
            named = any(r[0].kind or r[0].color for r in refs) or (target is not None)
            changing = context in ("running", "paused") and ("change" in cats or "no" in cats) and named
            if not changing:
                return intent(Act.STOP)
        elif "resume" in controls:
            return intent(Act.RESUME)
        actions = [m.value for m in ms if m.cat == "action"]
        # 2. Questions about the scene or the task.
        q = next((m.value for m in ms if m.cat == "question"), None)
        if q is not None and not actions:
            return intent(Act.QUERY, question=q, ref=(refs[0][0] if refs else None))
        if not actions and target is not None and refs and context == "idle":
            actions = ["put"]  # "the ball in the mug (please)": the verb goes without saying
        if actions:
            goal = _goal(_main_action(actions, target, refs), refs, target, side)
            if goal is None:
                return intent(Act.UNKNOWN, reason="incomplete")
            changing = "change" in cats or (ms and ms[0].cat == "no")  # "no, take the green one"
            whole = target is not None and goal.objects is not None and (goal.objects.kind or goal.objects.color)
            if context in ("running", "paused") and changing and goal.action in ("put_in", "put_on", "pick") \
                    and not whole:  # naming both what and where "instead" is a new request
                if target is not None:
                    return intent(Act.CHANGE, slot="target", ref=target[0], goal=goal)
                objs = goal.objects
                if objs is not None and objs.anaphora is None:
                    slot = "target" if objs.kind in CONTAINER_KINDS and goal.action == "pick" else "objects"
                    return intent(Act.CHANGE, slot=slot, ref=objs, goal=goal)
            return intent(Act.NEW_TASK, goal=goal)
        # 3. No action word: what a bare reference means depends on the conversation.
        # "not that one, the yellow duck": in a change the last reference is the new one
        named = [r for r in refs if r[0].kind or r[0].color] or refs  # "that one, the green one"
        pick_ref = named[-1][0] if named and context in ("running", "paused") else (named[0][0] if named else None)
        ref = target[0] if target is not None else pick_ref
        if side is not None:  # "the one on the left"
            ref = replace(ref, side=side) if ref is not None else Ref(side=side)
        if ref is not None:
            if context == "clarifying":
                return intent(Act.ANSWER, ref=ref)
            if context in ("running", "paused"):
                slot = "target" if target is not None or (ref.kind in CONTAINER_KINDS) else "objects"
                return intent(Act.CHANGE, slot=slot, ref=ref)
        if "chat" in cats:
            return intent(Act.CHAT, question=next(m.value for m in ms if m.cat == "chat"))
        if context == "clarifying" and "no" in cats:
            return intent(Act.CANCEL)
        return intent(Act.UNKNOWN, reason="not_understood" if ms else "no_known_words")


def coverage(norm: str, ms: list[Match], mode: str) -> float:
    """Share of the text the lexicon accounts for (words, or characters for substring languages)."""
    covered = [False] * len(norm)
    for m in ms:
        for i in range(m.start, m.end):
            covered[i] = True
    if mode == "substring":
        chars = [i for i, ch in enumerate(norm) if not ch.isspace()]
        return sum(covered[i] for i in chars) / max(len(chars), 1)
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", norm)]
    return sum(any(covered[s:e]) for s, e in words) / max(len(words), 1)


def _references(ms: list[Match], marker: str, color_after: bool = False):
    """Descriptor runs -> [(Ref, first index, last index)], the destination (Ref, idx) and a side."""
    runs: list[list[int]] = []
    for i, m in enumerate(ms):
        if m.cat in DESCRIPTORS:
            # Descriptors join the current run when only filler separates them, unless the
            # run already has one of this kind ("the red cube and the blue bowl": two refs).
            run_cats = {ms[k].cat for k in runs[-1]} if runs else set()
            joins = runs and _only_filler_between(ms, runs[-1][-1], i) and \
                not (m.cat in ("kind", "color") and m.cat in run_cats) and \
                not (m.cat == "color" and "kind" in run_cats and not color_after) and \
                not (m.cat == "kind" and "color" in run_cats and color_after and
                     ms[runs[-1][-1]].cat != "color") and \
                not (m.cat in ("it", "them") and run_cats & {"kind", "color"}) and \
                not (m.cat in ("kind", "color") and run_cats & {"it", "them"})
            if joins:
                runs[-1].append(i)
            else:
                runs.append([i])
    refs = [(_ref([ms[i] for i in run]), run[0], run[-1]) for run in runs]
    refs = [r for r in refs if r[0] is not None]
    target = None
    relation = None
    for i, m in enumerate(ms):
        if m.cat != "relation":
            continue
        if marker == "before":
            cand = next((r for r in refs if r[1] > i), None)
        else:
            cand = next((r for r in reversed(refs) if r[2] < i), None)
        if cand is not None:
            target, relation = cand, m.value
            break
    side = next((m.value for m in reversed(ms) if m.cat == "side"), None)
    rest = [r for r in refs if r is not target]
    if target is not None:
        target = (target[0], relation)
    return [(r[0], r[1]) for r in rest], target, side


def _only_filler_between(ms: list[Match], a: int, b: int) -> bool:
    return all(ms[k].cat in ("filler",) for k in range(a + 1, b))


def _ref(items: list[Match]) -> Ref | None:
    kind = next((m.value for m in items if m.cat == "kind"), None)
    color = next((m.value for m in items if m.cat == "color"), None)
    cats = {m.cat for m in items}
    quantity = "all" if cats & {"all", "everything", "them"} else "one"
    anaphora = "it" if "it" in cats and not (kind or color) else "them" if "them" in cats and not kind else \
        "other" if "other" in cats else None
    if not (kind or color or anaphora or "everything" in cats or "all" in cats):
        return None
    return Ref(kind=kind, color=color, quantity=quantity, anaphora=anaphora)


def _main_action(actions: list[str], target, refs) -> str:
    """The action that carries the request when several are said: "pick up X and put it in Y"
    is a put; "put ... give (Korean 넣어 줘: the helper verb 'give')" is a put too."""
    for specific in ("stack", "sort", "swap", "push"):  # not "give": in ko/hi/bn it is also a helper verb
        if specific in actions:  # "arrange the cubes one on another", "put them away by color"
            return specific
    if "put" in actions and (target is not None or len(refs) >= 2):
        return "put"
    return actions[0]


def _goal(action: str, refs, target, side) -> Goal | None:
    objects = refs[0][0] if refs else None
    if action == "put" and objects is None and target is not None:
        objects = Ref(anaphora="it")  # the object is in the verb: "mettilo", "mets-le", "حطها"
    if action == "put":
        if target is not None:
            dest, rel = target
            if rel == "near":
                return Goal("place_at", objects, dest, side=side)
            # Keep what was said ("on the plate" is put_on); the planner puts things on a
            # plate or tray the way it puts them in a bowl.
            return Goal("put_in" if rel == "in" else "put_on", objects, dest)
        if len(refs) >= 2:  # no marker found, but two things named: the second is where it goes
            dest = refs[1][0]
            return Goal("put_in" if dest.kind in CONTAINER_KINDS else "put_on", objects, dest)
        if side is not None:
            return Goal("place_at", objects, side=side)
        return None if objects is None else Goal("pick", objects)
    side_is_place = action == "push" or (action == "put" and target is None and len(refs) < 2)
    if side is not None and objects is not None and not side_is_place:
        objects = replace(objects, side=side)  # "the cube on the left": which cube, not where to
    if action == "sort":
        # "sort the cubes into the bowls of their color": the containers are where, not what
        things = [r[0] for r in refs if r[0].kind not in CONTAINER_KINDS]
        objects = things[0] if things else (None if objects and objects.kind in CONTAINER_KINDS else objects)
    if action in ("stack", "sort"):
        if objects is not None and objects.kind and objects.quantity == "one" and not objects.anaphora:
            objects = Ref(objects.kind, objects.color, "all")
        return Goal(action, objects)
    if action == "swap":
        other = target[0] if target is not None else (refs[1][0] if len(refs) > 1 else None)
        return Goal("swap", objects, other) if objects is not None and other is not None else None
    if action == "push":
        return Goal("push", objects, side=side) if objects is not None and side else None
    if action in ("pick", "give"):
        return Goal(action, objects) if objects is not None else None
    if action in ("home", "open", "close"):
        return Goal(action)
    return None
