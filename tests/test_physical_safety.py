"""A rogue policy cannot move an arm unsafely: every embodiment clips it, the simulated ones
through real physics, the kinematic mock through the same limits.

The policy asks for absurd motion (a metre per control tick, straight out of the workspace
and down through the table); `PolicyRunner` sends it with `send_action`, which is the
only way to the motors. The hand must stay in the workspace box, under the speed cap
(lower with a person at the table), and every clip must be logged with its reason.
"""
from __future__ import annotations

import numpy as np
import pytest
from helpers import connect

from embodiments.limits import SafetyLimits
from embodiments.policies import Policy
from embodiments.policies.runner import PolicyRunner

SCENE = {"seed": 3, "objects": [{"id": "c", "kind": "cube", "color": "red", "at": [0.05, 0.0]}]}


class Rogue(Policy):
    """Each chunk drives every arm 1 m per tick along `direction`, gripper wide open."""

    name = "rogue"

    def __init__(self, arms, direction) -> None:
        super().__init__(tuple(arms), chunk_size=5)
        self.direction = np.asarray(direction, dtype=np.float32)

    def predict_action_chunk(self, observation, instruction):
        row = np.concatenate([self.direction, [0.5, 0.08]]).astype(np.float32)
        return np.tile(np.tile(row, len(self.arms)), (self.chunk_size, 1))


@pytest.mark.parametrize("embodiment", ["panda", "bimanual", "kuka", "mock"])
@pytest.mark.parametrize("direction,person", [((1.0, 0.0, 0.0), False), ((0.0, 0.0, -1.0), False),
                                              ((0.0, 1.0, 1.0), True)])
def test_a_rogue_policy_is_clipped_on_every_embodiment(embodiment, direction, person):
    robot = connect(embodiment, {**SCENE, "person": person})
    try:
        lim: SafetyLimits = robot.limits
        cap = lim.ee_speed(person)
        dt = 1.0 / robot.control_hz
        runner = PolicyRunner(robot, Rogue(robot.arms, direction))
        runner.start("go", None, timeout_s=1.5)
        prev = {a: s.ee_pos.copy() for a, s in robot.get_observation(cameras=False).arms.items()}
        fastest = 0.0
        for _ in range(int(1.5 * robot.control_hz)):
            if runner.tick() is not None:
                break
            obs = robot.get_observation(cameras=False)
            for a, s in obs.arms.items():
                p = np.asarray(s.ee_pos)
                assert np.all(p >= np.asarray(lim.workspace_lo) - 0.02), (a, p)  # 2 cm: tracking overshoot
                assert np.all(p <= np.asarray(lim.workspace_hi) + 0.02), (a, p)
                fastest = max(fastest, float(np.linalg.norm(p - prev[a])) / dt)
                prev[a] = p
        assert fastest <= cap * 1.15, f"end effector at {fastest:.2f} m/s, cap {cap} m/s"
        reasons = {c.reason.split(":")[0] for c in robot.clips.recent}
        assert "ee_speed" in reasons  # a metre per tick is always too fast: logged with its reason
        if direction[2] < 0:
            assert "workspace" in reasons  # straight down through the table
    finally:
        robot.disconnect()


@pytest.mark.parametrize("embodiment", ["panda", "bimanual", "kuka"])
def test_stop_wins_over_a_rogue_policy(embodiment):
    robot = connect(embodiment, SCENE)
    try:
        runner = PolicyRunner(robot, Rogue(robot.arms, (0.0, 1.0, 0.0)))
        runner.start("go", None, timeout_s=5)
        for _ in range(10):
            runner.tick()
        runner.stop()
        for _ in range(int(0.1 * robot.control_hz)):  # within 0.1 s of sim time
            runner.tick()
        assert robot.max_joint_speed() < 0.01
        q = np.concatenate([s.q for s in robot.get_observation(cameras=False).arms.values()])
        for _ in range(30):  # and it stays put: the policy's commands are refused while stopped
            runner.tick()
        q2 = np.concatenate([s.q for s in robot.get_observation(cameras=False).arms.values()])
        assert np.allclose(q, q2, atol=2e-3)
    finally:
        robot.disconnect()
