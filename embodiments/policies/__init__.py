"""Controllers as policies (see base.py): registry + lazy factory, like the embodiments.

Registered: `scripted` (the skills seen as a policy: the expert), `tiny_vla` (a small learned
language-conditioned visuomotor policy, `tiny_vla/`), `remote` (any policy served over the openpi
websocket protocol), and the test helpers `hold` and `replay`.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .base import ACTION_DIM, ACTION_NAMES, Policy, PolicyInfo, from_commands, to_commands

_FACTORIES: dict[str, Callable[..., Policy]] = {}


def register_policy(name: str):
    def deco(fn: Callable[..., Policy]) -> Callable[..., Policy]:
        _FACTORIES[name] = fn
        return fn
    return deco


def available_policies() -> list[str]:
    return sorted(_FACTORIES)


def make_policy(name: str, **kwargs: Any) -> Policy:
    if name not in _FACTORIES:
        raise ValueError(f"unknown controller {name!r}; one of {', '.join(available_policies())}")
    return _FACTORIES[name](**kwargs)


@register_policy("scripted")
def _scripted(robot: Any = None, perceive: Any = None, arms: tuple[str, ...] | None = None, **kwargs: Any) -> Policy:
    """`make_policy("scripted", robot=robot, perceive=perceive)`: the skills as a policy (imported lazily)."""
    if robot is None or kwargs:
        raise TypeError("the scripted policy needs a live robot (robot=...) and its perception (perceive=...)"
                        + (f"; unexpected {', '.join(sorted(kwargs))}" if kwargs else ""))
    if arms is not None and tuple(arms) != tuple(robot.arms):
        raise ValueError(f"arms {tuple(arms)} are not the robot's {tuple(robot.arms)}")
    from .scripted import ScriptedPolicy

    return ScriptedPolicy(robot, perceive)


__all__ = ["ACTION_DIM", "ACTION_NAMES", "Policy", "PolicyInfo", "available_policies", "from_commands",
           "make_policy", "register_policy", "to_commands"]


# -- lazily imported policies of this package (each factory imports its module on use) ----------
@register_policy("hold")
def _hold(arms: tuple[str, ...] = ("arm",), chunk_size: int = 1, **kwargs: Any) -> Policy:
    from .basic import HoldPolicy

    return HoldPolicy(tuple(arms), chunk_size, **kwargs)


@register_policy("replay")
def _replay(**kwargs: Any) -> Policy:
    from .basic import ReplayPolicy

    return ReplayPolicy(**kwargs)


@register_policy("remote")
def _remote(**kwargs: Any) -> Policy:
    from .remote import RemotePolicy

    return RemotePolicy(**kwargs)


@register_policy("tiny_vla")
def _tiny_vla(checkpoint: Any = None, **kwargs: Any) -> Policy:
    """`make_policy("tiny_vla", checkpoint=PATH[, robot=, arms=, n_action_steps=, temporal_ensemble=])`."""
    if checkpoint is None:
        raise TypeError("the tiny_vla policy needs a checkpoint (checkpoint=PATH, from `robot-assistant train`)")
    from .tiny_vla.policy import TinyVLAPolicy

    return TinyVLAPolicy(checkpoint, **kwargs)
