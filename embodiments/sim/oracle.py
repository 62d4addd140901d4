"""Ground-truth 'perception' read from the simulator: for ablations and debugging only.

The assistant never uses this by default (perception works from pixels); the
skills benchmark runs it beside real perception to show how much perception costs.
"""
from __future__ import annotations

import math

import numpy as np

from ..types import DetectedObject, PerceivedScene
from .world import yaw_of


def oracle_scene(robot) -> PerceivedScene:
    w = robot.world
    out = []
    for i, (oid, body) in enumerate(sorted(w.ids.items())):
        spec = w.scene.object(oid) if any(o.id == oid for o in w.scene.objects) else None
        pos, quat = w.c.getBasePositionAndOrientation(body)
        lo, hi = w.c.getAABB(body)
        yaw = yaw_of(quat)
        ext = np.array(hi) - np.array(lo)
        # extents in the object's own frame (long side first) from the axis-aligned box
        c, s = abs(math.cos(yaw)), abs(math.sin(yaw))
        det = c * c - s * s
        if abs(det) > 0.3:
            a = (c * ext[0] - s * ext[1]) / det
            b = (c * ext[1] - s * ext[0]) / det
        else:
            a = b = max(ext[0], ext[1]) / math.sqrt(2)
        if b > a:
            a, b, yaw = b, a, yaw + math.pi / 2
        centre = (np.array(lo) + np.array(hi)) / 2
        color = spec.resolved_color if spec else "white"
        out.append(DetectedObject(i, w.kinds[oid], color, centre, np.array([a, b, ext[2]]), (0, 0),
                                  (0, 0, 0, 0), 1.0, yaw=yaw, top_z=float(hi[2])))
    person = None
    if w.person is not None:
        person = np.array(w.c.getBasePositionAndOrientation(w.person)[0])
    return PerceivedScene(w.time, tuple(out), person)
