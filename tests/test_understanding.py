"""The embedded understanding backend: lexicon files, parsing, language identification."""
from __future__ import annotations

import pytest

from bench.dialogue import evaluate, load_corpus
from planner.intent import Act
from planner.language import SUPPORTED, DomainLanguageDetector
from planner.lexicon_parser import LEXICON_DIR, LexiconParser, available_languages, load_yaml

EN = load_yaml(LEXICON_DIR / "en.yaml")
MESSAGES = LEXICON_DIR.parents[1] / "assistant" / "messages"


@pytest.mark.parametrize("lang", available_languages())
def test_lexicon_has_every_meaning(lang):
    data = load_yaml(LEXICON_DIR / f"{lang}.yaml")
    assert data["language"] == lang
    assert data["match"] in ("word", "prefix", "substring") and data["relation_marker"] in ("before", "after")
    for key, value in EN.items():
        assert key in data, f"{lang}: missing {key}"
        if isinstance(value, dict):
            assert set(data[key]) == set(value), f"{lang}.{key}: {set(data[key]) ^ set(value)}"
            assert all(data[key][k] for k in value), f"{lang}.{key}: an empty list"


@pytest.mark.parametrize("lang", available_languages())
def test_message_catalogue_has_every_reply(lang):
    en = load_yaml(MESSAGES / "en.yaml")
    path = MESSAGES / f"{lang}.yaml"
    assert path.exists(), f"no reply catalogue for {lang}"
    data = load_yaml(path)
    assert set(data["messages"]) == set(en["messages"]), set(data["messages"]) ^ set(en["messages"])
    assert set(data["kind_names"]) == set(en["kind_names"]) and set(data["color_names"]) == set(en["color_names"])
    for key, text in en["messages"].items():
        for ph in ("{obj}", "{options}", "{objects}", "{n}", "{side}", "{i}", "{total}"):
            if ph in text and key != "unsupported_language":
                assert ph in data["messages"][key], f"{lang}.{key} lacks {ph}"


@pytest.mark.parametrize("text, ctx, act, desc", [
    ("Put the red cube in the blue bowl", "idle", Act.NEW_TASK, "put the red cube in the blue bowl"),
    ("could you please put all the cubes into the tray?", "idle", Act.NEW_TASK, "put all the cubes in the tray"),
    ("swap the duck and the mug", "idle", Act.NEW_TASK, "swap the duck and the mug"),
    ("stack the cubes", "idle", Act.NEW_TASK, "stack all the cubes"),
    ("STOP!!", "running", Act.STOP, ""),
    ("wait, stop, put it in the other bowl", "running", Act.STOP, ""),
    ("put it back", "running", Act.UNDO, ""),
    ("no, the green one", "running", Act.CHANGE, ""),
    ("the green one", "clarifying", Act.ANSWER, ""),
    ("what do you see?", "idle", Act.QUERY, ""),
    ("", "idle", Act.UNKNOWN, ""),
    ("🤖🤖🤖", "idle", Act.UNKNOWN, ""),
    ("xkcd qwerty asdf", "idle", Act.UNKNOWN, ""),
])
def test_english_parsing(text, ctx, act, desc):
    i = LexiconParser().parse(text, "en", ctx)
    assert i.act is act, i
    if desc:
        assert i.goal.describe() == desc


@pytest.mark.parametrize("lang", [lang for lang in available_languages() if load_corpus(lang)])
def test_corpus_accuracy(lang):
    """The held-out corpus (bench/dialogue.py reports the same numbers)."""
    r = evaluate(lang)
    assert r["items"] >= 40
    assert r["accuracy"] >= 0.9, "\n".join(f"{t!r}: {e}" for t, e in r["errors"])


def test_language_id_on_commands():
    d = DomainLanguageDetector()
    cases = {"put the red cube in the blue bowl": "en"}
    for lang in available_languages():
        for item in load_corpus(lang):
            if len(item["text"].split()) >= 3 or lang in ("zh", "ja"):
                cases.setdefault(item["text"], lang)
    wrong = [(t, want, d.detect(t).language) for t, want in cases.items() if d.detect(t).language != want]
    assert len(wrong) <= 0.03 * len(cases), wrong[:20]


def test_short_turns_keep_the_conversation_language():
    d = DomainLanguageDetector()
    assert d.detect("stop", previous="fr").language == "fr"
    assert d.detect("ok", previous="de").language == "de"
    g = d.detect("Je voudrais que tu mettes le cube rouge dans le bol bleu", previous="en")
    assert g.language == "fr"


def test_unsupported_language_is_named():
    g = DomainLanguageDetector().detect("Ninapenda kusoma vitabu vya historia kila jioni", previous=None)
    assert g.language == "sw" or not g.supported
    g = DomainLanguageDetector().detect("Þetta er falleg bók sem ég las í gær um sögu Íslands")
    assert not g.supported and g.language not in SUPPORTED
