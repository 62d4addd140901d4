"""Plans carried out on the simulator: perception -> planner -> skills -> ground-truth predicates."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import connect, perceiver

from embodiments.predicates import WorldTruth
from embodiments.skills import SkillRunner
from planner.execute import skill_for
from planner.intent import Goal, Ref
from planner.plan import Planner


def run_goal(robot, goal: Goal):
    perceive = perceiver(robot)
    runner = SkillRunner(robot, perceive)
    planner = Planner(robot.arms, lambda arm, xy: robot.reach(arm, np.array([xy[0], xy[1], 0.0])))
    plan = planner.plan(goal, perceive())
    for step in plan.steps:
        r = runner.run(skill_for(step, runner.ctx, perceive()), step.instruction)
        assert r.ok, f"{step.instruction}: {r.reason}"
    return plan


SCENE = {"seed": 8, "objects": [
    {"id": "red_cube", "kind": "cube", "color": "red", "at": [-0.12, 0.12]},
    {"id": "blue_cube", "kind": "cube", "color": "blue", "at": [0.1, -0.15]},
    {"id": "green_cube", "kind": "cube", "color": "green", "at": [-0.2, -0.2]},
    {"id": "red_bowl", "kind": "bowl", "color": "red", "at": [0.12, 0.12]},
    {"id": "blue_bowl", "kind": "bowl", "color": "blue", "at": [-0.1, -0.02]},
    {"id": "duck", "kind": "duck", "at": [0.15, -0.02]},
]}


def test_sort_by_color_on_panda():
    robot = connect("panda", SCENE)
    try:
        run_goal(robot, Goal("sort"))
        t = WorldTruth(robot)
        for check in ({"in": ["red_cube", "red_bowl"]}, {"in": ["blue_cube", "blue_bowl"]},
                      {"unmoved": "green_cube"}, {"unmoved": "duck"}, {"gripper_empty": True}):
            ok, why = t.check(check)
            assert ok, why
    finally:
        robot.disconnect()


def test_swap_on_kuka():
    robot = connect("kuka", SCENE)
    try:
        duck0, cube0 = robot.world.position("duck"), robot.world.position("green_cube")
        run_goal(robot, Goal("swap", Ref("duck"), Ref("cube", "green")))
        assert np.hypot(*(robot.world.position("duck")[:2] - cube0[:2])) < 0.03
        assert np.hypot(*(robot.world.position("green_cube")[:2] - duck0[:2])) < 0.03
    finally:
        robot.disconnect()


@pytest.mark.parametrize("cube, bowl", [("red_cube", "blue_bowl"), ("blue_cube", "red_bowl")])
def test_bimanual_cross_table_moves(cube, bowl):
    robot = connect("bimanual", SCENE)
    try:
        color, kind = cube.split("_")
        bcolor = bowl.split("_")[0]
        plan = run_goal(robot, Goal("put_in", Ref(kind, color), Ref("bowl", bcolor)))
        ok, why = WorldTruth(robot).check({"in": [cube, bowl]})
        assert ok, why
        assert plan.steps[-1].arm in ("left", "right")
    finally:
        robot.disconnect()


def test_bimanual_relay_through_the_middle():
    """Far right corner to far left: no single arm reaches both, so the right arm puts the
    cube down in the middle and the left arm takes it on."""
    robot = connect("bimanual", {"seed": 1, "objects": [
        {"id": "cube", "kind": "cube", "color": "orange", "at": [0.19, -0.19]},
        {"id": "bowl", "kind": "bowl", "color": "green", "at": [0.15, 0.15]}]})
    try:
        plan = run_goal(robot, Goal("put_in", Ref("cube"), Ref("bowl")))
        assert [(s.skill, s.arm) for s in plan.steps] == [
            ("pick", "right"), ("place_at", "right"), ("pick", "left"), ("place_in", "left")]
        ok, why = WorldTruth(robot).check({"in": ["cube", "bowl"]})
        assert ok, why
    finally:
        robot.disconnect()
