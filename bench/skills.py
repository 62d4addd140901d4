"""Skill x embodiment success over seeded random household scenes, with real perception.

    python -m bench.skills [--seeds 50] [--jobs 2] [--embodiments panda,bimanual,kuka]
                           [--skills pick,place_in,...] [--out docs/benchmarks.md] [--no-docs]

Every trial builds a random scene (the objects the skill needs, of random kinds
and colours, plus 1-3 distractors; every (kind, colour) label is unique so a
target can be named), finds its objects with `Perception` from the cameras (the
trial fails if perception cannot name them), runs the skill with the scripted
controller and judges the outcome with the ground-truth predicates only. Scenes
where the needed places are out of every arm's reach are redrawn (a skill is
measured where it applies). The same run scores perception itself against
ground truth (kind and colour accuracy, position error) on random scenes.

Prints one table (success rate and median sim seconds per skill and embodiment)
and writes it into the marked section of docs/benchmarks.md (unless --no-docs).
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SKILLS = ("pick", "place_in", "place_on", "place_at", "stack", "push", "handover", "home", "gripper")
EMBODIMENTS = ("panda", "bimanual", "kuka")
PICKABLE = ("cube", "block", "lego", "duck", "teddy", "ball")
BASES = ("cube", "block")  # what place_on / stack put things on
CONTAINERS = ("bowl", "plate", "tray")
STACKABLE = ("cube", "block", "lego")
COLORS = ("red", "green", "blue", "yellow", "orange", "purple", "white", "black", "pink", "brown")


@dataclass
class Trial:
    skill: str
    embodiment: str
    seed: int
    ok: bool
    sim_seconds: float
    reason: str = ""


def _scene(skill: str, rng: np.random.Generator, seed: int):
    """(SceneSpec, role -> object id) for one trial."""
    from embodiments.scene_spec import SceneSpec
    from embodiments.sim.objects import place_objects

    roles: dict[str, str] = {}
    if skill in ("pick", "place_at", "push", "home", "gripper"):
        roles["obj"] = str(rng.choice(PICKABLE if skill != "push" else ("cube", "block", "lego", "duck", "teddy")))
    elif skill == "place_in":
        roles["obj"] = str(rng.choice(("cube", "block", "lego", "duck", "ball")))
        roles["dest"] = str(rng.choice(CONTAINERS))
    elif skill in ("place_on", "stack"):
        roles["obj"] = str(rng.choice(STACKABLE))
        roles["dest"] = str(rng.choice(BASES))
    elif skill == "handover":
        roles["obj"] = "block"
    used: set[tuple[str, str]] = set()
    objs = []

    def add(oid: str, kind: str) -> None:
        while True:
            color = str(rng.choice(COLORS))
            if (kind, color) not in used:
                used.add((kind, color))
                objs.append({"id": oid, "kind": kind, "color": color})
                return

    for role, kind in roles.items():
        add(role, kind)
    for i in range(int(rng.integers(1, 4))):
        add(f"distractor{i}", str(rng.choice(PICKABLE + ("bowl", "mug"))))
    spec = SceneSpec.from_dict({"seed": seed, "objects": objs, "person": bool(rng.random() < 0.3)})
    place_objects(spec.objects, spec.seed)  # raises ValueError when it does not fit
    return spec


def run_trial(skill: str, embodiment: str, seed: int) -> Trial:
    from embodiments.perception import Perception
    from embodiments.predicates import WorldTruth
    from embodiments.registry import make_embodiment
    from embodiments.skills import (
        SkillRunner,
        handover,
        home,
        pick,
        place_at,
        place_in,
        place_on,
        push,
        set_gripper,
        stack,
    )

    rng = np.random.default_rng(10_000 * SKILLS.index(skill) + seed)
    for attempt in range(20):
        try:
            spec = _scene(skill, rng, seed * 100 + attempt)
        except ValueError:
            continue
        robot = make_embodiment(embodiment, spec)
        robot.connect()
        perception = Perception()
        ignore = robot.robot_bodies | set(robot.world.fixtures)

        def perceive(perception=perception, robot=robot, ignore=ignore):
            return perception.perceive_observation(robot.get_observation(), ignore)

        runner = SkillRunner(robot, perceive)
        ctx = runner.ctx
        truth = WorldTruth(robot)
        scene = perceive()
        det = {}
        missing = []
        for o in spec.objects:
            found = scene.find(o.kind, o.resolved_color)
            if len(found) == 1:
                det[o.id] = found[0]
            elif o.id in ("obj", "dest"):
                missing.append(f"perception did not find exactly one {o.resolved_color} {o.kind} ({len(found)})")
        pos = robot.world.position("obj")
        dest_pos = robot.world.position("dest") if any(o.id == "dest" for o in spec.objects) else None
        # Where the skill applies at all: an arm reaches the object (and the destination).
        target = None
        if skill in ("place_at", "push"):
            target = _free_point(rng, robot, pos, near=skill == "push")
            if target is None:
                robot.disconnect()
                continue
        need = [p for p in (pos, dest_pos, target) if p is not None]
        if skill == "push":  # the hand starts behind the object
            d = (target - pos[:2]) / np.linalg.norm(target - pos[:2])
            need.append(pos[:2] - d * 0.075)
        # ... with 2 cm to spare around each place, so that a perception error of a centimetre
        # at the edge of the reach does not turn a feasible scene into an infeasible one.
        ring = [np.array([dx, dy]) for dx, dy in ((0, 0), (0.02, 0), (-0.02, 0), (0, 0.02), (0, -0.02))]
        arms = [a for a in robot.arms
                if all(robot.reach(a, np.array([p[0] + o[0], p[1] + o[1], 0.0])) > 0 for p in need for o in ring)]
        if not arms:
            robot.disconnect()
            continue
        break
    else:
        raise RuntimeError(f"no feasible scene for {skill} on {embodiment} (seed {seed})")
    t0 = robot.time
    try:
        if missing:
            return Trial(skill, embodiment, seed, False, 0.0, missing[0])
        o, d = det["obj"], det.get("dest")
        arm = ctx.arm_for(o.position, d.position if d is not None else (target if target is not None else o.position))
        arm = arm or arms[0]
        r = None
        if skill == "pick":
            r = runner.run(pick(ctx, o, arm))
            ok, why = truth.held("obj")
        elif skill in ("place_in", "place_on", "place_at", "home"):
            r = runner.run(pick(ctx, o, arm))
            if r.ok:
                if skill == "place_in":
                    r = runner.run(place_in(ctx, d, arm))
                elif skill == "place_on":
                    r = runner.run(place_on(ctx, d, arm))
                elif skill == "place_at":
                    r = runner.run(place_at(ctx, target[0], target[1], arm))
                else:
                    r = runner.run(home(ctx))
            check = {"place_in": {"in": ["obj", "dest"]}, "place_on": {"on": ["obj", "dest"]}}.get(skill)
            if check:
                ok, why = truth.check(check)
            elif skill == "place_at":
                dist = float(np.hypot(*(truth.centre("obj")[:2] - target)))
                ok, why = dist < 0.03 and truth.holder("obj") is None, f"{dist:.3f} m from the target"
            else:
                hands = [float(np.linalg.norm(robot.arm(a).ee_pose()[0] - robot.home_pose(a)[0])) for a in robot.arms]
                ok, why = max(hands) < 0.02 and truth.held("obj")[0], f"hands {max(hands):.3f} m from home"
        elif skill == "stack":
            r = runner.run(stack(ctx, o, d, arm))
            ok, why = truth.check({"on": ["obj", "dest"]})
        elif skill == "push":
            r = runner.run(push(ctx, o, target[0], target[1], arm))
            dist = float(np.hypot(*(truth.centre("obj")[:2] - target)))
            ok, why = dist < 0.035, f"{dist:.3f} m from the target (the skill stops within 0.03)"
        elif skill == "handover":
            r = runner.run(pick(ctx, o, arm))
            if r.ok:
                r = runner.run(handover(ctx))
            other = [a for a in robot.arms if a != arm]
            held_by = truth.holder("obj")
            ok, why = held_by is not None and held_by in other, f"held by {held_by}"
        elif skill == "gripper":
            r = runner.run(set_gripper(ctx, "close", arm))
            closed = robot.arm(arm).finger_width()
            r2 = runner.run(set_gripper(ctx, "open", arm))
            opened = robot.arm(arm).finger_width()
            ok, why = closed < 0.004 and opened > 0.075 and r2.ok, f"closed {closed:.3f} m, open {opened:.3f} m"
        ok = bool(ok and (r is None or r.ok))
        reason = "" if ok else (r.reason if r is not None and not r.ok else why)
        return Trial(skill, embodiment, seed, ok, robot.time - t0, reason)
    finally:
        robot.disconnect()


def _free_point(rng: np.random.Generator, robot, obj_pos, near: bool):
    """A point on the table clear of every object (for place_at), or 8-12 cm from the object (push)."""
    w = robot.world
    for _ in range(200):
        if near:
            a = rng.uniform(-math.pi, math.pi)
            r = rng.uniform(0.08, 0.12)
            p = np.array([obj_pos[0] + r * math.cos(a), obj_pos[1] + r * math.sin(a)])
        else:
            p = rng.uniform(-0.2, 0.2, 2)
        if np.max(np.abs(p)) > 0.21:
            continue
        clear = True
        for oid in w.ids:
            if oid == "obj":
                continue
            lo, hi = w.aabb(oid)
            c = (lo[:2] + hi[:2]) / 2
            rad = float(np.max(hi[:2] - lo[:2])) / 2
            # the path of a push sweeps the object along: keep its line clear too
            if np.hypot(*(p - c)) < rad + 0.05 or (near and _seg_dist(c, obj_pos[:2], p) < rad + 0.035):
                clear = False
                break
            if near:  # room behind the object for the fingers to come down
                behind = obj_pos[:2] - (p - obj_pos[:2]) / np.linalg.norm(p - obj_pos[:2]) * 0.075
                if np.hypot(*(behind - c)) < rad + 0.03:
                    clear = False
                    break
        if clear:
            return p
    return None


def _seg_dist(c, a, b) -> float:
    a, b, c = np.asarray(a, float), np.asarray(b, float), np.asarray(c, float)
    t = float(np.clip(np.dot(c - a, b - a) / max(np.dot(b - a, b - a), 1e-9), 0, 1))
    return float(np.linalg.norm(a + t * (b - a) - c))


def _job(args):
    os.environ.setdefault("ROBOT_ASSISTANT_CACHE", ".cache")
    try:
        return run_trial(*args)
    except Exception as e:  # a crash is a failed trial, reported with its reason
        return Trial(args[0], args[1], args[2], False, 0.0, f"crashed: {type(e).__name__}: {e}")


def table(trials: list[Trial], embodiments, skills) -> str:
    head = "| skill | " + " | ".join(embodiments) + " |"
    lines = [head, "|" + " --- |" * (len(embodiments) + 1)]
    for s in skills:
        cells = []
        for e in embodiments:
            ts = [t for t in trials if t.skill == s and t.embodiment == e]
            if not ts:
                cells.append("n/a")
                continue
            rate = sum(t.ok for t in ts) / len(ts)
            med = statistics.median(t.sim_seconds for t in ts)
            cells.append(f"{100 * rate:.0f}% ({sum(t.ok for t in ts)}/{len(ts)}), {med:.1f} s")
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def section(tab: str, per_line: str, fails: list[Trial], seeds: int, n: int, wall: float) -> str:
    """The markdown written into docs/benchmarks.md."""
    from collections import Counter

    kinds = Counter(_reason_kind(t.reason) for t in fails)
    lines = [
        "## Skills",
        "",
        f"Measured by `python -m bench.skills --seeds {seeds}` (part of `make bench`): every skill on every",
        "robot in seeded random scenes (the objects the skill needs, of random kinds and colours, 1-3",
        "distractors, a person in 30% of them). Objects are found by perception from the cameras; success",
        "is judged by the ground-truth predicates (`in`, `on`, `held`, distance to a target), never by",
        "the skill's own claim. Cell: success rate (successes/trials), median sim seconds per trial",
        "(including the pick before a place, and for handover the pick and the handover).",
        "",
        tab,
        "",
        f"{n} trials, {len(fails)} failures ({wall:.0f} s wall on this machine, 2 worker processes). "
        "Failure reasons: " + (", ".join(f"{k} {v}" for k, v in kinds.most_common()) or "none") + ".",
        "",
        per_line,
    ]
    return "\n".join(lines)


def _reason_kind(reason: str) -> str:
    """Group failure reasons into a few kinds for the summary."""
    r = reason.lower()
    if "approach" in r or "blocked" in r or "no room" in r:
        return "hand blocked by a neighbour (clutter)"
    if "perception" in r:
        return "perception missed or misnamed the object"
    if "reach" in r:
        return "out of reach"
    if "slipped" in r or "holds" in r:
        return "lost grip"
    if "did not arrive" in r or "not at" in r or "not inside" in r or "not over" in r:
        return "landed off target"
    return reason


def _write_section(path: Path, marker: str, body: str) -> None:
    start, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    text = path.read_text() if path.exists() else ""
    block = f"{start}\n{body}\n{end}"
    if start in text and end in text:
        text = text[:text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--jobs", type=int, default=max(1, min(4, os.cpu_count() or 1)))
    ap.add_argument("--embodiments", default=",".join(EMBODIMENTS))
    ap.add_argument("--skills", default=",".join(SKILLS))
    ap.add_argument("--perception-scenes", type=int, default=50)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"),
                    help="markdown file whose skills section is rewritten")
    ap.add_argument("--no-docs", action="store_true", help="only print, do not rewrite --out")
    args = ap.parse_args(argv)
    from tqdm import tqdm

    embs = [e for e in args.embodiments.split(",") if e]
    skills = [s for s in args.skills.split(",") if s]
    jobs = [(s, e, k) for s in skills for e in embs for k in range(args.seeds)
            if not (s == "handover" and e != "bimanual")]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        trials = list(tqdm(pool.map(_job, jobs, chunksize=2), total=len(jobs), desc="skill trials"))
    wall = time.perf_counter() - t0
    tab = table(trials, embs, skills)
    print(tab)
    fails = [t for t in trials if not t.ok]
    for t in fails[:40]:
        print(f"FAIL {t.skill} {t.embodiment} seed {t.seed}: {t.reason}")
    from embodiments.perception.evaluate import evaluate

    per = evaluate(args.perception_scenes) if args.perception_scenes else None
    per_line = ""
    if per:
        per_line = (f"Perception on {per['scenes']} random scenes (front camera, {per['objects_expected']} visible "
                    f"objects): kind accuracy {100 * per['kind_accuracy']:.1f}%, colour accuracy "
                    f"{100 * per['color_accuracy']:.1f}%, position error median "
                    f"{1000 * per['xy_error_median_m']:.1f} mm "
                    f"(p95 {1000 * per['xy_error_p95_m']:.1f} mm), recall {100 * per['recall']:.1f}%, "
                    f"{per['false_positives']} false positives, person detection {100 * per['person_accuracy']:.0f}%, "
                    f"{per['perceive_ms_median']:.1f} ms per frame (median).")
        print(per_line)
        print("confusions:", per["confusions"])
    print(f"{len(trials)} trials in {wall:.0f} s wall")
    if args.out and not args.no_docs:
        _write_section(Path(args.out), "skills", section(tab, per_line, fails, args.seeds, len(trials), wall))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
