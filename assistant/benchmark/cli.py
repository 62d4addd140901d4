"""`robot-assistant bench`: the household benchmark from the command line.

    robot-assistant bench [--quick] [--workers N] [--ray ADDRESS|local] [--json FILE]
                          [--embodiments ...] [--controllers scripted,tiny_vla] [--languages ...]
                          [--from-json FILE] [--no-docs]

Builds the episode list (`episodes.matrix`, or the 24-episode `--quick` subset), checks that
every controller asked for can start a session at all (so a missing checkpoint is one clear
error, not a hundred failed episodes), runs the episodes (`run.py`), prints the tables and an
estimate of a full run's time, and writes the docs section and plots (`report.py`).
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time

from .episodes import CONTROLLERS, EMBODIMENTS, Episode, matrix, quick_matrix
from .phrases import LANGUAGES
from .tasks import FAMILIES


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true",
                   help="24 episodes (panda, scripted, en/es/zh/ru x 6 families), a few minutes")
    p.add_argument("--workers", type=int, default=2, help="episodes run in parallel (processes or Ray tasks)")
    p.add_argument("--ray", default=None, metavar="ADDRESS",
                   help="run the episodes as Ray tasks on this cluster ('local': start a Ray instance here)")
    p.add_argument("--json", dest="json_out", default=None, metavar="FILE",
                   help="stream every episode's result to FILE (JSON lines, a meta line first)")
    p.add_argument("--embodiments", default=",".join(EMBODIMENTS))
    p.add_argument("--controllers", default=",".join(CONTROLLERS),
                   help="scripted, tiny_vla (panda only; needs the session's controller option and a checkpoint)")
    p.add_argument("--checkpoint", default=None, help="tiny_vla: the checkpoint (default: the session's)")
    p.add_argument("--languages", default=",".join(LANGUAGES))
    p.add_argument("--families", default=",".join(FAMILIES))
    p.add_argument("--from-json", default=None, metavar="FILE", help="report on a --json file instead of running")
    p.add_argument("--no-docs", action="store_true", help="print only; leave docs/benchmarks.md and docs/img alone")
    p.add_argument("--no-progress", action="store_true")


def _split(s: str) -> list[str]:
    return [x.strip() for x in s.split(",") if x.strip()]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.machine()}, {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def preflight(controllers: list[str], embodiments: list[str], checkpoint: str | None) -> str | None:
    """Start one session per learned controller on an empty table; the error text if one cannot."""
    from assistant.session import Session
    from embodiments.scene_spec import SceneSpec

    from .episode_run import session_config
    from .episodes import CONTROLLER_EMBODIMENTS

    for ctrl in controllers:
        if ctrl == "scripted":
            continue
        emb = next((e for e in embodiments if e in CONTROLLER_EMBODIMENTS.get(ctrl, embodiments)), None)
        if emb is None:
            continue
        try:
            Session(session_config(Episode(emb, ctrl, "pick_place", "en", "none", 0), SceneSpec(), checkpoint)).close()
        except Exception as e:  # the controller cannot start at all: say so once
            return f"controller {ctrl!r} cannot start a session on {emb}: {type(e).__name__}: {e}"
    return None


def main(args) -> int:
    from .report import plots, section, tables, write_section
    from .run import load_results, run_all

    notes: list[str] = []
    if args.from_json:
        results, meta = load_results(args.from_json)
        wall = float(meta.get("wall_seconds", sum(r.wall_seconds for r in results) / max(1, meta.get("workers", 1))))
        quick = bool(meta.get("quick"))
        notes = list(meta.get("notes", []))
    else:
        quick = args.quick
        if quick:
            episodes, notes = quick_matrix()
        else:
            for name, given, known in (("embodiment", args.embodiments, EMBODIMENTS),
                                       ("controller", args.controllers, CONTROLLERS),
                                       ("language", args.languages, LANGUAGES), ("family", args.families, FAMILIES)):
                bad = [x for x in _split(given) if x not in known]
                if bad:
                    print(f"unknown {name}: {', '.join(bad)} (known: {', '.join(known)})", file=sys.stderr)
                    return 2
            episodes, notes = matrix(_split(args.embodiments), _split(args.controllers), _split(args.languages),
                                     _split(args.families))
        ctrls = sorted({e.controller for e in episodes})
        problem = preflight(ctrls, sorted({e.embodiment for e in episodes}), args.checkpoint)
        if problem:
            print(f"error: {problem}. Run with --controllers scripted, or fix the controller.", file=sys.stderr)
            return 2
        meta = {"date": datetime.date.today().isoformat(), "machine": machine(), "workers": args.workers,
                "ray": args.ray, "quick": quick, "notes": notes,
                "command": " ".join(["robot-assistant", *sys.argv[1:]]) if sys.argv[1:2] == ["bench"] else
                "robot-assistant bench" + (" --quick" if quick else "")}
        print(f"{len(episodes)} episodes on {args.workers} worker(s)" + (f", Ray at {args.ray}" if args.ray else ""),
              file=sys.stderr)
        t0 = time.perf_counter()
        results, wall = run_all(episodes, args.workers, args.ray, args.json_out, args.checkpoint,
                                progress=not args.no_progress, meta=meta)
        meta["wall_seconds"] = wall or time.perf_counter() - t0
    print(tables(results))
    print()
    print(f"{sum(r.success for r in results)}/{len(results)} episodes succeeded, {wall:.0f} s wall")
    print(estimate(results, args.workers))
    if not args.no_docs and results:
        images = [] if quick else plots(results)
        write_section(section(results, meta, notes, wall, quick, images), "household_quick" if quick else "household")
    return 0


# Wall seconds per sim second of a tiny_vla episode on this 2-core machine (policy inference every chunk),
# measured with runs/tiny_vla-40.pt on 2026-11-25: the bound for controllers this run did not measure.
POLICY_WALL_PER_SIM_S = 1.25


def estimate(results, workers: int) -> str:
    """A full run's wall time: per controller, this run's mean episode wall time when it ran that
    controller; else an upper bound with every episode running to its time limit."""
    from .tasks import PERTURBED_EXTRA, TIMEOUT

    if not results:
        return ""
    full, _ = matrix(EMBODIMENTS, CONTROLLERS)
    w = max(1, workers)
    parts, total = [], 0.0
    for ctrl in CONTROLLERS:
        eps = [e for e in full if e.controller == ctrl]
        walls = [r.wall_seconds for r in results if r.episode.controller == ctrl]
        if walls:
            mean = sum(walls) / len(walls)
            secs = len(eps) * mean / w
            parts.append(f"{ctrl}: {len(eps)} episodes x {mean:.1f} s measured = ~{secs / 60:.0f} min")
        else:
            sim = sum(TIMEOUT[e.family] + (PERTURBED_EXTRA if e.perturbation in ("changed", "moved", "removed") else 0)
                      for e in eps)
            secs = sim * POLICY_WALL_PER_SIM_S / w
            parts.append(f"{ctrl}: {len(eps)} episodes, at most ~{secs / 60:.0f} min if every one runs to its time "
                         f"limit (not measured in this run)")
        total += secs
    return f"Estimated full run on {w} worker(s): ~{total / 60:.0f} min ({'; '.join(parts)})"
