"""Turning a user's reference ("red_cube", "the red cube", "cube") into one perceived object."""
from __future__ import annotations

import re

from ..types import (
    COLORS,
    OBJECT_KINDS,
    DetectedObject,
    PerceivedScene,
    UnknownObjectError,
)


class AmbiguousReferenceError(UnknownObjectError):
    """More than one object fits; `candidates` lets the caller ask which one."""

    def __init__(self, ref: str, candidates: list[DetectedObject]) -> None:
        self.candidates = candidates
        names = ", ".join(sorted(c.label for c in candidates))
        super().__init__(f"{ref!r} could be any of: {names}")


def resolve(scene: PerceivedScene, ref: str | DetectedObject) -> DetectedObject:
    if isinstance(ref, DetectedObject):
        return ref
    words = [w for w in re.split(r"[\s_\-]+", ref.strip().lower()) if w and w not in ("the", "a", "an")]
    kinds = [w for w in words if w in OBJECT_KINDS]
    colors = [w for w in words if w in COLORS]
    if not words or len(kinds) > 1 or len(colors) > 1 or len(kinds) + len(colors) != len(words):
        raise UnknownObjectError(f"I don't know an object called {ref!r} (say a color and a kind, e.g. 'red cube')")
    found = scene.find(kinds[0] if kinds else None, colors[0] if colors else None)
    if not found:
        raise UnknownObjectError(f"I can't see a {' '.join(words)} on the table")
    if len(found) > 1:
        raise AmbiguousReferenceError(ref, found)
    return found[0]
