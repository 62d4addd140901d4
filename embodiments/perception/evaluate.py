"""Scoring perception against the simulator's ground truth (evaluation only).

This module reads ground truth (world ids, kinds, scene colours, positions):
that is what evaluation is for. It is never imported by `Perception` itself,
and the simulator is imported lazily, so `import embodiments.perception` stays
pybullet-free.

`evaluate(n)` builds n random household scenes (3-8 objects of random kinds and
colours, a person or not), perceives each from the front camera, matches
detections to objects and reports kind/colour accuracy, xy error, recall,
false positives and person detection.
"""
from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from ..scene_spec import SceneSpec
from ..types import COLORS, NATURAL_COLORS, OBJECT_KINDS, PerceivedScene

MATCH_RADIUS = 0.06  # a detection farther than this from every object is a false positive
MIN_VISIBLE = 15  # objects with fewer visible pixels are not expected to be detected
MESH_KINDS = ("duck", "teddy")  # irregular: their footprint centre is not the base position


def random_scene(rng: np.random.Generator, seed: int, n_min: int = 3, n_max: int = 8,
                 person: bool | None = None) -> SceneSpec:
    """A random scene that the placer can lay out (modest totals of big containers)."""
    from ..sim.objects import place_objects

    for attempt in range(50):
        n = int(rng.integers(n_min, n_max + 1))
        kinds: list[str] = []
        while len(kinds) < n:
            k = str(rng.choice(OBJECT_KINDS))
            if k == "tray" and "tray" in kinds:
                continue
            if k in ("plate", "bowl") and sum(x in ("plate", "bowl") for x in kinds) >= 2:
                continue
            kinds.append(k)
        if "tray" in kinds and sum(x in ("plate", "bowl") for x in kinds) > 1:
            continue
        objs: list[dict[str, Any]] = []
        for i, k in enumerate(kinds):
            o: dict[str, Any] = {"id": f"o{i}_{k}", "kind": k}
            if k not in NATURAL_COLORS or rng.random() < 0.6:
                o["color"] = str(rng.choice(list(COLORS)))
            objs.append(o)
        has_person = bool(rng.random() < 0.5) if person is None else person
        spec = SceneSpec.from_dict({"seed": seed + 1000 * attempt, "objects": objs, "person": has_person})
        try:
            place_objects(spec.objects, spec.seed)
        except ValueError:
            continue
        return spec
    raise RuntimeError(f"could not lay out a random scene for seed {seed}")


def true_centre(world, oid: str) -> np.ndarray:
    """Ground-truth footprint centre (x, y, z) of an object.

    Primitives and vessels: the body position (a mug's centre is its cylinder's axis,
    not the middle of cylinder + handle). Duck and teddy: the centroid of their
    silhouette seen straight down through a narrow camera, because their base position
    is their centre of mass, which can be ~1 cm from the middle of what one grasps.
    """
    pos = world.position(oid)
    if world.kinds[oid] not in MESH_KINDS:
        return pos
    from ..sim.world import CameraSpec

    eye = (float(pos[0]) - 1e-3, float(pos[1]), 1.0)
    cam = CameraSpec("gt", eye=eye, target=(float(pos[0]), float(pos[1]), 0.0), up=(1.0, 0.0, 0.0),
                     width=96, height=96, fov=8.0, near=0.5, far=1.5)
    f = world.render(cam)
    rows, cols = np.nonzero(f.segmentation == world.body(oid))
    if len(rows) < 5:
        return pos
    from .geometry import camera_model, deproject

    pts = deproject(camera_model(f), rows, cols, f.depth[rows, cols].astype(np.float64))
    return np.array([pts[:, 0].mean(), pts[:, 1].mean(), pos[2]])


def ground_truth(robot) -> list[dict[str, Any]]:
    """Per object: id, kind, colour, footprint centre and visible pixel count in the front camera."""
    w = robot.world
    frame = w.render(robot.front_camera)
    out = []
    for oid, body in w.ids.items():
        spec = next((o for o in w.scene.objects if o.id == oid), None)
        color = spec.resolved_color if spec else "white"
        out.append({"id": oid, "kind": w.kinds[oid], "color": color, "body": body,
                    "centre": true_centre(w, oid), "visible": int((frame.segmentation == body).sum())})
    return out


def match(scene: PerceivedScene, truth: list[dict[str, Any]], radius: float = MATCH_RADIUS):
    """Greedy nearest-first matching of detections to objects in the table plane."""
    pairs = []
    for i, d in enumerate(scene.objects):
        for j, t in enumerate(truth):
            dist = float(np.hypot(*(d.position[:2] - t["centre"][:2])))
            if dist <= radius:
                pairs.append((dist, i, j))
    pairs.sort()
    used_d: set[int] = set()
    used_t: set[int] = set()
    out = []
    for dist, i, j in pairs:
        if i in used_d or j in used_t:
            continue
        used_d.add(i)
        used_t.add(j)
        out.append((i, j, dist))
    return out


def evaluate(n_scenes: int, seed0: int = 1000, embodiment: str = "panda", verbose: bool = False) -> dict:
    """Perceive `n_scenes` random scenes and score the result against ground truth."""
    from ..registry import make_embodiment
    from .perception import Perception

    perception = Perception()
    rng = np.random.default_rng(seed0)
    kind_ok = color_ok = expected = found = fps = 0
    person_ok = 0
    errors: list[float] = []
    times: list[float] = []
    confusions: dict[str, int] = {}
    for k in range(n_scenes):
        spec = random_scene(rng, seed0 + k)
        robot = make_embodiment(embodiment, spec)
        robot.connect()
        try:
            ignore = robot.robot_bodies | set(robot.world.fixtures)
            frame = robot.get_observation().cameras["front"]
            t0 = time.perf_counter()
            scene = perception.perceive([frame], ignore, robot.time)
            times.append(time.perf_counter() - t0)
            truth = ground_truth(robot)
        finally:
            robot.disconnect()
        person_ok += int((scene.person is not None) == spec.person)
        matched = match(scene, truth)
        visible = {j for j, t in enumerate(truth) if t["visible"] >= MIN_VISIBLE}
        expected += len(visible)
        for i, j, dist in matched:
            d, t = scene.objects[i], truth[j]
            found += int(j in visible)
            kind_ok += int(d.kind == t["kind"])
            color_ok += int(d.color == t["color"])
            errors.append(dist)
            for what, got, want in (("kind", d.kind, t["kind"]), ("color", d.color, t["color"])):
                if got != want:
                    key = f"{what}: {want} -> {got}"
                    confusions[key] = confusions.get(key, 0) + 1
                    if verbose:
                        print(f"scene {seed0 + k}: {t['id']} {key} (visible {t['visible']} px)")
        fps += len(scene.objects) - len(matched)
    n_matched = max(len(errors), 1)
    err = np.array(errors) if errors else np.array([math.nan])
    return {
        "scenes": n_scenes,
        "objects_expected": expected,
        "detections_matched": len(errors),
        "kind_accuracy": kind_ok / n_matched,
        "color_accuracy": color_ok / n_matched,
        "xy_error_median_m": float(np.median(err)),
        "xy_error_p95_m": float(np.percentile(err, 95)),
        "recall": found / max(expected, 1),
        "false_positives": fps,
        "person_accuracy": person_ok / max(n_scenes, 1),
        "perceive_ms_median": 1000 * float(np.median(times)) if times else math.nan,
        "perceive_ms_max": 1000 * float(np.max(times)) if times else math.nan,
        "confusions": dict(sorted(confusions.items(), key=lambda kv: -kv[1])),
    }


if __name__ == "__main__":  # python -m embodiments.perception.evaluate [N]
    import json
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    print(json.dumps(evaluate(n, verbose="-v" in sys.argv), indent=2))
