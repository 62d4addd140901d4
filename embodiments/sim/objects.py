"""Builders for every object kind of the scene vocabulary.

Containers (bowl, plate, mug) are compound shapes, a base plus wall segments,
because pybullet collides a dynamic body's concave mesh as its convex hull: a
mesh bowl would be a solid lump that nothing can go into. The tray is the
`tray/traybox.urdf` of pybullet_data, scaled down. Duck, teddy and lego are
pybullet_data meshes recoloured; cube, block and ball are primitives.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pybullet_data

from ..scene_spec import SceneLayoutError
from ..types import COLORS

_DATA = pybullet_data.getDataPath()


@dataclass(frozen=True)
class KindInfo:
    footprint: float  # radius (m) of the circle the object needs on the table
    height: float  # resting height of its top above the table (m)
    container: bool = False
    inner_radius: float = 0.0  # containers: usable radius of the inside
    base_top: float = 0.0  # containers: height of the inside floor above the table


KINDS: dict[str, KindInfo] = {
    "cube": KindInfo(footprint=0.035, height=0.04),
    "block": KindInfo(footprint=0.045, height=0.03),
    "ball": KindInfo(footprint=0.03, height=0.05),
    "lego": KindInfo(footprint=0.03, height=0.025),
    "duck": KindInfo(footprint=0.045, height=0.04),
    "teddy": KindInfo(footprint=0.05, height=0.045),
    "bowl": KindInfo(footprint=0.085, height=0.05, container=True, inner_radius=0.06, base_top=0.008),
    "plate": KindInfo(footprint=0.1, height=0.016, container=True, inner_radius=0.085, base_top=0.008),
    "mug": KindInfo(footprint=0.06, height=0.09, container=True, inner_radius=0.036, base_top=0.008),
    "tray": KindInfo(footprint=0.14, height=0.05, container=True, inner_radius=0.1, base_top=0.006),
}

OBJECT_FRICTION = 1.0


def rgba(color: str) -> list[float]:
    return [*COLORS[color], 1.0]


def create_object(client, kind: str, color: str, pos: tuple[float, float], yaw: float) -> int:
    """Create one object resting on the table (z=0 is the table top); returns its body id."""
    quat = client.getQuaternionFromEuler([0, 0, yaw])
    c = rgba(color)
    if kind == "cube":
        body = _box(client, [0.02, 0.02, 0.02], c, 0.08, pos, quat)
    elif kind == "block":
        body = _box(client, [0.04, 0.016, 0.015], c, 0.1, pos, quat)
    elif kind == "ball":
        col = client.createCollisionShape(client.GEOM_SPHERE, radius=0.025)
        vis = client.createVisualShape(client.GEOM_SPHERE, radius=0.025, rgbaColor=c)
        body = client.createMultiBody(0.05, col, vis, [pos[0], pos[1], 0.025], quat)
        # A ball must not roll off the table at the first touch.
        client.changeDynamics(body, -1, rollingFriction=0.002, spinningFriction=0.002)
    elif kind in ("duck", "teddy", "lego"):
        urdf, scale, z = {"duck": ("duck_vhacd.urdf", 0.55, 0.02),
                          "teddy": ("teddy_vhacd.urdf", 0.6, 0.025),
                          "lego": ("lego/lego.urdf", 1.0, 0.015)}[kind]
        body = client.loadURDF(f"{_DATA}/{urdf}", [pos[0], pos[1], z + 0.005], quat, globalScaling=scale)
        client.changeVisualShape(body, -1, rgbaColor=c, textureUniqueId=-1)
        client.changeDynamics(body, -1, mass=0.06)
    elif kind == "bowl":
        body = _vessel(client, c, pos, quat, radius=0.075, height=0.05, wall=0.008, segments=14,
                       mass=0.3, flare=0.25)
    elif kind == "plate":
        body = _vessel(client, c, pos, quat, radius=0.095, height=0.016, wall=0.006, segments=16,
                       mass=0.25, flare=0.9)
    elif kind == "mug":
        body = _vessel(client, c, pos, quat, radius=0.045, height=0.09, wall=0.006, segments=12,
                       mass=0.25, flare=0.0, handle=True)
    elif kind == "tray":
        # Static, like a tray lying on the table: it holds, it is not picked.
        body = client.loadURDF(f"{_DATA}/tray/traybox.urdf", [pos[0], pos[1], 0.0], quat,
                               globalScaling=0.38, useFixedBase=True)  # 23 cm square
        client.changeVisualShape(body, -1, rgbaColor=c, textureUniqueId=-1)
    else:
        raise ValueError(f"unknown kind {kind!r}")
    client.changeDynamics(body, -1, lateralFriction=OBJECT_FRICTION)
    return body


def _box(client, half, color, mass, pos, quat) -> int:
    col = client.createCollisionShape(client.GEOM_BOX, halfExtents=half)
    vis = client.createVisualShape(client.GEOM_BOX, halfExtents=half, rgbaColor=color)
    return client.createMultiBody(mass, col, vis, [pos[0], pos[1], half[2]], quat)


def _vessel(client, color, pos, quat, *, radius: float, height: float, wall: float, segments: int,
            mass: float, flare: float, handle: bool = False) -> int:
    """A round container: a disc base and `segments` wall boxes leaning out by `flare` rad."""
    base_h = 0.008
    shapes: list[tuple[int, list[float], list[float], list[float]]] = []  # (type, dims, pos, quat)
    base_r = radius - math.sin(flare) * height * 0.5 if flare else radius
    shapes.append((client.GEOM_CYLINDER, [max(base_r, 0.02), base_h], [0, 0, base_h / 2], [0, 0, 0, 1]))
    seg_w = 2 * math.pi * radius / segments * 0.6
    wall_len = (height - base_h) / max(math.cos(flare), 0.3)
    for i in range(segments):
        a = 2 * math.pi * i / segments
        r_mid = base_r + math.sin(flare) * wall_len / 2
        p = [r_mid * math.cos(a), r_mid * math.sin(a), base_h + (height - base_h) / 2]
        q = client.getQuaternionFromEuler([0, flare, a])
        shapes.append((client.GEOM_BOX, [wall / 2, seg_w, wall_len / 2], p, list(q)))
    if handle:
        shapes.append((client.GEOM_BOX, [0.012, 0.006, 0.03], [radius + 0.012, 0, height * 0.55], [0, 0, 0, 1]))
    col_kwargs = _shape_arrays(shapes)
    col = client.createCollisionShapeArray(**col_kwargs)
    vis_kwargs = {k.replace("collision", "visual"): v for k, v in col_kwargs.items()}
    vis = client.createVisualShapeArray(**vis_kwargs)
    body = client.createMultiBody(mass, col, vis, [pos[0], pos[1], 0.0], quat)
    client.changeVisualShape(body, -1, rgbaColor=color)
    return body


def _shape_arrays(shapes) -> dict:
    types, radii, halfs, lengths, poss, quats = [], [], [], [], [], []
    for t, dims, p, q in shapes:
        types.append(t)
        if len(dims) == 2:  # cylinder: radius, length
            radii.append(dims[0])
            lengths.append(dims[1])
            halfs.append([0, 0, 0])
        else:
            radii.append(0)
            lengths.append(0)
            halfs.append(dims)
        poss.append(p)
        quats.append(q)
    return dict(shapeTypes=types, radii=radii, halfExtents=halfs, lengths=lengths,
                collisionFramePositions=poss, collisionFrameOrientations=quats)


def place_objects(specs, seed: int, taken: list[tuple[float, float, float]] | None = None):
    """Positions and yaws for objects without `at`, drawn from `seed`, none overlapping.

    Objects with a fixed `at` are placed first; the rest by rejection sampling in
    the inner table area so that every sampled object is reachable.
    """
    rng = np.random.default_rng(seed)
    taken = list(taken or [])
    out: dict[str, tuple[tuple[float, float], float]] = {}
    for s in specs:
        if s.at is not None:
            taken.append((s.at[0], s.at[1], KINDS[s.kind].footprint))
    # Big things first: a tray placed last would find no room left.
    for s in sorted(specs, key=lambda s: -KINDS[s.kind].footprint):
        yaw = s.yaw if s.yaw is not None else float(rng.uniform(-math.pi, math.pi))
        if s.at is not None:
            out[s.id] = (s.at, yaw)
            continue
        r = KINDS[s.kind].footprint
        lim = 0.245 - r
        for _ in range(3000):
            x, y = (float(v) for v in rng.uniform(-lim, lim, size=2))
            x = min(x, 0.23 - r)
            if all(math.hypot(x - tx, y - ty) > r + tr + 0.01 for tx, ty, tr in taken):
                break
        else:
            raise SceneLayoutError("objects", f"no free place on the table for {s.id!r} (seed {seed}): "
                                   "too many or too big objects")
        taken.append((x, y, r))
        out[s.id] = ((x, y), yaw)
    return {s.id: out[s.id] for s in specs}
