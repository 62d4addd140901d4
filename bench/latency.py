"""Turn latency of the dialogue manager with the embedded backend, on the simulator.

    python -m bench.latency [--repeats 3] [--no-docs]

- turn -> updated plan: wall time of `Session.submit(text)` (language ID, parsing,
  grounding, planning) for new-task turns in several languages, planned on the
  session's recent view of the table; beside it, the same turns when every turn
  renders and perceives afresh (the peer, measured in the same run).
- instruction change -> arm heading to the new goal: control ticks from handling
  "no, the green one" mid-task until the first command of the new plan is sent.
"""
from __future__ import annotations

import argparse
import statistics
import time

TURNS = [("put the red cube in the blue bowl", "en"), ("Mets le cube vert dans le bol jaune", "fr"),
         ("Pon el cubo rojo en el cuenco azul", "es"), ("Leg den grünen Würfel in die blaue Schüssel", "de"),
         ("把红色方块放进蓝色的碗里", "zh"), ("赤いキューブを青いボウルに入れて", "ja"),
         ("Положи красный кубик в синюю миску", "ru"), ("stack the cubes", "en"),
         ("swap the red cube and the green cube", "en")]
SCENE = {"seed": 3, "objects": [
    {"id": "red_cube", "kind": "cube", "color": "red", "at": [-0.1, 0.12]},
    {"id": "green_cube", "kind": "cube", "color": "green", "at": [0.05, -0.15]},
    {"id": "blue_bowl", "kind": "bowl", "color": "blue", "at": [0.12, 0.1]},
    {"id": "yellow_bowl", "kind": "bowl", "color": "yellow", "at": [-0.12, -0.1]}]}


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def measure(repeats: int) -> dict:
    from assistant.session import Session, SessionConfig
    from assistant.task import TaskState
    from embodiments.scene_spec import SceneSpec

    s = Session(SessionConfig("panda", SceneSpec.from_dict(SCENE)))
    try:
        s.run(0.2)
        for text, _lang in TURNS:  # warm-up, not timed: lexicons and lingua's models load on first use
            s.dm.task, s.dm.language = TaskState(), None
            s.submit(text)
            s.dm.runner.cancel()
        cached, fresh = [], []
        for _ in range(repeats):
            for text, _lang in TURNS:
                for bucket, fn in ((cached, s.latest_scene), (fresh, s.perceive)):
                    s.dm.scene_fn = fn
                    s.dm.task, s.dm.language = TaskState(), None
                    t0 = time.perf_counter()
                    r = s.submit(text)
                    bucket.append(time.perf_counter() - t0)
                    assert r.status.value == "running", (text, r)
                    s.dm.runner.cancel()
        s.dm.scene_fn = s.latest_scene
        # Change of mind mid-task: ticks until the new plan's first command goes out.
        s.dm.task = TaskState()
        s.submit("put the red cube in the blue bowl")
        s.run(1.0)
        before = s.dm.runner._name
        s.submit("no, the green one")
        ticks = 0
        while s.dm.runner._name == before or not s.dm.runner.busy:
            s.tick()
            ticks += 1
            if ticks > 120:
                break
        return {"cached": cached, "fresh": fresh, "change_ticks": ticks, "new_step": s.dm.runner._name}
    finally:
        s.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-docs", action="store_true")
    args = ap.parse_args(argv)
    r = measure(args.repeats)
    c, f = r["cached"], r["fresh"]
    rows = [
        "| turn -> updated plan | median ms | p95 ms |", "| --- | --- | --- |",
        f"| ours: planned on the session's recent view | {1000 * statistics.median(c):.1f} | "
        f"{1000 * _pct(c, .95):.1f} |",
        f"| peer: a fresh render + perception every turn | {1000 * statistics.median(f):.1f} | "
        f"{1000 * _pct(f, .95):.1f} |",
        "",
        f"Ratio (peer / ours, medians): {statistics.median(f) / statistics.median(c):.1f}x. "
        f"{len(c)} turns each ({len(TURNS)} sentences in 7 languages x {args.repeats}). Target: <= 20 ms.",
        "",
        f"Instruction change mid-task -> first command of the new plan: {r['change_ticks']} control tick(s) "
        f"(new step: {r['new_step']!r}). Target: within one tick of the turn being handled.",
    ]
    print("\n".join(rows))
    if not args.no_docs:
        from bench.dialogue import DOCS
        from bench.skills import _write_section

        _write_section(DOCS, "latency", "## Turn latency (embedded backend, panda, 2 cores)\n\nMeasured by "
                       "`python -m bench.latency`.\n\n" + "\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
