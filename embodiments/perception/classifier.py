"""A small, robust per-class model for kinds and colours, stored as JSON.

Each class is a Student-t per feature (centre + scale, fitted offline by
`train.py` on rendered crops). Why this and not a bigger learner: a dozen
numbers per class are inspectable, ship in a few KB, and the heavy tails make
one wild feature (the height of a cube held in the air, a bowl half hidden by
the arm) cost a bounded penalty instead of overruling every other feature.
Numpy only.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MODEL_PATH = Path(__file__).with_name("model.json")
DOF = 3.0  # Student-t degrees of freedom: heavy tails on purpose


@dataclass(frozen=True)
class ClassModel:
    """Per-class centres and scales over the same feature order, as arrays."""

    classes: tuple[str, ...]
    centre: np.ndarray  # (C, F)
    scale: np.ndarray  # (C, F)
    weight: np.ndarray  # (F,) how much each feature counts (1 = fully)

    def log_likelihood(self, x: np.ndarray) -> np.ndarray:
        """(C,) log-likelihood of one feature vector under each class."""
        z = (np.asarray(x, dtype=np.float64)[None, :] - self.centre) / self.scale
        ll = -np.log(self.scale) - 0.5 * (DOF + 1.0) * np.log1p(z * z / DOF)
        return (ll * self.weight).sum(axis=1)

    def posterior(self, x: np.ndarray, prior: np.ndarray | None = None) -> np.ndarray:
        ll = self.log_likelihood(x)
        if prior is not None:
            ll = ll + np.log(np.maximum(prior, 1e-9))
        ll -= ll.max()
        p = np.exp(ll)
        return p / p.sum()

    @classmethod
    def from_json(cls, data: dict) -> ClassModel:
        names = tuple(data["classes"])
        feats = data["features"]
        centre = np.array([[data["classes"][c]["centre"][f] for f in feats] for c in names], dtype=np.float64)
        scale = np.array([[data["classes"][c]["scale"][f] for f in feats] for c in names], dtype=np.float64)
        weight = np.array([data.get("weights", {}).get(f, 1.0) for f in feats], dtype=np.float64)
        return cls(names, centre, scale, weight)


def load_models(path: Path | str = MODEL_PATH) -> tuple[ClassModel, ClassModel]:
    """(kind model, colour model) from the shipped JSON."""
    data = json.loads(Path(path).read_text())
    return ClassModel.from_json(_named(data["kind"])), ClassModel.from_json(_named(data["color"]))


def _named(section: dict) -> dict:
    feats = section["features"]
    classes = {c: {"centre": dict(zip(feats, v["centre"])), "scale": dict(zip(feats, v["scale"]))}
               for c, v in section["classes"].items()}
    return {"features": feats, "classes": classes, "weights": section.get("weights", {})}


def fit_gaussian(x: np.ndarray, labels: np.ndarray, classes: list[str], min_scale: np.ndarray | None = None,
                 ) -> dict[str, dict[str, list[float]]]:
    """Robust per-class centre (median) and scale (1.4826 * MAD, floored) of each feature."""
    out: dict[str, dict[str, list[float]]] = {}
    floor = np.full(x.shape[1], 1e-3) if min_scale is None else np.asarray(min_scale)
    for c in classes:
        xc = x[labels == c]
        if len(xc) == 0:
            raise ValueError(f"no training samples of {c!r}")
        med = np.median(xc, axis=0)
        mad = 1.4826 * np.median(np.abs(xc - med), axis=0)
        out[c] = {"centre": [round(float(v), 5) for v in med],
                  "scale": [round(float(v), 5) for v in np.maximum(mad, floor)]}
    return out
