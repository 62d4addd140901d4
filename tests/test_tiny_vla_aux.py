"""tiny_vla's opt-in training experiments: the auxiliary goal heads (`train --aux-goal`) and
left-right mirror augmentation (`train --mirror`); both measured worse and off by default
(embodiments/policies/tiny_vla/checkpoints/README.md), kept tested because they stay options."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from embodiments.policies.tiny_vla.model import TinyVLA, TinyVLAConfig  # noqa: E402


def _inputs(cfg: TinyVLAConfig, b: int = 2):
    imgs = {k: torch.rand(b, 3, h, w) for k, (h, w) in cfg.cameras.items()}
    return imgs, torch.randn(b, cfg.state_dim), torch.randn(b, cfg.text_dim)


# -- the auxiliary goal heads --------------------------------------------------------------------
def test_goals_are_where_the_objects_stood_and_where_the_hand_went(tiny_dataset):
    """The redrawn scene puts the object and the container where the real pybullet episode had
    them: at the end of the pick step the hand is over the object's goal, and a fresh robot on
    the redrawn scene has both objects there (within the ~2 cm a settling ball or duck moves)."""
    import json

    from embodiments.policies.record import draw_fitting_scene
    from embodiments.policies.tiny_vla.data import episode_goals, load_dataset
    from embodiments.registry import make_embodiment

    d = load_dataset(tiny_dataset, goals=True)
    assert not np.isnan(d.goal).any()
    rec = json.loads((tiny_dataset / "meta" / "recording.json").read_text())
    g = episode_goals(rec)[0]
    pick = np.array([d.tasks[t].startswith("pick") for t in d.task])
    assert pick.any() and (~pick).any()
    assert np.allclose(d.goal[pick], g["obj"]) and np.allclose(d.goal[~pick], g["dest"])
    end = int(np.flatnonzero(pick)[-1])
    hand = d.state[end, d.pose_at[0]:d.pose_at[0] + 2]
    assert np.linalg.norm(hand - g["obj"][:2]) < 0.025
    e = rec["episodes"][0]
    spec = draw_fitting_scene(np.random.default_rng([e["seed"], e["attempt"]]))[0]
    robot = make_embodiment("panda", spec)
    robot.connect()
    try:
        for k in ("obj", "dest"):
            assert np.linalg.norm(np.asarray(robot.world.position(k))[:2] - g[k][:2]) < 0.025, k
    finally:
        robot.disconnect()


def test_aux_goal_training_runs_and_the_policy_acts_without_the_heads(tiny_dataset, tmp_path):
    from embodiments.policies.tiny_vla.policy import load_checkpoint
    from embodiments.policies.tiny_vla.train import train

    ck = tmp_path / "aux.pt"
    s = train(tiny_dataset, ck, steps=6, batch=8, ckpt_every=6, progress=False, aux_goal=1.0)
    assert s["steps"] == 6
    c = load_checkpoint(ck)
    assert c["config"]["aux_goal"] is True and "goal_front.weight" in c["model"]
    cfg = TinyVLAConfig.from_dict(c["config"])
    model = TinyVLA(cfg)
    model.load_state_dict(c["model"])
    imgs, state, text = _inputs(cfg)
    acts, front, rel = model(imgs, state, text, aux=True)
    assert acts.shape == (2, cfg.chunk, cfg.action_dim) and front.shape == rel.shape == (2, 3)
    assert torch.equal(model(imgs, state, text), acts)  # acting is the same network, heads unused


def test_a_mirrored_table_renders_as_the_flipped_images():
    """What `--mirror` assumes: a table and its mirror image through the robot's base (objects at
    y -> -y, yaw -> -yaw; the hand at the mirrored pose, yaw -> -yaw) give the same front and
    wrist images flipped left-right. Mirror-symmetric objects (a duck's mesh is not), and a light
    in the mirror plane (a random light's mirror image is another random light)."""
    import math

    from embodiments.policies.record import DatasetCameras, Jitter
    from embodiments.registry import make_embodiment
    from embodiments.scene_spec import SceneSpec

    objs = [("cube", "red", (0.10, 0.12), 0.4), ("ball", "yellow", (-0.05, -0.15), 0.0),
            ("bowl", "blue", (0.02, 0.05), 0.0), ("block", "green", (0.12, -0.05), 0.9)]
    light = Jitter(light_dir=(math.sqrt(0.5), 0.0, math.sqrt(0.5)))
    images = []
    for sign in (1, -1):
        spec = SceneSpec.from_dict({"seed": 3, "objects": [
            {"id": f"o{i}", "kind": k, "color": c, "at": [x, sign * y], "yaw": sign * yaw}
            for i, (k, c, (x, y), yaw) in enumerate(objs)]})
        robot = make_embodiment("panda", spec)
        robot.connect()
        try:
            front = DatasetCameras(robot, light).render()["observation.images.front"]  # the arm at home
            a = robot.arm("arm")
            a.reset_to(robot._solve_down(a, np.array([0.08, sign * 0.09, 0.2]), sign * 0.6))
            wrist = DatasetCameras(robot, light).render()["observation.images.wrist"]  # over the cube
            images.append({"front": front, "wrist": wrist})
        finally:
            robot.disconnect()
    def differ(x, y):  # pixels that differ, up to a one-pixel sideways shift (the renderer's pixel grid)
        d = [np.abs(x[:, 1 + s:x.shape[1] - 1 + s].astype(int) - y[:, 1:-1].astype(int)).max(-1) for s in (-1, 0, 1)]
        return (np.min(d, axis=0) > 40).mean()

    a, b = images
    for key in a:
        flipped, unflipped = differ(a[key], b[key][:, ::-1]), differ(a[key], b[key])
        assert flipped < 0.002 and unflipped > 0.005, (key, flipped, unflipped)


def test_mirror_batch_flips_images_and_the_sideways_numbers(tiny_dataset):
    from embodiments.policies.tiny_vla.data import load_dataset, mirror_batch, mirror_columns
    from embodiments.policies.tiny_vla.model import images_to_tensor

    d = load_dataset(tiny_dataset, goals=True)
    idx = np.arange(0, d.n, 7)
    flip = np.arange(len(idx)) % 2 == 0
    target, _ = d.chunk_targets(idx, 10, "target")
    state, goal = d.state[idx], d.goal[idx]
    imgs = {k: images_to_tensor(v[idx]) for k, v in d.images.items()}
    cols = mirror_columns(d)
    s2, t2, g2, i2 = state.copy(), target.copy(), goal.copy(), dict(imgs)
    mirror_batch(i2, s2, t2, g2, flip, cols)
    off = d.pose_at[0]
    for c in (off + 1, off + 3):  # the hand's y and yaw
        assert np.array_equal(s2[flip, c], -state[flip, c])
    assert np.array_equal(s2[~flip], state[~flip]) and np.array_equal(s2[:, off], state[:, off])  # x untouched
    assert np.array_equal(t2[flip][..., [1, 3]], -target[flip][..., [1, 3]])
    assert np.array_equal(t2[flip][..., [0, 2, 4]], target[flip][..., [0, 2, 4]])
    assert np.array_equal(g2[flip, 1], -goal[flip, 1]) and np.array_equal(t2[~flip], target[~flip])
    for k in imgs:
        assert torch.equal(i2[k][flip], imgs[k][flip].flip(-1)) and torch.equal(i2[k][~flip], imgs[k][~flip])


def test_mirror_training_reads_the_hand_not_the_joints(tiny_dataset, tmp_path):
    from embodiments.policies import make_policy  # noqa: F401  (the registry: the policy loads below)
    from embodiments.policies.tiny_vla.policy import load_checkpoint
    from embodiments.policies.tiny_vla.train import train

    ck = tmp_path / "mirror.pt"
    train(tiny_dataset, ck, steps=4, batch=8, ckpt_every=4, progress=False, mirror=True)
    c = load_checkpoint(ck)
    cfg = TinyVLAConfig.from_dict(c["config"])
    assert cfg.state_keep is not None and len(cfg.state_keep) == 5 and c["meta"]["mirror"] is True
    off = cfg.state_keep[0]
    assert abs(cfg.state_mean[off + 1]) < 1e-6 and abs(cfg.action_mean[1]) < 1e-6  # symmetric statistics
    model = TinyVLA(cfg)
    model.load_state_dict(c["model"])
    imgs, state, text = _inputs(cfg)
    other = state.clone()
    other[:, [i for i in range(cfg.state_dim) if i not in cfg.state_keep]] += 1.0  # joints changed
    assert torch.equal(model(imgs, state, text), model(imgs, other, text))


def test_fine_tuning_with_aux_goal_adds_fresh_goal_heads(tiny_dataset, tmp_path):
    """`train --init CKPT --aux-goal W` on a checkpoint without goal heads: the trained network
    is kept and only the heads start fresh; another network is refused."""
    from embodiments.policies.tiny_vla.policy import load_checkpoint
    from embodiments.policies.tiny_vla.train import train

    plain, ft = tmp_path / "plain.pt", tmp_path / "ft.pt"
    train(tiny_dataset, plain, steps=3, batch=8, ckpt_every=3, progress=False)
    train(tiny_dataset, ft, steps=2, batch=8, ckpt_every=2, progress=False, init=plain, aux_goal=0.3, lr=0.0)
    a, b = load_checkpoint(plain), load_checkpoint(ft)
    assert b["config"]["aux_goal"] is True and "goal_front.weight" in b["model"]
    assert "goal_front.weight" not in a["model"]
    shared = [k for k in a["model"] if a["model"][k].is_floating_point()]
    assert all(torch.allclose(a["model"][k], b["model"][k], atol=1e-3) for k in shared if "temperature" not in k)
    broken = dict(a, model={k: v for k, v in a["model"].items() if not k.startswith("out.")})
    torch.save(broken, tmp_path / "broken.pt")
    with pytest.raises(ValueError, match="not the same network"):
        train(tiny_dataset, tmp_path / "x.pt", steps=1, batch=8, ckpt_every=1, progress=False,
              init=tmp_path / "broken.pt")
