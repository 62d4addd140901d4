"""Seeded household scenes for demos, tests and benchmarks."""
from __future__ import annotations

import numpy as np

from ..scene_spec import SceneSpec

DEMO_COLORS = ("red", "green", "blue", "yellow", "orange", "purple")


def tidy_scene(seed: int, person: bool = False) -> SceneSpec:
    """Two or three bowls of different colors, a cube of each bowl's color, and two or three
    cubes of colors with no bowl (these get stacked), plus a duck as a distractor."""
    rng = np.random.default_rng(seed)
    colors = [str(c) for c in rng.permutation(DEMO_COLORS)]
    n_bowls = int(rng.integers(2, 4))
    bowls, spare = colors[:n_bowls], colors[n_bowls:n_bowls + int(rng.integers(2, 4))]
    objs = [{"id": f"{c}_bowl", "kind": "bowl", "color": c} for c in bowls]
    objs += [{"id": f"{c}_cube", "kind": "cube", "color": c} for c in bowls + spare]
    objs.append({"id": "duck", "kind": "duck"})
    return SceneSpec.from_dict({"seed": seed, "person": person, "objects": objs})
