"""Every skill on every embodiment, end to end: real physics, perception from the cameras,
success judged by the ground-truth predicates (a few seeds; bench/skills.py runs 50)."""
from __future__ import annotations

import pytest

from bench.skills import EMBODIMENTS, SKILLS, run_trial

CASES = [(s, e, seed) for s in SKILLS for e in EMBODIMENTS for seed in (0, 2)
         if not (s == "handover" and e != "bimanual")]


@pytest.mark.parametrize("skill, embodiment, seed", CASES)
def test_skill(skill, embodiment, seed):
    t = run_trial(skill, embodiment, seed)
    assert t.ok, f"{skill} on {embodiment}, seed {seed}: {t.reason}"
    assert 0 < t.sim_seconds < 20
