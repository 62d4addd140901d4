"""Carrying out the live task: starting plans, one skill per step, retries and re-planning.

A mixin of `DialogueManager` (assistant/dialogue.py): `tick()` starts the next step when the
runner is free, binds it to a fresh look, and on a failure looks again (arms out of the
cameras' way) and re-plans what is left, twice, before the task fails with its reason.
"""
from __future__ import annotations

import numpy as np

from planner.execute import BindError, bind
from planner.grounding import Ambiguous, NotFound
from planner.intent import Goal
from planner.plan import Plan, PlanningError, Step

from .messages import object_name, say
from .task import Status, TaskState

MAX_RETRIES = 2
AWAY_FROM_HOME = 0.08  # m: a hand farther than this from its home pose may hide the table from the camera


class Execution:
    # -- starting ----------------------------------------------------------------------------
    def _start(self, goal: Goal, lang: str, raise_errors: bool = False) -> bool:
        """Plan `goal` on the current view and make it the running task (False if it cannot be)."""
        try:
            scene, held = self._scene_with_hands()
            plan = self.planner.plan(goal, scene, self.focus, held)
        except (Ambiguous, NotFound, PlanningError):
            if raise_errors:
                raise
            return False
        if self.runner.paused:  # a new request after a stop is the go-ahead
            self.runner.resume()
        self._set_task(TaskState(goal, plan, 0, Status.RUNNING, lang, history=self.task.history))
        self.task.log(self.robot.time, "plan: " + "; ".join(plan.describe()))
        return True

    def _run(self, plan: Plan, status: Status) -> None:
        self._set_task(TaskState(plan.goal, plan, 0, status, self.task.language, history=self.task.history))

    def _set_task(self, task: TaskState) -> None:
        self.task = task
        self._looked_again = False
        if task.plan is not None:
            self._emit("plan", goal=task.goal.describe() if task.goal else None, status=task.status.value,
                       steps=[{"skill": s.skill, "instruction": s.instruction, "arm": s.arm} for s in task.plan.steps])

    def _fail(self, reason: str, refused: bool = False) -> None:
        self.task.status = Status.REFUSED if refused else Status.FAILED
        self.task.reason = reason
        self.task.log(self.robot.time, f"failed: {reason}")
        self._emit("task_end", status=self.task.status.value, reason=reason)

    def _abort_motion(self) -> None:
        self.runner.cancel()
        if self.runner.paused:
            self.runner.resume()

    def _current_step(self) -> Step | None:
        t = self.task
        if t.plan is None or t.step >= len(t.plan.steps):
            return None
        return t.plan.steps[t.step]

    # -- ticking -----------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """Motion under way or about to start (a running plan, or a clean-up after a cancel)."""
        t = self.task
        return self.runner.busy or (t.plan is not None and t.step < len(t.plan.steps)
                                    and t.status in (Status.RUNNING, Status.CANCELLED))

    def tick(self) -> None:
        t = self.task
        stop = getattr(self.robot, "safety_stop", None)
        if stop is not None and not self.runner.paused:
            self._safety_stopped(stop)
        if t.plan is not None and t.status in (Status.RUNNING, Status.CANCELLED) and not self.runner.busy \
                and not self.runner.paused:
            if t.step < len(t.plan.steps):
                self._start_step(t.plan.steps[t.step])
            elif t.status is Status.RUNNING:
                if self.queue:
                    goal = self.queue.pop(0)
                    if not self._start(goal, t.language):
                        self._fail("could not plan the changed task")
                        self.events.append(self._reply(say(t.language, "failed"), t.language))
                else:
                    t.status = Status.DONE
                    self._emit("task_end", status=t.status.value, reason="")
                    self.events.append(self._reply(say(t.language, "done"), t.language))
        r = self.runner.tick()
        if r is not None:
            self._finished(r)

    def _safety_stopped(self, stop) -> None:
        """The robot stopped itself (unexpected contact): paused like a spoken stop, and said why;
        "continue" goes on from where it stopped, "cancel" puts things back."""
        self.runner.stop()
        t = self.task
        if t.status is Status.RUNNING:
            t.status = Status.PAUSED
        t.log(self.robot.time, f"safety stop: {stop.reason}")
        self._emit("safety_stop", arm=stop.arm, reason=stop.reason, link=stop.link, touched=stop.other,
                   force=round(stop.force, 1))
        lang = t.language or self.language or "en"
        self.events.append(self._reply(say(lang, "contact_stop"), lang))

    def _start_step(self, step: Step) -> None:
        scene = self.perceive()
        try:
            self.runner.start_step(step, scene)  # the skill, or the policy (assistant/controllers.py)
        except BindError as e:
            self._emit("fault", kind="object_lost", error=str(e))
            if not self._look_again(str(e)):
                self._retry_or_fail(str(e), lost=(e.handle.kind, e.handle.color))
            return
        except Exception as e:  # a broken skill or controller must not take the session down
            self._emit("fault", kind="skill_error", error=f"{type(e).__name__}: {e}")
            self._retry_or_fail(f"error: {e}")
            return
        if step.skill == "pick" and step.obj is not None:
            self._picking(bind(step.obj, scene))
        policy = self.runner.policy_for(step)  # None: the scripted skill
        self.task.log(self.robot.time, f"step {self.task.step + 1}: {step.instruction}"
                      + (f" [{policy}]" if policy else ""))
        self._emit("step_start", step=self.task.step + 1, skill=step.skill, instruction=step.instruction, arm=step.arm)

    def _look_again(self, reason: str) -> bool:
        """What a step needs is not in sight: if an arm is away from home (it may hide it from the
        camera), send the arms home first and try the step again after a fresh look (once per step)."""
        t = self.task
        away = [a for a in self.robot.arms
                if float(np.linalg.norm(self.runner.ctx.hand(a) - self.robot.home_pose(a)[0])) > AWAY_FROM_HOME]
        if self._looked_again or not away or t.plan is None:
            return False
        self._looked_again = True
        t.plan.steps[t.step:t.step] = [Step("home", "go home to look again", a) for a in away]
        t.log(self.robot.time, f"{reason}: the arms go home to look again")
        return True

    def _finished(self, r) -> None:
        t = self.task
        step = self._current_step()
        self._emit("step_end", step=t.step + 1, skill=step.skill if step else None,
                   instruction=step.instruction if step else None, status=r.status.value, reason=r.reason,
                   sim_seconds=round(r.sim_seconds, 3))
        self._flush_clips()
        if (r.reason or "").startswith("error:"):  # the skill raised (SkillRunner caught it)
            self._emit("fault", kind="skill_error", error=r.reason)
        if r.ok:
            step = self._current_step()
            if step is not None and step.skill.startswith("place"):
                self._put_down(step)
            if step is not None and step.skill != "home":
                self._looked_again = False
            t.step += 1
            t.retries = 0
            return
        if r.status.value == "interrupted":
            return
        if self.runner.unavailable is not None:  # a remote policy went away: the arm holds; no retries
            self._emit("fault", kind="controller", error=str(self.runner.unavailable))
            self._fail(r.reason)
            self.events.append(self._reply(say(t.language, "remote_unavailable"), t.language))
            return
        self._retry_or_fail(r.reason)

    def _retry_or_fail(self, reason: str, lost: tuple[str, str] | None = None) -> None:
        """A step failed: look again and re-plan what is left (twice), then report the failure
        (`lost`: the kind and colour of an object no longer in sight)."""
        t = self.task
        t.log(self.robot.time, f"step failed: {reason}")
        if t.retries < MAX_RETRIES and t.goal is not None and t.status is Status.RUNNING:
            retries = t.retries + 1
            if self._held_label() is None:
                try:
                    if self._start(t.goal, t.language, raise_errors=True):
                        self.task.retries = retries
                        return
                except PlanningError as e:
                    if e.code == "nothing_to_do":  # what is left was taken away: the goal holds
                        t.status = Status.DONE
                        self._emit("task_end", status=t.status.value, reason="nothing left to do")
                        t.log(self.robot.time, "nothing left to do after a fresh look")
                        self.events.append(self._reply(say(t.language, "done"), t.language))
                        return
                except NotFound as e:  # gone from the table (fallen off, taken away)
                    lost = (e.ref.kind, e.ref.color) if e.ref.kind or e.ref.color else lost
                except Ambiguous:
                    pass
            if self._held_label() is not None and t.plan is not None:  # keep going from the hand
                t.retries = retries
                return
        self._fail(reason)
        if lost is not None:  # say what is missing, not just that it failed
            text = say(t.language, "lost", obj=object_name(t.language, *lost))
        else:
            text = say(t.language, "fault" if reason.startswith("error:") else "failed")
        self.events.append(self._reply(text, t.language))
