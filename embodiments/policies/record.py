"""`robot-assistant record`: demonstrations of the scripted expert as a LeRobotDataset v3.0.

    robot-assistant record --embodiment panda --episodes 50 --out data/demos [--seed 0] [--every 3]

Each episode is a fresh random table (2-4 objects of random kinds and colours, every label
unique: the thing to move, a container, 0-2 distractors; sometimes a person at the table,
which lowers the speed limit) and one pick-and-place goal, "put the <colour> <kind> in the
<colour> bowl" (sometimes a plate or a tray). The planner turns the goal into its steps on
what perception sees ("pick up the red cube", "put the red cube in the blue bowl"), and the
`ScriptedPolicy` runs each step through a `PolicyRunner` exactly as a learned policy would
be run. Each recorded frame's task is the canonical instruction of the step under way.

Frames are taken every `--every` control ticks (60 Hz control: every 3rd tick = 20 fps,
`info.json`'s fps): the observation the policy acted on (per arm: hand position, yaw,
finger opening, joint positions), the action (per arm `[dx, dy, dz, dyaw, gripper]`, see
`policies/base.py`) as the robot took it after its safety limits (`send_action`'s answer, as
LeRobot records it), and two small images rendered for the dataset, the
front camera (128x96) and the wrist camera (96x96), with the episode's camera and lighting
jitter (a camera pose a little off, light from another side; perception, which the expert
uses, keeps the calibrated cameras). Only episodes that the ground truth calls a success
(`WorldTruth`: the object in the container, no hand holding it) are kept; each is saved
crash-safely as soon as it ends, so an interrupted recording keeps every finished episode,
and running the command again on the same folder appends.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..types import ArmState, Observation
from .base import ACTION_NAMES, from_commands

PICKABLE = ("cube", "block", "lego", "duck", "ball")
DESTS = (("bowl", 0.7), ("plate", 0.15), ("tray", 0.15))
DISTRACTORS = ("cube", "block", "lego", "duck", "ball", "teddy", "bowl", "mug")
COLORS = ("red", "green", "blue", "yellow", "orange", "purple", "white", "black", "pink", "brown")
FRONT_SIZE = (128, 96)  # width, height
WRIST_SIZE = (96, 96)
STATE_PER_ARM = ("ee_x", "ee_y", "ee_z", "yaw", "gripper")
ACTION_DOC = ("per arm [dx, dy, dz, dyaw, gripper]: the hand's target for the control tick relative to the measured "
              "hand (m, rad) and the finger opening (m), as sent after the robot's safety limits")


@dataclass
class Jitter:
    """One episode's camera and lighting perturbation (all zero: the calibrated cameras)."""

    eye: tuple[float, float, float] = (0.0, 0.0, 0.0)
    target: tuple[float, float, float] = (0.0, 0.0, 0.0)
    fov: float = 0.0
    light_dir: tuple[float, float, float] | None = None
    light_color: tuple[float, float, float] = (1.0, 1.0, 1.0)
    ambient: float = 0.6
    diffuse: float = 0.35
    specular: float = 0.05

    @staticmethod
    def draw(rng: np.random.Generator) -> Jitter:
        az, el = rng.uniform(-math.pi, math.pi), rng.uniform(0.6, 1.4)
        return Jitter(eye=tuple(rng.uniform(-0.02, 0.02, 3)), target=tuple(rng.uniform(-0.015, 0.015, 3)),
                      fov=float(rng.uniform(-2.5, 2.5)),
                      light_dir=(math.cos(az) * math.cos(el), math.sin(az) * math.cos(el), math.sin(el)),
                      light_color=tuple(rng.uniform(0.85, 1.0, 3)), ambient=float(rng.uniform(0.45, 0.75)),
                      diffuse=float(rng.uniform(0.25, 0.5)), specular=float(rng.uniform(0.0, 0.1)))

    def as_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


class DatasetCameras:
    """Renders the dataset's small images (front + one wrist camera per arm) with a jitter."""

    def __init__(self, robot, jitter: Jitter | None) -> None:
        self.robot, self.jitter = robot, jitter or Jitter()

    @property
    def c(self):
        return self.robot.world.c

    def keys(self) -> dict[str, str]:
        """dataset feature -> camera ("front", or the wrist of an arm)."""
        out = {"observation.images.front": "front"}
        if len(self.robot.arms) == 1:
            out["observation.images.wrist"] = self.robot.arms[0]
        else:
            out.update({f"observation.images.wrist_{a}": a for a in self.robot.arms})
        return out

    def render(self) -> dict[str, np.ndarray]:
        return {k: (self._front() if cam == "front" else self._wrist(cam)) for k, cam in self.keys().items()}

    def _image(self, w: int, h: int, view, fov: float, near: float, far: float) -> np.ndarray:
        j = self.jitter
        proj = self.c.computeProjectionMatrixFOV(fov, w / h, near, far)
        kw = {}
        if j.light_dir is not None:
            kw = {"lightDirection": list(j.light_dir), "lightColor": list(j.light_color),
                  "lightAmbientCoeff": j.ambient, "lightDiffuseCoeff": j.diffuse, "lightSpecularCoeff": j.specular}
        _, _, rgb, _, _ = self.c.getCameraImage(w, h, view, proj, renderer=self.c.ER_TINY_RENDERER,
                                                flags=self.c.ER_NO_SEGMENTATION_MASK, **kw)
        return np.asarray(rgb, dtype=np.uint8).reshape(h, w, 4)[:, :, :3].copy()

    def _front(self) -> np.ndarray:
        cam, j = self.robot.front_camera, self.jitter
        eye = np.add(cam.eye, j.eye)
        target = np.add(cam.target, j.target)
        view = self.c.computeViewMatrix(eye.tolist(), target.tolist(), list(cam.up))
        return self._image(*FRONT_SIZE, view, cam.fov + j.fov, cam.near, cam.far)

    def _wrist(self, arm: str) -> np.ndarray:
        # The robot's wrist camera (SimRobot.render_wrist): on the hand, beside the fingers.
        pos, quat = self.robot.arm(arm).ee_pose()
        rot = np.array(self.c.getMatrixFromQuaternion(quat)).reshape(3, 3)
        z, x = rot[:, 2], rot[:, 0]
        eye = pos - 0.09 * z + 0.05 * x
        view = self.c.computeViewMatrix(eye.tolist(), (pos + 0.3 * z).tolist(), x.tolist())
        return self._image(*WRIST_SIZE, view, 70.0, 0.02, 3.0)


def state_names(arms: tuple[str, ...], joints: dict[str, int]) -> list[str]:
    return [f"{a}.{n}" for a in arms for n in (*STATE_PER_ARM, *(f"q{i}" for i in range(joints[a])))]


def state_vector(obs: Observation, arms: tuple[str, ...]) -> np.ndarray:
    from .base import yaw_of

    parts = []
    for a in arms:
        s: ArmState = obs.arms[a]
        parts += [np.asarray(s.ee_pos, dtype=np.float64), [yaw_of(s.ee_quat), s.gripper_width],
                  np.asarray(s.q, dtype=np.float64)]
    return np.concatenate([np.asarray(p, dtype=np.float64).reshape(-1) for p in parts]).astype(np.float32)


def features_for(robot) -> dict[str, dict]:
    """The dataset's features for a connected robot."""
    obs = robot.get_observation(cameras=False)
    joints = {a: len(obs.arms[a].q) for a in robot.arms}
    names = state_names(tuple(robot.arms), joints)
    feats = {
        "observation.state": {"dtype": "float32", "shape": [len(names)], "names": names},
        "action": {"dtype": "float32", "shape": [len(ACTION_NAMES) * len(robot.arms)],
                   "names": [f"{a}.{n}" for a in robot.arms for n in ACTION_NAMES]},
    }
    for key, cam in DatasetCameras(robot, None).keys().items():
        w, h = FRONT_SIZE if cam == "front" else WRIST_SIZE
        feats[key] = {"dtype": "video", "shape": [h, w, 3], "names": ["height", "width", "channels"]}
    return feats


# -- scenes -------------------------------------------------------------------------------------
def draw_scene(rng: np.random.Generator, seed: int):
    """(SceneSpec, object kind/colour, destination kind/colour): 2-4 objects, every label unique."""
    from ..scene_spec import SceneSpec
    from ..sim.objects import place_objects

    used: set[tuple[str, str]] = set()
    objs = []

    def add(oid: str, kind: str) -> str:
        while True:
            color = str(rng.choice(COLORS))
            if (kind, color) not in used:
                used.add((kind, color))
                objs.append({"id": oid, "kind": kind, "color": color})
                return color

    kind = str(rng.choice(PICKABLE))
    dest = str(rng.choice([d for d, _ in DESTS], p=[p for _, p in DESTS]))
    color = add("obj", kind)
    dest_color = add("dest", dest)
    for i in range(int(rng.integers(0, 3))):
        add(f"distractor{i}", str(rng.choice(DISTRACTORS)))
    spec = SceneSpec.from_dict({"seed": seed, "objects": objs, "person": bool(rng.random() < 0.2)})
    place_objects(spec.objects, spec.seed)  # raises when it does not fit: the caller draws again
    return spec, (kind, color), (dest, dest_color)


# -- one episode --------------------------------------------------------------------------------
@dataclass
class EpisodeResult:
    ok: bool
    reason: str = ""
    frames: int = 0
    sim_seconds: float = 0.0
    instructions: tuple[str, ...] = ()
    skipped: bool = False  # the scene was no test of the expert (out of reach, not seen): drawn again
    fumbled: bool = False  # recorded from the recovery after a deliberately missed grasp (`fumble.py`)


def draw_fitting_scene(rng: np.random.Generator, tries: int = 20):
    """`draw_scene` until one fits on the table (a few random layouts do not); None after `tries`."""
    for _ in range(tries):
        try:
            return draw_scene(rng, int(rng.integers(0, 2**31 - 1)))
        except ValueError:
            continue
    return None


def record_episode(writer, embodiment: str, attempt_seed: tuple[int, int], every: int, jitter: bool,
                   step_timeout_s: float = 25.0, noise: float = 0.0, fumble: float = 0.0) -> EpisodeResult:
    """Run one random pick-and-place with the expert, buffering frames into `writer`; saves the
    episode if the ground truth calls it a success, else discards it. With probability `fumble`
    the first grasp misses on purpose and the recording starts at the recovery (`fumble.py`)."""
    from planner.intent import Goal, Ref
    from planner.plan import Planner

    from ..perception import Perception
    from ..predicates import WorldTruth
    from ..registry import make_embodiment
    from ..sim.quiet import c_quiet
    from .dart import NoisyExpert
    from .fumble import Fumble
    from .runner import PolicyRunner
    from .scripted import ScriptedPolicy

    rng = np.random.default_rng(list(attempt_seed))  # also draws the camera/light jitter below
    drawn = draw_fitting_scene(rng)
    if drawn is None:
        return EpisodeResult(False, "no scene fits on the table", skipped=True)
    spec, (kind, color), (dest, dest_color) = drawn
    with c_quiet():
        robot = make_embodiment(embodiment, spec)
        robot.connect()
    writer.discard_episode()
    try:
        arms = tuple(robot.arms)
        # Where the goal applies at all: an arm reaches the object and the container (2 cm to spare).
        need = [robot.world.position("obj"), robot.world.position("dest")]
        ring = [(0, 0), (0.02, 0), (-0.02, 0), (0, 0.02), (0, -0.02)]
        if not any(all(robot.reach(a, np.array([p[0] + dx, p[1] + dy, 0.0])) > 0 for p in need for dx, dy in ring)
                   for a in arms):
            return EpisodeResult(False, "out of reach", skipped=True)
        perception = Perception()
        ignore = robot.robot_bodies | set(robot.world.fixtures)

        def perceive():
            return perception.perceive_observation(robot.get_observation(cameras=True), ignore)

        planner = Planner(arms, lambda arm, xy: robot.reach(arm, np.array([xy[0], xy[1], 0.0])))
        goal = Goal("put_in", objects=Ref(kind=kind, color=color), target=Ref(kind=dest, color=dest_color))
        try:
            plan = planner.plan(goal, perceive())
        except Exception as e:  # perception missed or misnamed something, or the goal is impossible
            return EpisodeResult(False, f"not planned ({type(e).__name__}: {e})", skipped=True)
        cams = DatasetCameras(robot, Jitter.draw(rng) if jitter else None)
        # Its own generator, so that episodes without it draw exactly what they drew before.
        f_rng = np.random.default_rng([*attempt_seed, 0xF0])
        fb = (Fumble(f_rng, perceive) if fumble > 0 and f_rng.random() < fumble
              and plan.steps[0].instruction.startswith("pick") else None)
        policy = ScriptedPolicy(robot, fb.perceive if fb is not None else perceive)
        if noise > 0:
            lim = robot.limits
            lead = lim.max_lead + lim.ee_speed(robot.person_present) / robot.control_hz
            policy = NoisyExpert(policy, noise, rng, lead)
        runner = PolicyRunner(robot, policy)
        tick = [0]

        def on_action(obs: Observation, action: np.ndarray, sent) -> None:
            if fb is not None and not fb.gate([float(from_commands(sent, obs, arms)[5 * i + 4])
                                               for i in range(len(arms))]):
                return  # the deliberate miss itself is not recorded (nor counted in `every`)
            if tick[0] % every == 0:
                # The action as the robot took it, after its safety limits (as LeRobot records the
                # action `send_action` returns): the skills' targets run up to ~10 cm ahead of the
                # hand in fast moves, and the robot holds a target within 4-5 cm of it.
                taken = from_commands(sent, obs, arms)
                if noise > 0:  # the expert's clean action (the gripper as it was sent)
                    taken = np.concatenate([np.r_[policy.clean[5 * i:5 * i + 4], taken[5 * i + 4]]
                                            for i in range(len(arms))]).astype(np.float32)
                frame = {"observation.state": state_vector(obs, arms), "action": taken}
                frame.update(cams.render())
                writer.add_frame(frame, runner.instruction)
            tick[0] += 1

        runner.on_action = on_action
        t0 = robot.time
        instructions = tuple(s.instruction for s in plan.steps)
        if fb is not None:
            r = runner.run(plan.steps[0].instruction, timeout_s=step_timeout_s)
            if r.ok or not Fumble.missed(r.reason):
                writer.discard_episode()
                why = r.reason or "it caught the object"
                return EpisodeResult(False, f"fumble: the shifted grasp did not miss ({why})", skipped=True)
            fb.aiming_off = False
        for step in plan.steps:
            r = runner.run(step.instruction, timeout_s=step_timeout_s)
            if not r.ok:
                writer.discard_episode()
                return EpisodeResult(False, f"{step.instruction}: {r.reason}", 0, robot.time - t0, instructions)
        truth = WorldTruth(robot)
        ok, why = truth.check({"in": ["obj", "dest"]})
        holder = truth.holder("obj")
        if not ok or holder is not None:
            writer.discard_episode()
            return EpisodeResult(False, why if not ok else f"still held by {holder}", 0, robot.time - t0,
                                 instructions)
        frames = writer.buffered_frames
        writer.save_episode()
        return EpisodeResult(True, "", frames, robot.time - t0, instructions, fumbled=fb is not None)
    finally:
        robot.disconnect()


# -- the command --------------------------------------------------------------------------------
def _recording_meta(out: Path) -> dict:
    p = out / "meta" / "recording.json"
    return json.loads(p.read_text()) if p.exists() else {}


def _write_recording_meta(out: Path, meta: dict) -> None:
    p = out / "meta" / "recording.json"
    tmp = p.with_name(f".{p.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(meta, indent=2) + "\n")
    os.replace(tmp, p)


def record(out: str | Path, episodes: int, embodiment: str = "panda", seed: int = 0, every: int = 3,
           jitter: bool = True, vcodec: str = "libx264", max_attempts: int | None = None,
           progress: bool = True, noise: float = 0.0, fumble: float = 0.0) -> dict:
    """Record `episodes` successful episodes into `out` (appending to a dataset already there)."""
    from tqdm import tqdm

    from ..datasets import LeRobotV3Writer
    from ..registry import make_embodiment
    from ..scene_spec import SceneSpec
    from ..sim.quiet import c_quiet

    out = Path(out)
    with c_quiet():
        probe = make_embodiment(embodiment, SceneSpec())
        probe.connect()
    try:
        control_hz = probe.control_hz
        if control_hz % every:
            raise ValueError(f"--every {every} must divide the {control_hz} Hz control rate")
        feats = features_for(probe)
    finally:
        probe.disconnect()
    fps = control_hz // every
    writer = LeRobotV3Writer(out, fps, feats, robot_type=embodiment, vcodec=vcodec)
    meta = _recording_meta(out)
    if meta and (meta.get("embodiment") != embodiment or meta.get("every") != every):
        raise ValueError(f"{out} was recorded with {meta.get('embodiment')} every {meta.get('every')} ticks")
    meta = {"embodiment": embodiment, "control_hz": control_hz, "every": every, "fps": fps, "jitter": jitter,
            "expert": "scripted", "action": ACTION_DOC, "noise": noise or meta.get("noise", 0.0),
            "fumble": fumble or meta.get("fumble", 0.0),
            "episodes": meta.get("episodes", [])}
    start = max((e["attempt"] + 1 for e in meta["episodes"] if e["seed"] == seed), default=0)
    max_attempts = max_attempts or max(10, 3 * episodes)
    kept, fails, skips = 0, Counter(), Counter()
    t0 = time.perf_counter()
    bar = tqdm(total=episodes, desc="episodes", unit="ep", disable=not progress, file=sys.stderr)
    attempt = start
    sim_s = []
    while kept < episodes and attempt - start < max_attempts:
        r = record_episode(writer, embodiment, (seed, attempt), every, jitter, noise=noise, fumble=fumble)
        if r.ok:
            kept += 1
            sim_s.append(r.sim_seconds)
            meta["episodes"].append({"episode_index": writer.num_episodes - 1, "seed": seed, "attempt": attempt,
                                     "instructions": list(r.instructions), "frames": r.frames,
                                     "sim_seconds": round(r.sim_seconds, 2), "noise": noise,
                                     "fumbled": r.fumbled})
            _write_recording_meta(out, meta)
            bar.update(1)
        elif r.skipped:
            skips[r.reason.split(" (")[0] if not r.reason.startswith("fumble") else r.reason] += 1
        else:
            fails[r.reason] += 1
        bar.set_postfix(kept=kept, failed=sum(fails.values()), skipped=sum(skips.values()))
        attempt += 1
    bar.close()
    wall = time.perf_counter() - t0
    summary = {"out": str(out), "kept": kept, "asked": episodes, "attempts": attempt - start,
               "failed": dict(fails), "skipped": dict(skips), "episodes_total": writer.num_episodes,
               "frames_total": writer.num_frames, "fps": fps, "wall_s": round(wall, 1),
               "wall_s_per_kept": round(wall / kept, 2) if kept else None,
               "sim_s_per_kept": round(float(np.mean(sim_s)), 2) if sim_s else None}
    return summary


def main(args: argparse.Namespace) -> int:
    from ..datasets import DatasetError

    try:
        summary = record(args.out, args.episodes, args.embodiment, args.seed, args.every, not args.no_jitter,
                         args.vcodec, progress=not args.quiet, noise=getattr(args, "noise", 0.0),
                         fumble=getattr(args, "fumble", 0.0))
    except (DatasetError, ValueError) as e:
        print(f"record: {e}", file=sys.stderr)
        return 2
    print(f"kept {summary['kept']}/{summary['asked']} episodes in {summary['attempts']} attempts "
          f"({summary['wall_s']} s, {summary['wall_s_per_kept']} s per kept episode, "
          f"{summary['sim_s_per_kept']} sim s each); dataset {summary['out']}: {summary['episodes_total']} episodes, "
          f"{summary['frames_total']} frames at {summary['fps']} fps")
    for reason, n in sorted(summary["failed"].items(), key=lambda kv: -kv[1]):
        print(f"  failed x{n}: {reason}")
    for reason, n in sorted(summary["skipped"].items(), key=lambda kv: -kv[1]):
        print(f"  scene skipped x{n}: {reason}")
    return 0 if summary["kept"] == summary["asked"] else 1
