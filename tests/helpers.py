"""Shared helpers for the tests (not a test module)."""
from __future__ import annotations

from embodiments.perception import Perception
from embodiments.registry import make_embodiment
from embodiments.scene_spec import SceneSpec


def connect(embodiment: str, scene: dict, **kw):
    robot = make_embodiment(embodiment, SceneSpec.from_dict(scene), **kw)
    robot.connect()
    return robot


def perceiver(robot):
    """A perceive() over all the robot's cameras, with the real pixel-based perception."""
    p = Perception()
    ignore = robot.robot_bodies | set(robot.world.fixtures)
    return lambda: p.perceive_observation(robot.get_observation(), ignore)
