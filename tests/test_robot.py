"""The lerobot-style robot interface on every embodiment: features, observation, clipped actions."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import connect

from embodiments import available, make_embodiment
from embodiments.scene_spec import SceneSpec
from embodiments.types import ArmCommand

SCENE = {"seed": 1, "objects": [{"id": "c", "kind": "cube", "color": "red", "at": [0.0, 0.0]}]}
ARMS = {"panda": ("arm",), "bimanual": ("left", "right"), "kuka": ("arm",), "mock": ("arm",)}


def test_registry_lists_every_embodiment():
    assert set(available()) >= {"panda", "bimanual", "kuka", "mock"}


@pytest.mark.parametrize("name", ["panda", "bimanual", "kuka"])
def test_observation_and_features(name):
    robot = make_embodiment(name, SceneSpec.from_dict(SCENE), camera_size=(160, 120), wrist_size=(64, 48))
    with robot:
        assert robot.arms == ARMS[name]
        obs = robot.get_observation()
        assert set(obs.cameras) == {"front", *(f"wrist_{a}" for a in robot.arms)}
        f = obs.cameras["front"]
        assert f.rgb.shape == (120, 160, 3) and f.rgb.dtype == np.uint8
        assert f.depth.shape == (120, 160) and np.isfinite(f.depth).all()
        assert f.segmentation.shape == (120, 160)
        assert obs.cameras[f"wrist_{robot.arms[0]}"].rgb.shape == (48, 64, 3)
        for a in robot.arms:
            s = obs.arms[a]
            assert s.q.shape == (7,) and s.dq.shape == (7,) and s.ee_pos.shape == (3,)
            assert 0.07 < s.gripper_width <= 0.081 and not s.gripper_closed
            assert f"{a}.q" in robot.observation_features and f"{a}.ee_pos" in robot.action_features
        # The left arm of the bimanual robot is at +y (the robot's left).
        if name == "bimanual":
            assert obs.arms["left"].ee_pos[1] > 0.1 > -0.1 > obs.arms["right"].ee_pos[1]
        # At home the hands are out of the front camera's view of the table.
        seg = f.segmentation
        assert not np.isin(seg[10:-30, 20:-20], list(robot.robot_bodies)).any()


@pytest.mark.parametrize("name", ["panda", "kuka", "mock"])
def test_act_returns_what_was_sent_after_clipping(name):
    robot = make_embodiment(name, SceneSpec.from_dict(SCENE))
    with robot:
        a = robot.arms[0]
        start = robot.get_observation(cameras=False).arms[a].ee_pos.copy()
        far = np.array([2.0, 0.0, -1.0])  # outside the workspace, far faster than allowed
        sent = robot.send_action({a: ArmCommand(ee_pos=far, ee_quat=np.array([1.0, 0, 0, 0]))})
        step = float(np.linalg.norm(sent[a].ee_pos - start))
        assert step <= robot.limits.max_ee_speed / robot.control_hz + 1e-6
        reasons = {c.reason.split(":")[0] for c in robot.clips.recent}
        assert {"workspace", "ee_speed"} <= reasons
        # keep pushing: the hand never leaves the workspace box
        for _ in range(120):
            sent = robot.send_action({a: ArmCommand(ee_pos=far, ee_quat=np.array([1.0, 0, 0, 0]))})
            robot.advance()
        lo, hi = np.array(robot.limits.workspace_lo), np.array(robot.limits.workspace_hi)
        assert np.all(sent[a].ee_pos >= lo - 1e-6) and np.all(sent[a].ee_pos <= hi + 1e-6)


@pytest.mark.parametrize("person", [False, True])
def test_end_effector_speed_is_capped_reduced_near_a_person(person):
    robot = connect("panda", {**SCENE, "person": person}, wrist_cameras=False)
    try:
        obs = robot.get_observation(cameras=False).arms["arm"]
        target = obs.ee_pos + np.array([0.35, 0.0, -0.1])
        speeds = []
        for _ in range(90):
            robot.send_action({"arm": ArmCommand(ee_pos=target, ee_quat=obs.ee_quat)})
            robot.advance()
            speeds.append(float(np.linalg.norm(robot.arm("arm").ee_velocity())))
        cap = 0.25 if person else 0.5
        assert max(speeds) < cap * 1.15, f"hand reached {max(speeds):.2f} m/s (cap {cap})"
        assert max(speeds) > cap * 0.6, "the hand should move near the cap"
    finally:
        robot.disconnect()


def test_same_seed_same_motion():
    from embodiments.sim.oracle import oracle_scene
    from embodiments.skills import SkillRunner, pick

    qs = []
    for _ in range(2):
        robot = connect("kuka", SCENE, wrist_cameras=False)
        try:
            runner = SkillRunner(robot, lambda robot=robot: oracle_scene(robot))
            assert runner.run(pick(runner.ctx, oracle_scene(robot).objects[0])).ok
            qs.append(robot.arm("arm").joint_state()[0])
        finally:
            robot.disconnect()
    assert np.array_equal(qs[0], qs[1])


def test_mock_robot_runs_the_skills_without_pybullet():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from embodiments import make_embodiment, SceneSpec\n"
        "from embodiments.skills import SkillRunner, pick, place_in\n"
        "r = make_embodiment('mock', SceneSpec.from_dict({'seed': 0, 'objects': ["
        "{'id': 'c', 'kind': 'cube', 'color': 'red', 'at': [0.0, 0.1]},"
        "{'id': 'b', 'kind': 'bowl', 'color': 'blue', 'at': [0.1, -0.1]}]}))\n"
        "r.connect()\n"
        "run = SkillRunner(r, r.perceive)\n"
        "s = r.perceive()\n"
        "print(run.run(pick(run.ctx, s.find('cube')[0])).ok, run.run(place_in(run.ctx, s.find('bowl')[0])).ok)\n"
        "print(r.objects['c'].pos.round(2).tolist())\n"
        "print('pybullet' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split("\n")
    assert lines[0] == "True True"
    x, y, _ = eval(lines[1])
    assert abs(x - 0.1) < 0.03 and abs(y + 0.1) < 0.03
    assert lines[2] == "False"
