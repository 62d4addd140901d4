"""The Policy interface (base.py), the canonical-instruction grammar, the scripted expert as a
policy, and the PolicyRunner (mock robot for the logic; real pybullet for pick and place)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from embodiments.policies import ACTION_DIM, Policy, available_policies, from_commands, make_policy, to_commands
from embodiments.policies.base import yaw_of
from embodiments.policies.instructions import InstructionError, parse_instruction
from embodiments.policies.runner import PolicyRunner, success_check
from embodiments.registry import make_embodiment
from embodiments.scene_spec import SceneSpec
from embodiments.skills.motion import down_quat
from embodiments.types import ArmCommand, ArmState, DetectedObject, Observation, PerceivedScene, SkillStatus


# -- helpers ------------------------------------------------------------------------------------
class Counting(Policy):
    """Chunks of `chunk_size` actions; every number of the k-th chunk's i-th action is 100 k + i."""

    name = "counting"

    def __init__(self, arms=("arm",), chunk_size: int = 3, dim: int | None = None) -> None:
        super().__init__(arms, chunk_size)
        self.calls: list[str] = []
        self.dim = dim or ACTION_DIM * len(arms)

    def predict_action_chunk(self, observation, instruction):
        k = len(self.calls)
        self.calls.append(instruction)
        return np.array([[100 * k + i] * self.dim for i in range(self.chunk_size)], dtype=np.float32)


def arm_state(pos=(0.1, 0.0, 0.2), yaw=0.3, width=0.05) -> ArmState:
    return ArmState(q=np.zeros(7), dq=np.zeros(7), ee_pos=np.array(pos, float), ee_quat=down_quat(yaw),
                    gripper_width=width, gripper_closed=width < 0.04)


def obs_for(arms=("arm",)) -> Observation:
    return Observation(0.0, {a: arm_state((0.1 * i, 0.05 * i, 0.2), 0.2 * i - 0.4, 0.02 + 0.01 * i)
                             for i, a in enumerate(arms)})


# -- the Policy base ----------------------------------------------------------------------------
def test_chunk_queue_pops_one_action_per_tick_and_refills():
    p = Counting(chunk_size=3)
    got = [float(p.select_action(obs_for(), "pick up the red cube")[0]) for _ in range(7)]
    assert got == [0, 1, 2, 100, 101, 102, 200]
    assert p.calls == ["pick up the red cube"] * 3
    assert p.select_action(obs_for(), "pick up the red cube").shape == (ACTION_DIM,)


def test_changed_instruction_drops_the_queue_at_the_next_tick():
    p = Counting(chunk_size=4)
    assert float(p.select_action(obs_for(), "a")[0]) == 0
    assert float(p.select_action(obs_for(), "b")[0]) == 100  # not 1: the old chunk is gone
    assert p.calls == ["a", "b"]
    p.reset()
    assert float(p.select_action(obs_for(), "b")[0]) == 200  # reset empties the queue too
    assert p.calls == ["a", "b", "b"]


@pytest.mark.parametrize("bad", ["wrong_dim", "empty", "flat"])
def test_bad_chunk_shapes_are_errors(bad):
    class Bad(Policy):
        def predict_action_chunk(self, observation, instruction):
            return {"wrong_dim": np.zeros((2, ACTION_DIM + 1)), "empty": np.zeros((0, ACTION_DIM)),
                    "flat": np.zeros(ACTION_DIM)}[bad]

    with pytest.raises(ValueError, match="action chunk"):
        Bad(("arm",)).select_action(obs_for(), "x")


def test_bimanual_chunk_needs_both_arms_numbers():
    with pytest.raises(ValueError):
        Counting(arms=("left", "right"), dim=ACTION_DIM).select_action(obs_for(("left", "right")), "x")
    a = Counting(arms=("left", "right")).select_action(obs_for(("left", "right")), "x")
    assert a.shape == (2 * ACTION_DIM,)


@pytest.mark.parametrize("arms", [("arm",), ("left", "right")])
def test_to_commands_and_from_commands_round_trip(arms):
    rng = np.random.default_rng(1)
    obs = obs_for(arms)
    for _ in range(20):
        action = np.concatenate([[*rng.uniform(-0.01, 0.01, 3), rng.uniform(-0.3, 0.3), rng.uniform(0, 0.08)]
                                 for _ in arms]).astype(np.float32)
        cmds = to_commands(action, obs, arms)
        assert set(cmds) == set(arms)
        for i, a in enumerate(arms):
            row = action[i * ACTION_DIM:(i + 1) * ACTION_DIM]
            np.testing.assert_allclose(cmds[a].ee_pos, obs.arms[a].ee_pos + row[:3], atol=1e-6)
            assert math.isclose(yaw_of(cmds[a].ee_quat), yaw_of(obs.arms[a].ee_quat) + row[3], abs_tol=1e-5)
            assert cmds[a].gripper == pytest.approx(row[4])
        np.testing.assert_allclose(from_commands(cmds, obs, arms), action, atol=1e-5)
    # commands -> action -> commands (what the scripted expert's skills send)
    cmds = {a: ArmCommand(ee_pos=np.array([0.05, -0.02, 0.15]) + 0.01 * i, ee_quat=down_quat(2.5 - i), gripper=0.03)
            for i, a in enumerate(arms)}
    back = to_commands(from_commands(cmds, obs, arms), obs, arms)
    for a in arms:
        np.testing.assert_allclose(back[a].ee_pos, cmds[a].ee_pos, atol=1e-6)
        assert abs(float(np.dot(back[a].ee_quat, cmds[a].ee_quat))) == pytest.approx(1.0, abs=1e-6)
        assert back[a].gripper == pytest.approx(0.03)
    # an arm with no command holds still with its fingers as they are
    idle = from_commands({}, obs, arms).reshape(len(arms), ACTION_DIM)
    np.testing.assert_allclose(idle[:, :4], 0.0)
    np.testing.assert_allclose(idle[:, 4], [obs.arms[a].gripper_width for a in arms], atol=1e-7)


# -- the canonical instructions ---------------------------------------------------------------
def _det(tid, kind, color, xy, size=0.04):
    return DetectedObject(tid, kind, color, np.array([xy[0], xy[1], size / 2]), np.array([size, size, size]),
                          (0, 0), (0, 0, 0, 0), 1.0, top_z=size)


def test_every_instruction_the_planner_writes_parses_back():
    from planner.intent import Goal, Ref
    from planner.plan import Planner

    scene = PerceivedScene(0.0, (_det(0, "cube", "red", (0.0, -0.1)), _det(1, "bowl", "blue", (0.1, 0.1), 0.15),
                                 _det(2, "block", "green", (-0.1, 0.1)), _det(3, "duck", "yellow", (0.12, -0.12)),
                                 _det(4, "plate", "white", (-0.12, -0.15), 0.16)))
    red, bowl = Ref(kind="cube", color="red"), Ref(kind="bowl", color="blue")
    goals = [Goal("pick", objects=red), Goal("put_in", objects=red, target=bowl),
             Goal("put_on", objects=red, target=Ref(kind="block", color="green")),
             Goal("put_on", objects=Ref(kind="duck"), target=Ref(kind="plate")),
             Goal("place_at", objects=red, xy=(0.05, 0.0)), Goal("push", objects=red, side="left"),
             Goal("give", objects=red), Goal("home"), Goal("open"), Goal("close")]
    seen = set()
    for goal in goals:
        for step in Planner(("arm",)).plan(goal, scene).steps:
            p = parse_instruction(step.instruction)
            seen.add(p.action)
            if step.obj is not None and p.kind:
                assert (p.kind, p.color) == (step.obj.kind, step.obj.color)
            if step.xy is not None and p.xy is not None:
                assert p.xy == pytest.approx(step.xy, abs=0.006)
    assert {"pick", "put_in", "put_on", "place_at", "push", "home", "open", "close"} <= seen
    assert parse_instruction("Put the duck on the plate.").dest_kind == "plate"
    assert parse_instruction("push the cube to the left").side == "left"
    assert parse_instruction("put the red cube in the blue bowl").goal().target.color == "blue"
    for bad in ("pick up the red thing", "put the red cube somewhere", "dance", "pick up red cube", ""):
        with pytest.raises(InstructionError):
            parse_instruction(bad)


# -- the scripted expert on the mock robot (logic, milliseconds) ---------------------------------
def _mock(objects=({"id": "c", "kind": "cube", "color": "red", "at": [0.1, -0.1]},
                   {"id": "b", "kind": "bowl", "color": "blue", "at": [0.0, 0.12]})):
    robot = make_embodiment("mock", SceneSpec.from_dict({"seed": 0, "objects": list(objects)}))
    robot.connect()
    return robot


def test_scripted_is_registered_and_reports_done_with_the_skill_result():
    assert "scripted" in available_policies()
    with pytest.raises(TypeError, match="live robot"):
        make_policy("scripted", arms=("arm",))  # e.g. a policy server that has arm names only
    robot = _mock()
    policy = make_policy("scripted", robot=robot, perceive=robot.perceive)
    assert policy.info.chunk_size == 1 and policy.info.action_dim == ACTION_DIM
    runner = PolicyRunner(robot, policy)
    r = runner.run("pick up the red cube", timeout_s=20)
    assert r.ok, r
    assert policy.done and policy.result.ok and robot.holding["arm"] == "c"
    assert not runner.busy and runner.last_result == r
    r = runner.run("put the red cube in the blue bowl", timeout_s=20)
    assert r.ok, r
    # (the mock's gripper never lets go of what it holds, so judge the release by the fingers)
    assert robot.gripper["arm"] > 0.07
    assert np.hypot(*(robot.objects["c"].pos[:2] - robot.objects["b"].pos[:2])) < 0.03


def test_scripted_fails_cleanly_on_what_it_cannot_do():
    robot = _mock()
    runner = PolicyRunner(robot, make_policy("scripted", robot=robot, perceive=robot.perceive))
    r = runner.run("dance a little")
    assert r.status is SkillStatus.FAILED and "not a canonical instruction" in r.reason
    r = runner.run("pick up the green duck")
    assert r.status is SkillStatus.FAILED and "duck" in r.reason
    r = runner.run("put the red cube in the blue bowl")  # nothing in hand: it picks it first
    assert r.ok, r


def test_changed_instruction_starts_the_new_skill_at_the_next_tick():
    robot = _mock()
    policy = make_policy("scripted", robot=robot, perceive=robot.perceive)
    obs = robot.get_observation()
    for _ in range(20):  # under way towards the cube
        policy.select_action(obs, "pick up the red cube")
        robot.send_action(to_commands(policy.select_action(obs, "pick up the red cube"), obs, policy.arms))
        robot.advance()
        obs = robot.get_observation()
    assert not policy.done
    pick = policy._skill
    policy.select_action(obs, "open the gripper")
    assert policy._skill is not pick and policy._current == "open the gripper"
    assert pick.gi_frame is None  # the old skill's generator is closed


def test_runner_stop_resume_cancel():
    robot = _mock()
    runner = PolicyRunner(robot, make_policy("scripted", robot=robot, perceive=robot.perceive))
    runner.start("pick up the red cube")
    for _ in range(10):
        assert runner.tick() is None
    runner.stop()
    hand = robot.ee["arm"].copy()
    for _ in range(10):
        assert runner.tick() is None
    np.testing.assert_allclose(robot.ee["arm"], hand)  # held still while stopped
    runner.resume()
    r = None
    for _ in range(2000):
        r = runner.tick()
        if r is not None:
            break
    assert r is not None and r.ok
    runner.start("go home")
    runner.tick()
    runner.cancel()
    assert not runner.busy and runner.last_result.status is SkillStatus.INTERRUPTED


class Blind(Policy):
    """A policy that cannot tell when it is done (like a learned one): the expert's actions only."""

    name = "blind"

    def __init__(self, expert) -> None:
        super().__init__(expert.arms, 1)
        self.expert = expert

    def reset(self) -> None:
        super().reset()
        self.expert.reset()

    def predict_action_chunk(self, observation, instruction):
        return self.expert.predict_action_chunk(observation, instruction)


def test_runner_ends_a_blind_policy_by_its_success_check_or_timeout():
    robot = _mock()
    runner = PolicyRunner(robot, Blind(make_policy("scripted", robot=robot, perceive=robot.perceive)))
    r = runner.run("pick up the red cube", timeout_s=3)
    assert r.status is SkillStatus.FAILED and "timed out" in r.reason  # no check: only the timeout ends it
    robot = _mock()
    runner = PolicyRunner(robot, Blind(make_policy("scripted", robot=robot, perceive=robot.perceive)))
    r = runner.run("pick up the red cube", success_check("pick up the red cube", robot, robot.perceive), 20)
    assert r.ok, r
    assert r.reason == "the red cube is in the hand"  # the mock's camera sees it at the hand
    ins = "put the red cube in the blue bowl"
    r = runner.run(ins, success_check(ins, robot, robot.perceive), 20)
    assert r.ok and "in the blue bowl" in r.reason, r


def test_a_policy_error_fails_the_step():
    class Broken(Policy):
        def predict_action_chunk(self, observation, instruction):
            raise RuntimeError("boom")

    robot = _mock()
    r = PolicyRunner(robot, Broken(robot.arms)).run("pick up the red cube")
    assert r.status is SkillStatus.FAILED and "boom" in r.reason


# -- real physics -------------------------------------------------------------------------------
def test_scripted_policy_picks_and_places_on_the_panda():
    from embodiments.perception import Perception
    from embodiments.predicates import WorldTruth

    spec = SceneSpec.from_dict({"seed": 3, "objects": [{"id": "c", "kind": "cube", "color": "red"},
                                                        {"id": "b", "kind": "bowl", "color": "blue"},
                                                        {"id": "d", "kind": "duck"}]})
    robot = make_embodiment("panda", spec)
    robot.connect()
    try:
        perception = Perception()
        ignore = robot.robot_bodies | set(robot.world.fixtures)

        def perceive():
            return perception.perceive_observation(robot.get_observation(), ignore)

        policy = make_policy("scripted", robot=robot, perceive=perceive)
        runner = PolicyRunner(robot, policy)
        sent = []
        runner.on_action = lambda obs, action, cmds: sent.append(from_commands(cmds, obs, robot.arms))
        truth = WorldTruth(robot)
        check = success_check("pick up the red cube", robot, perceive)
        r = runner.run("pick up the red cube", timeout_s=20)
        assert r.ok, r
        assert truth.held("c")[0]
        first = check()
        assert not first[0] and "confirming" in first[1]  # a hold counts once seen twice, fingers still
        assert check()[0]  # the perception-based check agrees
        ins = "put the red cube in the blue bowl"
        check = success_check(ins, robot, perceive)
        r = runner.run(ins, timeout_s=20)
        assert r.ok, r
        assert truth.check({"in": ["c", "b"]})[0] and truth.holder("c") is None
        assert check()[0]
        actions = np.stack(sent)
        assert actions.shape[1] == ACTION_DIM and np.isfinite(actions).all()
        assert np.abs(actions[:, :3]).max() < 0.05  # per-tick targets near the hand (the robot bounds the lead)
        assert actions[:, 4].min() < 0.045 < actions[:, 4].max()  # it closed and opened the gripper
    finally:
        robot.disconnect()


def test_a_hold_counts_only_when_the_fingers_stay_closed_on_it():
    """The pick check wants the hold seen on two checks in a row with the fingers still: a hand
    lifted while its fingers still close over the object's place (the object hidden under the
    arm) is not a pick; it becomes one if they stop on the object, and never if they close on
    nothing."""
    from embodiments.policies.runner import holds

    cube = DetectedObject(0, "cube", "red", np.array([0.1, 0.0, 0.02]), np.array([0.04, 0.04, 0.04]), (0, 0),
                          (0, 0, 0, 0), 0.9, top_z=0.04)

    class Robot:
        width = 0.06

        def get_observation(self, cameras=False):
            arm = ArmState(np.zeros(7), np.zeros(7), np.array([0.1, 0.0, 0.15]), np.array([1.0, 0, 0, 0]),
                           self.width, True)
            return Observation(0.0, {"arm": arm})

    seen = [(cube,)]  # the first look sees the cube; afterwards the arm hides it

    def perceive():
        return PerceivedScene(0.0, seen.pop(0) if seen else ())

    robot = Robot()
    check = holds(robot, perceive, "cube", "red")
    results = []
    for w in (0.06, 0.045, 0.03, 0.012, 0.0):  # closing all the way: on nothing
        robot.width = w
        results.append(check()[0])
    assert results == [False] * 5
    robot.width = 0.041
    assert not check()[0]  # stopped on the cube: not yet confirmed ...
    robot.width = 0.040
    ok, why = check()
    assert ok and "left its place" in why  # ... and confirmed a check later, fingers still
