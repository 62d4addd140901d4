"""Scripted skills: per-tick generators of arm commands, run by a `SkillRunner`.

A skill is a Python generator that yields one `{arm: ArmCommand}` per control tick
and returns a `SkillResult`. Writing skills as generators makes them interruptible
at every tick for free: a stop simply means the runner does not ask for the next
command (and the robot's e-stop holds the arms), and a resume continues the
generator where it paused.
"""
from .library import (
    SKILLS,
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
from .runner import SkillContext, SkillRunner

__all__ = [
    "SKILLS", "SkillContext", "SkillRunner", "handover", "home", "pick", "place_at", "place_in",
    "place_on", "push", "set_gripper", "stack",
]
