"""Replies in the person's language, from the per-language catalogues in `assistant/messages/`.

Replies are whole sentences written per language (not assembled word by word);
only object names are filled in, from each catalogue's own pattern, nouns and
colour words (with agreeing forms where a language needs them).
"""
from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from planner.intent import Ref
from planner.lexicon_parser import load_yaml

MESSAGES_DIR = Path(__file__).with_name("messages")


@cache
def catalogue(language: str) -> dict[str, Any]:
    path = MESSAGES_DIR / f"{language}.yaml"
    return load_yaml(path if path.exists() else MESSAGES_DIR / "en.yaml")


def has_catalogue(language: str) -> bool:
    return (MESSAGES_DIR / f"{language}.yaml").exists()


def object_name(language: str, kind: str | None, color: str | None) -> str:
    """"the red cube" in `language` (a kind or a colour may be missing: "the red thing")."""
    c = catalogue(language)
    kind = kind or "thing"
    k = c["kind_names"].get(kind) or catalogue("en")["kind_names"].get(kind, kind)
    if color is None:
        # No colour named: keep the pattern's article, drop the colour slot.
        text = c["object_pattern"].replace("{color}", "").format(kind=k)
        return " ".join(text.split())
    fem = kind in (c.get("feminine") or [])
    col = (c.get("color_names_f") or {}).get(color) if fem else None
    col = col or c["color_names"].get(color, color)
    return c["object_pattern"].format(color=col, kind=k).strip()


def ref_name(language: str, ref: Ref | None) -> str:
    if ref is None:
        return ""
    return object_name(language, ref.kind, ref.color)


def fixture_name(language: str, fixture: str | None) -> str:
    """What cannot be moved ("the table", "myself"), in the form the catalogue's `fixture`
    reply takes it (its own case or article where the language needs one)."""
    if not fixture:
        return ""
    names = catalogue(language).get("fixture_names") or {}
    return names.get(fixture) or catalogue("en")["fixture_names"].get(fixture, fixture)


def join(language: str, names: list[str], word: str = "or") -> str:
    c = catalogue(language)
    if len(names) <= 1:
        return "".join(names)
    sep = " " if language not in ("zh", "ja") else ""
    return ", ".join(names[:-1]) + f"{sep}{c.get(word, word)}{sep}" + names[-1] if language not in ("zh", "ja") \
        else "、".join(names[:-1]) + c.get(word, word) + names[-1]


def say(lang: str, key: str, /, **kw: Any) -> str:
    """The catalogue sentence `key` in `lang` (English if the language has no catalogue)."""
    c = catalogue(lang)
    text = c["messages"].get(key) or catalogue("en")["messages"][key]
    try:
        text = text.format(**kw)
    except (KeyError, IndexError):  # a catalogue without some placeholder: say it without
        pass
    return text[:1].upper() + text[1:] if text else text
