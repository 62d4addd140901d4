"""The `scene:` block of the dialogue-script format (../shared/specs/dialogue-scripts.md).

Validation is strict on purpose: an unknown key, kind or color is an error that
names the key, so a typo in a scene never silently yields a different scene.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .types import COLORS, NATURAL_COLORS, OBJECT_KINDS, TABLE_HALF, RobotError

_ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


class SceneSpecError(RobotError):
    """A malformed scene description; `key` is the dotted path of the offending key."""

    def __init__(self, key: str, problem: str, source: str = "") -> None:
        self.key, self.problem, self.source = key, problem, source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}scene.{key}: {problem}" if key else f"{where}scene: {problem}")


class SceneLayoutError(SceneSpecError, ValueError):
    """The objects do not fit on the table (too many, too big, fixed positions overlapping)."""


@dataclass(frozen=True)
class ObjectSpec:
    id: str
    kind: str
    color: str | None = None
    at: tuple[float, float] | None = None
    yaw: float | None = None  # radians; None = drawn from the seed

    @property
    def resolved_color(self) -> str:
        return self.color or NATURAL_COLORS.get(self.kind, "white")


@dataclass(frozen=True)
class SceneSpec:
    seed: int = 0
    objects: tuple[ObjectSpec, ...] = field(default_factory=tuple)
    person: bool = False

    def object(self, obj_id: str) -> ObjectSpec:
        for o in self.objects:
            if o.id == obj_id:
                return o
        raise SceneSpecError("objects", f"no object with id {obj_id!r}")

    @classmethod
    def from_dict(cls, data: Any, source: str = "") -> SceneSpec:
        if not isinstance(data, dict):
            raise SceneSpecError("", f"expected a mapping, got {type(data).__name__}", source)
        _check_keys(data, {"seed", "objects", "person"}, "", source)
        seed = data.get("seed", 0)
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise SceneSpecError("seed", f"expected an integer, got {seed!r}", source)
        person = data.get("person", False)
        if not isinstance(person, bool):
            raise SceneSpecError("person", f"expected true or false, got {person!r}", source)
        raw = data.get("objects", [])
        if not isinstance(raw, list):
            raise SceneSpecError("objects", "expected a list of objects", source)
        objs: list[ObjectSpec] = []
        seen: set[str] = set()
        for i, o in enumerate(raw):
            spec = object_from_dict(o, f"objects[{i}]", source)
            if spec.id in seen:
                raise SceneSpecError(f"objects[{i}].id", f"duplicate id {spec.id!r}", source)
            seen.add(spec.id)
            objs.append(spec)
        return cls(seed=seed, objects=tuple(objs), person=person)

    @classmethod
    def from_yaml(cls, path: str | Path) -> SceneSpec:
        import yaml

        p = Path(path)
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as e:
            raise SceneSpecError("", f"cannot read scene file: {e}", str(p)) from e
        if isinstance(data, dict) and "scene" in data:
            data = data["scene"]
        return cls.from_dict(data, str(p))


def object_from_dict(o: Any, key: str, source: str = "") -> ObjectSpec:
    if not isinstance(o, dict):
        raise SceneSpecError(key, "expected a mapping with id and kind", source)
    _check_keys(o, {"id", "kind", "color", "at", "yaw"}, key, source)
    oid = o.get("id")
    if not isinstance(oid, str) or not _ID_RE.match(oid):
        raise SceneSpecError(f"{key}.id", f"expected an identifier, got {oid!r}", source)
    kind = o.get("kind")
    if kind not in OBJECT_KINDS:
        raise SceneSpecError(f"{key}.kind", f"unknown kind {kind!r}; one of {', '.join(OBJECT_KINDS)}", source)
    color = o.get("color")
    if color is not None and color not in COLORS:
        raise SceneSpecError(f"{key}.color", f"unknown color {color!r}; one of {', '.join(COLORS)}", source)
    if color is None and kind not in NATURAL_COLORS:
        raise SceneSpecError(f"{key}.color", f"a {kind} needs a color", source)
    at = o.get("at")
    if at is not None:
        if (not isinstance(at, (list, tuple)) or len(at) != 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in at)):
            raise SceneSpecError(f"{key}.at", f"expected [x, y] in metres, got {at!r}", source)
        if not all(abs(float(v)) <= TABLE_HALF + 1e-9 for v in at):
            raise SceneSpecError(f"{key}.at", f"{list(at)} is off the table (x, y in [-{TABLE_HALF}, {TABLE_HALF}])",
                                 source)
        at = (float(at[0]), float(at[1]))
    yaw = o.get("yaw")
    if yaw is not None and not isinstance(yaw, (int, float)):
        raise SceneSpecError(f"{key}.yaw", f"expected radians, got {yaw!r}", source)
    return ObjectSpec(id=oid, kind=kind, color=color, at=at, yaw=None if yaw is None else float(yaw))


def _check_keys(d: dict, allowed: set[str], key: str, source: str) -> None:
    extra = sorted(set(d) - allowed)
    if extra:
        where = f"{key}.{extra[0]}" if key else extra[0]
        raise SceneSpecError(where, f"unknown key (allowed: {', '.join(sorted(allowed))})", source)
