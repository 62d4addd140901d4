"""DART noise injection for recording demonstrations (`robot-assistant record --noise`)."""
from __future__ import annotations

import math

import numpy as np


class NoisyExpert:
    """DART-style noise injection (Laskey et al., 2017): the robot executes the expert's action
    plus slowly varying noise on the hand's position, while the dataset records the expert's
    clean action for the state the noise led to. The skills aim at points on their planned
    path, so the clean action points back to the path: the demonstrations then show how to
    recover from the small errors a learned policy makes, not only the perfect trajectory.

    The noise is an Ornstein-Uhlenbeck process per arm (stationary std `sigma` metres, about
    0.15 s correlation); the recorded clean action is clipped to how far the robot lets a
    target lead the hand (`Limits.max_lead` + one tick at the speed limit), as `send_action`
    clips what it executes.
    """

    def __init__(self, policy, sigma: float, rng: np.random.Generator, max_lead: float) -> None:
        self.policy, self.sigma, self.rng, self.max_lead = policy, sigma, rng, max_lead
        self.arms = policy.arms
        self._n = np.zeros((len(self.arms), 3))
        self.clean: np.ndarray | None = None

    def __getattr__(self, name):  # done, result, info, reset, resync ... of the expert
        return getattr(self.policy, name)

    def select_action(self, observation, instruction: str) -> np.ndarray:
        clean = np.asarray(self.policy.select_action(observation, instruction), dtype=np.float32)
        self._n = 0.9 * self._n + self.sigma * math.sqrt(1 - 0.9 ** 2) * self.rng.standard_normal(self._n.shape)
        noisy = clean.copy()
        kept = clean.copy()
        for i in range(len(self.arms)):
            xyz = kept[5 * i:5 * i + 3]
            n = float(np.linalg.norm(xyz))
            if n > self.max_lead:
                kept[5 * i:5 * i + 3] = xyz * (self.max_lead / n)
            noisy[5 * i:5 * i + 3] += self._n[i]
        self.clean = kept
        return noisy
