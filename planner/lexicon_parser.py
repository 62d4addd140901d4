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
   a fixture (the table, the robot, the floor, a wall, a person) named as the thing
   to move makes a goal the planner refuses with the reason ("lift the table");
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
_PUNCT = re.compile(r"[\s\.,;:!\?¿¡\"“”„«»()\[\]{}…。、，！？：；「」『』・~\-–—'’`´/\\،؛؟।]+")
DESCRIPTORS = ("kind", "thing", "color", "all", "everything", "it", "them", "other")
# Languages whose colour adjective follows the noun ("le cube rouge"); elsewhere it precedes it,
# so a colour after a noun already named starts the next reference ("the ball and the red cube").
COLOR_AFTER_NOUN = {"fr", "es", "it", "pt", "vi", "id", "sw", "ar"}


_CLAUSE = re.compile(r"[,;:.!?¿¡…。、，！？：；،؛؟।]")  # punctuation that ends a clause ("la verde no, la roja")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return " " + _PUNCT.sub(" ", text).strip() + " "


def clause_breaks(text: str) -> frozenset[int]:
    """Where `normalise(text)` has a space that stands for clause punctuation (a comma, a full
    stop...): the positions, in the normalised text, of those spaces."""
    text = unicodedata.normalize("NFKC", text).lower()
    marked = _PUNCT.sub(lambda m: "\x00" if _CLAUSE.search(m.group()) else " ", text)
    lead = len(marked) - len(marked.replace("\x00", " ").lstrip())
    n = len(marked.replace("\x00", " ").strip())
    return frozenset(i - lead + 1 for i, ch in enumerate(marked) if ch == "\x00" and lead <= i < lead + n)


def _plain(word: str) -> str:
    """The word without accents, one character for one ("sácala" -> "sacala")."""
    return "".join(unicodedata.normalize("NFD", ch)[0] for ch in word)


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
    determiners: frozenset[str] = frozenset()  # `it` words that also stand next to a noun ("that cube")
    object_suffixes: tuple[str, ...] = ()  # endings that are a verb's object pronoun (Arabic حطها = put-it)
    clitics: tuple[tuple[str, str], ...] = ()  # (ending, "it" | "them"): pronouns on a verb ("sácala")
    negations: frozenset[str] = frozenset()  # words that reject the reference next to them ("not the green")
    negation_marker: str = "before"  # before | after: the side of its reference a negation usually stands on
    _suffixes: tuple[str, ...] | None = None
    _verbs: dict[str, tuple[str, str]] | None = None

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
            whole = self.match == "prefix" and cat == "negation"  # "не", "না": the word, not a stem
            for m in self._occurrences(text, phrase, suffix, whole):
                s, e = m
                if any(taken[s:e]):
                    continue
                for i in range(s, e):
                    taken[i] = True
                found.append(Match(s, e, cat, value, phrase.strip()))
        return sorted(found, key=lambda m: m.start)

    def _occurrences(self, text: str, phrase: str, suffix: bool = False, whole: bool = False):
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
            after_ok = (self.match in ("substring", "prefix") and not whole) or text[end] == " "
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

    def verb_with_pronoun(self, word: str) -> tuple[str, str, int] | None:
        """A word that is a verb of the lexicon with a clitic pronoun on it ("sácala" = saca + la,
        "mettili" = metti + li): (action, "it" | "them", length of the ending), else None."""
        if not self.clitics or " " in word:
            return None
        if self._verbs is None:
            self._verbs = {_plain(p): (v, c) for p, c, v in self.phrases if c == "action" and " " not in p}
        plain = _plain(word)
        for ending, pronoun in self.clitics:  # longest first
            stem = plain[:-len(ending)]
            if plain.endswith(ending) and len(stem) >= 2 and stem in self._verbs:
                return self._verbs[stem][0], pronoun, len(ending)
        return None

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

    for cat in ("kinds", "colors", "fixtures", "actions", "relations", "sides", "control", "questions", "chat"):
        for value, phrases in (data.get(cat) or {}).items():
            add(phrases, cat.rstrip("s") if cat not in ("control", "chat") else cat, str(value))
    for flag in ("all", "everything", "it", "them", "other", "thing", "change", "yes", "no", "filler", "negation"):
        add(data.get(flag), flag, flag)  # (a negation word listed elsewhere too keeps that meaning as well)
    # Longest first: "put it back" (undo) beats "put" (action); "pick up" beats "pick".
    rows.sort(key=lambda r: -len(r[0]))
    clitics = [(normalise(str(w)).strip(), pronoun) for pronoun in ("it", "them")
               for w in (data.get("clitics") or {}).get(pronoun) or []]

    def words(key: str):
        return (normalise(str(w)).strip() for w in data.get(key) or [])

    return Lexicon(language, data.get("match", "word"), data.get("relation_marker", "before"), rows,
                   frozenset(words("determiners")), tuple(words("object_suffixes")),
                   tuple(sorted(clitics, key=lambda c: -len(c[0]))), frozenset(words("negation")),
                   data.get("negation_marker", "before"))


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
        color_after = language in COLOR_AFTER_NOUN
        breaks = clause_breaks(text[:MAX_CHARS])
        ms = lex.find(norm)
        if lex.match == "prefix" and not color_after:
            ms = _nouns_after_adjectives(ms, lex, norm)
        ms = _verbs_with_pronouns(ms, lex, norm)
        share = coverage(norm, ms, lex.match)
        ms = _without_determiners(ms, lex, norm, color_after)
        cats = {m.cat for m in ms}

        def intent(act: Act, **kw) -> Intent:
            return Intent(act, language=language, confidence=share, **kw)

        # 1. Control words win: "stop" must never be missed because of other words around it.
        # Cancel and undo stop the arm too, and say more ("wait, better cancel it"): they come
        # first. A stop word inside a change of mind ("no, wait, the green one") is the change,
        # which also aborts the motion at once.
        controls = {m.value for m in ms if m.cat == "control"}
        refs, target, side, side_at = _references(ms, lex, color_after, breaks)
        if lex.match == "prefix" and not color_after and "swap" in {m.value for m in ms if m.cat == "action"} \
                and len(refs) + (target is not None) < 2:
            # "Topla ördeğin yerini değiştir": a swap needs two things; a word read as another
            # verb that starts with a kind's stem is that noun with a case ending (top+la)
            alt = _nouns_after_adjectives(ms, lex, norm, keep="swap")
            if alt != ms:
                ms = alt
                refs, target, side, side_at = _references(ms, lex, color_after, breaks)
        if "swap" not in {m.value for m in ms if m.cat == "action"}:
            refs = _mentioned_once(refs)
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
        elif "resume" in controls and not new_request:  # "ambil kubus hijau terus taruh...": "then"
            return intent(Act.RESUME)
        actions = [m.value for m in ms if m.cat == "action"]
        # 2. Questions about the scene or the task.
        q = next((m.value for m in ms if m.cat == "question"), None)
        if q is not None and not actions:
            return intent(Act.QUERY, question=q, ref=(refs[0][0] if refs else None))
        if not actions and target is not None and refs and context == "idle":
            actions = ["put"]  # "the ball in the mug (please)": the verb goes without saying
        if actions:
            main = _main_action(actions, target, refs, side)
            if main == "put" and target is None and len(refs) == 1 and _verb_has_object(ms, lex, norm):
                # "حطها بالصينية" (put-it in-the-tray): the object is in the verb, the one thing
                # named is where it goes
                dest = refs[0][0]
                target, refs = (dest, "in" if dest.kind in CONTAINER_KINDS else "on", refs[0][1], refs[0][1]), []
            fixture = _fixture_object(ms, main, lex.relation_marker) if not refs else None
            if fixture is not None:  # "lift the table", "masayı kaldır": not a thing it can move
                goal = _goal(main, [(Ref(fixture=fixture), 0)], target, side) or \
                    Goal("pick" if main == "put" else main, Ref(fixture=fixture), side=side)
            else:
                goal = _goal(main, refs, target, side, side_at, _noun_after(ms, side_at))
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


def _references(ms: list[Match], lex: Lexicon, color_after: bool = False, breaks: frozenset[int] = frozenset()):
    """Descriptor runs -> the references [(Ref, index of its first match)] other than the
    destination, the destination (Ref, relation, index of its first match, index of its marker),
    the side said (the last one) and the index of that side's match.

    A reference a negation rejects ("quería la roja, no la verde", "緑じゃなくて") is not the
    destination when another one is marked, and is left out when another reference is said."""
    marker = lex.relation_marker
    runs: list[list[int]] = []

    def role(cat: str) -> str:  # "the red things": a generic noun heads a reference like a kind
        return "kind" if cat == "thing" else cat

    for i, m in enumerate(ms):
        if m.cat in DESCRIPTORS:
            # Descriptors join the current run when only filler separates them, unless the
            # run already has one of this kind ("the red cube and the blue bowl": two refs).
            run_cats = {role(ms[k].cat) for k in runs[-1]} if runs else set()
            cat = role(m.cat)
            joins = runs and _only_filler_between(ms, runs[-1][-1], i) and \
                not (cat in ("kind", "color") and cat in run_cats) and \
                not (cat == "color" and "kind" in run_cats and not color_after) and \
                not (cat == "kind" and "color" in run_cats and color_after and
                     ms[runs[-1][-1]].cat != "color") and \
                not (cat in ("it", "them") and run_cats & {"kind", "color"}) and \
                not (cat in ("kind", "color") and run_cats & {"it", "them"}) and \
                not (m.cat == "kind" and "everything" in run_cats)  # "everything [on the left] in the bowl"
            if joins:
                runs[-1].append(i)
            else:
                runs.append([i])
    rejected = {runs[k][0] for k in _negated(ms, runs, lex, breaks)}
    refs = [(_ref([ms[i] for i in run]), run[0], run[-1]) for run in runs]
    refs = [r for r in refs if r[0] is not None]
    target = None
    relation = None
    fallback = None  # a destination a negation rejects: only if no other is marked
    for i, m in enumerate(ms):
        if m.cat != "relation":
            continue
        # "on the table", "masanın üstüne", "मेज़ के ऊपर": the place is the fixture itself, not
        # the object named before or after it; "على اليسار" (on the left) is a side
        step = 1 if marker == "before" else -1
        noun = _next_non_filler(ms, i, step)
        if noun is not None and noun.cat == "fixture":
            continue
        if noun is not None and noun.cat == "side":  # unless the side is an adjective: "on the left plate"
            after = _next_non_filler(ms, ms.index(noun), step)
            if after is None or after.cat not in DESCRIPTORS:
                continue
        if marker == "before":
            cand = next((r for r in refs if r[1] > i), None)
        else:
            cand = next((r for r in reversed(refs) if r[2] < i), None)
        if cand is not None and cand[1] in rejected:
            fallback = fallback or (cand, m.value, i)
        elif cand is not None:
            target, relation, rel_at = cand, m.value, i
            break
    if target is None and fallback is not None:
        target, relation, rel_at = fallback
    side_at = next((i for i in range(len(ms) - 1, -1, -1) if ms[i].cat == "side"), None)
    side = ms[side_at].value if side_at is not None else None
    rest = [r for r in refs if r is not target]
    kept = [r for r in rest if r[1] not in rejected]  # "the red one, not the green one"
    if rest and not kept:  # only the rejected one said ("not the green one!"): another one of its kind
        kept = [(Ref(kind=r[0].kind, anaphora="other"), r[1], r[2]) for r in rest]
    rest = kept
    if target is not None:  # (ref, relation, where the destination is said: its first match, the marker)
        target = (target[0], relation, target[1], rel_at)
    return [(r[0], r[1]) for r in rest], target, side, side_at


def _negated(ms: list[Match], runs: list[list[int]], lex: Lexicon, breaks: frozenset[int]) -> set[int]:
    """The runs (by index) that a negation word rejects: "not the green one", "no la verde",
    "不是绿的" (the reference after it), "緑じゃなくて", "초록색 말고", "yeşil değil" (the one
    before it), on the lexicon's `negation_marker` side first. A negation reaches its reference
    over filler and relation words, not over clause punctuation: in "la verde no, la roja" the
    "no" rejects "la verde"; in "no, la roja" it rejects nothing."""
    if not lex.negations:
        return set()
    first = {run[0]: k for k, run in enumerate(runs)}
    last = {run[-1]: k for k, run in enumerate(runs)}
    out: set[int] = set()
    for n, m in enumerate(ms):
        if not (m.cat == "negation" or (m.phrase in lex.negations and m.cat in ("change", "no", "filler"))):
            continue  # (a verb or a noun spelled like a negation word is that verb or noun)
        after = _next_non_filler(ms, n, 1, skip=("filler", "relation"))
        before = _next_non_filler(ms, n, -1, skip=("filler", "relation"))
        fwd = first.get(ms.index(after)) if after is not None and \
            not any(m.end <= b <= after.start for b in breaks) else None
        bwd = last.get(ms.index(before)) if before is not None and \
            not any(before.end <= b <= m.start for b in breaks) else None
        k = (fwd if fwd is not None else bwd) if lex.negation_marker == "before" else \
            (bwd if bwd is not None else fwd)
        if k is not None:
            out.add(k)
    return out


def _mentioned_once(refs: list[tuple[Ref, int]]) -> list[tuple[Ref, int]]:
    """A pronoun that comes back to a thing already mentioned in the turn is that thing: "pick up
    the red cube and put it on the left", "sácala y déjala a la izquierda" (two clitics, one ball)."""
    out: list[tuple[Ref, int]] = []
    for r in refs:
        bare = r[0].anaphora in ("it", "them") and not (r[0].kind or r[0].color)
        if bare and any(o[0].kind or o[0].color or o[0].anaphora == r[0].anaphora for o in out):
            continue
        out.append(r)
    return out


def _verbs_with_pronouns(ms: list[Match], lex: Lexicon, norm: str) -> list[Match]:
    """Verbs with a clitic pronoun on them ("sácala", "déjala", "mettili") become the verb and an
    `it`/`them` reference, so the pronoun points back like a separate one ("lo pones"). Words the
    lexicon does not list are tried too: any listed verb with a pronoun ending."""
    if not lex.clitics:
        return ms
    out: list[Match] = []

    def split(s: int, e: int, value: str | None) -> bool:
        hit = lex.verb_with_pronoun(norm[s:e])
        if hit is None:
            return False
        action, pronoun, n = hit
        out.append(Match(s, e - n, "action", value or action, norm[s:e - n]))
        out.append(Match(e - n, e, pronoun, pronoun, norm[e - n:e]))
        return True

    for m in ms:
        whole_word = norm[m.start - 1] == " " and norm[m.end] == " "
        if not (m.cat == "action" and whole_word and split(m.start, m.end, m.value)):
            out.append(m)
    taken = [False] * len(norm)
    for m in ms:
        taken[m.start:m.end] = [True] * (m.end - m.start)
    for w in re.finditer(r"\S+", norm):
        if not any(taken[w.start():w.end()]):
            split(w.start(), w.end(), None)
    return sorted(out, key=lambda m: m.start)


def _nouns_after_adjectives(ms: list[Match], lex: Lexicon, norm: str, keep: str | None = None) -> list[Match]:
    """A word read as a verb right after a bare colour adjective is a noun with a case ending
    when it starts with a kind's stem: Turkish "kırmızı topla" is "with the red ball" (top+la),
    not "red, gather". (Languages where the colour precedes its noun; an adjective does not
    modify a verb. An inflected colour, "kırmızıları topla", is a noun itself: left alone.)
    With `keep` (the main verb, which lacks a thing to act on), every other such verb word is
    read as the noun, wherever it stands."""
    out = list(ms)
    kinds = [(p, v) for p, c, v in lex.phrases if c == "kind"]
    for i in range(len(out)):
        m, prev = out[i], (out[i - 1] if i else None)
        if m.cat != "action" or m.value == keep:
            continue
        if keep is None and (prev is None or prev.cat != "color" or norm[prev.start:prev.end] != prev.phrase
                             or norm[prev.end:m.start].strip()):
            continue
        word = norm[m.start:m.end]
        kind = next(((p, v) for p, v in kinds if word.startswith(p)), None)  # longest first
        if kind is not None:
            out[i] = Match(m.start, m.end, "kind", kind[1], kind[0])
    return out


def _without_determiners(ms: list[Match], lex: Lexicon, norm: str, after_noun: bool) -> list[Match]:
    """"that cube", "那个绿球", "kubus itu", "lift that table": a demonstrative right next to a
    noun (before it, or after it where modifiers follow the noun) points at that noun; it is
    not a pronoun of its own ("put that in the bowl")."""
    if not lex.determiners:
        return ms
    out = []
    for i, m in enumerate(ms):
        j = i - 1 if after_noun else i + 1
        if m.cat in ("it", "them") and m.phrase in lex.determiners and 0 <= j < len(ms) \
                and ms[j].cat in ("kind", "color", "thing", "fixture"):
            a, b = (ms[j], m) if after_noun else (m, ms[j])
            if not norm[a.end:b.start].strip():
                if m.cat == "them":  # "those cubes", "那两个黄色的球": all of them
                    out.append(Match(m.start, m.end, "all", "all", m.phrase))
                continue
        out.append(m)
    return out


def _verb_has_object(ms: list[Match], lex: Lexicon, norm: str) -> bool:
    """Does the put verb carry its object as an ending ("حطها", "ضعه")?"""
    if not lex.object_suffixes:
        return False
    for m in ms:
        if m.cat == "action" and m.value == "put":
            rest = norm[m.start:m.end][len(m.phrase):]
            if rest and rest in lex.object_suffixes:
                return True
    return False


# Actions that would move the thing they name: naming a fixture there is a request to move it.
MOVING = ("pick", "put", "push", "give", "swap")


def _fixture_object(ms: list[Match], action: str, marker: str) -> str | None:
    """The fixture (table, robot, floor, wall, person) named as what `action` should move, if any.

    Called only when no object was named. A fixture that a relation or side word marks is a
    place, not the thing moved: "to the left of the table", "テーブルの上に" (marker before the
    noun in prepositional languages, after it in postpositional ones). Of the rest, the one on
    the verb's object side is taken (after the verb for `before` languages, before it for
    `after` ones), the nearest first, else the nearest on the other side ("把桌子举起来").
    The robot named away from the verb is the one spoken to ("robot, move left"), not moved.
    """
    if action not in MOVING:
        return None
    verb = next((i for i, m in enumerate(ms) if m.cat == "action" and m.value == action), None)
    if verb is None:
        return None

    def is_place(i: int) -> bool:
        if marker == "before":
            n = _next_non_filler(ms, i, -1)
            return n is not None and n.cat in ("relation", "side")
        n = _next_non_filler(ms, i, 1)
        # "masanın soluna koy", "テーブルの左に置いて": put (it) at the table's left; but
        # "masayı sola it", "テーブルを左に押して" push the table itself
        return n is not None and (n.cat == "relation" or (n.cat == "side" and action == "put"))

    cands = [i for i, m in enumerate(ms) if m.cat == "fixture" and not is_place(i)]
    after = [i for i in cands if i > verb]
    before = [i for i in reversed(cands) if i < verb]
    near, far = (after, before) if marker == "before" else (before, after)
    for i in near:
        if ms[i].value != "robot" or marker == "before" or _only_filler_between(ms, i, verb):
            return ms[i].value
    return next((ms[i].value for i in far if ms[i].value != "robot"), None)


def _next_non_filler(ms: list[Match], i: int, step: int, skip: tuple[str, ...] = ("filler",)) -> Match | None:
    """The nearest match after (step 1) or before (step -1) index i that is not filler."""
    k = i + step
    while 0 <= k < len(ms) and ms[k].cat in skip:
        k += step
    return ms[k] if 0 <= k < len(ms) else None


def _only_filler_between(ms: list[Match], a: int, b: int) -> bool:
    return all(ms[k].cat in ("filler",) for k in range(a + 1, b))


def _ref(items: list[Match]) -> Ref | None:
    kind = next((m.value for m in items if m.cat == "kind"), None)
    color = next((m.value for m in items if m.cat == "color"), None)
    cats = {m.cat for m in items}
    quantity = "all" if cats & {"all", "everything", "them"} else "one"
    anaphora = "it" if "it" in cats and not (kind or color) else "them" if "them" in cats and not kind else \
        "other" if "other" in cats else None
    if not (kind or color or anaphora or cats & {"everything", "all", "thing"}):  # "the thing on the left"
        return None
    return Ref(kind=kind, color=color, quantity=quantity, anaphora=anaphora)


def _main_action(actions: list[str], target, refs, side: str | None = None) -> str:
    """The action that carries the request when several are said: "pick up X and put it in Y"
    (or "... on the left") is a put; "put ... give (Korean 넣어 줘: the helper verb 'give')" is a
    put too."""
    if "stack" in actions and target is not None and target[1] in ("on", "in") and (target[0].kind or target[0].color):
        # "stack it on the blue cube": a put on it (several things put on it make a stack); but
        # "one on top of the other" is a stack
        return "put"
    for specific in ("stack", "sort", "swap", "push"):  # not "give": in ko/hi/bn it is also a helper verb
        if specific in actions:  # "arrange the cubes one on another", "put them away by color"
            return specific
    if "put" in actions and (target is not None or len(refs) >= 2 or side is not None):
        return "put"
    return actions[0]


def _noun_after(ms: list[Match], i: int | None) -> int | None:
    """The index of the noun a side word stands right before ("the left plate"), if any."""
    if i is None:
        return None
    n = _next_non_filler(ms, i, 1)
    return ms.index(n) if n is not None and n.cat in ("kind", "thing") else None


def _goal(action: str, refs, target, side, side_at: int | None = None, side_noun: int | None = None
          ) -> Goal | None:
    objects = refs[0][0] if refs else None
    if objects is None and action in ("pick", "give") and side is not None:
        objects = Ref(side=side)  # "pick up the one on the left", "左のを取って"
    elif objects is None and (action in ("pick", "push", "give") or
                              (action == "put" and (target is not None or side is not None))):
        # The object is in the verb ("mettilo", "حطها", "kiinue", "ارفعه") or goes without
        # saying ("持ち上げて", "テーブルの左に置いて"): the thing last talked about.
        objects = Ref(anaphora="it")
    if action == "put" and side_at is not None and objects is not None and not objects.anaphora \
            and (target is None or target[1] != "near"):
        # A side said with a destination tells which destination ("in the bowl on the left",
        # "on the left plate", "左のボウルに") or which things ("everything on the left in the
        # bowl", "soldaki her şeyi kaseye").
        dest_at = target[2] if target is not None else (refs[1][1] if len(refs) >= 2 else None)
        if dest_at is not None and (side_noun == dest_at or side_at > dest_at):
            dest = target if target is not None else (refs[1][0], "in" if refs[1][0].kind in CONTAINER_KINDS
                                                      else "on", dest_at, dest_at)
            target, refs = (replace(dest[0], side=side), *dest[1:]), refs[:1]
        elif dest_at is not None and side_at < (min(dest_at, target[3]) if target is not None else dest_at):
            objects = replace(objects, side=side)
    if action == "put":
        if target is not None:
            dest, rel = target[0], target[1]
            if rel == "near":
                return Goal("place_at", objects, dest, side=side)
            # Keep what was said ("on the plate" is put_on); the planner puts things on a
            # plate or tray the way it puts them in a bowl.
            return Goal("put_in" if rel == "in" else "put_on", objects, dest)
        if len(refs) >= 2 and not (side is not None and objects is not None and objects.anaphora):
            # no marker found, but two things named: the second is where it goes (but in "sácala del
            # cuenco y ponla a la izquierda" the side is where "it" goes; the bowl is where from)
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
            objects = replace(objects, quantity="all")  # keeping its side: "the blocks on the left"
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
