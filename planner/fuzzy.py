"""Near-miss word repair for transcribed speech, against the language's domain lexicon.

Whisper on a short command often gets a domain word almost right ("cuenco" -> "cuento",
"würfel" -> "würfeln", "bowl" -> "bowls"): one or two letters off a word the lexicon knows,
which the exact-match parser then ignores. Before parsing a *spoken* turn, each word the
lexicon does not know is replaced by the closest lexicon word when they are close
enough (difflib ratio, a stdlib similarity; short words must match more closely, since a
one-letter change in a 3-letter word is another word). Typed turns are never repaired:
a typo-tolerant parser would also "repair" words that merely look alike.
Scripts without spaces (zh, ja) are left alone: there are no words to compare.
"""
from __future__ import annotations

import difflib
from functools import cache

from .lexicon_parser import load_lexicon, normalise

MIN_LEN = 4
# Whisper often writes Mandarin in traditional characters; the zh lexicon is simplified.
# The domain's characters only (a full converter such as OpenCC is a large dependency for this).
_T2S = str.maketrans(
    "紅藍綠黃塊進裡裏個盤鴨這邊後從給疊別顏們嗎麼為請謝開關動繼續對錯還東齊轉將積樂說聽幫點兒換剛應該現處過來兩隻雙擺與歸類顆"
    "淺深灣錶筆盃壺盒罐燈門窗牆機飛車馬鳥魚貓狗熱圓長寬遠近間隨裝掉撿拋擲讓沒問題麼嗨謝",
    "红蓝绿黄块进里里个盘鸭这边后从给叠别颜们吗么为请谢开关动继续对错还东齐转将积乐说听帮点儿换刚应该现处过来两只双摆与归类颗"
    "浅深湾表笔杯壶盒罐灯门窗墙机飞车马鸟鱼猫狗热圆长宽远近间随装掉捡抛掷让没问题么嗨谢")


@cache
def vocabulary(language: str) -> frozenset[str]:
    lex = load_lexicon(language)
    return frozenset(w for phrase, _cat, _v in lex.phrases for w in phrase.split())


def _cutoff(word: str) -> float:
    return 0.75 if len(word) >= 7 else 0.8


def repair(text: str, language: str) -> tuple[str, list[tuple[str, str]]]:
    """(repaired text, [(heard, replaced by)]). Unknown languages come back unchanged."""
    try:
        lex = load_lexicon(language)
    except FileNotFoundError:
        return text, []
    if lex.match == "substring":
        simplified = text.translate(_T2S) if language == "zh" else text
        return simplified, ([(text, simplified)] if simplified != text else [])
    vocab = vocabulary(language)
    prefix = lex.match == "prefix"
    out, changes = [], []
    for word in normalise(text).split():
        if len(word) < MIN_LEN or word in vocab or word.isdigit():
            out.append(word)
            continue
        if prefix and any(word.startswith(v) for v in vocab if len(v) >= 3):
            out.append(word)  # a stem language: an inflected form of a known stem is not a miss
            continue
        best = difflib.get_close_matches(word, vocab, n=1, cutoff=_cutoff(word))
        if best:
            changes.append((word, best[0]))
            out.append(best[0])
        else:
            out.append(word)
    return " ".join(out), changes


def domain_coverage(text: str, language: str) -> float:
    """How well `language`'s domain lexicon explains `text` (after near-miss repair), 0..1.

    The speech side uses it to choose between decodes of one utterance in different
    languages: in the right language a robot command becomes words the lexicon knows.
    Only content matches count (objects, colours, actions, relations, control words...),
    not fillers: a wrong-language decode is often made of short function words
    ("met de koop met de ...") that happen to be another language's articles."""
    from .lexicon_parser import LexiconParser

    try:
        lex = load_lexicon(language)
    except FileNotFoundError:
        return 0.0
    repaired, _ = repair(text, language)
    norm = normalise(repaired)
    if not norm.strip():
        return 0.0
    content = [m for m in lex.find(norm) if m.cat not in ("filler", "yes", "no")]
    if lex.match == "substring":
        chars = sum(1 for ch in norm if not ch.isspace())
        share = sum(m.end - m.start for m in content) / max(chars, 1)
    else:
        words = norm.split()
        share = min(1.0, sum(len(m.phrase.split()) for m in content) / max(len(words), 1))
    known = LexiconParser().parse(repaired, language).act.value != "unknown"
    return 0.5 * share + 0.5 * float(known)
