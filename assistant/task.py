"""The one live task: goal, plan, where it is, its status, and what happened (for the person and logs)."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from planner.intent import Goal
from planner.plan import Plan


class Status(StrEnum):
    """The statuses of ../shared/specs/dialogue-scripts.md."""

    IDLE = "idle"
    RUNNING = "running"
    PAUSED = "paused"
    CLARIFYING = "clarifying"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REFUSED = "refused"


@dataclass
class TaskState:
    goal: Goal | None = None
    plan: Plan | None = None
    step: int = 0  # index of the step being carried out (== len(plan.steps) when finished)
    status: Status = Status.IDLE
    language: str = "en"
    reason: str = ""  # why it failed / was refused
    retries: int = 0
    history: list[str] = field(default_factory=list)  # one line per change, oldest first
    # (kind, colour) of objects of the goal that left the table mid-task. The rest is still done;
    # the task then ends DONE, and the reply names what is missing (the goal holds for every object
    # of it still on the table). Only when nothing of the goal is left does it end FAILED.
    missing: list[tuple[str, str | None]] = field(default_factory=list)
    replans: int = 0  # re-plans of this goal so far (after a failed step, or a check that it holds)

    def log(self, time: float, text: str) -> None:
        self.history.append(f"{time:7.2f}s {text}")
        del self.history[:-200]  # a long session keeps the recent past

    def missing_text(self) -> str:
        """"the red cube, the duck": what left the table, in English for logs."""
        return ", ".join("the " + " ".join(w for w in (color, kind) if w) for kind, color in self.missing)

    def summary(self) -> str:
        """A short, human-readable view: status, goal and the plan with the current step marked."""
        lines = [f"status: {self.status.value}" + (f" ({self.reason})" if self.reason else "")
                 + (f" (without {self.missing_text()})" if self.missing else "")]
        if self.goal is not None:
            lines.append(f"goal: {self.goal.describe()}")
        if self.plan is not None:
            for i, s in enumerate(self.plan.steps):
                mark = "x" if i < self.step else (">" if i == self.step and self.status is Status.RUNNING else " ")
                lines.append(f"  [{mark}] {s.instruction}" + (f" ({s.arm})" if s.arm else ""))
        return "\n".join(lines)
