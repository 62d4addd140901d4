"""The `final:` predicates of the dialogue-script spec, on real pybullet ground truth."""
from __future__ import annotations

import pytest
from helpers import connect

from embodiments.predicates import PredicateError, WorldTruth
from embodiments.types import UnknownObjectError

SCENE = {"seed": 3, "objects": [
    {"id": "red_cube", "kind": "cube", "color": "red", "at": [0.0, 0.1]},
    {"id": "green_cube", "kind": "cube", "color": "green", "at": [0.0, -0.1]},
    {"id": "bowl", "kind": "bowl", "color": "blue", "at": [0.12, 0.0]},
    {"id": "block", "kind": "block", "color": "yellow", "at": [-0.15, 0.0], "yaw": 0.0},
]}


@pytest.fixture(scope="module")
def world():
    robot = connect("panda", SCENE, wrist_cameras=False)
    yield robot
    robot.disconnect()


def _drop(robot, oid, xy, z=0.12):
    w = robot.world
    body = w.body(oid)
    _, quat = w.c.getBasePositionAndOrientation(body)
    w.c.resetBasePositionAndOrientation(body, [xy[0], xy[1], z], quat)
    w.settle(1.0)


def test_predicates_on_the_table(world):
    t = WorldTruth(world)
    assert t.check({"left_of": ["red_cube", "green_cube"]})[0]
    assert not t.check({"left_of": ["green_cube", "red_cube"]})[0]
    assert t.check({"right_of": ["green_cube", "red_cube"]})[0]
    assert not t.check({"near": ["red_cube", "green_cube"]})[0]  # 0.2 m apart
    assert not t.check({"near": ["red_cube", "bowl"]})[0]  # 0.156 m apart
    assert t.check({"near": ["block", "red_cube"]})[0] is False  # 0.18 m
    assert t.check({"unmoved": "red_cube"})[0]
    assert t.check({"not_in": ["red_cube", "bowl"]})[0]
    assert t.check({"gripper_empty": True})[0]
    assert not t.check({"held": "red_cube"})[0]


def test_in_on_and_unmoved_after_moves(world):
    t = WorldTruth(world)
    _drop(world, "red_cube", (0.12, 0.005))
    ok, why = t.check({"in": ["red_cube", "bowl"]})
    assert ok, why
    assert not t.check({"not_in": ["red_cube", "bowl"]})[0]
    assert not t.check({"unmoved": "red_cube"})[0]
    _drop(world, "green_cube", (-0.15, 0.0), z=0.08)  # onto the block
    ok, why = t.check({"on": ["green_cube", "block"]})
    assert ok, why
    assert not t.check({"on": ["block", "green_cube"]})[0]
    assert not t.check({"in": ["green_cube", "bowl"]})[0]
    assert t.check({"near": ["green_cube", "block"]})[0]


def test_malformed_checks_are_typed_errors(world):
    t = WorldTruth(world)
    with pytest.raises(PredicateError, match="unknown world check"):
        t.check({"inside": ["red_cube", "bowl"]})
    with pytest.raises(PredicateError):
        t.check({"in": ["red_cube"]})
    with pytest.raises(UnknownObjectError, match="no object 'purple_cube'"):
        t.check({"in": ["purple_cube", "bowl"]})


def test_held_while_in_the_gripper():
    from embodiments.sim.oracle import oracle_scene
    from embodiments.skills import SkillRunner, pick

    robot = connect("panda", SCENE, wrist_cameras=False)
    try:
        runner = SkillRunner(robot, lambda: oracle_scene(robot))
        assert runner.run(pick(runner.ctx, oracle_scene(robot).find("cube", "red")[0])).ok
        t = WorldTruth(robot)
        assert t.check({"held": "red_cube"})[0]
        assert not t.check({"gripper_empty": True})[0]
        assert not t.check({"in": ["red_cube", "bowl"]})[0]
    finally:
        robot.disconnect()
