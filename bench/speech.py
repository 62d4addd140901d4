"""Spoken commands through the real pipeline: espeak-ng -> audio -> VAD -> Whisper base -> parser.

Per language, on N commands drawn (seeded) from the development corpus `bench/corpus/`
(labelled intents; never the blind corpus), three ways side by side:
- plain: faster-whisper's defaults on the raw audio (language detected over its 99
  languages, beam 5, six temperatures, no prompt): what a first integration would do;
- robust: the command-tuned decoding of `speech/whisper.py` (VAD trim, one encoder pass,
  candidate languages compared on the domain lexicon, token budget, loop guards, a
  prompt naming the scene's objects) plus near-miss repair before parsing; first turn
  of a conversation, so no language hint;
- robust + hint: the same with the conversation's language known (every later turn).
Reported: language ID accuracy, word error rate (character error rate for zh/ja),
intent accuracy (the corpus label checks of bench/dialogue.py on the transcript) and
median seconds per command. The scene prompt names the objects the command's labels
mention plus two distractors, as a real scene would contain them.

    python -m bench.speech [--languages en,es,fr,de,it,pt,zh] [--n 30] [--no-docs]
"""
from __future__ import annotations

import argparse
import random
import re
import statistics
import time
import unicodedata
from pathlib import Path

from tqdm import tqdm

from assistant.messages import object_name
from bench.dialogue import check, load_corpus
from planner.fuzzy import domain_coverage, repair
from planner.lexicon_parser import LexiconParser

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
DEFAULT_LANGUAGES = "en,es,fr,de,it,pt,zh"
MODES = ("plain", "robust", "robust+hint")
DISTRACTORS = (("duck", None), ("bowl", "blue"))


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


def error_rate(ref: str, hyp: str, chars: bool) -> tuple[int, int]:
    """(edit distance, reference length) over words, or characters for zh/ja."""
    r = list(normalise(ref).replace(" ", "")) if chars else normalise(ref).split()
    h = list(normalise(hyp).replace(" ", "")) if chars else normalise(hyp).split()
    prev = list(range(len(h) + 1))
    for i, a in enumerate(r, 1):
        cur = [i] + [0] * len(h)
        for j, b in enumerate(h, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a != b))
        prev = cur
    return prev[-1], max(len(r), 1)


def scene_prompt(item: dict, lang: str) -> str:
    names: list[str] = []
    refs = [item.get("objects"), item.get("target")] + [{"kind": k, "color": c} for k, c in DISTRACTORS]
    for ref in refs:
        if isinstance(ref, dict) and ref.get("kind"):
            n = object_name(lang, ref["kind"], ref.get("color"))
            if n not in names:
                names.append(n)
    sep, end = ("、", "。") if lang in ("zh", "ja") else (", ", ".")
    return sep.join(names) + end


def pick(lang: str, n: int) -> list[dict]:
    items = [it for it in load_corpus(lang) if 2 <= len(it["text"]) <= 120]
    return random.Random(f"speech-{lang}").sample(items, min(n, len(items)))


def run_language(lang: str, n: int, transcriber, speaker, parser, bar) -> dict:
    chars = lang in ("zh", "ja")
    rows = {m: {"lid": 0, "intent": 0, "err": 0, "len": 0, "secs": []} for m in MODES}
    items = pick(lang, n)
    for it in items:
        wav = speaker.to_wav(it["text"], lang)
        for mode in MODES:
            t0 = time.perf_counter()
            if mode == "plain":
                t = transcriber.transcribe(wav, robust=False)
                text = t.text
            else:
                t = transcriber.transcribe(wav, robust=True, language_hint=lang if mode == "robust+hint" else None,
                                           prompt=lambda language, it=it: scene_prompt(it, language),
                                           scorer=domain_coverage)
                text = repair(t.text, t.language)[0] if t.language else t.text
            secs = time.perf_counter() - t0
            r = rows[mode]
            r["secs"].append(secs)
            r["lid"] += t.language == lang
            e, length = error_rate(it["text"], t.text, chars)
            r["err"] += e
            r["len"] += length
            heard_lang = t.language if t.language == lang else lang  # parse as the language it should be
            intent = parser.parse(text, heard_lang, it.get("context", "idle")) if t.language == lang else None
            r["intent"] += intent is not None and not check(it, intent)
            bar.update(1)
    return {"language": lang, "n": len(items), **{
        m: {"lid": r["lid"] / len(items), "intent": r["intent"] / len(items), "wer": r["err"] / max(r["len"], 1),
            "secs": statistics.median(r["secs"])} for m, r in rows.items()}}


def table(results: list[dict]) -> list[str]:
    head = "| language | n | " + " | ".join(f"{m}: LID / WER / intent / s" for m in MODES) + " |"
    lines = [head, "| --- | --- | " + " | ".join("---" for _ in MODES) + " |"]
    for r in results:
        cells = [f"{100 * r[m]['lid']:.0f}% / {100 * r[m]['wer']:.0f}% / {100 * r[m]['intent']:.0f}% / "
                 f"{r[m]['secs']:.2f}" for m in MODES]
        lines.append(f"| {r['language']}{' (CER)' if r['language'] in ('zh', 'ja') else ''} | {r['n']} | "
                     + " | ".join(cells) + " |")
    total = sum(r["n"] for r in results)
    cells = []
    for m in MODES:
        lid = sum(r[m]["lid"] * r["n"] for r in results) / max(total, 1)
        intent = sum(r[m]["intent"] * r["n"] for r in results) / max(total, 1)
        cells.append(f"{100 * lid:.0f}% / - / {100 * intent:.0f}% / -")
    lines.append(f"| all | {total} | " + " | ".join(cells) + " |")
    return lines


HEAD = ("## Speech: spoken commands (espeak-ng voices, Whisper base, CPU)\n\n"
        "Measured by `python -m bench.speech` (part of `make bench`). Commands are drawn from the development "
        "corpus, spoken by espeak-ng and recognised by the offline Whisper base model (int8, CPU). Cells: "
        "language ID accuracy / word error rate (character error rate for zh) / intent accuracy / median seconds "
        "per command. *plain* is faster-whisper's defaults; *robust* adds voice-activity trimming, candidate "
        "languages compared on the domain lexicon, a prompt naming the scene's objects, token budgets, loop guards "
        "and near-miss repair; *robust+hint* also knows the conversation's language (every turn after the "
        "first). espeak-ng's synthetic non-English voices are much harder for Whisper base than human speech "
        "(GUIDE.md); these figures are what this offline default honestly does on them.")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--languages", default=DEFAULT_LANGUAGES)
    ap.add_argument("--n", type=int, default=30, help="commands per language")
    ap.add_argument("--no-docs", action="store_true")
    args = ap.parse_args(argv)
    from speech import make_speaker, make_transcriber

    transcriber, speaker, parser = make_transcriber("whisper"), make_speaker("espeak"), LexiconParser()
    langs = [x for x in args.languages.split(",") if x]
    results = []
    with tqdm(total=len(langs) * args.n * len(MODES), desc="speech", unit="decode") as bar:
        for lang in langs:
            results.append(run_language(lang, args.n, transcriber, speaker, parser, bar))
            tqdm.write("\n".join(table(results[-1:])[2:]))
    lines = table(results)
    print("\n".join(lines))
    if not args.no_docs:
        from bench.skills import _write_section

        _write_section(DOCS, "speech", HEAD + "\n\n" + "\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
