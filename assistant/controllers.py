"""What moves the arm for each plan step: the scripted skills, the tiny VLA, or a remote policy.

The dialogue manager (execution.py) runs a plan one step at a time and should not care what
drives the arm, so it talks to one `StepController`: the `SkillRunner`'s surface (`busy`,
`paused`, `tick`, `stop`, `resume`, `cancel`, and `ctx`, which knows what the hands hold) plus
`start_step(step, scene)`. The session picks it (`SessionConfig.controller`):

* "scripted" (`ScriptedController`, the default): the step's skill (`planner.execute.skill_for`),
  exactly the path the assistant always had.
* "tiny_vla" / "remote" (`PolicyController`): steps whose canonical instruction asks to pick
  something up or to put it in/on something (`POLICY_ACTIONS`, the actions the demonstrations
  teach) go to a `PolicyRunner` driving the policy with that instruction. A learned policy cannot
  say when it is done, so the step ends when the perception success check of that instruction
  passes (`embodiments.policies.runner.success_check`) and fails after `step_timeout_s` of sim
  time; the manager then retries as after any failed step. Every other step (go home, open the
  gripper, put down at a point, push, hand over, put back) has no such check and runs as the
  scripted skill. After a policy step the skills' context learns what the hand now holds and takes
  the measured hand as its commanded pose, so a skill after a policy step starts where the arm is.
* A remote policy that stops answering (`PolicyUnavailable`: the server died, hangs, or speaks
  another protocol) e-stops the robot on the tick it is detected, before physics advances (at
  rest within 0.1 s), and `unavailable` says why: the manager fails the task with its own reply
  and does not retry against a dead server; the next request releases the arm, as after a stop.

The physical safety limits stay in the robot's `send_action`, whoever sends the commands.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from embodiments.policies import make_policy
from embodiments.policies.instructions import InstructionError, parse_instruction
from embodiments.policies.remote import PolicyUnavailable
from embodiments.policies.runner import PolicyRunner, success_check
from embodiments.policies.tiny_vla import SHIPPED_CHECKPOINT
from embodiments.skills import SkillRunner
from embodiments.skills.runner import Held, SkillContext
from embodiments.types import DetectedObject, PerceivedScene, SkillResult
from planner.execute import bind, skill_for
from planner.plan import Step

CONTROLLERS = ("scripted", "tiny_vla", "remote")
POLICY_ACTIONS = frozenset({"pick", "put_in", "put_on"})  # the instructions with a success check
POLICY_STEP_TIMEOUT_S = 20.0  # sim seconds a policy gets per step (the expert needs 4-8)
REMOTE_TIMEOUT_S = 5.0  # wall seconds one request to a policy server may take, reconnects included
DEFAULT_CHECKPOINT = SHIPPED_CHECKPOINT  # the Panda checkpoint in the package
TINY_VLA_EMBODIMENTS = ("panda",)  # what the shipped demonstrations were recorded on


class ControllerError(RuntimeError):
    """The controller cannot be set up: no checkpoint, a broken one, a robot it cannot drive, no
    policy server or one speaking another protocol. Raised before anything moves."""


class StepController(Protocol):
    ctx: SkillContext
    paused: bool
    unavailable: str | None  # set when a step ended because the controller stopped answering

    @property
    def busy(self) -> bool: ...

    def start_step(self, step: Step, scene: PerceivedScene) -> None:
        """Begin `step` (raises `BindError` before any motion when its object is not in `scene`)."""

    def policy_for(self, step: Step) -> str | None:
        """The policy that drives `step`, or None when it runs as a scripted skill."""

    def tick(self) -> SkillResult | None: ...

    def stop(self) -> None: ...

    def resume(self) -> None: ...

    def cancel(self) -> None: ...

    def close(self) -> None: ...


class ScriptedController(SkillRunner):
    """Every step as its scripted skill: the SkillRunner, unchanged."""

    name = "scripted"
    unavailable: str | None = None

    def start_step(self, step: Step, scene: PerceivedScene) -> None:
        self.start(skill_for(step, self.ctx, scene), step.instruction)

    def policy_for(self, step: Step) -> str | None:
        return None

    def close(self) -> None:
        pass


class PolicyController(SkillRunner):
    """Pick-and-place steps through a policy (see the module docstring), the rest as skills."""

    def __init__(self, robot, perceive_fn: Callable[[], PerceivedScene] | None, policy, name: str,
                 step_timeout_s: float = POLICY_STEP_TIMEOUT_S) -> None:
        super().__init__(robot, perceive_fn)
        self.name, self.policy, self.step_timeout_s = name, policy, float(step_timeout_s)
        self.policy_runner = PolicyRunner(robot, policy)
        self.policy_runner.on_error = self._policy_error
        self.unavailable: str | None = None
        self._step: Step | None = None
        self._target: DetectedObject | None = None  # what a pick step is picking (for `ctx.holding`)

    @property
    def busy(self) -> bool:
        return super().busy or self.policy_runner.busy

    def policy_for(self, step: Step) -> str | None:
        try:
            action = parse_instruction(step.instruction).action
        except InstructionError:  # e.g. "put the red cube back at (...)": not the grammar's
            return None
        return self.name if action in POLICY_ACTIONS else None

    def start_step(self, step: Step, scene: PerceivedScene) -> None:
        self.unavailable = None
        if self.policy_for(step) is None:
            self.start(skill_for(step, self.ctx, scene), step.instruction)
            return
        # Bind first, as the skills do: what is not in sight is a BindError before anything moves.
        target = bind(step.obj, scene) if step.obj is not None and step.skill == "pick" else None
        if step.dest is not None:
            bind(step.dest, scene)
        check = success_check(step.instruction, self.robot, self.ctx.perceive_fn) if self.ctx.perceive_fn else None
        self._step, self._target = step, target
        self.policy_runner.start(step.instruction, check, self.step_timeout_s)

    def tick(self) -> SkillResult | None:
        if not self.policy_runner.busy:
            return super().tick()
        r = self.policy_runner.tick()  # one control tick: act (unless paused), advance
        self.ctx.obs = self.robot.get_observation(cameras=False)
        if r is None:
            return None
        return self._policy_step_ended(r)

    def _policy_error(self, error: Exception) -> None:
        """Called by the PolicyRunner before physics advances: a policy that gives no actions
        (a remote server gone) leaves the arms held by the e-stop, not coasting on their last target."""
        if isinstance(error, PolicyUnavailable):
            self.robot.halt()
            self.paused = self.policy_runner.paused = True
            self.unavailable = str(error)

    def _policy_step_ended(self, r: SkillResult) -> SkillResult:
        step, target, self._step, self._target = self._step, self._target, None, None
        self._adopt_hands()
        arm = (step.arm if step is not None else None) or self.robot.arms[0]
        if r.ok and step is not None:
            action = parse_instruction(step.instruction).action
            if action == "pick" and target is not None:
                top = float(target.top_z)  # as the pick skill writes it down
                self.ctx.holding[arm] = Held(target.kind, target.color, top, max(0.012, top - min(0.022, top * 0.5)),
                                             float(self.ctx.width(arm)))
            elif action in ("put_in", "put_on"):
                self.ctx.holding.pop(arm, None)
        self.last_result = SkillResult(r.skill, r.status, r.reason, r.sim_seconds, arm)
        return self.last_result

    def _adopt_hands(self) -> None:
        """The skills go on from where the policy left the arms: the measured hand poses become the
        commanded ones, and a closed hand keeps being told to close (it may hold something)."""
        self.ctx.sync()
        for arm, st in self.ctx.obs.arms.items():
            self.ctx.gripper[arm] = 0.0 if st.gripper_closed else float(st.gripper_width)

    def stop(self) -> None:
        super().stop()
        self.policy_runner.paused = True

    def resume(self) -> None:
        super().resume()
        if self.policy_runner.paused:
            self.policy_runner.resume()  # the robot is already released; the policy re-syncs

    def cancel(self) -> None:
        if self.policy_runner.busy:
            self.policy_runner.cancel()  # the policy drops its queued actions
            self._step = self._target = None
            self._adopt_hands()
        super().cancel()

    def close(self) -> None:
        close = getattr(self.policy, "close", None)
        if close is not None:
            close()


# -- building one ------------------------------------------------------------------------------
def make_controller(name: str, robot, perceive: Callable[[], PerceivedScene] | None, *, embodiment: str = "panda",
                    policy_url: str | None = None, checkpoint: str | None = None,
                    options: dict[str, Any] | None = None) -> StepController:
    """The session's controller. `options`: `step_timeout_s` (policy steps), and keyword arguments
    for the policy (remote: `timeout`, `cameras`, ...; tiny_vla: `n_action_steps`, ...)."""
    options = dict(options or {})
    step_timeout = float(options.pop("step_timeout_s", POLICY_STEP_TIMEOUT_S))
    if name == "scripted":
        return ScriptedController(robot, perceive)
    if name == "tiny_vla":
        policy = tiny_vla_policy(checkpoint, embodiment, robot=robot, **options)
    elif name == "remote":
        policy = remote_policy(policy_url, tuple(robot.arms), **options)
    else:
        raise ControllerError(f"unknown controller {name!r}; one of {', '.join(CONTROLLERS)}")
    return PolicyController(robot, perceive, policy, name, step_timeout)


def tiny_vla_policy(checkpoint: str | Path | None, embodiment: str, robot=None, **options: Any):
    """The tiny VLA from `checkpoint` (default: the shipped one), or a ControllerError saying why not."""
    if embodiment not in TINY_VLA_EMBODIMENTS:
        raise ControllerError(f"the tiny_vla controller drives only the {' and '.join(TINY_VLA_EMBODIMENTS)} "
                              f"(its demonstrations were recorded there), not the {embodiment}; "
                              "use --controller scripted or remote")
    path = Path(checkpoint) if checkpoint else DEFAULT_CHECKPOINT
    if not path.is_file():
        raise ControllerError(f"no tiny_vla checkpoint at {path}, train one with robot-assistant train "
                              "or pass --checkpoint")
    try:
        return make_policy("tiny_vla", checkpoint=str(path), robot=robot, **options)
    except ImportError as e:
        raise ControllerError(f"the tiny_vla controller needs torch ({e}): pip install 'robot-assistant[ml]'") from e
    except Exception as e:  # torn file, not a checkpoint, another model's, wrong arms
        raise ControllerError(f"cannot load the tiny_vla checkpoint {path}: {type(e).__name__}: {e}") from e


def remote_policy(url: str | None, arms: tuple[str, ...], **options: Any):
    """A RemotePolicy already connected (its server's metadata read and checked), or a ControllerError."""
    if not url:
        raise ControllerError("the remote controller needs a policy server: --policy-url ws://host:port")
    options.setdefault("timeout", REMOTE_TIMEOUT_S)
    try:
        policy = make_policy("remote", url=url, arms=arms, **options)
    except (TypeError, ValueError) as e:
        raise ControllerError(f"remote controller: {e}") from e
    try:
        policy.connect()
    except PolicyUnavailable as e:
        policy.close()
        raise ControllerError(str(e)) from e
    return policy


def check_controller(name: str, embodiment: str = "panda", policy_url: str | None = None,
                     checkpoint: str | None = None, options: dict[str, Any] | None = None) -> None:
    """What the command line checks before it starts anything: the same errors as a session's start."""
    options = dict(options or {})
    options.pop("step_timeout_s", None)
    if name == "scripted":
        if policy_url or checkpoint:
            raise ControllerError("--policy-url and --checkpoint are for --controller remote and tiny_vla")
        return
    if name == "tiny_vla":
        tiny_vla_policy(checkpoint, embodiment, **options)
    elif name == "remote":
        from embodiments.registry import make_embodiment

        remote_policy(policy_url, tuple(make_embodiment(embodiment).arms), **options).close()
    else:
        raise ControllerError(f"unknown controller {name!r}; one of {', '.join(CONTROLLERS)}")


def controller_fields(args) -> dict[str, Any]:
    """The SessionConfig fields from the command line's --controller, --policy-url, --checkpoint."""
    return {"controller": getattr(args, "controller", None) or "scripted",
            "policy_url": getattr(args, "policy_url", None), "checkpoint": getattr(args, "checkpoint", None)}
