"""The scripted skills seen as a policy: the expert that demonstrations are recorded from.

`ScriptedPolicy(robot, perceive)` takes a canonical plan-step instruction ("pick up the red
cube", "put the red cube in the blue bowl", ...; see `instructions.py`), looks at the table,
plans it with the planner on what it sees (`planner.Planner`, with what the hand already
holds), binds each step to a fresh look and runs the matching skill generator
(`planner.execute.skill_for`). Each control tick it returns the skill's command as an action
(`from_commands`, chunk size 1), so anything that runs a policy (the `PolicyRunner`, the
recorder, a remote server) runs the expert the same way as a learned policy.

A changed instruction closes the running skill and starts the new one at the next tick.
Unlike a learned policy, the expert knows when it is done: `done` turns true on the tick its
skill returns, and `result` is that `SkillResult` (an instruction it cannot parse, ground or
plan finishes at once as a failure with the reason).
"""
from __future__ import annotations

from collections.abc import Callable, Generator

import numpy as np

from ..robot import Robot
from ..types import ArmCommand, DetectedObject, Observation, PerceivedScene, SkillResult, SkillStatus
from .base import ACTION_DIM, Policy, PolicyInfo, from_commands

Skill = Generator[dict[str, ArmCommand], None, SkillResult]
_HELD_ID = -1000  # track ids of held objects the cameras cannot see (perception's ids are >= 0)


class ScriptedPolicy(Policy):
    name = "scripted"

    def __init__(self, robot: Robot, perceive: Callable[[], PerceivedScene] | None = None) -> None:
        from ..skills.runner import SkillContext

        super().__init__(tuple(robot.arms), chunk_size=1)
        self.robot = robot
        self.perceive = perceive
        self.ctx = SkillContext(robot, perceive)
        self._skill: Skill | None = None
        self._current: str | None = None  # the instruction the running (or finished) skill is for
        self._t0 = 0.0
        self.result: SkillResult | None = None

    @property
    def info(self) -> PolicyInfo:
        return PolicyInfo(self.name, self.arms, self.chunk_size, ACTION_DIM * len(self.arms), cameras=(),
                          extra={"expert": True})

    @property
    def done(self) -> bool:
        """True once the skill for the current instruction has finished (see `result`)."""
        return self.result is not None

    # -- lifecycle ---------------------------------------------------------------------------
    def reset(self) -> None:
        """Drop the queue and the running skill; the next action starts the instruction afresh.

        What the hands hold is kept (it is the world, not the policy's memory), as long as the
        fingers still say so: a hand whose fingers closed on nothing or opened holds nothing.
        """
        interrupted = self._current if self._skill is not None else None  # a step cut short
        super().reset()
        self._close()
        self._current, self.result = None, None
        self.ctx.sync()
        for arm, held in list(self.ctx.holding.items()):
            width = self.ctx.width(arm)
            if width < 0.004 or width > held.width + 0.02:
                del self.ctx.holding[arm]
        self._adopt_interrupted_grasp(interrupted)

    def _adopt_interrupted_grasp(self, instruction: str | None) -> None:
        """A pick ended from outside (a runner's success check) before the skill wrote down what
        the hand holds: if the fingers are closed on something, it is what was being picked."""
        from ..skills.runner import Held
        from .instructions import InstructionError, parse_instruction

        if not instruction:
            return
        try:
            p = parse_instruction(instruction)
        except InstructionError:
            return
        if p.action != "pick" or p.kind is None:
            return
        obs = self.robot.get_observation(cameras=False)
        for arm, st in obs.arms.items():
            if arm not in self.ctx.holding and st.gripper_closed and 0.004 < st.gripper_width < 0.08:
                w = float(st.gripper_width)
                self.ctx.holding[arm] = Held(p.kind, p.color or "", w, w / 2, w)
                return

    def resync(self) -> None:
        """After an e-stop: take the measured hand poses as the commanded ones (as `SkillRunner.resume`)."""
        self.ctx.sync()

    def _close(self) -> None:
        if self._skill is not None:
            self._skill.close()
        self._skill = None

    # -- acting ------------------------------------------------------------------------------
    def predict_action_chunk(self, observation: Observation, instruction: str) -> np.ndarray:
        self.ctx.obs = Observation(observation.time, observation.arms)  # the skills read the hands from here
        if instruction != self._current:
            self._start(instruction)
        commands = None
        if self._skill is not None:
            try:
                commands = next(self._skill)
            except StopIteration as stop:
                self._finish(stop.value)
            except Exception as e:  # a broken skill fails the step instead of taking the caller down
                self._finish(SkillResult(instruction, SkillStatus.FAILED, f"error: {e}"))
        if commands is None:
            commands = self.ctx.hold_all()
        return from_commands(commands, observation, self.arms)[None, :]

    def _start(self, instruction: str) -> None:
        self._close()
        self._current, self.result = instruction, None
        self._t0 = self.robot.time
        try:
            self._skill = self._plan_skill(instruction)
        except Exception as e:  # unparsable, nothing to ground, impossible: a failed step, with why
            self._skill = None
            self._finish(SkillResult(instruction, SkillStatus.FAILED, str(e)))

    def _finish(self, r: SkillResult | None) -> None:
        self._skill = None
        r = r or SkillResult(self._current or "", SkillStatus.SUCCEEDED)
        self.result = SkillResult(r.skill, r.status, r.reason, self.robot.time - self._t0, r.arm)

    def _plan_skill(self, instruction: str) -> Skill:
        """Parse, look, plan on what is seen (with what the hands hold) -> one generator for all steps."""
        from planner.plan import Planner

        from .instructions import parse_instruction

        goal = parse_instruction(instruction).goal()
        scene = self._with_held(self._look())
        planner = Planner(self.robot.arms, lambda arm, xy: self.robot.reach(arm, np.array([xy[0], xy[1], 0.0])))
        plan = planner.plan(goal, scene, held=self._held_ids(scene))
        return self._run_steps(plan.steps, scene)

    def _look(self) -> PerceivedScene:
        if self.perceive is None:
            raise RuntimeError("the scripted policy needs a perception function to find objects")
        return self.perceive()

    def _with_held(self, scene: PerceivedScene) -> PerceivedScene:
        """The scene plus what each hand holds where perception cannot see it.

        Seen from above, a held object is hidden under the hand, and the wrist camera sees it cut
        by the fingers (such segments are dropped), so the object in hand is usually not in the
        scene. The planner must still be able to name it ("put the red cube in the blue bowl"):
        it is added at the hand, as resting on nothing (so never "already in" a container).
        """
        extra = []
        for i, (arm, held) in enumerate(self.ctx.holding.items()):
            hand = self.ctx.hand(arm)
            if any(float(np.linalg.norm(o.position[:2] - hand[:2])) < 0.06 for o in scene.find(held.kind, held.color)):
                continue
            top = max(float(held.height), 0.01)
            extra.append(DetectedObject(
                track_id=_HELD_ID - i, kind=held.kind, color=held.color,
                position=np.array([hand[0], hand[1], top / 2]), size=np.array([held.width, held.width, top]),
                point=(0, 0), box=(0, 0, 0, 0), confidence=1.0, top_z=top))
        if not extra:
            return scene
        return PerceivedScene(scene.time, scene.objects + tuple(extra), scene.person)

    def _held_ids(self, scene: PerceivedScene) -> dict[int, str]:
        """Track ids of the objects in a hand (the seen object of that look nearest the hand)."""
        out: dict[int, str] = {}
        for arm, held in self.ctx.holding.items():
            cands = scene.find(held.kind, held.color)
            if cands:
                hand = self.ctx.hand(arm)
                best = min(cands, key=lambda o: float(np.linalg.norm(o.position[:2] - hand[:2])))
                out[best.track_id] = arm
        return out

    def _run_steps(self, steps, scene: PerceivedScene) -> Skill:
        from planner.execute import skill_for

        result: SkillResult | None = None
        for i, step in enumerate(steps):
            if i > 0:
                scene = self._look()  # each step binds its objects to a fresh look
            result = yield from skill_for(step, self.ctx, scene)
            result = result or SkillResult(step.skill, SkillStatus.SUCCEEDED)
            if not result.ok:
                return result
        return result or SkillResult("nothing", SkillStatus.SUCCEEDED, "nothing to do")
