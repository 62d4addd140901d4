"""Camera geometry: pixels + depth -> scene-frame points, and back.

Everything is derived from the frame's own view/proj matrices (OpenGL
convention, as pybullet and most GL-based renderers produce them), so the
camera may move, change resolution or be a real calibrated camera whose
intrinsics were written as a GL projection matrix. Nothing here knows about the
simulator.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..types import CameraFrame


@dataclass(frozen=True)
class CameraModel:
    """Per-pixel rays of one camera pose, precomputed so deprojection is one multiply-add.

    `rays[r, c]` is the scene-frame displacement per metre of optical-axis depth for
    pixel (r, c); a point is `origin + depth * rays`. `pixel_angle` is the angular
    size of one pixel (radians), used to turn pixel counts into metric sizes.
    """

    height: int
    width: int
    origin: np.ndarray  # (3,) camera centre, scene frame
    rays: np.ndarray  # (H, W, 3)
    axis: np.ndarray  # (3,) unit optical axis (pointing into the scene)
    world_to_clip: np.ndarray  # (4, 4) proj @ view
    pixel_angle: float


_CACHE: dict[bytes, CameraModel] = {}


def camera_model(frame: CameraFrame) -> CameraModel:
    """The `CameraModel` of a frame, cached on (shape, view, proj): a fixed camera costs nothing."""
    h, w = frame.depth.shape[:2]
    view = np.asarray(frame.view, dtype=np.float64)
    proj = np.asarray(frame.proj, dtype=np.float64)
    key = np.array([h, w], dtype=np.float64).tobytes() + view.tobytes() + proj.tobytes()
    model = _CACHE.get(key)
    if model is None:
        if len(_CACHE) > 32:  # wrist cameras move every frame: keep the cache bounded
            _CACHE.clear()
        model = _build(h, w, view, proj)
        _CACHE[key] = model
    return model


def _build(h: int, w: int, view: np.ndarray, proj: np.ndarray) -> CameraModel:
    # Normalised device coordinates of the pixel centres (row 0 is the top of the image).
    ndc_x = (np.arange(w) + 0.5) * (2.0 / w) - 1.0
    ndc_y = 1.0 - (np.arange(h) + 0.5) * (2.0 / h)
    nx, ny = np.meshgrid(ndc_x, ndc_y)
    # A camera-space point at depth d has z_c = -d and clip w = d (standard GL perspective),
    # so ndc * d = P[:2, :2] @ (x_c, y_c) + P[:2, 2] * (-d) + P[:2, 3]. Per unit depth
    # (ignoring the tiny P[:2, 3] terms, zero for any perspective camera):
    a = proj[:2, :2]
    rhs = np.stack([nx + proj[0, 2], ny + proj[1, 2]], axis=-1)  # (H, W, 2)
    xy = rhs @ np.linalg.inv(a).T
    cam = np.concatenate([xy, -np.ones((h, w, 1))], axis=-1)  # (H, W, 3) camera frame per unit depth
    inv = np.linalg.inv(view)
    rot, origin = inv[:3, :3], inv[:3, 3]
    rays = cam @ rot.T
    axis = rot @ np.array([0.0, 0.0, -1.0])
    pixel_angle = float(2.0 / (w * abs(proj[0, 0])))  # small-angle width of one pixel at the centre
    return CameraModel(h, w, origin.copy(), rays, axis / np.linalg.norm(axis), proj @ view, pixel_angle)


def deproject(model: CameraModel, rows: np.ndarray, cols: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Scene-frame points (N, 3) of the pixels (rows, cols) with optical-axis depths `depth`."""
    return model.origin + depth[:, None] * model.rays[rows, cols]


def project(model: CameraModel, points: np.ndarray) -> np.ndarray:
    """Pixel coordinates (N, 2) as (row, col) floats of scene-frame points (N, 3)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    hom = np.concatenate([pts, np.ones((len(pts), 1))], axis=1) @ model.world_to_clip.T
    ndc = hom[:, :2] / np.where(np.abs(hom[:, 3:4]) < 1e-9, 1e-9, hom[:, 3:4])
    col = (ndc[:, 0] + 1.0) * 0.5 * model.width - 0.5
    row = (1.0 - ndc[:, 1]) * 0.5 * model.height - 0.5
    return np.stack([row, col], axis=1)


def pixel_size_at(model: CameraModel, depth: float) -> float:
    """Metric size of one pixel at optical-axis depth `depth` (metres)."""
    return model.pixel_angle * depth
