"""Robots (simulated and real), perception and controllers.

Importing this package is cheap: pybullet is imported only when a simulated
embodiment is built through `make_embodiment`.
"""
from .registry import available, make_embodiment
from .scene_spec import ObjectSpec, SceneSpec, SceneSpecError
from .types import ArmCommand, Observation, RobotError, SkillResult, SkillStatus

__all__ = [
    "ArmCommand", "ObjectSpec", "Observation", "RobotError", "SceneSpec", "SceneSpecError",
    "SkillResult", "SkillStatus", "available", "make_embodiment",
]
