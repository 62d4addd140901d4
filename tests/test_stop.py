"""A stop takes effect on the next control tick and every joint is at rest within 0.1 s,
through the physics, on every embodiment and during every skill; resume then finishes the skill."""
import numpy as np
import pytest

from embodiments.registry import make_embodiment
from embodiments.scene_spec import SceneSpec
from embodiments.sim.oracle import oracle_scene
from embodiments.skills import (
    SkillRunner,
    handover,
    home,
    pick,
    place_at,
    place_in,
    place_on,
    push,
    set_gripper,
    stack,
)

SCENE = {"seed": 4, "objects": [
    {"id": "red_cube", "kind": "cube", "color": "red", "at": [-0.05, 0.08]},
    {"id": "green_cube", "kind": "cube", "color": "green", "at": [0.08, -0.06]},
    {"id": "block", "kind": "block", "color": "purple", "at": [-0.1, -0.12]},
    {"id": "bowl", "kind": "bowl", "color": "blue", "at": [0.1, 0.12]},
]}

# skill name -> (what must happen first, the skill under test)
CASES = {
    "pick": (None, lambda c, s: pick(c, s.find("cube", "red")[0])),
    "place_in": ("pick", lambda c, s: place_in(c, s.find("bowl")[0])),
    "place_on": ("pick", lambda c, s: place_on(c, s.find("cube", "green")[0])),
    "place_at": ("pick", lambda c, s: place_at(c, 0.0, -0.15)),
    "stack": (None, lambda c, s: stack(c, s.find("cube", "red")[0], s.find("cube", "green")[0])),
    "push": (None, lambda c, s: push(c, s.find("cube", "red")[0], 0.0, 0.15)),
    "home": ("pick", lambda c, s: home(c)),
    "gripper": (None, lambda c, s: set_gripper(c, "close")),
    "handover": ("pick_block", lambda c, s: handover(c)),
}


def _setup(embodiment, first):
    robot = make_embodiment(embodiment, SceneSpec.from_dict(SCENE), wrist_cameras=False)
    robot.connect()
    runner = SkillRunner(robot, lambda: oracle_scene(robot))
    scene = oracle_scene(robot)
    if first == "pick":
        assert runner.run(pick(runner.ctx, scene.find("cube", "red")[0])).ok
    elif first == "pick_block":
        assert runner.run(pick(runner.ctx, scene.find("block")[0])).ok
    return robot, runner, oracle_scene(robot)


@pytest.mark.parametrize("embodiment", ["panda", "bimanual", "kuka"])
@pytest.mark.parametrize("skill", list(CASES))
def test_stop_during_skill(embodiment, skill):
    if skill == "handover" and embodiment != "bimanual":
        pytest.skip("handover needs two arms (only the bimanual robot has them)")
    first, make = CASES[skill]
    robot, runner, scene = _setup(embodiment, first)
    try:
        runner.start(make(runner.ctx, scene), skill)
        moving = 0
        for _ in range(240):  # run until the arm is really moving (or the gripper, for 'gripper')
            assert runner.tick() is None, "skill ended before it could be stopped"
            if robot.max_joint_speed() > 0.05:
                moving += 1
                if moving >= 8:
                    break
        assert moving >= 8, "the skill never got moving"
        held_q = {a: robot.arm(a).q_cmd.copy() for a in robot.arms}
        runner.stop()
        # From the next tick on no motion is commanded: the robot refuses commands...
        assert robot.send_action(runner.ctx.hold_all()) == {}
        speeds = []
        for _ in range(int(0.1 * robot.control_hz)):  # 0.1 s of sim time
            runner.tick()
            speeds.append(robot.max_joint_speed())
        # ...the setpoints stay where the joints were when the stop came...
        for a in robot.arms:
            assert np.abs(robot.arm(a).q_cmd - held_q[a]).max() < 0.2
        # ...and everything is at rest within 0.1 s, and stays there.
        assert speeds[-1] < 0.01, f"still moving after 0.1 s: {speeds}"
        for _ in range(30):
            runner.tick()
            assert robot.max_joint_speed() < 0.01
        runner.resume()
        result = None
        for _ in range(30 * robot.control_hz):
            result = runner.tick()
            if result is not None:
                break
        assert result is not None and result.ok, f"after resume: {result}"
    finally:
        robot.disconnect()
