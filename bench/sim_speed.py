"""Headless simulation speed of our household table, side by side with panda-gym.

Ours: the `panda` embodiment in a typical tidy-up scene (6 objects), one control
tick = `robot.send_action(robot.hold())` + `robot.advance()`, i.e. the per-tick
work of a controller that holds still (state read, IK, safety clipping) plus
`robot.substeps` physics steps at 240 Hz. Measured twice: without cameras, and
with `get_observation(cameras=True)` every tick (front 256x192 + wrist 96x96,
pybullet's TinyRenderer on the CPU).

panda-gym: `PandaPickAndPlace-v3` with random actions. Its env step is
`n_substeps` (20) physics steps of 1/500 s (0.04 s of sim time), not 240 Hz like
ours, so the fair comparison is the real-time factor (sim seconds per wall
second); physics steps per second are shown too. Its `step()` never renders
(rendering happens only in `env.render()`); both facts are checked at run time
below by counting the pybullet calls of one step. Episode resets (every 50
steps) are left out of its timing.

Medians over `--repeats` runs of `--seconds` each. Writes the table into
docs/benchmarks.md between the sim_speed markers (unless --no-docs).

    python -m bench.sim_speed [--repeats 5] [--seconds 3] [--no-docs]
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- sim_speed:begin -->", "<!-- sim_speed:end -->"
TARGET_RTF = 20.0  # real-time factor we want without rendering

console = Console(width=max(Console().width, 120))


@dataclass
class Run:
    ticks: int
    physics_steps: int
    sim_s: float
    wall_s: float


@dataclass
class Result:
    name: str
    mode: str
    physics_hz: float
    substeps: int
    runs: list[Run]

    def _median(self, f) -> float:
        return statistics.median(f(r) for r in self.runs)

    @property
    def physics_per_s(self) -> float:
        return self._median(lambda r: r.physics_steps / r.wall_s)

    @property
    def ticks_per_s(self) -> float:
        return self._median(lambda r: r.ticks / r.wall_s)

    @property
    def rtf(self) -> float:
        return self._median(lambda r: r.sim_s / r.wall_s)


def tidy_up_scene():
    from embodiments.scene_spec import ObjectSpec, SceneSpec

    return SceneSpec(seed=3, objects=(
        ObjectSpec("red_cube", "cube", "red"),
        ObjectSpec("green_cube", "cube", "green"),
        ObjectSpec("yellow_block", "block", "yellow"),
        ObjectSpec("orange_ball", "ball", "orange"),
        ObjectSpec("duck", "duck"),
        ObjectSpec("blue_bowl", "bowl", "blue"),
    ))


@contextlib.contextmanager
def counting(client, *names: str):
    """Count calls of BulletClient methods (instance attributes shadow its __getattr__)."""
    counts = {n: 0 for n in names}

    def wrap(n):
        fn = getattr(client, n)

        def counted(*a, **kw):
            counts[n] += 1
            return fn(*a, **kw)
        return counted

    for n in names:
        setattr(client, n, wrap(n))
    try:
        yield counts
    finally:
        for n in names:
            delattr(client, n)


@contextlib.contextmanager
def quiet(fds=(1,)):
    """pybullet's C code prints on import (fd 2) and connect (fd 1); keep the table readable."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in fds}
    with open(os.devnull, "w") as null:
        for fd in fds:
            os.dup2(null.fileno(), fd)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, old in saved.items():
                os.dup2(old, fd)
                os.close(old)


RENDER_MS: dict[str, float] = {}


def _ms(fn, n: int = 30) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def render_note() -> str:
    if not RENDER_MS:
        return ""
    return ("One render (median): " + ", ".join(f"{k} {v:.1f} ms" for k, v in RENDER_MS.items())
            + " (most of TinyRenderer's cost does not scale with the pixel count).")


def bench_ours(cameras: bool, repeats: int, seconds: float) -> Result:
    from embodiments.registry import make_embodiment
    from embodiments.sim.world import PHYSICS_HZ

    with quiet():
        robot = make_embodiment("panda", tidy_up_scene())
        robot.connect()
    try:
        def tick():
            if cameras:
                robot.get_observation(cameras=True)
            robot.send_action(robot.hold())
            robot.advance()

        c = robot.world.c
        with counting(c, "stepSimulation", "getCameraImage") as n:
            tick()
        assert n["stepSimulation"] == robot.substeps, n
        assert (n["getCameraImage"] > 0) == cameras, n
        for _ in range(30):  # warm-up
            tick()
        runs = []
        for _ in range(repeats):
            t_sim0, ticks = robot.time, 0
            t0 = time.perf_counter()
            while True:
                tick()
                ticks += 1
                if ticks % 10 == 0 and time.perf_counter() - t0 >= seconds:
                    break
            wall = time.perf_counter() - t0
            runs.append(Run(ticks, ticks * robot.substeps, robot.time - t_sim0, wall))
        if cameras:  # what one render of each camera costs, for the docs
            RENDER_MS["front 256x192"] = _ms(lambda: robot.world.render(robot.front_camera))
            RENDER_MS["wrist 96x96"] = _ms(lambda: robot.render_wrist("arm"))
        mode = "cameras every tick" if cameras else "no rendering"
        return Result("ours (panda, 6 objects)", mode, PHYSICS_HZ, robot.substeps, runs)
    finally:
        robot.disconnect()


def bench_panda_gym(repeats: int, seconds: float, physics_hz: float | None = None, substeps: int | None = None
                    ) -> Result:
    """panda-gym as shipped (1/500 s x 20), or re-timed to `physics_hz` x `substeps` (our 240 Hz x 4)."""
    import gymnasium as gym
    import panda_gym  # noqa: F401  (registers the envs)

    with quiet():
        env = gym.make("PandaPickAndPlace-v3")
    try:
        sim = env.unwrapped.sim
        if physics_hz is not None:
            sim.timestep = 1.0 / physics_hz
            sim.physics_client.setTimeStep(sim.timestep)
        if substeps is not None:
            sim.n_substeps = substeps
        substeps, timestep = sim.n_substeps, sim.timestep
        env.reset(seed=0)
        env.action_space.seed(0)
        rng_actions = [env.action_space.sample() for _ in range(512)]  # sampled outside the timing
        with counting(sim.physics_client, "stepSimulation", "getCameraImage") as n:
            env.step(rng_actions[0])
        assert n["stepSimulation"] == substeps, n
        assert n["getCameraImage"] == 0, n  # step() does not render
        env.reset(seed=0)
        runs = []
        i = 0
        for _ in range(repeats):
            steps, wall = 0, 0.0
            while wall < seconds:
                a = rng_actions[i % len(rng_actions)]
                i += 1
                t0 = time.perf_counter()
                _, _, term, trunc, _ = env.step(a)
                wall += time.perf_counter() - t0
                steps += 1
                if term or trunc:
                    env.reset()  # not timed
            runs.append(Run(steps, steps * substeps, steps * substeps * timestep, wall))
        mode = "random actions, no rendering" + (", as shipped" if physics_hz is None else ", re-timed like ours")
        return Result("panda-gym PandaPickAndPlace-v3", mode, 1.0 / timestep, substeps, runs)
    finally:
        env.close()


def machine() -> dict[str, str]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with quiet(fds=(1, 2)):
        import pybullet  # noqa: F401
    try:
        from importlib.metadata import version
        pb = version("pybullet")
    except Exception:  # pragma: no cover
        pb = "?"
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return {
        "cpus": f"{os.cpu_count()} (nproc {len(os.sched_getaffinity(0))})",
        "cpu": model,
        "python": platform.python_version(),
        "pybullet": pb,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load": f"{load} (1/5/15 min, at the start)",
    }


def ratio(a: float, b: float) -> str:
    x = a / b
    return f"{x:.2f}" if x >= 0.1 else f"{x:.2g}"


def rows(results: list[Result]) -> list[list[str]]:
    ref = results[-1]
    out = []
    for r in results:
        out.append([
            r.name, r.mode, f"{r.physics_hz:.0f} Hz x {r.substeps}",
            f"{r.physics_per_s:,.0f}", f"{r.ticks_per_s:,.0f}", f"{r.rtf:.1f}x",
            ratio(r.rtf, ref.rtf) if r is not ref else "1",
            ratio(r.physics_per_s, ref.physics_per_s) if r is not ref else "1",
        ])
    return out


HEADERS = ["simulation", "mode", "physics", "physics steps/s", "ticks/s", "real-time factor",
           "RTF / panda-gym", "steps/s / panda-gym"]
LEGEND = ("physics = physics rate x physics steps per control tick (env step); ticks/s = control ticks "
          "(ours) or env steps (panda-gym) per wall second; real-time factor = sim seconds per wall "
          "second; the last two columns divide by the last row (panda-gym as shipped); panda-gym "
          "re-timed to 240 Hz x 4 physics steps per env step is the same physics rate and tick as ours. "
          "Cameras = front 256x192 + wrist "
          "96x96, TinyRenderer.")


def verdict(no_cam: Result) -> str:
    ok = no_cam.rtf >= TARGET_RTF
    return (f"Target: >= {TARGET_RTF:.0f}x real time without rendering: "
            f"{'met' if ok else 'NOT met'} ({no_cam.rtf:.1f}x).")


def markdown(results: list[Result], info: dict[str, str], repeats: int, seconds: float) -> str:
    lines = [
        BEGIN,
        "## Simulation speed",
        "",
        "Measured by `python -m bench.sim_speed` (part of `make bench`). Headless pybullet (DIRECT).",
        "Ours: one control tick = `send_action(hold())` + `advance()` (state read, IK, safety",
        "clipping, then the physics substeps); \"cameras\" adds `get_observation(cameras=True)` every",
        "tick. panda-gym steps 20 physics steps of 1/500 s per env step and never renders in `step()`;",
        "its episode resets are not timed. The real-time factor (sim seconds per wall second) is the",
        "fair comparison across physics rates; the re-timed panda-gym row (its timestep set to 1/240 s,",
        f"4 steps per env step) compares at the same 240 Hz. Medians of {repeats} runs of {seconds:g} s.",
        "",
        LEGEND,
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|" + "---|" * len(HEADERS),
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows(results)]
    lines += [
        "",
        verdict(results[0]),
        "",
        render_note(),
        "",
        "Machine: " + "; ".join(f"{k} {v}" for k, v in info.items()) + ".",
        END,
    ]
    return "\n".join(lines)


def write_docs(section: str, path: Path = DOCS) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3.0, help="wall seconds per repeat")
    ap.add_argument("--no-docs", action="store_true", help=f"do not update {DOCS.relative_to(ROOT)}")
    args = ap.parse_args(argv)

    info = machine()
    console.print(f"[bold]Simulation speed[/] ({args.repeats} x {args.seconds:g} s per row; "
                  + ", ".join(f"{k} {v}" for k, v in info.items()) + ")")
    results = []
    for label, fn in [("ours, no rendering", lambda: bench_ours(False, args.repeats, args.seconds)),
                      ("ours, cameras every tick", lambda: bench_ours(True, args.repeats, args.seconds)),
                      ("panda-gym at 240 Hz x 4", lambda: bench_panda_gym(args.repeats, args.seconds, 240.0, 4)),
                      ("panda-gym", lambda: bench_panda_gym(args.repeats, args.seconds))]:
        with console.status(f"measuring {label}..."):
            results.append(fn())

    table = Table(title="Headless simulation speed (medians)")
    for h in HEADERS:
        table.add_column(h, justify="left" if h in ("simulation", "mode") else "right")
    for r in rows(results):
        table.add_row(*r)
    console.print(table)
    console.print(LEGEND, style="dim")
    console.print(verdict(results[0]))
    console.print(render_note())
    if not args.no_docs:
        write_docs(markdown(results, info, args.repeats, args.seconds))
        console.print(f"updated {DOCS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
