"""The household benchmark's report: markdown tables and PNG plots.

The markdown goes into the marked section `<!-- household:begin -->...<!-- household:end -->`
of docs/benchmarks.md (a `--quick` run into its own `household_quick` section, so that
`make bench` never overwrites the full run), written with the same section helper as every
benchmark in bench/. Plots go to docs/img/bench_household_*.png.
"""
from __future__ import annotations

import importlib.util
import re
import statistics
import sys
from collections import Counter, defaultdict
from pathlib import Path

from .episodes import EpisodeResult
from .phrases import LANGUAGES
from .tasks import FAMILIES, PERTURBATIONS

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "benchmarks.md"
IMG = ROOT / "docs" / "img"
LATENCIES = (("turn_to_plan_ms", "turn -> plan", "ms"), ("turn_to_motion_s", "turn -> first motion", "s"),
             ("stop_to_halt_s", "stop -> halt", "s"), ("change_to_goal_s", "change -> new goal", "s"))


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def rate(rs: list[EpisodeResult]) -> str:
    if not rs:
        return "-"
    k = sum(r.success for r in rs)
    return f"{100 * k / len(rs):.0f}% ({k}/{len(rs)})"


def _setup(r: EpisodeResult) -> str:
    return f"{r.episode.embodiment}/{r.episode.controller}"


def _lat(rs: list[EpisodeResult], key: str, unit: str) -> str:
    xs = [getattr(r, key) for r in rs if getattr(r, key) is not None]
    if not xs:
        return "-"
    f = "{:.0f}" if unit == "ms" else "{:.3f}" if max(xs) < 1 else "{:.2f}"
    return f"{f.format(statistics.median(xs))} / {f.format(pct(xs, 0.95))} (n={len(xs)})"


def _group(rs, key) -> dict[str, list[EpisodeResult]]:
    out: dict[str, list[EpisodeResult]] = defaultdict(list)
    for r in rs:
        out[key(r)].append(r)
    return out


def tables(results: list[EpisodeResult]) -> str:
    setups = sorted(_group(results, _setup))
    by_setup = _group(results, _setup)
    lines = ["| robot / controller | episodes | success | crashes | median completion (s) | "
             + " | ".join(f"{name} median / p95 ({unit})" for _, name, unit in LATENCIES) + " |",
             "|" + " --- |" * (5 + len(LATENCIES))]
    for s in setups + ["all"]:
        rs = results if s == "all" else by_setup[s]
        done = [r.completion_s for r in rs if r.success and r.completion_s is not None]
        med = f"{statistics.median(done):.1f}" if done else "-"
        crashes = sum(r.error is not None for r in rs)
        lines.append(f"| {s} | {len(rs)} | {rate(rs)} | {crashes} | {med} | "
                     + " | ".join(_lat(rs, k, u) for k, _, u in LATENCIES) + " |")
    fams = [f for f in FAMILIES if any(r.episode.family == f for r in results)]
    lines += ["", "Success per task family and perturbation (all robots and controllers):", "",
              "| family | " + " | ".join(PERTURBATIONS) + " | all |", "|" + " --- |" * (len(PERTURBATIONS) + 2)]
    for f in fams + ["all"]:
        rf = [r for r in results if f == "all" or r.episode.family == f]
        cells = [rate([r for r in rf if r.episode.perturbation == p]) for p in PERTURBATIONS]
        lines.append(f"| {f} | " + " | ".join(cells) + f" | {rate(rf)} |")
    langs = [g for g in LANGUAGES if any(r.episode.language == g for r in results)]
    lines += ["", "Success per language:", "", "| language | " + " | ".join(setups) + " | all |",
              "|" + " --- |" * (len(setups) + 2)]
    for g in langs:
        rg = [r for r in results if r.episode.language == g]
        lines.append(f"| {g} | " + " | ".join(rate([r for r in rg if _setup(r) == s]) for s in setups)
                     + f" | {rate(rg)} |")
    lines += ["", "Success per task family and robot / controller:", "", "| family | " + " | ".join(setups) + " |",
              "|" + " --- |" * (len(setups) + 1)]
    for f in fams:
        rf = [r for r in results if r.episode.family == f]
        lines.append(f"| {f} | " + " | ".join(rate([r for r in rf if _setup(r) == s]) for s in setups) + " |")
    return "\n".join(lines)


def failures(results: list[EpisodeResult], limit: int = 12) -> str:
    bad = [r for r in results if not r.success]
    if not bad:
        return "No failures."
    kinds = Counter(_kind(r) for r in bad)
    lines = [f"Failures ({len(bad)}), by kind: " + ", ".join(f"{k} {v}" for k, v in kinds.most_common()) + ".", ""]
    for r in bad[:limit]:
        why = (r.error.splitlines()[0] if r.error else r.reason)[:160]
        lines.append(f"- `{r.episode.key}`: {why}")
    if len(bad) > limit:
        lines.append(f"- ... and {len(bad) - limit} more (all in the `--json` file)")
    return "\n".join(lines)


# Words of a failure's reason -> the kind it is counted as (first match wins).
FAILURE_KINDS = (("timed out", "time-out"), ("never moved", "never started"),
                 ("expected a failure report", "removal not reported"), ("answered in", "wrong language"),
                 ("reply", "wrong answer"), ("held", "still held"), ("no tower", "no tower"),
                 ("not inside", "not in the container"), ("apart", "not near the anchor"))


def _kind(r: EpisodeResult) -> str:
    why = (r.error or r.reason).lower()
    if r.error:
        return "crash"
    for key, name in FAILURE_KINDS:
        if key in why:
            return name
    return "other"


def section(results: list[EpisodeResult], meta: dict, notes: list[str], wall: float, quick: bool,
            images: list[str]) -> str:
    n, ok = len(results), sum(r.success for r in results)
    title = "## Household benchmark" + (" (quick)" if quick else "")
    cmd = meta.get("command", "robot-assistant bench" + (" --quick" if quick else ""))
    cmd = re.sub(r"\s--(json|from-json)[= ]\S+|\s--no-(progress|docs)\b", "", cmd)  # output options only
    lines = [
        title, "",
        f"Measured by `{cmd}` on {meta.get('date', '?')} ({meta.get('machine', '?')}), "
        f"{meta.get('workers', '?')} worker process(es){' on Ray' if meta.get('ray') else ''}: "
        f"{n} episodes, {ok} succeeded, {wall:.0f} s wall.",
        "",
        "Each episode is a fresh session on a seeded random table: the person's command typed in one of "
        f"{len(LANGUAGES)} languages, then control ticks until the task is idle or its time limit. Families: "
        "single pick-and-place, multi-object (all the cubes into the tray), sort by colour, stacking, "
        "spatial relation (next to the duck), questions (how many cubes, where is the duck). Perturbations: "
        "none; changed (a second turn 0.5 s after the first motion: another bowl, the balls or blocks "
        "instead, the other cube, the other question); moved (the object being reached for moved to a free "
        "spot); removed (it is taken away: the rest of the goal must still be done, and when nothing of "
        "the goal is left the right outcome is to report the failure in the person's language); "
        "distractors (2-3 more objects of similar kinds and colours). Balanced design: every (family, "
        "language) pair once per robot and controller, perturbations rotated across languages.",
        "",
        "Success is judged on ground truth only (`in`, `on`, `near`, a tower of `on`s, none of them still "
        "held), never by the assistant's claim; a time-out is a failure. Answers must be in the person's "
        "language and name the true count or the catalogue's word for the true side. Latencies: turn -> plan "
        "is the wall time of the first turn (language ID, parse, plan), measured while the other workers "
        "run episodes on the same cores; turn -> first motion, stop -> halt (every joint < 0.01 rad/s; "
        "\"stop\" is said in the person's language mid-motion in "
        + ("every unperturbed moving episode" if quick else "the unperturbed moving episodes with an even "
           "language index") + ", then \"continue\") and change -> new goal (until a step of the new plan "
        "runs) are sim seconds. Cells: median / p95 (n).",
        "",
        tables(results),
        "",
        failures(results),
    ]
    if notes:
        lines += ["", "Notes: " + "; ".join(notes) + "."]
    if images:
        lines += [""] + [f"![{Path(p).stem}](img/{Path(p).name})" for p in images]
    return "\n".join(lines)


def plots(results: list[EpisodeResult], img_dir: Path = IMG) -> list[str]:
    """Three PNGs: success per family x perturbation, per language and setup, latency spreads."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    img_dir.mkdir(parents=True, exist_ok=True)
    out = []
    fams = [f for f in FAMILIES if any(r.episode.family == f for r in results)]
    grid = np.full((len(fams), len(PERTURBATIONS)), np.nan)
    for i, f in enumerate(fams):
        for j, p in enumerate(PERTURBATIONS):
            rs = [r for r in results if r.episode.family == f and r.episode.perturbation == p]
            if rs:
                grid[i, j] = 100 * sum(r.success for r in rs) / len(rs)
    fig, ax = plt.subplots(figsize=(7, 3.6))
    im = ax.imshow(grid, vmin=0, vmax=100, cmap="RdYlGn")
    ax.set_xticks(range(len(PERTURBATIONS)), PERTURBATIONS, rotation=25, ha="right")  # long names overlap
    ax.set_yticks(range(len(fams)), fams)
    for (i, j), v in np.ndenumerate(grid):
        ax.text(j, i, "-" if np.isnan(v) else f"{v:.0f}%", ha="center", va="center", fontsize=9)
    fig.colorbar(im, ax=ax, label="success %")
    ax.set_title("Household benchmark: success per family and perturbation")
    out.append(_save(fig, img_dir / "bench_household_cells.png"))

    setups = sorted({_setup(r) for r in results})
    langs = [g for g in LANGUAGES if any(r.episode.language == g for r in results)]
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(langs) * max(1, len(setups)) ** 0.5 + 2), 3.6))
    w = 0.8 / max(1, len(setups))
    for k, s in enumerate(setups):
        vals = []
        for g in langs:
            rs = [r for r in results if r.episode.language == g and _setup(r) == s]
            vals.append(100 * sum(r.success for r in rs) / len(rs) if rs else 0)
        ax.bar(np.arange(len(langs)) + k * w - 0.4 + w / 2, vals, w, label=s)
    ax.set_xticks(range(len(langs)), langs)
    ax.set_ylim(0, 105)
    ax.set_ylabel("success %")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("Success per language")
    out.append(_save(fig, img_dir / "bench_household_languages.png"))

    fig, axes = plt.subplots(1, len(LATENCIES), figsize=(3.2 * len(LATENCIES), 3.4))
    for ax, (key, name, unit) in zip(axes, LATENCIES):
        data = [[getattr(r, key) for r in results if _setup(r) == s and getattr(r, key) is not None] for s in setups]
        if any(data):
            ax.boxplot([d if d else [np.nan] for d in data], showfliers=True)
        ax.set_xticks(range(1, len(setups) + 1), setups, rotation=30, fontsize=7)
        ax.set_title(f"{name} ({unit})", fontsize=9)
    fig.suptitle("Latencies per robot / controller")
    out.append(_save(fig, img_dir / "bench_household_latency.png"))
    return out


def _save(fig, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return str(path)


def write_section(body: str, marker: str, docs: Path = DOCS) -> None:
    """Through bench/skills.py's `_write_section`, the helper every benchmark uses for its section."""
    helper = ROOT / "bench" / "skills.py"
    if not helper.exists():
        raise SystemExit(f"cannot write {docs}: {helper} is missing (run from a checkout of the repository)")
    mod = sys.modules.get("bench.skills")
    if mod is None:  # bench/ is not an installed package: load it from the checkout
        spec = importlib.util.spec_from_file_location("bench.skills", helper)
        mod = importlib.util.module_from_spec(spec)
        sys.modules["bench.skills"] = mod  # its dataclasses look their module up by name
        spec.loader.exec_module(mod)
    mod._write_section(docs, marker, body)
