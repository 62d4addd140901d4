"""Corrections to the live task: a change of object or of target, cancel, and "put it back".

A mixin of `DialogueManager` (assistant/dialogue.py). Each correction stops what the arm is
doing only when it must: a change of target during a grasp lets the grasp finish and re-plans
the rest with the same hand (the planner is told which arm is grasping what); a change of
object with the wrong object in hand puts it back first; a cancel puts down what is in hand
where it was first picked up and goes home.
"""
from __future__ import annotations

from dataclasses import replace

from planner.execute import BindError, bind
from planner.grounding import Ambiguous, NotFound
from planner.intent import Goal, Intent, Ref
from planner.plan import Handle, Plan, PlanningError, Step

from .messages import ref_name, say
from .task import Status, TaskState


class Changes:
    def _on_change(self, intent: Intent, lang: str):
        goal = self.task.goal
        if goal is None or self.task.status not in (Status.RUNNING, Status.PAUSED):
            if intent.goal is not None:
                return self._on_new_task(intent, lang)
            return self._reply(say(lang, "not_understood"), lang, intent)
        old = goal.objects if intent.slot == "objects" else goal.target
        new = intent.ref
        if old is not None and new is not None and not new.anaphora:  # "the green one": keep the kind
            new = replace(new, kind=new.kind or old.kind, quantity=old.quantity)
        changed = replace(goal, **{intent.slot or "objects": new})
        ack = {"ack": "ack_change", "obj": ref_name(lang, new)}
        held = self._held_label()
        step = self._current_step()
        grasping = step is not None and step.skill == "pick" and self.runner.busy
        if intent.slot == "target" and grasping and step.obj is not None:
            # Only where it goes changed: let the grasp under way finish, re-plan the rest.
            kept = self._replan_keeping_grasp(changed, step)
            if kept:
                return self._reply(say(lang, "ack_change", obj=ack["obj"]), lang, intent)
            if kept is False:  # the new plan starts elsewhere: let go first
                self._abort_motion()
            return self._plan_and_reply(changed, lang, intent, **ack)  # (or ask, while the grasp goes on)
        self._abort_motion()
        if grasping and not held:
            # Interrupted mid-grasp: let go of whatever the fingers may have closed on first.
            self.queue = [changed]
            self._run(Plan(goal, [Step("gripper", "open the gripper", step.arm), Step("home", "go home", step.arm)]),
                      Status.RUNNING)
            self.task.goal = changed
            return self._reply(say(lang, "ack_change", obj=ack["obj"]), lang, intent)
        if held and intent.slot == "objects":
            # The wrong object is in hand: put it back where it was first, then the new goal.
            self.queue = [changed]
            self._run(Plan(goal, self._put_back_steps()), Status.RUNNING)
            self.task.goal = changed
            return self._reply(say(lang, "ack_change", obj=ack["obj"]), lang, intent)
        if held and intent.slot == "target":  # keep what is in hand: re-plan from the hand
            self.queue = []
        return self._plan_and_reply(changed, lang, intent, **ack)

    def _on_cancel(self, intent: Intent, lang: str):
        if self.task.status not in (Status.RUNNING, Status.PAUSED, Status.CLARIFYING):
            return self._reply(say(lang, "nothing_to_cancel"), lang, intent)
        self._abort_motion()
        self.pending, self.queue = None, []
        self._emit("control", action="cancel", status=Status.CANCELLED.value)
        self._flush_clips()
        self._run(Plan(Goal("home"), self._put_back_steps() + [Step("home", "go home")]), Status.CANCELLED)
        return self._reply(say(lang, "cancelled"), lang, intent)

    def _on_undo(self, intent: Intent, lang: str):
        held = self._held_label()
        label = held or self.last_moved
        if label is None or label not in self.origins:
            return self._reply(say(lang, "nothing_to_undo"), lang, intent)
        self._abort_motion()
        kind, color = label.split(" ", 1)[1], label.split(" ", 1)[0]
        goal = Goal("place_at", Ref(kind, color), xy=self.origins[label])
        if held:
            self._run(Plan(goal, self._put_back_steps() + [Step("home", "go home")]), Status.RUNNING)
        else:
            self.queue = []
            if not self._start(goal, lang):
                return self._reply(say(lang, "failed"), lang, intent)
        return self._reply(say(lang, "undone"), lang, intent)

    def _replan_keeping_grasp(self, goal: Goal, step: Step) -> bool | None:
        """Re-plan `goal` while the pick `step` is under way, keeping it: the arm grasping the
        object also puts it down. False if the new plan does not start with that object, None
        if `goal` cannot be planned (as it is: a question to ask, an error to tell)."""
        try:
            scene, held = self._scene_with_hands()
            grasped = bind(step.obj, scene)
        except BindError:
            return False
        try:
            plan = self.planner.plan(goal, scene, self.focus, held, grasping={grasped.track_id: step.arm})
        except (Ambiguous, NotFound, PlanningError):
            return None
        first = plan.steps[0] if plan.steps else None
        if first is None or first.skill != "pick" or first.obj is None or first.obj.track_id != grasped.track_id:
            return False
        plan.steps[0] = step  # the pick under way is this plan's first step
        self._set_task(TaskState(goal, plan, 0, self.task.status, self.task.language, history=self.task.history))
        self.task.log(self.robot.time, "re-plan keeping the grasp: " + "; ".join(plan.describe()))
        return True

    def _put_back_steps(self) -> list[Step]:
        """Put whatever is in hand back where it was first picked up."""
        steps = []
        for arm, h in self.runner.ctx.holding.items():
            label = f"{h.color} {h.kind}"
            xy = self.origins.get(label)
            if xy is not None:
                steps.append(Step("place_at", f"put the {label} back at ({xy[0]:.2f}, {xy[1]:.2f})", arm,
                                  Handle(-1, h.kind, h.color, xy), xy=xy))
        return steps
