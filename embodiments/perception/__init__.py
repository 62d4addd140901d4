"""Perception from camera frames (pixels, depth and an instance mask), numpy only.

`Perception().perceive(frames, ignore_ids, time)` -> `PerceivedScene`. The
simulator is never consulted: `train.py` and `evaluate.py` (which do use ground
truth, for training labels and for scoring) import it lazily.
"""
from .perception import Perception

__all__ = ["Perception"]
