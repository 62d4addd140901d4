"""Instance segments of one frame, lifted to 3-D: points, support height, footprint.

The segmentation mask is used only to *separate* instances (its ids carry no
meaning). Each segment becomes a point cloud in the scene frame; from it we
measure what a grasp planner and the classifier need: the height of its top,
the height of whatever it stands on (table, a bowl's floor, another cube), and
the footprint on the table (a minimum-area rectangle: centre, yaw, long and
short side). Numpy only, so it runs on real camera frames too.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..types import CameraFrame
from .geometry import CameraModel, deproject, pixel_size_at

MIN_PIXELS = 15  # smaller fragments (a corner peeking out under the arm) are noise
RING = 2  # pixels around a segment inspected for its support surface
_ANGLES = np.deg2rad(np.arange(0.0, 90.0, 1.0))
_COS, _SIN = np.cos(_ANGLES), np.sin(_ANGLES)


@dataclass
class Footprint:
    """A minimum-area rectangle around points projected to the table (scene frame)."""

    centre: np.ndarray  # (2,) xy
    yaw: float  # direction of the long side, in (-pi/2, pi/2]
    length: float  # long side (m)
    width: float  # short side (m)


@dataclass
class Segment:
    """One instance: its pixels, their scene-frame points and colours, and derived geometry."""

    sid: int  # the mask's instance id: only ever used to tell instances apart
    rows: np.ndarray
    cols: np.ndarray
    points: np.ndarray  # (N, 3)
    rgb: np.ndarray  # (N, 3) float 0-1
    box: tuple[int, int, int, int]  # pixel bbox r0, c0, r1, c1 (inclusive-exclusive)
    pixel: float  # metric size of one pixel at this segment's depth
    top_z: float = 0.0
    support_z: float = 0.0
    footprint: Footprint | None = None

    @property
    def height(self) -> float:
        return max(self.top_z - self.support_z, 1e-3)

    @property
    def n(self) -> int:
        return len(self.rows)


def split_segments(frame: CameraFrame, model: CameraModel, ignore_ids: set[int],
                   min_pixels: int = MIN_PIXELS) -> list[Segment]:
    """All segments of a frame except ignored ids, background and fragments, as point clouds."""
    seg = np.asarray(frame.segmentation)
    depth = np.asarray(frame.depth, dtype=np.float64)
    valid = (seg >= 0) & np.isfinite(depth) & (depth > frame.near) & (depth < frame.far * 0.999)
    if ignore_ids:
        valid &= ~np.isin(seg, np.fromiter(ignore_ids, dtype=np.int64, count=len(ignore_ids)))
    flat = np.flatnonzero(valid)
    if flat.size == 0:
        return []
    ids = seg.ravel()[flat]
    order = np.argsort(ids, kind="stable")
    flat, ids = flat[order], ids[order]
    uniq, starts, counts = np.unique(ids, return_index=True, return_counts=True)
    rgb_all = np.asarray(frame.rgb).reshape(-1, 3)
    out: list[Segment] = []
    w = seg.shape[1]
    for sid, start, count in zip(uniq, starts, counts):
        if count < min_pixels:
            continue
        idx = flat[start:start + count]
        rows, cols = idx // w, idx % w
        d = depth.ravel()[idx]
        pts = deproject(model, rows, cols, d)
        box = (int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1)
        s = Segment(int(sid), rows, cols, pts, rgb_all[idx].astype(np.float64) / 255.0, box,
                    pixel_size_at(model, float(np.median(d))))
        s.top_z = float(np.percentile(pts[:, 2], 98)) if count >= 50 else float(pts[:, 2].max())
        out.append(s)
    return out


def min_area_rect(xy: np.ndarray) -> Footprint:
    """Minimum-area rectangle of 2-D points by a 1-degree search (fast and robust enough).

    Edge-aligned rather than principal axes: a square cube's PCA axes are arbitrary, and
    a gripper closing along a diagonal would grip corners.
    """
    if len(xy) < 3:
        c = xy.mean(axis=0) if len(xy) else np.zeros(2)
        return Footprint(c, 0.0, 0.0, 0.0)
    u = xy[:, 0:1] * _COS + xy[:, 1:2] * _SIN  # (N, A)
    v = -xy[:, 0:1] * _SIN + xy[:, 1:2] * _COS
    umin, umax, vmin, vmax = u.min(0), u.max(0), v.min(0), v.max(0)
    k = int(np.argmin((umax - umin) * (vmax - vmin)))
    a, b = umax[k] - umin[k], vmax[k] - vmin[k]
    cu, cv = (umax[k] + umin[k]) / 2, (vmax[k] + vmin[k]) / 2
    c, s = _COS[k], _SIN[k]
    centre = np.array([cu * c - cv * s, cu * s + cv * c])
    yaw = float(_ANGLES[k]) if a >= b else float(_ANGLES[k]) + np.pi / 2
    if yaw > np.pi / 2:
        yaw -= np.pi
    return Footprint(centre, yaw, float(max(a, b)), float(min(a, b)))


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """Approximate hole filling: a pixel enclosed by the mask along its row and its column.

    Enough for what it is for: the contents of a bowl or tray count as inside it, so
    they are not mistaken for the surface the container stands on.
    """
    left = np.maximum.accumulate(mask, axis=1)
    right = np.maximum.accumulate(mask[:, ::-1], axis=1)[:, ::-1]
    up = np.maximum.accumulate(mask, axis=0)
    down = np.maximum.accumulate(mask[::-1], axis=0)[::-1]
    return mask | (left & right & up & down)


def _dilate(mask: np.ndarray, r: int) -> np.ndarray:
    out = mask.copy()
    for _ in range(r):
        grown = out.copy()
        grown[1:] |= out[:-1]
        grown[:-1] |= out[1:]
        grown[:, 1:] |= out[:, :-1]
        grown[:, :-1] |= out[:, 1:]
        out = grown
    return out


def estimate_support(seg: Segment, frame: CameraFrame, model: CameraModel, footprint: Footprint) -> float:
    """Height of the surface the segment stands on, from the pixels just around it.

    A cube on the table is ringed by table; in a bowl by the bowl's floor; on another cube
    partly by that cube's side. Ring pixels far from the footprint in xy (table seen past a
    tall object's far edge) or not clearly below the segment's top (a neighbour's rim,
    an arm above) say nothing about the support and are skipped. Nothing usable left
    (an object held in the air) -> the lowest point of the segment itself.
    """
    h, w = frame.depth.shape[:2]
    r0, c0, r1, c1 = seg.box
    r0, c0, r1, c1 = max(r0 - RING - 1, 0), max(c0 - RING - 1, 0), min(r1 + RING + 1, h), min(c1 + RING + 1, w)
    mask = np.zeros((r1 - r0, c1 - c0), dtype=bool)
    mask[seg.rows - r0, seg.cols - c0] = True
    filled = _fill_holes(mask)
    ring = _dilate(filled, RING) & ~filled
    rr, cc = np.nonzero(ring)
    rr, cc = rr + r0, cc + c0
    d = np.asarray(frame.depth, dtype=np.float64)[rr, cc]
    ok = np.isfinite(d) & (d > frame.near) & (d < frame.far * 0.999)
    if not ok.any():
        return _fallback_support(seg)
    pts = deproject(model, rr[ok], cc[ok], d[ok])
    # Distance to the footprint rectangle, in its own frame.
    c, s = np.cos(footprint.yaw), np.sin(footprint.yaw)
    rel = pts[:, :2] - footprint.centre
    du = np.abs(rel[:, 0] * c + rel[:, 1] * s) - footprint.length / 2
    dv = np.abs(-rel[:, 0] * s + rel[:, 1] * c) - footprint.width / 2
    margin = 0.006 + seg.pixel
    near = (du < margin) & (dv < margin) & (pts[:, 2] < seg.top_z - 0.012) & (pts[:, 2] > -0.05)
    if near.sum() < 3:
        return _fallback_support(seg)
    return float(max(np.percentile(pts[near, 2], 90), 0.0))


def _fallback_support(seg: Segment) -> float:
    return float(max(np.percentile(seg.points[:, 2], 2), 0.0))


def measure(seg: Segment, frame: CameraFrame, model: CameraModel) -> None:
    """Fill in the footprint and support height of a segment (in place)."""
    fp = min_area_rect(seg.points[:, :2])
    grow = seg.pixel  # outermost pixel centres sit half a pixel inside the outline on each side
    fp = Footprint(fp.centre, fp.yaw, fp.length + grow, fp.width + grow)
    seg.footprint = fp
    seg.support_z = min(estimate_support(seg, frame, model, fp), seg.top_z - 0.003)
