"""Offline training of the kind/colour classifiers from rendered scenes (simulator needed).

Run `python -m embodiments.perception.train [N_SCENES]` to regenerate `model.json`.
The labels come from the simulator (that is what training data is); the model
only ever sees features computed from pixels and depth. Scenes are varied on
purpose beyond what `evaluate` draws: objects stacked or put into containers,
lifted as if held, the arm in random poses occluding things, and the camera
moved a few centimetres, so the model does not overfit one view.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

from ..types import COLORS, CONTAINER_KINDS, OBJECT_KINDS, PICKABLE_KINDS
from .classifier import MODEL_PATH, fit_gaussian
from .features import COLOR_FEATURES, KIND_FEATURES, color_features, kind_features
from .geometry import camera_model
from .segments import measure, split_segments

# Smallest scale a feature may get: its measurement noise on a real frame. Rendered
# training crops are cleaner than that (a cube's side varies by 1 mm there), and a
# class scale that tight turns 4 mm of error on a small far object into a wrong kind.
KIND_FLOOR = {"length": 0.004, "width": 0.004, "height": 0.004, "aspect": 0.05, "fill": 0.05,
              "centre_rel": 0.05, "top_frac": 0.05, "mean_rel": 0.05, "low_frac": 0.05}
COLOR_FLOOR = 0.01


def _jittered_camera(rng: np.random.Generator, base):
    from ..sim.world import CameraSpec

    eye = np.array(base.eye) + rng.uniform(-0.05, 0.05, 3)
    target = np.array(base.target) + rng.uniform(-0.05, 0.05, 3) * np.array([1, 1, 0])
    return CameraSpec(base.name, tuple(eye), tuple(target), base.up, base.width, base.height,
                      float(base.fov + rng.uniform(-4, 4)), base.near, base.far)


def _stack_or_contain(rng: np.random.Generator, world) -> None:
    """Put a pickable object into a container or onto a cube/block, then let physics settle."""
    c = world.c
    ids = list(world.ids)
    movers = [i for i in ids if world.kinds[i] in PICKABLE_KINDS]
    bases = [i for i in ids if world.kinds[i] in CONTAINER_KINDS + ("cube", "block")]
    if not movers or not bases:
        return
    m = str(rng.choice(movers))
    b = str(rng.choice([x for x in bases if x != m] or [m]))
    if b == m:
        return
    lo, hi = world.aabb(b)
    mlo, mhi = world.aabb(m)
    bpos = world.position(b)
    off = rng.uniform(-0.01, 0.01, 2)
    top = hi[2] if world.kinds[b] in ("cube", "block") else lo[2] + 0.01
    z = top + (world.position(m)[2] - mlo[2]) + 0.004
    _, quat = c.getBasePositionAndOrientation(world.body(m))
    c.resetBasePositionAndOrientation(world.body(m), [bpos[0] + off[0], bpos[1] + off[1], z], quat)
    world.settle(0.6)


def _random_arm_pose(rng: np.random.Generator, robot) -> None:
    from ..sim.arms import down_quat

    for name in robot.arms:
        arm = robot.arm(name)
        target = np.array([rng.uniform(-0.2, 0.25), rng.uniform(-0.25, 0.25), rng.uniform(0.06, 0.35)])
        q = arm.ik(target, down_quat(robot.world.c, float(rng.uniform(-math.pi, math.pi))))
        for j, v in zip(arm.spec.arm_joints, q):
            robot.world.c.resetJointState(arm.body, j, float(v))


def collect(n_scenes: int, seed0: int = 50_000) -> list[dict]:
    """Feature rows with labels: {kind, color, kf: [...], cf: [...], n, scene}."""
    from ..registry import make_embodiment
    from .evaluate import random_scene

    rng = np.random.default_rng(seed0)
    rows: list[dict] = []
    for k in range(n_scenes):
        spec = random_scene(rng, seed0 + k)
        emb = str(rng.choice(["panda", "panda", "kuka", "bimanual"]))
        robot = make_embodiment(emb, spec)
        robot.connect()
        try:
            w = robot.world
            for _ in range(int(rng.integers(0, 3))):
                _stack_or_contain(rng, w)
            if rng.random() < 0.6:
                _random_arm_pose(rng, robot)
            lifted = None
            if rng.random() < 0.15:
                movers = [i for i in w.ids if w.kinds[i] in PICKABLE_KINDS]
                if movers:
                    lifted = str(rng.choice(movers))
                    p = w.position(lifted)
                    _, q = w.c.getBasePositionAndOrientation(w.body(lifted))
                    w.c.resetBasePositionAndOrientation(w.body(lifted), [p[0], p[1], p[2] + rng.uniform(0.05, 0.25)], q)
            cam = _jittered_camera(rng, robot.front_camera) if rng.random() < 0.7 else robot.front_camera
            frame = w.render(cam)
            ignore = robot.robot_bodies | set(w.fixtures)
            body_to_id = {b: i for i, b in w.ids.items()}
            model = camera_model(frame)
            for seg in split_segments(frame, model, ignore):
                oid = body_to_id.get(seg.sid)
                if oid is None or seg.top_z > 0.3 and oid is None:
                    continue
                measure(seg, frame, model)
                kind = w.kinds[oid]
                color = w.scene.object(oid).resolved_color
                rows.append({"kind": kind, "color": color, "kf": kind_features(seg).tolist(),
                             "cf": color_features(seg).tolist(), "n": seg.n, "scene": seed0 + k,
                             "lifted": oid == lifted})
        finally:
            robot.disconnect()
    return rows


def train(rows: list[dict]) -> dict:
    """Fit the per-class models and return the JSON-able model."""
    kf = np.array([r["kf"] for r in rows])
    cf = np.array([r["cf"] for r in rows])
    kinds = np.array([r["kind"] for r in rows])
    colors = np.array([r["color"] for r in rows])
    return {
        "kind": {"features": list(KIND_FEATURES),
                 "classes": fit_gaussian(kf, kinds, list(OBJECT_KINDS), [KIND_FLOOR[f] for f in KIND_FEATURES])},
        "color": {"features": list(COLOR_FEATURES),
                  "classes": fit_gaussian(cf, colors, list(COLORS), [COLOR_FLOOR] * len(COLOR_FEATURES))},
        "trained_on": {"scenes": len({r["scene"] for r in rows}), "segments": len(rows)},
    }


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv else 300
    rows = collect(n)
    model = train(rows)
    Path(MODEL_PATH).write_text(json.dumps(model, indent=1) + "\n")
    print(f"wrote {MODEL_PATH} from {len(rows)} segments")


if __name__ == "__main__":
    main(sys.argv[1:])
