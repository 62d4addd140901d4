"""Every sentence of the household benchmark (assistant/benchmark/phrases.py), in every language and
with every colour, is understood as the goal it is meant to be, and identified as its language.

A sentence that fails here is fixed in phrases.py, not in the parser: the benchmark must measure
the assistant on sentences it is supposed to understand.
"""
from __future__ import annotations

import itertools

import pytest

from assistant.benchmark.phrases import COLORS, LANGUAGES, say
from planner.language import SUPPORTED, DomainLanguageDetector
from planner.lexicon_parser import LexiconParser

PARSER = LexiconParser()


@pytest.fixture(scope="module")
def detector():
    return DomainLanguageDetector()


def _ref(r, kind, color=None, kind_may_be_implied=False) -> bool:
    if r is None or (color is not None and r.color != color):
        return False
    return kind is None or r.kind == kind or (kind_may_be_implied and r.kind is None)


def _put_into(i, kind, color=None) -> bool:
    # "on the tray" and "in the tray" plan the same for a container (bench/dialogue.py counts them alike)
    return i.goal is not None and i.goal.action in ("put_in", "put_on") and _ref(i.goal.target, kind, color)


# (key, colour slots, dialogue context, what the parse must be)
FIXED = [
    ("put_all", "idle", lambda i: i.act == "new_task" and _put_into(i, "tray")
     and _ref(i.goal.objects, "cube") and i.goal.objects.quantity == "all"),
    ("change_balls", "running", lambda i: i.act == "change" and i.slot == "objects" and _ref(i.ref, "ball")),
    ("sort", "idle", lambda i: i.act == "new_task" and i.goal.action == "sort" and _ref(i.goal.objects, "cube")),
    ("change_blocks", "running", lambda i: i.act == "change" and i.slot == "objects" and _ref(i.ref, "block")),
    ("stack", "idle", lambda i: i.act == "new_task" and i.goal.action == "stack" and _ref(i.goal.objects, "cube")),
    ("count", "idle", lambda i: i.act == "query" and i.question == "count" and _ref(i.ref, "cube")),
    ("where", "idle", lambda i: i.act == "query" and i.question == "where" and _ref(i.ref, "duck")),
    ("stop", "running", lambda i: i.act == "stop"),
    ("resume", "paused", lambda i: i.act == "resume"),
]


def test_every_supported_language_has_its_phrases():
    assert set(LANGUAGES) == set(SUPPORTED)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_fixed_sentences_parse_as_meant(lang, detector):
    for key, context, ok in FIXED:
        text = say(lang, key)
        intent = PARSER.parse(text, lang, context)
        assert ok(intent), f"{lang} {key}: {text!r} -> {intent}"
        # a first turn is identified alone; a later one with the conversation's language
        got = detector.detect(text, previous=None if context == "idle" else lang).language
        assert got == lang, f"{lang} {key}: {text!r} identified as {got}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_colour_sentences_parse_as_meant_with_every_colour(lang, detector):
    for c1, c2 in itertools.permutations(COLORS, 2):
        text = say(lang, "put_in", cube=c1, bowl=c2)
        i = PARSER.parse(text, lang, "idle")
        assert i.act == "new_task" and _ref(i.goal.objects, "cube", c1) and _put_into(i, "bowl", c2), \
            f"{lang}: {text!r} -> {i}"
        assert detector.detect(text).language == lang, text
        text = say(lang, "near", cube=c1)
        i = PARSER.parse(text, lang, "idle")
        assert i.act == "new_task" and i.goal.action == "place_at" and _ref(i.goal.objects, "cube", c1) \
            and _ref(i.goal.target, "duck"), f"{lang}: {text!r} -> {i}"
    for c in COLORS:
        text = say(lang, "change_dest", bowl=c)
        i = PARSER.parse(text, lang, "running")
        assert i.act == "change" and i.slot == "target" and _ref(i.ref, "bowl", c, kind_may_be_implied=True), \
            f"{lang}: {text!r} -> {i}"
        assert detector.detect(text, previous=lang).language == lang, text
        text = say(lang, "change_one", one=c)
        i = PARSER.parse(text, lang, "running")
        assert i.act == "change" and i.slot == "objects" and _ref(i.ref, "cube", c, kind_may_be_implied=True), \
            f"{lang}: {text!r} -> {i}"
        assert detector.detect(text, previous=lang).language == lang, text


def test_say_fills_the_colour_form_of_the_role():
    assert say("ru", "put_in", cube="blue", bowl="blue") == "Положи, пожалуйста, синий кубик в синюю миску."
    assert say("de", "put_in", cube="red", bowl="red") == "Leg bitte den roten Würfel in die rote Schüssel."
    with pytest.raises(ValueError):
        say("en", "put_in", cube="purple", bowl="red")  # not a colour commands name
