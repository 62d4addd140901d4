"""`robot-assistant sim-demo`: a household tidy-up with the scripted skills.

Every cube goes into the bowl of its color; the cubes left over are stacked.
Objects are found by perception from the front and wrist cameras (never from the
simulator's registry); the final predicates are read from ground truth.
"""
from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .types import PerceivedScene, SkillResult, SkillStatus


@dataclass
class DemoReport:
    results: list[SkillResult] = field(default_factory=list)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    video: Path | None = None
    still: Path | None = None
    sim_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(ok for _, ok, _ in self.checks)


def tidy_up(runner, perceive, log=print, retries: int = 1) -> list[SkillResult]:
    """Cubes into the bowls of their color, then stack the rest. Returns every skill result."""
    from .skills import home, pick, place_at, place_in, place_on

    ctx = runner.ctx
    results: list[SkillResult] = []

    def do(gen, name) -> SkillResult:
        r = runner.run(gen, name)
        results.append(r)
        log(f"  {r}")
        return r

    def move(find_obj, find_dest, place) -> bool:
        for _ in range(retries + 1):
            scene = perceive()
            obj, dest = find_obj(scene), find_dest(scene)
            if obj is None or dest is None:  # maybe an arm hides it: all arms home, look again
                do(home(ctx), "home")
                scene = perceive()
                obj, dest = find_obj(scene), find_dest(scene)
            if obj is None or dest is None:
                return False
            arm = ctx.arm_for(obj.position, dest.position)
            if arm is None and len(ctx.robot.arms) > 1:
                # No arm reaches both: one arm puts it down in the middle, the other takes it on.
                spot = free_spot(scene)
                if spot is None or not do(pick(ctx, obj), f"pick({obj.label})").ok:
                    continue
                if not do(place_at(ctx, *spot), f"place_at({spot[0]:.2f}, {spot[1]:.2f})").ok:
                    continue
                obj = find_obj(perceive())
                if obj is None:
                    continue
                arm = ctx.arm_for(obj.position, dest.position)
            if do(pick(ctx, obj, arm), f"pick({obj.label})").ok:
                if do(place(ctx, dest), f"{place.__name__}({dest.label})").ok:
                    return True
                if ctx.holding:  # failed to put it down: open the hand and look again
                    from .skills import set_gripper
                    do(set_gripper(ctx, "open", next(iter(ctx.holding))), "open")
        return False

    scene = perceive()
    bowl_colors = {b.color for b in scene.find("bowl")}
    for cube in sorted(scene.find("cube"), key=lambda o: o.color):
        if cube.color in bowl_colors:
            move(lambda s, c=cube.color: _one(s, "cube", c, not_in="bowl"),
                 lambda s, c=cube.color: _one(s, "bowl", c), place_in)
    spare = sorted(c.color for c in perceive().find("cube") if c.color not in bowl_colors)
    if len(spare) > 1:
        base = spare[0]
        for color in spare[1:]:
            move(lambda s, c=color: _one(s, "cube", c),
                 lambda s, b=base: _top_of_stack(s, b), place_on)
            base = color
    do(home(ctx), "home")
    return results


def _save_png(rgb, path: Path) -> None:
    """Write an RGB array as PNG through PyAV (already a dependency for the MP4)."""
    import av

    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    with av.open(str(path), "w", format="image2") as f:
        stream = f.add_stream("png", rate=1)
        stream.width, stream.height, stream.pix_fmt = frame.width, frame.height, "rgb24"
        for packet in stream.encode(frame):
            f.mux(packet)
        for packet in stream.encode():
            f.mux(packet)


def free_spot(scene: PerceivedScene, clearance: float = 0.07) -> tuple[float, float] | None:
    """A place near the middle of the table (both arms of the bimanual robot reach it) with
    nothing within `clearance` of it, as seen by perception."""
    for x in (-0.05, 0.0, -0.1, 0.05, -0.15):
        for y in (0.0, 0.04, -0.04, 0.08, -0.08):
            if all(math.hypot(o.position[0] - x, o.position[1] - y) > clearance + float(max(o.size[:2])) / 2
                   for o in scene.objects):
                return (x, y)
    return None


def _one(scene: PerceivedScene, kind: str, color: str, not_in: str | None = None):
    cands = scene.find(kind, color)
    return cands[0] if cands else None


def _top_of_stack(scene: PerceivedScene, color: str):
    cands = scene.find("cube", color)
    return max(cands, key=lambda o: o.top_z) if cands else None


def run_sim_demo(embodiment: str = "panda", seed: int = 0, out: str | Path = "out", gui: bool = False,
                 oracle: bool = False, log=print) -> DemoReport:
    from .perception import Perception
    from .predicates import WorldTruth
    from .registry import make_embodiment
    from .sim.oracle import oracle_scene
    from .sim.scenarios import tidy_scene
    from .sim.video import VideoWriter
    from .sim.world import DEMO_CAMERA, CameraSpec
    from .skills import SkillRunner

    scene_spec = tidy_scene(seed)
    robot = make_embodiment(embodiment, scene_spec, gui=gui)
    robot.connect()
    perception = Perception()
    ignore = robot.robot_bodies | set(robot.world.fixtures)

    def perceive() -> PerceivedScene:
        if oracle:
            return oracle_scene(robot)
        return perception.perceive_observation(robot.get_observation(cameras=True), ignore)

    out = Path(out)
    # The video and the still are taken by a three-quarter view camera (nicer to watch than
    # the top-down front camera, which is what the robot itself perceives with).
    video_cam = CameraSpec(**{**DEMO_CAMERA.__dict__, "width": 400, "height": 300})
    report = DemoReport(video=out / "sim-demo.mp4")
    with VideoWriter(report.video, fps=15) as video:
        every = max(1, robot.control_hz // 15)
        ticks = [0]

        def record(_runner) -> None:
            ticks[0] += 1
            if ticks[0] % every == 0:
                video.add(robot.world.render(video_cam).rgb)

        runner = SkillRunner(robot, perceive)
        runner.on_tick = record
        log(f"sim-demo: {embodiment}, seed {seed}: {', '.join(o.id for o in scene_spec.objects)}")
        report.results = tidy_up(runner, perceive, log=log)
    truth = WorldTruth(robot)
    bowls = {o.color: o.id for o in scene_spec.objects if o.kind == "bowl"}
    cubes = [o for o in scene_spec.objects if o.kind == "cube"]
    spare = sorted((c for c in cubes if c.color not in bowls), key=lambda o: o.color)
    for c in cubes:
        if c.color in bowls:
            check = {"in": [c.id, bowls[c.color]]}
            ok, why = truth.check(check)
            report.checks.append((f"in: [{c.id}, {bowls[c.color]}]", ok, why))
    for lower, upper in zip(spare, spare[1:]):
        ok, why = truth.check({"on": [upper.id, lower.id]})
        report.checks.append((f"on: [{upper.id}, {lower.id}]", ok, why))
    ok, why = truth.check({"gripper_empty": True})
    report.checks.append(("gripper_empty: true", ok, why))
    report.sim_seconds = robot.time
    # A still of the finished table (the README's picture comes from here).
    still = DEMO_CAMERA
    report.still = out / "sim-demo.png"
    _save_png(robot.world.render(still).rgb, report.still)
    robot.disconnect()
    return report


def main(args: argparse.Namespace) -> int:
    rep = run_sim_demo(args.embodiment, args.seed, args.out, args.gui, args.oracle)
    print("final predicates:")
    for name, ok, why in rep.checks:
        print(f"  {'PASS' if ok else 'FAIL'} {name}{'' if ok else ': ' + why}")
    n_ok = sum(r.status is SkillStatus.SUCCEEDED for r in rep.results)
    print(f"{n_ok}/{len(rep.results)} skills succeeded, {rep.sim_seconds:.1f} s of sim time; "
          f"video: {rep.video}, picture: {rep.still}")
    sys.stdout.flush()
    return 0 if rep.ok else 1
