"""The scene: strict spec parsing, every kind and colour, containers that hold things, determinism."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import connect

from embodiments.scene_spec import SceneSpec, SceneSpecError
from embodiments.types import COLORS, OBJECT_KINDS


@pytest.mark.parametrize("bad, key", [
    ({"seed": 1, "objects": [{"id": "a", "kind": "cube", "colour": "red"}]}, "objects[0].colour"),
    ({"seed": 1, "objects": [{"id": "a", "kind": "cubee", "color": "red"}]}, "objects[0].kind"),
    ({"seed": 1, "objects": [{"id": "a", "kind": "cube", "color": "mauve"}]}, "objects[0].color"),
    ({"seed": 1, "objects": [{"id": "a", "kind": "cube", "color": "red", "at": [0.5, 0]}]}, "objects[0].at"),
    ({"seed": 1, "objects": [{"id": "a", "kind": "cube", "color": "red"}] * 2}, "objects[1].id"),
    ({"seed": "x"}, "seed"),
    ({"seed": 1, "persn": True}, "persn"),
    ({"seed": 1, "objects": [{"id": "a", "kind": "bowl"}]}, "objects[0].color"),
])
def test_scene_typos_are_named_errors(bad, key):
    with pytest.raises(SceneSpecError) as e:
        SceneSpec.from_dict(bad)
    assert e.value.key == key
    assert key in str(e.value)


def test_scene_file_with_typo(tmp_path):
    f = tmp_path / "scene.yaml"
    f.write_text("scene:\n  seed: 3\n  objects:\n    - {id: red_cube, kind: cube, colr: red}\n")
    with pytest.raises(SceneSpecError) as e:
        SceneSpec.from_yaml(f)
    assert "objects[0].colr" in str(e.value) and str(f) in str(e.value)
    f.write_text("scene: [unclosed\n")
    with pytest.raises(SceneSpecError, match="cannot read scene file"):
        SceneSpec.from_yaml(f)


@pytest.mark.parametrize("kinds", [("tray", "bowl", "cube", "block", "ball"),
                                   ("plate", "mug", "duck", "teddy", "lego")])
def test_every_kind_and_color_builds_and_rests_on_the_table(kinds):
    assert set(OBJECT_KINDS) == {"tray", "bowl", "cube", "block", "ball", "plate", "mug", "duck", "teddy", "lego"}
    offset = 0 if kinds[0] == "tray" else 5
    objs = [{"id": f"{k}_{c}", "kind": k, "color": c} for k, c in zip(kinds, list(COLORS)[offset:])]
    robot = connect("panda", {"seed": 2, "objects": objs, "person": True})
    try:
        w = robot.world
        w.settle(0.5)
        for o in objs:
            lo, hi = w.aabb(o["id"])
            assert -0.02 < lo[2] < 0.02, f"{o['id']} is not resting on the table: bottom at {lo[2]:.3f}"
            assert np.all(np.abs((lo[:2] + hi[:2]) / 2) < 0.26), f"{o['id']} is off the table"
        assert w.person is not None
    finally:
        robot.disconnect()


def test_too_many_objects_is_a_layout_error():
    from embodiments.scene_spec import SceneLayoutError

    objs = [{"id": f"t{i}", "kind": "tray", "color": "red"} for i in range(4)]
    with pytest.raises(SceneLayoutError, match="no free place"):
        connect("panda", {"seed": 0, "objects": objs})


@pytest.mark.parametrize("container", ["bowl", "plate", "tray", "mug"])
def test_containers_hold_what_is_dropped_in(container):
    """Concave containers are compounds, not convex hulls: a dropped cube ends up inside."""
    from embodiments.predicates import WorldTruth

    small = "lego" if container == "mug" else "cube"
    robot = connect("panda", {"seed": 0, "objects": [
        {"id": "c", "kind": container, "color": "blue", "at": [0.05, 0.0], "yaw": 0.3},
        {"id": "x", "kind": small, "color": "red", "at": [-0.15, 0.15]}]})
    try:
        w = robot.world
        body = w.body("x")
        pos = w.position("c")
        _, quat = w.c.getBasePositionAndOrientation(body)
        w.c.resetBasePositionAndOrientation(body, [pos[0] + 0.005, pos[1], 0.15], quat)
        w.settle(1.5)
        truth = WorldTruth(robot)
        ok, why = truth.check({"in": ["x", "c"]})
        assert ok, why
        assert w.aabb("x")[0][2] < w.aabb("c")[1][2], "it rests on top of the container, not inside"
    finally:
        robot.disconnect()


def test_layout_is_deterministic():
    scene = {"seed": 11, "objects": [{"id": f"o{i}", "kind": k, "color": "red"}
                                     for i, k in enumerate(["cube", "block", "bowl", "duck", "tray"])]}
    a, b = connect("panda", scene), connect("panda", scene)
    try:
        for oid in a.world.ids:
            assert np.allclose(a.world.position(oid), b.world.position(oid), atol=1e-9)
    finally:
        a.disconnect()
        b.disconnect()
    c = connect("panda", {**scene, "seed": 12})
    try:
        assert not np.allclose(c.world.position("o0"), connect_pos(scene, "o0"), atol=1e-3)
    finally:
        c.disconnect()


def connect_pos(scene, oid):
    r = connect("panda", scene)
    try:
        return r.world.position(oid)
    finally:
        r.disconnect()
