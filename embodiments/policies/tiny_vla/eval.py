"""`robot-assistant eval`: closed-loop pick-and-place on held-out random tables.

    robot-assistant eval --controller tiny_vla --checkpoint runs/tiny_vla.pt --episodes 20 [--seed 1000]
                         [--json FILE] [--video DIR] [--embodiment panda]
    robot-assistant eval --controller scripted --episodes 20            # the expert: the baseline

Each episode is drawn like the recorder's (2-4 objects, unique labels, sometimes a person) from
the seed pair (seed, i); the default seed 1000 is far from the recorder's default (0), so the
tables are ones no demonstration saw. The planner turns "put the X in the Y" into its steps on what
perception sees ("pick up X", "put X in Y"), and each step runs through a `PolicyRunner` with
the perception-based `success_check` and a per-step timeout, for either controller, on the same
seeds (a scene where the goal is out of reach or not planned is drawn again, identically for
both). An episode succeeds when the ground truth (`WorldTruth`) has the object in the container
and no hand holding it. The first `--video-episodes` episodes are written as MP4s (front camera).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

VIDEO_FPS = 15


@dataclass
class EpisodeEval:
    index: int
    seed: tuple[int, int]
    ok: bool
    reason: str = ""
    instructions: list[str] = field(default_factory=list)
    steps_ok: list[bool] = field(default_factory=list)
    ticks: int = 0
    sim_s: float = 0.0
    wall_s: float = 0.0
    skipped: bool = False
    video: str | None = None
    closest_cm: float | None = None  # how near (x-y) any hand got to the object: a failed episode's first clue


def make_controller(name: str, robot, perceive, checkpoint: str | None, policy_kwargs: dict | None = None):
    from .. import make_policy

    if name == "scripted":
        return make_policy("scripted", robot=robot, perceive=perceive)
    if name == "tiny_vla":
        return make_policy("tiny_vla", checkpoint=checkpoint, robot=robot, **(policy_kwargs or {}))
    return make_policy(name, **(policy_kwargs or {}))


def run_episode(controller: str, index: int, seed: tuple[int, int], embodiment: str = "panda",
                checkpoint=None, step_timeout_s: float = 20.0, video: Path | None = None,
                policy_kwargs: dict | None = None) -> EpisodeEval:
    from planner.intent import Goal, Ref
    from planner.plan import Planner

    from ...perception import Perception
    from ...predicates import WorldTruth
    from ...registry import make_embodiment
    from ...sim.quiet import c_quiet
    from ..record import draw_fitting_scene
    from ..runner import PolicyRunner, success_check

    w0 = time.perf_counter()
    drawn = draw_fitting_scene(np.random.default_rng(list(seed)))
    if drawn is None:
        return EpisodeEval(index, seed, False, "no scene fits on the table", skipped=True)
    spec, (kind, color), (dest, dest_color) = drawn
    with c_quiet():
        robot = make_embodiment(embodiment, spec)
        robot.connect()
    try:
        need = [robot.world.position("obj"), robot.world.position("dest")]
        ring = [(0, 0), (0.02, 0), (-0.02, 0), (0, 0.02), (0, -0.02)]
        if not any(all(robot.reach(a, np.array([p[0] + dx, p[1] + dy, 0.0])) > 0 for p in need for dx, dy in ring)
                   for a in robot.arms):
            return EpisodeEval(index, seed, False, "out of reach", skipped=True)
        perception = Perception()
        ignore = robot.robot_bodies | set(robot.world.fixtures)

        def perceive():
            return perception.perceive_observation(robot.get_observation(cameras=True), ignore)

        planner = Planner(tuple(robot.arms), lambda arm, xy: robot.reach(arm, np.array([xy[0], xy[1], 0.0])))
        goal = Goal("put_in", objects=Ref(kind=kind, color=color), target=Ref(kind=dest, color=dest_color))
        try:
            plan = planner.plan(goal, perceive())
        except Exception as e:
            return EpisodeEval(index, seed, False, f"not planned ({type(e).__name__})", skipped=True)
        policy = make_controller(controller, robot, perceive, checkpoint, policy_kwargs)
        runner = PolicyRunner(robot, policy)
        frames: list[np.ndarray] = []
        every = max(1, robot.control_hz // VIDEO_FPS)
        closest = [np.inf]

        def on_tick(r) -> None:
            if r._ticks % 6 == 0:  # 10 Hz is plenty for "how near did the hand get"
                obj = robot.world.position("obj")
                for st in robot.get_observation(cameras=False).arms.values():
                    closest[0] = min(closest[0], float(np.linalg.norm(np.asarray(st.ee_pos)[:2] - obj[:2])))
            if video is not None and r._ticks % every == 0:
                frames.append(robot.world.render(robot.front_camera).rgb.copy())
        runner.on_tick = on_tick
        t0, ticks = robot.time, 0
        res = EpisodeEval(index, seed, False, instructions=[s.instruction for s in plan.steps])
        reason = ""
        for step in plan.steps:
            check = success_check(step.instruction, robot, perceive)
            r = runner.run(step.instruction, success=check, timeout_s=step_timeout_s)
            ticks += runner._ticks
            res.steps_ok.append(r.ok)
            if not r.ok:
                reason = f"{step.instruction}: {r.reason}"
                break
        truth = WorldTruth(robot)
        ok, why = truth.check({"in": ["obj", "dest"]})
        holder = truth.holder("obj")
        res.ok = bool(ok and holder is None and all(res.steps_ok) and len(res.steps_ok) == len(plan.steps))
        res.reason = "" if res.ok else (reason or (why if not ok else f"still held by {holder}"))
        res.ticks, res.sim_s = ticks, robot.time - t0
        res.closest_cm = round(100 * closest[0], 1) if np.isfinite(closest[0]) else None
        if video is not None and frames:
            from ...datasets.lerobot_v3 import encode_video

            video.parent.mkdir(parents=True, exist_ok=True)
            encode_video(video, frames, VIDEO_FPS, gop=30)
            res.video = str(video)
        res.wall_s = time.perf_counter() - w0
        return res
    finally:
        robot.disconnect()


def evaluate(controller: str, episodes: int, seed: int = 1000, checkpoint=None, embodiment: str = "panda",
             step_timeout_s: float = 20.0, video_dir: str | Path | None = None, video_episodes: int = 3,
             max_draws: int | None = None, progress: bool = True, policy_kwargs: dict | None = None,
             threads: int = 2, workers: int = 1) -> dict:
    import torch
    from tqdm import tqdm

    if threads:
        torch.set_num_threads(threads)
    max_draws = max_draws or 3 * episodes + 10
    bar = tqdm(total=episodes, desc=f"eval {controller}", unit="ep", disable=not progress, file=sys.stderr)

    def job(i: int, n_before: int) -> tuple:
        vid = None
        if video_dir is not None and n_before < video_episodes:
            vid = Path(video_dir) / f"{controller}-{seed}-{i}.mp4"
        return (controller, n_before, (seed, i), embodiment, checkpoint, step_timeout_s, vid, policy_kwargs)

    # Draws run in order (or `workers` at a time, each in its own process); the first `episodes`
    # draws that are not skipped are the episodes, so the set is the same for any worker count.
    done: dict[int, EpisodeEval] = {}

    def kept() -> list[EpisodeEval]:
        out = []
        for i in sorted(done):
            if not done[i].skipped:
                out.append(done[i])
        return out[:episodes]

    if workers <= 1:
        i = 0
        while len(kept()) < episodes and i < max_draws:
            done[i] = run_episode(*job(i, len(kept())))
            if not done[i].skipped:
                bar.update(1)
                bar.set_postfix(ok=sum(x.ok for x in kept()))
            i += 1
    else:
        import multiprocessing as mp
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_worker_init) as pool:
            running, i = {}, 0
            while True:
                while len(running) < workers and i < max_draws and len(kept()) + len(running) < episodes:
                    running[pool.submit(run_episode, *job(i, len(kept()) + len(running)))] = i
                    i += 1
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for f in finished:
                    done[running.pop(f)] = f.result()
                    if not done[max(done)].skipped:
                        bar.update(1)
                    bar.set_postfix(ok=sum(x.ok for x in kept()))
    bar.close()
    results = kept()
    for n, r in enumerate(results):
        r.index = n
    last = results[-1].seed[1] if len(results) == episodes else max(done, default=-1)
    skipped = sum(1 for i, r in done.items() if r.skipped and i <= last)  # draws passed over on the way
    n = len(results)
    steps_total = sum(len(r.instructions) for r in results)
    summary = {
        "controller": controller, "checkpoint": str(checkpoint) if checkpoint else None, "embodiment": embodiment,
        "seed": seed, "episodes": n, "skipped_draws": skipped,
        "success_rate": (sum(r.ok for r in results) / n) if n else None,
        "step_success_rate": (sum(sum(r.steps_ok) for r in results) / steps_total) if steps_total else None,
        "pick_success_rate": (sum(bool(r.steps_ok and r.steps_ok[0]) for r in results) / n) if n else None,
        "mean_ticks": float(np.mean([r.ticks for r in results])) if n else None,
        "mean_sim_s": float(np.mean([r.sim_s for r in results])) if n else None,
        "mean_wall_s": float(np.mean([r.wall_s for r in results])) if n else None,
        "step_timeout_s": step_timeout_s,
        "results": [asdict(r) for r in results],
    }
    return summary


def _worker_init() -> None:
    import torch

    torch.set_num_threads(1)  # one process per core: batch-1 inference gains nothing from a second thread


def main(args: argparse.Namespace) -> int:
    if args.controller == "tiny_vla":
        from . import SHIPPED_CHECKPOINT

        args.checkpoint = args.checkpoint or str(SHIPPED_CHECKPOINT)
        if not Path(args.checkpoint).exists():
            print(f"eval: no tiny_vla checkpoint at {args.checkpoint}; train one with robot-assistant train "
                  "or pass --checkpoint", file=sys.stderr)
            return 2
    kw = {}
    if args.controller == "tiny_vla":
        if args.n_action_steps:
            kw["n_action_steps"] = args.n_action_steps
        if args.temporal_ensemble is not None:
            kw["temporal_ensemble"] = args.temporal_ensemble
    s = evaluate(args.controller, args.episodes, args.seed, args.checkpoint, args.embodiment, args.step_timeout,
                 args.video, args.video_episodes, progress=not args.quiet, policy_kwargs=kw,
                 workers=getattr(args, "workers", 1))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(s, indent=2) + "\n")
    if not s["episodes"]:
        print("eval: no episode could be run", file=sys.stderr)
        return 1
    print(f"{s['controller']}: {s['success_rate']:.0%} of {s['episodes']} episodes succeeded "
          f"(pick {s['pick_success_rate']:.0%}, steps {s['step_success_rate']:.0%}); mean {s['mean_ticks']:.0f} "
          f"control ticks = {s['mean_sim_s']:.1f} sim s, {s['mean_wall_s']:.1f} wall s per episode "
          f"(seed {s['seed']}, {s['skipped_draws']} draws skipped)")
    for r in s["results"]:
        if not r["ok"]:
            print(f"  episode {r['index']} {tuple(r['seed'])}: {r['reason']} "
                  f"(a hand came within {r.get('closest_cm')} cm)")
    return 0
