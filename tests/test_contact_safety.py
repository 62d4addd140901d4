"""Contact sensing and the collision check of commanded motions, through real physics.

A rogue policy (a metre per tick straight down, or toward the person) is sent through
`PolicyRunner` and `send_action`, the only way to the motors: down onto an obstacle the
robot does not know, it must stop on the contact (e-stop hold, at rest within 0.1 s of sim
time, reason logged and reported); down into the table or toward the person, the commanded
steps must be refused before any link gets there. Normal skills beside the person must make
no false stop, and the dialogue manager turns a contact stop into a paused task with a reply
in the person's language.
"""
from __future__ import annotations

import logging

import numpy as np
import pytest
from helpers import connect

from assistant.messages import say
from assistant.session import Session, SessionConfig
from assistant.task import Status
from embodiments.limits import SafetyLimits
from embodiments.mock import MockRobot
from embodiments.policies import Policy
from embodiments.policies.runner import PolicyRunner
from embodiments.scene_spec import SceneSpec
from embodiments.sim.oracle import oracle_scene
from embodiments.sim.world import FLOOR_Z
from embodiments.skills import SkillRunner, handover, pick, place_at, place_in, push, stack
from embodiments.types import ArmCommand, DetectedObject, PerceivedScene
from planner.intent import Goal, Ref
from planner.plan import Planner, PlanningError

SIM = ["panda", "bimanual", "kuka"]
CUBE = {"id": "c", "kind": "cube", "color": "red", "at": [0.1, 0.0]}


class Rogue(Policy):
    """Every arm driven 1 m per tick along `direction`, hand turning, gripper open."""

    name = "rogue"

    def __init__(self, arms, direction, yaw: float = 0.0) -> None:
        super().__init__(tuple(arms), chunk_size=5)
        self.row = np.array([*direction, yaw, 0.08], dtype=np.float32)

    def predict_action_chunk(self, observation, instruction):
        return np.tile(np.tile(self.row, len(self.arms)), (self.chunk_size, 1))


def _obstacle(robot, centre, half) -> int:
    """A static box the robot was never told about (it is not an object it may handle)."""
    c = robot.world.c
    body = c.createMultiBody(0, c.createCollisionShape(c.GEOM_BOX, halfExtents=half), -1, centre)
    robot.world.fixtures.append(body)
    return body


def _depth_in(robot, body: int) -> float:
    """How deep any arm link is in `body` now (m, 0 when clear)."""
    pts = [p[8] for a in robot.arms for p in robot.world.c.getClosestPoints(robot.arm(a).body, body, 0.0)]
    return -min(pts, default=0.0)


def _gap_to(robot, body: int) -> float:
    return min((p[8] for a in robot.arms for p in robot.world.c.getClosestPoints(robot.arm(a).body, body, 0.5)),
               default=0.5)


def _at_rest_after_a_stop(robot, tick, other: str) -> bool:
    """If the robot stopped itself: it was on `other`, said so, and is at rest 0.1 s later."""
    stop = robot.safety_stop
    if stop is None:
        return False
    assert stop.other == other and other in stop.reason, stop
    while robot.time < stop.time + 0.1:
        tick()
    assert robot.max_joint_speed() < 0.01
    return True


def _reasons(robot) -> set[str]:
    return {c.reason.split(":")[0] for c in robot.clips.recent}


@pytest.mark.parametrize("embodiment", SIM)
def test_driving_down_onto_an_unknown_obstacle_stops_on_contact(embodiment, caplog):
    robot = connect(embodiment, {"seed": 1, "objects": [CUBE]}, wrist_cameras=False)
    try:
        # a 10 cm high box under the hands at home, across the whole near edge
        _obstacle(robot, [-0.28, 0.0, 0.05], [0.06, 0.45, 0.05])
        runner = PolicyRunner(robot, Rogue(robot.arms, (0.0, 0.0, -1.0)))
        runner.start("go down", None, timeout_s=3.0)
        caplog.set_level(logging.WARNING)
        for _ in range(3 * robot.control_hz):
            runner.tick()
            if robot.safety_stop is not None:
                break
        stop = robot.safety_stop
        assert stop is not None, "drove into an obstacle without stopping"
        assert stop.other == "fixture" and stop.force > robot.limits.contact_min_force
        assert stop.reason.startswith("contact:") and stop.link in stop.reason and "fixture" in stop.reason
        assert robot.halted and "contact" in _reasons(robot)
        assert any("safety stop" in r.getMessage() for r in caplog.records)
        while robot.time < stop.time + 0.1:  # at rest within 0.1 s of sim time
            runner.tick()
        assert robot.max_joint_speed() < 0.01
        q = {a: robot.arm(a).joint_state()[0] for a in robot.arms}
        for _ in range(30):  # the policy's commands are refused from then on
            runner.tick()
        assert robot.send_action({a: ArmCommand(ee_pos=np.zeros(3)) for a in robot.arms}) == {}
        # no motion but the contact relaxing: the iiwa, stopped at full speed with 430 N on the box,
        # settles back by ~5 mrad
        assert all(np.allclose(q[a], robot.arm(a).joint_state()[0], atol=0.01) for a in robot.arms)
    finally:
        robot.disconnect()


@pytest.mark.parametrize("embodiment", SIM)
def test_a_stop_against_an_obstacle_lets_the_arm_back_away_but_not_push_on(embodiment):
    robot = connect(embodiment, {"seed": 1, "objects": [CUBE]}, wrist_cameras=False)
    try:
        _obstacle(robot, [-0.28, 0.0, 0.05], [0.06, 0.45, 0.05])
        runner = PolicyRunner(robot, Rogue(robot.arms, (0.0, 0.0, -1.0)))
        runner.start("go down", None, timeout_s=3.0)
        while robot.safety_stop is None and robot.time < 3.0:
            runner.tick()
        assert robot.safety_stop is not None
        for _ in range(robot.control_hz // 2):  # the person takes a moment to say "continue"
            runner.tick()
        robot.release()  # and the same policy pushes on into the obstacle
        assert robot.safety_stop is None
        for _ in range(robot.control_hz):
            runner.tick()
            if robot.safety_stop is not None:
                break
        assert robot.safety_stop is not None, "pushed on into the obstacle after a release"
        robot.release()  # now backing away, straight up: allowed
        up = PolicyRunner(robot, Rogue(robot.arms, (0.0, 0.0, 1.0)))
        up.start("go up", None, timeout_s=1.0)
        z0 = {a: robot.arm(a).ee_pose()[0][2] for a in robot.arms}
        for _ in range(robot.control_hz // 2):
            up.tick()
        assert robot.safety_stop is None and not robot.halted
        assert all(robot.arm(a).ee_pose()[0][2] > z0[a] + 0.05 for a in robot.arms)
    finally:
        robot.disconnect()


@pytest.mark.parametrize("embodiment", SIM)
def test_a_rogue_policy_driving_straight_down_never_goes_into_the_table(embodiment):
    robot = connect(embodiment, {"seed": 1, "objects": [CUBE]}, wrist_cameras=False)
    try:
        runner = PolicyRunner(robot, Rogue(robot.arms, (0.0, 0.0, -1.0), yaw=0.5))
        runner.start("go down", None, timeout_s=3.0)
        deepest = 0.0
        for _ in range(2 * robot.control_hz):
            runner.tick()
            deepest = max(deepest, _depth_in(robot, robot.world.table))
            _at_rest_after_a_stop(robot, runner.tick, "table")
        # Held by the workspace floor (the hand point) and, for the iiwa, whose fingertips reach
        # 12 mm below it, by the collision check; a Panda finger turning at the floor may still
        # brush the table, and then the contact stops it.
        assert _reasons(robot) & {"workspace", "collision"}
        assert deepest < 0.002, f"a link went {deepest * 1000:.1f} mm into the table"
    finally:
        robot.disconnect()


@pytest.mark.parametrize("embodiment", SIM)
@pytest.mark.parametrize("tilt", [1.0, 1.3])
def test_a_backend_driving_a_tilted_hand_into_the_table_is_refused_or_stopped(embodiment, tilt):
    """A backend asks for the hand's grasp point 1 cm above the table with the hand tilted
    (`tilt` rad from pointing down): inside the workspace box, but the hand's side would go into
    the table. The step that would is refused; if the arm's momentum still carries it onto
    the table, the contact stops it (e-stop hold, at rest within 0.1 s)."""
    robot = connect(embodiment, {"seed": 1, "objects": [{**CUBE, "at": [0.1, 0.15]}]}, wrist_cameras=False)
    try:
        quat = np.array(robot.world.c.getQuaternionFromEuler([np.pi - tilt, 0.0, 0.0]))
        deepest = 0.0
        for _ in range(4 * robot.control_hz):
            robot.send_action({a: ArmCommand(ee_pos=np.array([0.0, robot.arm(a).base_pos[1] / 2, 0.01]),
                                             ee_quat=quat) for a in robot.arms})
            robot.advance()
            deepest = max(deepest, _depth_in(robot, robot.world.table))
            if _at_rest_after_a_stop(robot, robot.advance, "table"):
                break
        assert any(c.reason.startswith("collision:") and "into the table" in c.reason for c in robot.clips.recent)
        assert deepest < 0.003, f"a link went {deepest * 1000:.1f} mm into the table"
        assert robot.max_joint_speed() < 0.01  # held (or stopped) where the refusal came
    finally:
        robot.disconnect()


# (embodiment, where the person stands, rogue direction, must the keep-out be what holds it)
# A single Panda cannot reach within the keep-out of a person standing at the table (its
# links stay 0.32 m from the person at the far edge): its reach and the workspace box hold it.
# The scaled iiwa reaches the person at the far edge, the bimanual's left arm one standing at
# the table's left end: there the keep-out refuses the steps.
PERSON_CASES = [(e, "far edge", d, e == "kuka" and d[2] == 0.0) for e in SIM
                for d in [(1.0, 0.0, 0.0), (1.0, 0.0, 1.0)]]
PERSON_CASES += [(e, "left end", (0.0, 1.0, 0.0), e != "panda") for e in SIM]


@pytest.mark.parametrize("embodiment, where, direction, refused", PERSON_CASES)
def test_driving_toward_the_person_is_held_outside_the_keep_out(embodiment, where, direction, refused):
    robot = connect(embodiment, {"seed": 1, "objects": [CUBE], "person": True}, wrist_cameras=False)
    try:
        if where == "left end":
            c = robot.world.c
            c.resetBasePositionAndOrientation(robot.world.person, [0.0, 0.62, FLOOR_Z],
                                              c.getQuaternionFromEuler([0.0, 0.0, np.pi / 2]))
        margin = robot.limits.person_margin
        runner = PolicyRunner(robot, Rogue(robot.arms, direction, yaw=0.5))
        runner.start("go to the person", None, timeout_s=4.0)
        closest = 1.0
        for _ in range(4 * robot.control_hz):
            runner.tick()
            closest = min(closest, _gap_to(robot, robot.world.person))
        assert closest > margin - 0.01, f"a link came within {closest:.3f} m of the person"
        assert _reasons(robot) & {"workspace", "keep_out"}  # held, and why was logged
        if refused:
            assert any(c.reason.startswith("keep_out:") and "of the person" in c.reason for c in robot.clips.recent)
        assert robot.safety_stop is None or robot.safety_stop.other != "person"
    finally:
        robot.disconnect()


SKILL_SCENE = {"seed": 5, "person": True, "objects": [
    {"id": "red_cube", "kind": "cube", "color": "red", "at": [0.16, 0.06]},
    {"id": "green_cube", "kind": "cube", "color": "green", "at": [-0.02, -0.1]},
    {"id": "block", "kind": "block", "color": "purple", "at": [-0.1, 0.12]},
    {"id": "bowl", "kind": "bowl", "color": "blue", "at": [0.2, -0.08]},
]}


@pytest.mark.parametrize("embodiment", SIM)
def test_normal_skills_beside_the_person_make_no_false_stop(embodiment):
    """Pick, place, push, stack (and a handover on two arms) up to the person's edge of the
    table: every skill succeeds, nothing is refused and the robot never stops itself."""
    robot = connect(embodiment, SKILL_SCENE, wrist_cameras=False)
    try:
        runner = SkillRunner(robot, lambda: oracle_scene(robot))
        ctx = runner.ctx

        def find(kind, color=None):
            return oracle_scene(robot).find(kind, color)[0]

        def arm(a, b):
            return ctx.arm_for(find(*a).position, find(*b).position if isinstance(b, tuple) else b)

        red, bowl, green, block = ("cube", "red"), ("bowl",), ("cube", "green"), ("block",)
        steps = [lambda: pick(ctx, find(*red), arm(red, bowl)), lambda: place_in(ctx, find(*bowl)),
                 lambda: push(ctx, find(*green), 0.08, -0.1),
                 lambda: stack(ctx, find(*block), find(*green), arm(block, green)),
                 lambda: pick(ctx, find(*block), arm(block, np.array([0.18, 0.1])))]
        if embodiment == "bimanual":  # to the right hand, and down on the right near the person
            steps += [lambda: handover(ctx), lambda: place_at(ctx, 0.15, -0.2)]
        else:
            steps.append(lambda: place_at(ctx, 0.18, 0.1))
        for make in steps:
            r = runner.run(make())
            assert r.ok, str(r)
            assert robot.safety_stop is None
        assert not _reasons(robot) & {"contact", "collision", "keep_out"}, robot.clips.counts
    finally:
        robot.disconnect()


def test_the_mock_has_no_contact_sensing_and_keeps_its_hand_out_of_the_keep_out():
    """The mock has no physics: nothing to feel, so no safety stop, ever (not faked). Its hand is
    a point: the workspace floor keeps it above the table, and with a workspace reaching the
    person (here widened on purpose) the keep-out still holds it back."""
    wide = SafetyLimits(workspace_hi=(0.9, 0.45, 0.6))
    robot = MockRobot(SceneSpec.from_dict({"seed": 1, "objects": [CUBE], "person": True}), limits=wide)
    robot.connect()
    runner = PolicyRunner(robot, Rogue(robot.arms, (1.0, 0.0, -1.0)))
    runner.start("go", None, timeout_s=4.0)
    for _ in range(4 * robot.control_hz):
        runner.tick()
        hand = robot.get_observation(cameras=False).arms["arm"].ee_pos
        assert hand[2] >= wide.workspace_lo[2] - 1e-9
        assert not wide.near_person(hand, robot.perceive().person)
    assert "keep_out" in _reasons(robot) and "workspace" in _reasons(robot)
    assert robot.safety_stop is None and not robot.halted
    robot.disconnect()


def test_a_contact_stop_pauses_the_task_and_says_why_in_the_persons_language(tmp_path):
    """Spanish: a pick meets an obstacle nobody mentioned; the task pauses with the contact reply
    (and the task log says what was touched); with the obstacle gone, "sigue" finishes it."""
    from assistant.tasklog import read_task_log

    scene = {"seed": 7, "objects": [{"id": "red_cube", "kind": "cube", "color": "red", "at": [0.0, 0.1]},
                                    {"id": "blue_bowl", "kind": "bowl", "color": "blue", "at": [0.1, -0.12]}]}
    s = Session(SessionConfig("panda", SceneSpec.from_dict(scene), task_log=str(tmp_path / "log.jsonl")))
    try:
        r = s.submit("pon el cubo rojo en el cuenco azul")
        assert r.status is Status.RUNNING and r.language == "es"
        cube = s.robot.world.position("red_cube")
        arm = s.robot.arm("arm")
        for _ in range(10 * s.robot.control_hz):  # until the hand is above the cube, about to go down
            s.tick()
            hand = arm.ee_pose()[0]
            if np.hypot(*(hand[:2] - cube[:2])) < 0.01 and hand[2] < 0.14:
                break
        else:
            pytest.fail("the hand never got above the cube")
        box = _obstacle(s.robot, [cube[0], cube[1], 0.08], [0.05, 0.05, 0.02])  # between hand and cube
        replies = []
        for _ in range(2 * s.robot.control_hz):
            replies += s.tick()
            if replies:
                break
        assert [x.text for x in replies] == [say("es", "contact_stop")]
        assert replies[0].language == "es" and s.state().status is Status.PAUSED
        assert s.robot.halted and "fixture" in s.robot.safety_stop.reason
        (stop,) = [e for e in read_task_log(tmp_path / "log.jsonl") if e["event"] == "safety_stop"]
        assert stop["arm"] == "arm" and stop["force"] > 0 and "fixture" in stop["reason"]
        s.robot.world.c.removeBody(box)
        r = s.submit("sigue")
        assert r.status is Status.RUNNING
        ok, _ = s.run_until_idle(60)
        assert ok and s.state().status is Status.DONE, s.state().summary()
    finally:
        s.close()


def test_a_plan_with_a_waypoint_in_the_persons_keep_out_is_refused():
    """Perceived scenes: the same pick is planned with the person at the far edge, and refused
    (with a reason) when the person leans in over the table next to the object."""
    cube = DetectedObject(0, "cube", "red", np.array([0.2, 0.1, 0.02]), np.array([0.045, 0.045, 0.04]),
                          (0, 0), (0, 0, 0, 0), 1.0, top_z=0.04)
    planner = Planner(("arm",))
    far = PerceivedScene(0.0, (cube,), np.array([0.45, 0.0, 0.45]))
    assert [s.skill for s in planner.plan(Goal("pick", Ref("cube", "red")), far).steps] == ["pick"]
    near = PerceivedScene(0.0, (cube,), np.array([0.32, 0.12, 0.45]))
    with pytest.raises(PlanningError) as e:
        planner.plan(Goal("pick", Ref("cube", "red")), near)
    assert e.value.code == "unsafe" and "too close to the person" in e.value.reason


def test_a_request_near_a_person_leaning_in_is_refused_in_their_language():
    """End to end: the simulated person leans in over the far edge; perception sees them there,
    and "pick up the cube" next to them is refused before anything moves."""
    scene = {"seed": 3, "person": True, "objects": [{"id": "c", "kind": "cube", "color": "red", "at": [0.2, 0.0]}]}
    s = Session(SessionConfig("panda", SceneSpec.from_dict(scene)))
    try:
        c = s.robot.world.c
        c.resetBasePositionAndOrientation(s.robot.world.person, [0.42, 0.0, FLOOR_Z], [0, 0, 0, 1])
        seen = s.perceive().person
        assert seen is not None and seen[0] < 0.4, seen
        q = s.robot.arm("arm").joint_state()[0]
        r = s.submit("hebe den roten Würfel auf")
        assert r.status is Status.REFUSED and r.language == "de" and r.text == say("de", "unsafe")
        for _ in range(30):
            s.tick()
        assert np.allclose(q, s.robot.arm("arm").joint_state()[0], atol=1e-3)
    finally:
        s.close()
