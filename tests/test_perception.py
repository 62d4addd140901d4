"""Perception from pixels and depth only: kinds, colours, positions, image points, the person."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from helpers import connect, perceiver

SCENE = {"seed": 21, "person": True, "objects": [
    {"id": "red_cube", "kind": "cube", "color": "red"},
    {"id": "blue_bowl", "kind": "bowl", "color": "blue"},
    {"id": "yellow_block", "kind": "block", "color": "yellow"},
    {"id": "duck", "kind": "duck"},
    {"id": "green_ball", "kind": "ball", "color": "green"},
    {"id": "mug", "kind": "mug"},
]}


def test_perception_never_imports_the_simulator():
    code = ("import sys\nfrom embodiments.perception import Perception\nPerception()._models()\n"
            "print(any(m.startswith('pybullet') for m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("embodiment", ["panda", "bimanual", "kuka"])
def test_sees_every_object_with_kind_color_and_position(embodiment):
    robot = connect(embodiment, SCENE)
    try:
        scene = perceiver(robot)()
        w = robot.world
        assert scene.person is not None and scene.person[0] > 0.3
        labels = sorted(o.label for o in scene.objects)
        assert labels == sorted(["red cube", "blue bowl", "yellow block", "yellow duck", "green ball", "white mug"])
        for spec in robot.config.scene.objects:
            det = scene.find(spec.kind, spec.resolved_color)[0]
            lo, hi = w.aabb(spec.id)
            truth = w.position(spec.id) if spec.kind in ("mug", "bowl") else (lo + hi) / 2
            err = float(np.hypot(*(det.position[:2] - truth[:2])))
            assert err < 0.025, f"{spec.id}: {err:.3f} m off"
            assert abs(det.top_z - hi[2]) < 0.015, f"{spec.id}: top {det.top_z:.3f} vs {hi[2]:.3f}"
            y, x = det.point
            y0, x0, y1, x1 = det.box
            assert 0 <= y0 <= y <= y1 <= 1000 and 0 <= x0 <= x <= x1 <= 1000
        # Gemini-ER style points: the robot's left (+y) is the image's left (small x).
        left = scene.find("bowl")[0] if scene.find("bowl")[0].position[1] > 0 else None
        if left is not None:
            assert left.point[1] < 500
        # Track ids are stable across calls.
        again = perceiver(robot)()
        assert sorted(o.label for o in again.objects) == labels
    finally:
        robot.disconnect()


def test_no_person_no_person_and_a_cube_in_a_bowl_is_still_a_cube():
    robot = connect("panda", {"seed": 4, "objects": [
        {"id": "bowl", "kind": "bowl", "color": "green", "at": [0.05, 0.0]},
        {"id": "cube", "kind": "cube", "color": "green", "at": [-0.15, 0.15]}]})
    try:
        w = robot.world
        body = w.body("cube")
        _, q = w.c.getBasePositionAndOrientation(body)
        w.c.resetBasePositionAndOrientation(body, [0.05, 0.0, 0.1], q)
        w.settle(1.0)
        scene = perceiver(robot)()
        assert scene.person is None
        assert sorted(o.label for o in scene.objects) == ["green bowl", "green cube"]
        cube = scene.find("cube")[0]
        assert cube.top_z > 0.045  # it stands on the bowl's floor
    finally:
        robot.disconnect()


def test_accuracy_on_random_scenes():
    """A small sample of what bench/skills.py reports over many scenes."""
    from embodiments.perception.evaluate import evaluate

    r = evaluate(6, seed0=77)
    assert r["kind_accuracy"] >= 0.9 and r["color_accuracy"] >= 0.95, r
    assert r["recall"] >= 0.9 and r["xy_error_median_m"] < 0.01, r
