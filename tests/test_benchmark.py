"""The household benchmark (`robot-assistant bench`, assistant/benchmark/): the episode matrix, the
scenes, the judgement on ground truth, crash handling in the worker pool, real episodes end to end
through the pool and through a local Ray, and the report (markdown + PNGs)."""
from __future__ import annotations

import os
from collections import Counter, defaultdict
from types import SimpleNamespace

import numpy as np
import pytest

from assistant.benchmark import run as bench_run
from assistant.benchmark.episode_run import run_episode
from assistant.benchmark.episodes import EMBODIMENTS, Episode, EpisodeResult, matrix, quick_matrix, safe_run
from assistant.benchmark.judge import judge_answer, judge_world
from assistant.benchmark.phrases import LANGUAGES
from assistant.benchmark.report import plots, section, write_section
from assistant.benchmark.tasks import FAMILIES, NEAR_START, PERTURBATIONS, Goal, build_task

# -- the matrix -----------------------------------------------------------------------------------


def test_matrix_is_balanced_and_deterministic():
    eps, notes = matrix(EMBODIMENTS, ("scripted", "tiny_vla"))
    assert eps == matrix(EMBODIMENTS, ("scripted", "tiny_vla"))[0]
    assert len(eps) == 4 * len(FAMILIES) * len(LANGUAGES)  # 3 robots scripted + tiny_vla on the panda only
    assert {e.embodiment for e in eps if e.controller == "tiny_vla"} == {"panda"}
    assert any("bimanual" in n for n in notes) and any("kuka" in n for n in notes)
    setups = defaultdict(list)
    for e in eps:
        setups[(e.embodiment, e.controller)].append(e)
    for setup, es in setups.items():
        pairs = Counter((e.family, e.language) for e in es)
        assert len(pairs) == len(FAMILIES) * len(LANGUAGES) and set(pairs.values()) == {1}, setup
        cells = Counter((e.family, e.perturbation) for e in es)
        assert len(cells) == len(FAMILIES) * len(PERTURBATIONS) and set(cells.values()) == {4}, setup
        for lang in LANGUAGES:  # every language meets every perturbation
            assert {e.perturbation for e in es if e.language == lang} == set(PERTURBATIONS), (setup, lang)
        assert len({e.seed for e in es}) == len(es)
        stops = [e for e in es if e.stop_probe]
        assert stops and all(e.perturbation == "none" and e.family != "questions" for e in stops)
    # the same (family, language) pair meets a different perturbation on each robot
    scripted = [e for e in eps if e.controller == "scripted"]
    by_pair = defaultdict(set)
    for e in scripted:
        by_pair[(e.family, e.language)].add(e.perturbation)
    assert all(len(p) == len(EMBODIMENTS) for p in by_pair.values())


def test_quick_matrix_is_small_and_covers_every_family_and_perturbation():
    eps, _ = quick_matrix()
    assert eps == quick_matrix()[0]
    assert len(eps) == 24 and {(e.embodiment, e.controller) for e in eps} == {("panda", "scripted")}
    for fam in FAMILIES:
        perts = [e.perturbation for e in eps if e.family == fam]
        assert len(perts) == 4 and len(set(perts)) == 4, fam
    assert {e.perturbation for e in eps} == set(PERTURBATIONS)
    assert any(e.stop_probe for e in eps)


# -- the scenes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_scenes_are_seeded_unambiguous_and_fit(family):
    for seed in (7000, 7013, 7777):
        for pert in PERTURBATIONS:
            task = build_task(family, "en", pert, seed)
            assert task == build_task(family, "en", pert, seed)
            objs = task.scene.objects
            labels = [(o.kind, o.resolved_color) for o in objs]
            assert len(set(labels)) == len(labels), labels  # every command names exactly one thing
            assert all(o.at is not None for o in objs)
            ids = {o.id for o in objs}
            for goal in (task.goal, task.changed_goal):
                assert set(goal.objects) <= ids and (goal.dest is None or goal.dest in ids)
            if family == "spatial":
                duck = np.array(task.scene.object("duck").at)
                for o in ("cube", "cube_alt"):
                    assert np.linalg.norm(np.array(task.scene.object(o).at) - duck) >= NEAR_START
        plain, extra = build_task(family, "en", "none", seed), build_task(family, "en", "distractors", seed)
        added = {o.id for o in extra.scene.objects} - {o.id for o in plain.scene.objects}
        assert 2 <= len(added) <= 3 and plain.command == extra.command


def test_an_unknown_family_is_a_failed_episode_with_its_error():
    r = safe_run(Episode("panda", "scripted", "juggling", "en", "none", 1))
    assert not r.success and r.reason == "crashed" and "unknown task family" in r.error


# -- judging on ground truth ----------------------------------------------------------------------


def _fake_robot(kinds: dict[str, str], pos: dict[str, tuple[float, float]]):
    world = SimpleNamespace(kinds=kinds, ids=dict.fromkeys(kinds, 0),
                            position=lambda oid: np.array([*pos[oid], 0.02]))
    return SimpleNamespace(world=world)


def test_answers_are_checked_against_the_true_scene_in_the_language():
    from assistant.messages import catalogue, say

    robot = _fake_robot({"a": "cube", "b": "cube", "duck": "duck", "c": "block"},
                        {"a": (0, 0), "b": (0.1, 0), "duck": (0.0, 0.15), "c": (0, 0)})
    assert judge_answer("count", "I count 2.", "en", "en", robot)[0]
    assert not judge_answer("count", "I count 3.", "en", "en", robot)[0]
    assert not judge_answer("count", "I count 12.", "en", "en", robot)[0]
    assert not judge_answer("count", "I count 2.", "en", "fr", robot)[0]  # asked in French
    sides = catalogue("ja")["side_names"]
    assert judge_answer("where", f"アヒルは{sides['left']}にあります。", "ja", "ja", robot)[0]
    assert not judge_answer("where", f"アヒルは{sides['right']}にあります。", "ja", "ja", robot)[0]
    gone = _fake_robot({"a": "cube"}, {"a": (0, 0)})
    assert judge_answer("where", say("de", "see_nothing"), "de", "de", gone)[0]
    assert not judge_answer("where", "Die Ente ist links.", "de", "de", gone)[0]


def test_world_goals_are_read_from_the_simulator():
    from embodiments.registry import make_embodiment
    from embodiments.scene_spec import SceneSpec

    scene = SceneSpec.from_dict({"seed": 1, "objects": [
        {"id": "cube", "kind": "cube", "color": "red", "at": [0.1, 0.1]},
        {"id": "bowl", "kind": "bowl", "color": "blue", "at": [0.1, 0.1]},
        {"id": "duck", "kind": "duck", "at": [-0.1, -0.12]},
        {"id": "far", "kind": "cube", "color": "green", "at": [-0.15, 0.15]}]})
    robot = make_embodiment("panda", scene)
    robot.connect()
    try:
        robot.world.settle(0.5)
        assert judge_world(Goal("in", ("cube",), "bowl"), robot)[0]
        ok, why = judge_world(Goal("in", ("cube", "far"), "bowl"), robot)
        assert not ok and "far is not inside bowl" in why
        assert not judge_world(Goal("near", ("far",), "duck"), robot)[0]
        assert not judge_world(Goal("tower", ("cube", "far")), robot)[0]
        robot.world.remove_object("far")
        assert judge_world(Goal("in", ("cube", "far"), "bowl"), robot)[0]  # about what is still there
        robot.world.remove_object("cube")
        assert judge_world(Goal("in", ("cube",), "bowl"), robot) == (False, "every object of the goal was removed")
    finally:
        robot.disconnect()


# -- running --------------------------------------------------------------------------------------


def fake_episode(ep: Episode, checkpoint: str | None = None) -> EpisodeResult:
    """A worker-side stand-in (spawned workers import it from this module): seed 2 kills its
    worker process, an unknown family raises inside the real wrapper, the rest succeed at once."""
    if ep.seed == 2:
        os._exit(7)
    if ep.family not in FAMILIES:
        return safe_run(ep, checkpoint)
    return EpisodeResult(ep, True, reason="fake")


def test_a_crash_or_a_dead_worker_is_a_failed_episode_and_the_rest_run():
    eps = [Episode("panda", "scripted", "questions", "en", "none", s) for s in (1, 2, 3)]
    eps.append(Episode("panda", "scripted", "juggling", "en", "none", 4))
    eps.append(Episode("panda", "scripted", "questions", "en", "none", 5))
    got: dict[int, EpisodeResult] = {}
    bench_run.run_local(eps, 2, got.__setitem__, fn=fake_episode)
    assert sorted(got) == list(range(len(eps)))
    assert [got[i].episode for i in range(len(eps))] == eps
    assert not got[1].success and "worker process died" in got[1].error
    assert not got[3].success and "unknown task family" in got[3].error
    assert all(got[i].success for i in (0, 2, 4))


def test_two_real_episodes_end_to_end_through_the_process_pool(tmp_path):
    eps = [Episode("panda", "scripted", "spatial", "ja", "none", 7004, stop_probe=True),
           Episode("panda", "scripted", "questions", "es", "changed", 7105)]
    out = tmp_path / "results.jsonl"
    results, wall = bench_run.run_all(eps, workers=2, json_path=str(out), progress=False, meta={"quick": True})
    assert [r.episode for r in results] == eps and wall > 0
    spatial, questions = results
    assert spatial.error is None and spatial.success, spatial.reason
    assert spatial.turn_to_plan_ms > 0 and 0 < spatial.turn_to_motion_s < 1 and spatial.completion_s > 1
    assert spatial.stop_to_halt_s is not None and spatial.stop_to_halt_s <= 0.2  # e-stop: at rest within 0.1 s
    assert len(spatial.replies) >= 4  # acknowledged, stopped, continuing, done (in Japanese)
    assert questions.success, questions.reason
    assert len(questions.replies) == 2 and questions.completion_s is None
    loaded, meta = bench_run.load_results(str(out))
    assert [r.to_dict() for r in loaded] == [r.to_dict() for r in results]
    assert meta["quick"] and meta["wall_seconds"] > 0


def test_a_removed_target_must_be_reported_as_not_done():
    r = run_episode(Episode("panda", "scripted", "pick_place", "ru", "removed", 7008))
    assert r.error is None
    assert r.success, r.reason
    assert r.status == "failed" and any(ch in r.replies[-1] for ch in "абвгдеёжзийклмнопрстуфхцчшщыьэюя")


def test_ray_runs_the_same_episodes_as_the_pool():
    ray = pytest.importorskip("ray", reason="Ray is an optional extra (pip install -e '.[ray]'); not installed here")
    eps = [Episode("panda", "scripted", "questions", "zh", "moved", 7301),
           Episode("panda", "scripted", "questions", "ar", "removed", 7302)]
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, object_store_memory=100 * 1024 ** 2)
    try:
        results, _ = bench_run.run_all(eps, workers=1, ray_address="local", progress=False)
    finally:
        ray.shutdown()
    assert [r.episode for r in results] == eps
    for r, ep in zip(results, eps):
        here = safe_run(ep)  # the same episode in this process: a deterministic episode gives the same outcome
        assert r.error is None and r.success == here.success and r.replies == here.replies, (r.reason, here.reason)
    assert all(r.success for r in results), [r.reason for r in results]


# -- the report -----------------------------------------------------------------------------------


def _synthetic_results() -> list[EpisodeResult]:
    rng = np.random.default_rng(0)
    eps, _ = matrix(("panda", "kuka"), ("scripted",), ("en", "ja", "sw"))
    out = []
    for e in eps:
        ok = bool(rng.random() < 0.8)
        moving = e.family != "questions"
        out.append(EpisodeResult(
            e, ok, reason="" if ok else "cube is not inside bowl", status="done" if ok else "failed",
            completion_s=float(rng.uniform(5, 15)) if ok and moving else None,
            turn_to_plan_ms=float(rng.uniform(5, 50)), turn_to_motion_s=1 / 60 if moving else None,
            stop_to_halt_s=0.07 if e.stop_probe else None,
            change_to_goal_s=1 / 60 if e.perturbation == "changed" and moving else None, wall_seconds=3.0))
    out[0].error, out[0].success = "RuntimeError: boom", False
    return out


def test_report_writes_the_tables_the_plots_and_its_section(tmp_path):
    results = _synthetic_results()
    images = plots(results, tmp_path / "img")
    assert len(images) == 3
    for p in images:
        data = open(p, "rb").read()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, p
    meta = {"date": "2026-01-01", "machine": "test box", "workers": 2, "command": "robot-assistant bench"}
    md = section(results, meta, ["tiny_vla runs on panda only"], 12.0, False, images)
    n_ok = sum(r.success for r in results)
    assert f"{len(results)} episodes, {n_ok} succeeded" in md
    for needle in ("| panda/scripted |", "| kuka/scripted |", "| pick_place |", "| questions |", "| sw |",
                   "turn -> plan", "stop -> halt", "change -> new goal", "crash 1", "bench_household_cells.png",
                   "tiny_vla runs on panda only"):
        assert needle in md, needle
    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\n<!-- skills:begin -->\nkeep me\n<!-- skills:end -->\n")
    write_section(md, "household", docs)
    write_section(md.replace("test box", "other box"), "household", docs)
    text = docs.read_text()
    assert text.count("<!-- household:begin -->") == 1 and "other box" in text and "test box" not in text
    assert "keep me" in text
