"""Feature vectors of a segment for the kind and colour classifiers.

Kind features are metric (metres, ratios) so they do not depend on the camera's
resolution or distance: footprint sides, height above the support, how the
height is distributed (a flat cube top, a domed ball, a hollow bowl). Colour
features are shading-robust statistics over the whole segment: median
chromaticity (unchanged by how brightly a face is lit) plus the brightness of
the best-lit pixels and median saturation (to tell white, black, brown and
orange apart, which chromaticity alone cannot).
"""
from __future__ import annotations

import numpy as np

from .segments import Segment

KIND_FEATURES: tuple[str, ...] = (
    "length", "width", "height", "aspect", "fill", "centre_rel", "top_frac", "mean_rel", "low_frac",
)
COLOR_FEATURES: tuple[str, ...] = ("r", "g", "b", "value", "sat", "value_lo")


def kind_features(seg: Segment) -> np.ndarray:
    """(len(KIND_FEATURES),) vector; see the module docstring for why these."""
    fp = seg.footprint
    assert fp is not None, "measure() the segment first"
    z = seg.points[:, 2]
    h = seg.height
    rel = np.clip((z - seg.support_z) / h, -0.5, 1.5)
    # Height at the middle of the footprint relative to the top: ~1 for solids, low for vessels.
    d2 = np.sum((seg.points[:, :2] - fp.centre) ** 2, axis=1)
    k = max(3, len(d2) // 8)
    mid = np.argpartition(d2, min(k, len(d2) - 1))[:k]
    centre_rel = float(np.median(rel[mid]))
    top_band = max(0.004, 0.15 * h)
    top_frac = float(np.mean(z >= seg.top_z - top_band))
    low_frac = float(np.mean(rel < 0.5))
    fill = _fill_ratio(seg, fp.length, fp.width)
    return np.array([fp.length, fp.width, h, fp.width / max(fp.length, 1e-3), fill, centre_rel, top_frac,
                     float(rel.mean()), low_frac])


def _fill_ratio(seg: Segment, length: float, width: float) -> float:
    """Area of the footprint silhouette over its bounding rectangle (1 for boxes, ~0.8 for discs).

    The silhouette is rasterised in the footprint frame on a grid of about one pixel,
    each grid row filled between its outermost points (gaps between samples vanish).
    """
    fp = seg.footprint
    assert fp is not None
    c, s = np.cos(fp.yaw), np.sin(fp.yaw)
    rel = seg.points[:, :2] - fp.centre
    u = rel[:, 0] * c + rel[:, 1] * s
    v = -rel[:, 0] * s + rel[:, 1] * c
    cell = max(seg.pixel, 0.002)
    iu = np.floor((u - u.min()) / cell).astype(np.int64)
    nrows = int(iu.max()) + 1
    vmin = np.full(nrows, np.inf)
    vmax = np.full(nrows, -np.inf)
    np.minimum.at(vmin, iu, v)
    np.maximum.at(vmax, iu, v)
    have = np.isfinite(vmin)
    spans = (vmax[have] - vmin[have] + cell).sum() * cell
    # Empty grid rows (sparse sampling) are counted at the mean span of their neighbours.
    spans *= nrows / max(int(have.sum()), 1)
    return float(np.clip(spans / max(length * width, 1e-6), 0.0, 1.5))


def color_features(seg: Segment) -> np.ndarray:
    """(len(COLOR_FEATURES),) robust colour statistics of the segment's pixels."""
    rgb = seg.rgb
    total = rgb.sum(axis=1)
    lit = total > 0.03
    chroma = rgb[lit] / total[lit, None] if lit.any() else np.full((1, 3), 1 / 3)
    mx = rgb.max(axis=1)
    mn = rgb.min(axis=1)
    sat = np.where(mx > 1e-3, (mx - mn) / np.maximum(mx, 1e-3), 0.0)
    r, g, b = np.median(chroma, axis=0)
    return np.array([r, g, b, float(np.percentile(mx, 80)), float(np.median(sat)),
                     float(np.percentile(mx, 30))])
