"""Carrying out the live task: starting plans, one skill per step, retries and re-planning.

A mixin of `DialogueManager` (assistant/dialogue.py): `tick()` starts the next step when the
runner is free, binds it to a fresh look, and on a failure looks again (arms out of the
cameras' way) and re-plans what is left, twice, before the task fails with its reason.

"Done" is said only when a look confirms the goal (`_plan_ran_out`): a plan may have been made
on a view in which an arm hid part of the table (a re-plan after a failure), and then it quietly
leaves things out. An object of the goal that left the table mid-task does not stop the rest:
the task ends done, and the reply names what is missing (`TaskState.missing`).
"""
from __future__ import annotations

import numpy as np

from planner.execute import BindError, bind
from planner.grounding import Ambiguous, NotFound
from planner.intent import Goal
from planner.plan import Plan, PlanningError, Step

from .messages import join, object_name, say
from .task import Status, TaskState

MAX_RETRIES = 2  # re-plans after failed steps in a row
MAX_REPLANS = 6  # re-plans of one goal in all: a step that fails after one that works must not loop for ever
AWAY_FROM_HOME = 0.08  # m: a hand farther than this from its home pose may hide the table from the camera
# Goals whose planner skips what already holds (an object in its container, a tower standing), so
# that planning them again on a fresh look says what is left: these are checked before "done".
CHECKED_ACTIONS = ("put_in", "put_on", "sort", "stack")


def _checkable(goal: Goal | None) -> bool:
    """Can the goal be planned again after its plan ran, to see what is left? Not when its objects
    are named through the conversation ("it", "the other one") or through where they were ("the
    cube in the bowl"): the task itself changes what those mean (what was picked becomes "it")."""
    if goal is None or goal.action not in CHECKED_ACTIONS:
        return False
    return not any(r is not None and (r.anaphora or r.relation) for r in (goal.objects, goal.target))


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
        self._homed_to_check = False
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
                    self._plan_ran_out()
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

    def _arms_away(self) -> list[str]:
        """The arms whose hand is away from home, where it may hide part of the table from the camera."""
        return [a for a in self.robot.arms
                if float(np.linalg.norm(self.runner.ctx.hand(a) - self.robot.home_pose(a)[0])) > AWAY_FROM_HOME]

    def _look_again(self, reason: str) -> bool:
        """What a step needs is not in sight: if an arm is away from home (it may hide it from the
        camera), send the arms home first and try the step again after a fresh look (once per step)."""
        t = self.task
        away = self._arms_away()
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
        if t.retries < MAX_RETRIES and t.replans < MAX_REPLANS and t.goal is not None \
                and t.status is Status.RUNNING:
            retries = t.retries + 1
            try:  # (with something in hand too: the planner plans from the hand)
                if self._start(t.goal, t.language, raise_errors=True):
                    self._carry_over(t, retries, lost)
                    return
            except PlanningError as e:
                if e.code == "nothing_to_do":  # what is left was taken away: the goal holds
                    t.missing += [m for m in self._gone(lost, None) if m not in t.missing]
                    t.log(self.robot.time, "nothing left to do after a fresh look")
                    self._done("nothing left to do")
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

    def _carry_over(self, old: TaskState, retries: int, lost: tuple[str, str] | None) -> None:
        """A re-plan of the same goal replaced `old`: keep its counts, and what has gone missing
        (`lost`, when the new plan does without it: the rest of the goal goes on)."""
        t = self.task
        t.retries, t.replans = retries, old.replans + 1
        t.missing = old.missing + [m for m in self._gone(lost, t.plan) if m not in old.missing]
        if len(t.missing) > len(old.missing):
            t.log(self.robot.time, f"going on without {t.missing_text()}")

    @staticmethod
    def _gone(lost: tuple[str, str] | None, plan: Plan | None) -> list[tuple[str, str]]:
        """[`lost`] unless `plan` still moves or uses something that looks like it."""
        if lost is None or (plan is not None and any(
                h is not None and (h.kind, h.color) == lost for s in plan.steps for h in (s.obj, s.dest))):
            return []
        return [lost]

    # -- the end of a plan -----------------------------------------------------------------------
    def _plan_ran_out(self) -> None:
        """Every step ran: "done" once a look confirms the goal. A look with an arm out over the
        table is trusted only for named objects (the arm may hide one of "all the cubes", or a bowl,
        and a plan made on that view leaves it out): for the others the arms go home first. What is
        still left is re-planned and carried out; steps still left after MAX_REPLANS are a failure.
        A look that cannot judge (the object hidden in a deep container, a "left side" emptied by
        the task itself) leaves the steps' own checks standing."""
        t = self.task
        if not _checkable(t.goal):
            self._done()
            return
        left, problem = self._what_is_left(t.goal)
        away = self._arms_away()
        every = t.goal.action in ("sort", "stack") or (t.goal.objects is not None and t.goal.objects.quantity == "all")
        if left is not None and not left.steps and not (every and away):
            self._done()
            return
        if away and not self._homed_to_check and t.plan is not None:
            self._homed_to_check = True
            t.plan.steps += [Step("home", "go home to check the result", a) for a in away]
            t.log(self.robot.time, "the arms go home to check the result")
            return
        if left is None or not left.steps:
            if left is None:
                t.log(self.robot.time, f"the look cannot judge the goal ({problem}): the steps' own checks stand")
            self._done()
        elif t.replans < MAX_REPLANS:
            self._set_task(TaskState(t.goal, left, 0, Status.RUNNING, t.language, history=t.history,
                                     missing=t.missing, replans=t.replans + 1))
            self.task.log(self.robot.time, "the goal does not hold yet; plan: " + "; ".join(left.describe()))
        else:
            self._fail("the goal still does not hold after re-planning")
            self.events.append(self._reply(say(t.language, "failed"), t.language))

    def _what_is_left(self, goal: Goal) -> tuple[Plan | None, str]:
        """The plan for what is left of `goal` on a fresh look (no steps: it holds), or None and why
        it cannot be planned."""
        self.perceive()  # the view turns are planned on is now this one
        try:
            scene, held = self._scene_with_hands()
            return self.planner.plan(goal, scene, self.focus, held), ""
        except PlanningError as e:
            return (Plan(goal, []), "") if e.code == "nothing_to_do" else (None, e.reason)
        except (NotFound, Ambiguous) as e:
            return None, str(e)

    def _done(self, reason: str = "") -> None:
        t = self.task
        t.status = Status.DONE
        note = f"without {t.missing_text()}" if t.missing else ""
        self._emit("task_end", status=t.status.value, reason="; ".join(x for x in (reason, note) if x))
        if t.missing:  # the rest is done: say what could not be, because it is gone
            names = join(t.language, [object_name(t.language, k, c) for k, c in t.missing], "and")
            text = say(t.language, "done_except", obj=names)
        else:
            text = say(t.language, "done")
        self.events.append(self._reply(text, t.language))
