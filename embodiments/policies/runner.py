"""Runs a policy tick by tick on a robot, with the `SkillRunner`'s surface.

Each tick: observe (cameras only if the policy uses them), `policy.select_action(obs,
instruction)`, `to_commands`, `robot.send_action` (so the safety limits clip a learned policy's
actions like any other command), `robot.advance()`.

When does a step end? A policy that knows (the scripted expert: `policy.done` and
`policy.result`) says so. One that does not (a learned policy) is ended by a success check
given to `start()`: any callable returning a bool or `(bool, why)`, tried every
`check_every_s` of sim time; `success_check()` builds the usual ones from the instruction,
judged from perception (the hand holds the object; the object is in/on its destination and
the hand has let go). Either way the step fails after `timeout_s` of sim time spent acting.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..robot import Robot
from ..types import ArmCommand, Observation, PerceivedScene, SkillResult, SkillStatus
from .base import Policy, to_commands

SuccessCheck = Callable[[], "bool | tuple[bool, str]"]
ActionHook = Callable[[Observation, np.ndarray, dict[str, ArmCommand]], None]

EMPTY_WIDTH = 0.004  # m: fingers closer than this hold nothing (as the skills judge it)
HOLD_RADIUS = 0.06  # m: a held object's seen centre is this close to the hand
LIFTED = 0.03  # m: ... and its top this far above where it would be on the table
ALMOST_OPEN = 0.075  # m: fingers at least this far apart are open (the Panda's open fully at 0.08)
STILL_FINGERS = 0.003  # m: a hold is confirmed when the fingers moved less than this between two checks


class PolicyRunner:
    """Steps one instruction at a time; `stop()` holds the arms from the next tick, `resume()` goes on."""

    def __init__(self, robot: Robot, policy: Policy, cameras: bool | None = None,
                 check_every_s: float = 0.25) -> None:
        self.robot, self.policy = robot, policy
        self.cameras = bool(policy.info.cameras) if cameras is None else cameras
        self.check_every = max(1, round(check_every_s * robot.control_hz))
        self.instruction: str | None = None
        self.paused = False
        self.last_result: SkillResult | None = None
        self.last_action: np.ndarray | None = None
        self.on_action: ActionHook | None = None  # (observation, action, commands sent) each acting tick
        self.on_tick: Callable[[PolicyRunner], None] | None = None
        # called with the exception when the policy gives no action, before physics advances
        # (the session's controller e-stops the arms there when a remote policy went away)
        self.on_error: Callable[[Exception], None] | None = None
        self.error: Exception | None = None  # what ended the last step, if the policy raised
        self._success: SuccessCheck | None = None
        self._timeout_s = 30.0
        self._t0 = 0.0
        self._ticks = 0

    @property
    def busy(self) -> bool:
        return self.instruction is not None

    def start(self, instruction: str, success: SuccessCheck | None = None, timeout_s: float = 30.0) -> None:
        """Begin a step. The policy is reset (a fresh chunk queue; the scripted expert starts the
        instruction afresh even if it is the one it just did)."""
        self.policy.reset()
        self.instruction, self._success, self._timeout_s = instruction, success, timeout_s
        self._t0, self._ticks = self.robot.time, 0
        self.last_result, self.error = None, None

    def tick(self) -> SkillResult | None:
        """One control tick. Returns the step's result on the tick it ends."""
        result = None
        acting = self.busy and not self.paused
        if acting:
            obs = self.robot.get_observation(cameras=self.cameras)
            try:
                action = self.policy.select_action(obs, self.instruction)
                commands = to_commands(action, obs, self.policy.arms)
            except Exception as e:  # a broken policy fails the step, it does not take the session down
                self.error = e
                if self.on_error is not None:
                    self.on_error(e)
                result = self._end(SkillStatus.FAILED, f"error: {e}")
            else:
                sent = self.robot.send_action(commands)
                self.last_action = action
                if self.on_action:
                    self.on_action(obs, action, sent)
            self._ticks += 1
        # Idle: no new command; the joint motors keep their last targets.
        self.robot.advance()
        if acting and result is None:
            result = self._check()
        if self.on_tick:
            self.on_tick(self)
        return result

    def run(self, instruction: str, success: SuccessCheck | None = None, timeout_s: float = 30.0) -> SkillResult:
        """Start and tick until the step ends (the timeout ends it at the latest)."""
        self.start(instruction, success, timeout_s)
        limit = int(math.ceil(timeout_s * self.robot.control_hz)) + 2
        for _ in range(limit):
            r = self.tick()
            if r is not None:
                return r
        return self._end(SkillStatus.FAILED, f"timed out after {timeout_s:.0f} s")

    def stop(self) -> None:
        """E-stop: the robot holds from the next tick; the step keeps its place for `resume`."""
        self.robot.halt()
        self.paused = True

    def resume(self) -> None:
        self.robot.release()
        resync = getattr(self.policy, "resync", None)
        if resync is not None:
            resync()
        self.paused = False

    def cancel(self) -> None:
        if self.busy:
            self.policy.reset()
            self.last_result = SkillResult(self.instruction or "", SkillStatus.INTERRUPTED, "cancelled",
                                           self.robot.time - self._t0)
        self.instruction = None

    # -- ending a step -----------------------------------------------------------------------
    def _check(self) -> SkillResult | None:
        if getattr(self.policy, "done", False):
            r: SkillResult | None = getattr(self.policy, "result", None)
            if r is None:
                return self._end(SkillStatus.SUCCEEDED)
            return self._end(r.status, r.reason, r.skill, r.arm)
        if self._success is not None and self._ticks % self.check_every == 0:
            ok, why = _as_pair(self._success())
            if ok:
                return self._end(SkillStatus.SUCCEEDED, why)
        if self._ticks >= self._timeout_s * self.robot.control_hz:
            return self._end(SkillStatus.FAILED, f"timed out after {self._timeout_s:.0f} s")
        return None

    def _end(self, status: SkillStatus, reason: str = "", skill: str | None = None, arm: str = "") -> SkillResult:
        r = SkillResult(skill or self.instruction or "", status, reason, self.robot.time - self._t0, arm)
        self.instruction, self.last_result = None, r
        return r


def _as_pair(v) -> tuple[bool, str]:
    if isinstance(v, tuple):
        return bool(v[0]), str(v[1]) if len(v) > 1 else ""
    return bool(v), ""


# -- success checks from perception ----------------------------------------------------------
def holds(robot: Robot, perceive: Callable[[], PerceivedScene], kind: str | None, color: str | None
          ) -> SuccessCheck:
    """A hand holds the object and has lifted it. Build it when the step starts: it takes a first
    look to learn where the object is.

    Judged from proprioception first (cheap: fingers closed on something, the hand raised
    above the object's top) and then perception: the object is seen lifted at the hand, or it
    is no longer seen where it stood (seen from above, a held object is hidden under the hand,
    and the wrist camera sees it cut by the fingers).

    It must hold on two checks in a row with the fingers still (moved < 3 mm in between): a
    learned policy can lift a hand whose fingers are still closing over the object's place,
    with the object hidden under the arm, and then close on nothing (seen on held-out tables:
    the pick passed, the object never left the table, and the put step waited in vain).
    """
    before = list(perceive().find(kind, color))
    label = f"{color or ''} {kind or 'object'}".strip()
    last: dict[str, float] = {}  # arm -> finger opening at the previous positive check

    def now() -> tuple[bool, str, dict[str, float]]:
        obs = robot.get_observation(cameras=False)
        hands = {a: s for a, s in obs.arms.items()
                 if s.gripper_width > EMPTY_WIDTH and (s.gripper_closed or s.gripper_width < ALMOST_OPEN)}
        if not hands:
            return False, "no hand is closed on anything", {}
        if not before:
            return False, f"no {label} was in sight at the start", {}
        top = max(float(o.top_z) for o in before)
        hands = {a: s for a, s in hands.items() if s.ee_pos[2] > top + LIFTED}
        if not hands:
            return False, "the hand has not lifted anything yet", {}
        scene = perceive()
        seen = scene.find(kind, color)
        for a, s in hands.items():
            if any(float(np.linalg.norm(o.position[:2] - s.ee_pos[:2])) < HOLD_RADIUS and o.top_z > o.size[2] + LIFTED
                   for o in seen):
                return True, f"the {label} is in the hand", {a: s.gripper_width}
            start = min(before, key=lambda o: float(np.linalg.norm(o.position[:2] - s.ee_pos[:2])))
            if float(np.linalg.norm(start.position[:2] - s.ee_pos[:2])) < HOLD_RADIUS and \
                    not any(float(np.linalg.norm(o.position[:2] - start.position[:2])) < 0.03 for o in seen):
                return True, f"the {label} left its place with the closed hand", {a: s.gripper_width}
        return False, f"no {label} lifted in a hand", {}

    def check() -> tuple[bool, str]:
        ok, why, widths = now()
        confirmed = ok and any(a in last and abs(w - last[a]) < STILL_FINGERS for a, w in widths.items())
        last.clear()
        last.update(widths)
        if ok and not confirmed:
            return False, f"{why}: confirming (the fingers must stay closed on it)"
        return ok, why
    return check


def placed(robot: Robot, perceive: Callable[[], PerceivedScene], kind: str | None, color: str | None,
           dest_kind: str, dest_color: str | None, relation: str = "in") -> SuccessCheck:
    """The object is in (or on) the destination and no hand is closed: judged from perception."""
    def check() -> tuple[bool, str]:
        obs = robot.get_observation(cameras=False)
        if any(s.gripper_closed for s in obs.arms.values()):
            return False, "a hand is still closed"
        scene = perceive()
        dests = scene.find(dest_kind, dest_color)
        for o in scene.find(kind, color):
            for d in dests:
                dist = float(np.linalg.norm(o.position[:2] - d.position[:2]))
                if relation == "in" and dist < max(0.02, float(min(d.size[:2])) / 2 - 0.005):
                    return True, f"the {o.label} is in the {d.label}"
                if relation == "on" and dist < 0.03 and o.top_z > d.top_z + 0.5 * float(o.size[2]):
                    return True, f"the {o.label} is on the {d.label}"
        what, where = f"{color or ''} {kind}".strip(), f"{dest_color or ''} {dest_kind}".strip()
        return False, f"the {what} is not {relation} the {where}"
    return check


def success_check(instruction: str, robot: Robot, perceive: Callable[[], PerceivedScene]) -> SuccessCheck | None:
    """The usual check for a canonical instruction (pick -> holds; put in/on -> placed), or None."""
    from .instructions import parse_instruction

    p = parse_instruction(instruction)
    if p.action == "pick":
        return holds(robot, perceive, p.kind, p.color)
    if p.action in ("put_in", "put_on"):
        # A container is always "in" (the planner turns "on the plate" into put_in as well).
        from ..types import CONTAINER_KINDS

        rel = "in" if p.action == "put_in" or p.dest_kind in CONTAINER_KINDS else "on"
        return placed(robot, perceive, p.kind, p.color, p.dest_kind, p.dest_color, rel)
    return None
