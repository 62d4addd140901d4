"""Recovery demonstrations (`record --fumble`): the shifted perception and the recording gate on
their own, and a real fumbled recording (pybullet, the scripted expert, the v3 writer)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from embodiments.policies.fumble import Fumble
from embodiments.types import DetectedObject, PerceivedScene


def _scene() -> PerceivedScene:
    def obj(i, x, y):
        return DetectedObject(i, "cube", "red", np.array([x, y, 0.02]), np.array([0.04, 0.04, 0.04]), (0, 0),
                              (0, 0, 0, 0), 0.9)
    return PerceivedScene(0.0, (obj(0, 0.1, 0.0), obj(1, -0.1, 0.1)))


def test_shifted_perception_moves_every_object_by_one_offset_until_the_retry():
    fb = Fumble(np.random.default_rng(3), _scene)
    r = float(np.hypot(*fb.offset[:2]))
    assert 0.025 <= r <= 0.045 and fb.offset[2] == 0.0
    shifted, true = fb.perceive(), _scene()
    for s, t in zip(shifted.objects, true.objects):
        assert np.allclose(s.position - t.position, fb.offset)  # neighbours keep their relative layout
        assert s.kind == t.kind and s.track_id == t.track_id
    fb.aiming_off = False
    assert all(np.allclose(s.position, t.position) for s, t in zip(fb.perceive().objects, true.objects))
    offsets = {tuple(Fumble(np.random.default_rng(i), _scene).offset.round(4)) for i in range(20)}
    assert len(offsets) == 20  # a different miss each episode


def test_recording_starts_at_the_first_reopening_after_a_close():
    fb = Fumble(np.random.default_rng(0), _scene)
    # approach open, close, stay closed (the skill checks the fingers), reopen, move on
    grips = [0.08, 0.06, 0.06, 0.0, 0.0, 0.0, 0.08, 0.08, 0.0, 0.08]
    gated = [fb.gate([g]) for g in grips]
    assert gated == [False] * 6 + [True] * 4  # and once started it stays on, closes included
    two_arms = Fumble(np.random.default_rng(0), _scene)
    assert [two_arms.gate(g) for g in ([0.08, 0.04], [0.08, 0.0], [0.08, 0.04])] == [False, False, True]
    assert Fumble.missed("pick(red cube): missed: the gripper closed on nothing")
    assert Fumble.missed("the object slipped out of the gripper while lifting")
    assert not Fumble.missed("blocked on the way down to the object") and not Fumble.missed("")


def test_a_fumbled_recording_starts_at_the_recovery_and_ends_in_success(tmp_path):
    pytest.importorskip("pyarrow")
    pytest.importorskip("pybullet")
    from embodiments.datasets.lerobot_v3 import LeRobotV3Reader
    from embodiments.policies.record import record

    out = tmp_path / "fumbled"
    s = record(out, 1, "panda", seed=21, every=3, progress=False, fumble=1.0)
    assert s["kept"] == 1, s
    # every kept episode went through a deliberate miss; those that did not miss are counted, not kept
    assert all(k.startswith("fumble: the shifted grasp did not miss") or "reach" in k or "planned" in k
               for k in s["skipped"]), s["skipped"]
    meta = json.loads((out / "meta/recording.json").read_text())
    assert meta["fumble"] == 1.0 and meta["episodes"][0]["fumbled"] is True
    e = LeRobotV3Reader(out).episode(0)
    state, action = np.asarray(e["observation.state"]), np.asarray(e["action"])
    # The first recorded frame: the fingers closed on nothing, the expert's first action opens them.
    assert state[0, 4] < 0.004 and action[0, 4] > 0.06
    # ... and later the hand closes on the object (the retry) and opens over the container.
    closed = np.flatnonzero(action[:, 4] < 0.002)
    assert closed.size and state[closed[-1], 4] > 0.004
    assert action[-1, 4] > 0.04
