"""Runs skills tick by tick on a robot; owns the per-skill context (commanded poses, what is held)."""
from __future__ import annotations

import math
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

import numpy as np

from ..robot import Robot
from ..types import ArmCommand, Observation, PerceivedScene, SkillResult, SkillStatus
from .motion import down_quat

Skill = Generator[dict[str, ArmCommand], None, SkillResult]


@dataclass
class Held:
    kind: str
    color: str
    height: float  # object height (m)
    grasp_z: float  # height of the grasp point above the object's bottom
    width: float  # finger opening when closed on it
    offset: np.ndarray = field(default_factory=lambda: np.zeros(3))  # object centre minus hand (world)


@dataclass
class SkillContext:
    """What a skill needs between ticks: the robot, its commanded poses, and what each hand holds."""

    robot: Robot
    perceive_fn: Callable[[], PerceivedScene] | None = None
    holding: dict[str, Held] = field(default_factory=dict)
    gripper: dict[str, float] = field(default_factory=dict)
    cmd_pos: dict[str, np.ndarray] = field(default_factory=dict)
    cmd_quat: dict[str, np.ndarray] = field(default_factory=dict)
    obs: Observation | None = None

    def __post_init__(self) -> None:
        self.dt = 1.0 / self.robot.control_hz
        self.sync()

    def sync(self) -> None:
        """Take the measured hand poses as the commanded ones (at start, and after a stop)."""
        self.obs = self.robot.get_observation(cameras=False)
        for a, s in self.obs.arms.items():
            self.cmd_pos[a] = s.ee_pos.copy()
            self.cmd_quat[a] = s.ee_quat.copy()
            self.gripper.setdefault(a, s.gripper_width)

    # -- reading state ---------------------------------------------------------------------
    def hand(self, arm: str) -> np.ndarray:
        return self.obs.arms[arm].ee_pos

    def width(self, arm: str) -> float:
        return self.obs.arms[arm].gripper_width

    def perceive(self) -> PerceivedScene | None:
        return self.perceive_fn() if self.perceive_fn else None

    def neutral_yaw(self, arm: str) -> float:
        return float(getattr(self.robot, "neutral_yaw", lambda a: 0.0)(arm))

    def best_arm(self, point: np.ndarray, free: bool = False, then: np.ndarray | None = None) -> str:
        """The arm that reaches `point` best; with `then`, one that reaches both if there is one."""
        arms = [a for a in self.robot.arms if not (free and a in self.holding)] or list(self.robot.arms)
        if then is not None:
            both = [a for a in arms if self.robot.reach(a, then) > 0 and self.robot.reach(a, point) > 0]
            arms = both or arms
        return max(arms, key=lambda a: self.robot.reach(a, point))

    def arm_for(self, point: np.ndarray, then: np.ndarray) -> str | None:
        """A free arm that reaches both places (pick at `point`, put at `then`), or None."""
        arms = [a for a in self.robot.arms if a not in self.holding
                and self.robot.reach(a, point) > 0 and self.robot.reach(a, then) > 0]
        return max(arms, key=lambda a: self.robot.reach(a, point) + self.robot.reach(a, then), default=None)

    # -- commanding ------------------------------------------------------------------------
    def command(self, arm: str, pos, quat, speed: float | None = None) -> dict[str, ArmCommand]:
        self.cmd_pos[arm] = np.asarray(pos, dtype=float)
        self.cmd_quat[arm] = np.asarray(quat, dtype=float)
        act = self.hold_all()
        act[arm] = ArmCommand(ee_pos=self.cmd_pos[arm], ee_quat=self.cmd_quat[arm],
                              gripper=self.gripper[arm], max_speed=speed)
        return act

    def hold_all(self) -> dict[str, ArmCommand]:
        return {a: ArmCommand(ee_pos=self.cmd_pos[a], ee_quat=self.cmd_quat[a], gripper=self.gripper[a])
                for a in self.robot.arms}


class SkillRunner:
    """Steps one skill at a time; `stop()` holds the arms from the next tick, `resume()` goes on."""

    def __init__(self, robot: Robot, perceive_fn: Callable[[], PerceivedScene] | None = None) -> None:
        self.robot = robot
        self.ctx = SkillContext(robot, perceive_fn)
        self._skill: Skill | None = None
        self._name = ""
        self._t0 = 0.0
        self.paused = False
        self.last_result: SkillResult | None = None
        self.on_tick: Callable[[SkillRunner], None] | None = None

    @property
    def busy(self) -> bool:
        return self._skill is not None

    def start(self, skill: Skill, name: str = "skill") -> None:
        if self._skill is not None:
            self._skill.close()
        self._skill, self._name, self._t0 = skill, name, self.robot.time
        self.last_result = None

    def tick(self) -> SkillResult | None:
        """One control tick. Returns the skill's result on the tick it finishes."""
        result = None
        if self._skill is not None and not self.paused:
            try:
                action = next(self._skill)
            except StopIteration as done:
                result = done.value or SkillResult(self._name, SkillStatus.SUCCEEDED)
                result = SkillResult(result.skill, result.status, result.reason,
                                     self.robot.time - self._t0, result.arm)
                self._skill, self.last_result = None, result
            except Exception as e:  # a broken skill must not take the session down
                self._skill = None
                result = self.last_result = SkillResult(self._name, SkillStatus.FAILED, f"error: {e}",
                                                        self.robot.time - self._t0)
                action = self.ctx.hold_all()
                self.robot.send_action(action)
            else:
                self.robot.send_action(action)
        # Idle: no new command; the joint motors keep their last targets. (Re-sending the
        # measured hand pose every tick would let IK wander in the arm's null space.)
        self.robot.advance()
        self.ctx.obs = self.robot.get_observation(cameras=False)
        if self.on_tick:
            self.on_tick(self)
        return result

    def run(self, skill: Skill, name: str = "skill", timeout_s: float = 30.0) -> SkillResult:
        self.start(skill, name)
        for _ in range(int(math.ceil(timeout_s * self.robot.control_hz))):
            r = self.tick()
            if r is not None:
                return r
        self.stop()
        self._skill = None
        self.robot.release()
        self.paused = False
        self.ctx.sync()
        return SkillResult(name, SkillStatus.FAILED, f"timed out after {timeout_s:.0f} s", timeout_s)

    def stop(self) -> None:
        """E-stop: the robot holds from the next tick; the skill keeps its place for `resume`."""
        self.robot.halt()
        self.paused = True

    def resume(self) -> None:
        self.robot.release()
        self.ctx.sync()
        self.paused = False

    def cancel(self) -> None:
        if self._skill is not None:
            self._skill.close()
        self._skill = None
        self.last_result = SkillResult(self._name, SkillStatus.INTERRUPTED, "cancelled",
                                       self.robot.time - self._t0)

    def idle(self, seconds: float) -> None:
        for _ in range(int(seconds * self.robot.control_hz)):
            self.tick()


def home_quat(yaw: float) -> np.ndarray:
    return down_quat(yaw)
