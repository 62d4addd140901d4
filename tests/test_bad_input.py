"""Bad requests get a clear typed answer and cause no motion."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import connect, perceiver

from embodiments.skills import SkillRunner, pick, place_at, push
from embodiments.skills.resolve import AmbiguousReferenceError, resolve
from embodiments.types import SkillStatus, UnknownObjectError

SCENE = {"seed": 5, "objects": [
    {"id": "red_cube", "kind": "cube", "color": "red", "at": [-0.05, 0.05]},
    {"id": "green_cube", "kind": "cube", "color": "green", "at": [0.08, -0.1]},
    {"id": "bowl", "kind": "bowl", "color": "blue", "at": [0.1, 0.12]},
]}


@pytest.fixture(scope="module")
def setup():
    robot = connect("panda", SCENE)
    perceive = perceiver(robot)
    runner = SkillRunner(robot, perceive)
    yield robot, runner, perceive()
    robot.disconnect()


def _still(robot, runner, gen):
    q0 = robot.arm("arm").joint_state()[0].copy()
    r = runner.run(gen)
    moved = float(np.abs(robot.arm("arm").joint_state()[0] - q0).max())
    return r, moved


def test_unknown_and_ambiguous_references(setup):
    _, _, scene = setup
    assert resolve(scene, "red cube").color == "red"
    assert resolve(scene, "the red_cube").kind == "cube"
    with pytest.raises(UnknownObjectError, match="can't see a purple cube"):
        resolve(scene, "purple cube")
    with pytest.raises(UnknownObjectError, match="don't know an object called"):
        resolve(scene, "the thingamajig")
    with pytest.raises(AmbiguousReferenceError) as e:
        resolve(scene, "cube")
    assert {c.color for c in e.value.candidates} == {"red", "green"}


def test_unknown_object_id_in_the_world(setup):
    robot, _, _ = setup
    with pytest.raises(UnknownObjectError, match="no object 'nope'"):
        robot.world.position("nope")


@pytest.mark.parametrize("xy", [(0.4, 0.0), (0.0, -0.7), (-0.3, 0.0)])
def test_place_off_the_table_fails_without_motion(setup, xy):
    robot, runner, scene = setup
    runner.ctx.holding.clear()
    # Pretend to hold something so the place is judged on its target alone.
    from embodiments.skills.runner import Held

    runner.ctx.holding["arm"] = Held("cube", "red", 0.04, 0.02, 0.04)
    try:
        r, moved = _still(robot, runner, place_at(runner.ctx, *xy))
    finally:
        runner.ctx.holding.clear()
    assert r.status is SkillStatus.FAILED and "off the table" in r.reason
    assert moved < 1e-3


def test_unreachable_target_fails_without_motion():
    """The far corner of the table is on it, but a Panda cannot point down there."""
    from embodiments.skills.runner import Held

    robot = connect("panda", SCENE, wrist_cameras=False)
    try:
        runner = SkillRunner(robot, perceiver(robot))
        assert robot.reach("arm", np.array([0.25, 0.25, 0.0])) == 0.0
        runner.ctx.holding["arm"] = Held("cube", "red", 0.04, 0.02, 0.04)
        r, moved = _still(robot, runner, place_at(runner.ctx, 0.25, 0.25))
        assert r.status is SkillStatus.FAILED and "out of this arm's reach" in r.reason
        assert moved < 1e-3
        runner.ctx.holding.clear()
        cube = perceiver(robot)().find("cube", "red")[0]
        r, moved = _still(robot, runner, push(runner.ctx, cube, 0.6, 0.0))
        assert r.status is SkillStatus.FAILED and "off the table" in r.reason and moved < 1e-3
    finally:
        robot.disconnect()


def test_pick_with_a_full_hand_and_place_with_an_empty_one(setup):
    robot, runner, scene = setup
    from embodiments.skills import place_in
    from embodiments.skills.runner import Held

    r, moved = _still(robot, runner, place_in(runner.ctx, scene.find("bowl")[0]))
    assert r.status is SkillStatus.FAILED and "nothing in hand" in r.reason and moved < 1e-3
    runner.ctx.holding["arm"] = Held("cube", "green", 0.04, 0.02, 0.04)
    try:
        r, moved = _still(robot, runner, pick(runner.ctx, scene.find("cube", "red")[0], "arm"))
    finally:
        runner.ctx.holding.clear()
    assert r.status is SkillStatus.FAILED and "already holds" in r.reason and moved < 1e-3


def test_unknown_arm_and_embodiment():
    from embodiments import make_embodiment
    from embodiments.types import ArmCommand

    with pytest.raises(ValueError, match="unknown embodiment 'ur5'"):
        make_embodiment("ur5")
    robot = connect("panda", SCENE, wrist_cameras=False)
    try:
        with pytest.raises(KeyError, match="no arm 'left'"):
            robot.send_action({"left": ArmCommand(ee_pos=np.zeros(3))})
    finally:
        robot.disconnect()


@pytest.mark.parametrize("text, lang, name", [
    ("lift the table", "en", "table"),
    ("Hebe den Tisch hoch", "de", "Tisch"),
    ("Soulève la table, s'il te plaît", "fr", "table"),
    ("masayı kaldırır mısın?", "tr", "masa"),
    ("ارفع الطاولة من فضلك", "ar", "الطاولة"),
    ("テーブルを持ち上げてください", "ja", "テーブル"),
    ("请把桌子搬起来", "zh", "桌子"),
    ("push the wall to the left", "en", "wall"),
    ("Podnieś podłogę", "pl", "podłogi"),
])
def test_moving_a_fixture_gets_a_reason_and_no_motion(text, lang, name):
    """"Lift the table" is understood and answered with why not, in the person's language;
    nothing moves and no task runs."""
    from assistant.session import Session, SessionConfig
    from assistant.task import Status
    from embodiments.scene_spec import SceneSpec

    s = Session(SessionConfig("panda", SceneSpec.from_dict(SCENE)))
    try:
        q0 = s.robot.arm("arm").joint_state()[0].copy()
        before = {o: s.robot.world.position(o).copy() for o in ("red_cube", "green_cube", "bowl")}
        r = s.submit(text)
        assert r.language == lang and name.lower() in r.text.lower(), r
        assert r.status is Status.FAILED and s.state().status is not Status.RUNNING
        s.run(1.0)
        assert float(np.abs(s.robot.arm("arm").joint_state()[0] - q0).max()) < 1e-3
        for o, p in before.items():
            assert float(np.linalg.norm(s.robot.world.position(o) - p)) < 0.005, o
    finally:
        s.close()
