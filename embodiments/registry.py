"""Registry + lazy factory for embodiments: importing this module never imports pybullet."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .robot import Robot
from .scene_spec import SceneSpec

_FACTORIES: dict[str, Callable[..., Robot]] = {}


def register(name: str):
    def deco(fn: Callable[..., Robot]) -> Callable[..., Robot]:
        _FACTORIES[name] = fn
        return fn
    return deco


def available() -> list[str]:
    return sorted(_FACTORIES)


def make_embodiment(kind: str, scene: SceneSpec | None = None, **kwargs: Any) -> Robot:
    """Build (not connect) a robot of a registered kind; heavy backends import here, lazily."""
    if kind not in _FACTORIES:
        raise ValueError(f"unknown embodiment {kind!r}; one of {', '.join(available())}")
    return _FACTORIES[kind](scene or SceneSpec(), **kwargs)


def _sim(kind: str):
    def factory(scene: SceneSpec, **kwargs: Any) -> Robot:
        from .sim.robot import SimRobot, SimRobotConfig

        return SimRobot(SimRobotConfig(type=kind, scene=scene, **kwargs))
    return factory


for _k in ("panda", "bimanual", "kuka"):
    register(_k)(_sim(_k))


@register("mock")
def _mock(scene: SceneSpec, **kwargs: Any) -> Robot:
    from .mock import MockRobot

    return MockRobot(scene, **kwargs)
