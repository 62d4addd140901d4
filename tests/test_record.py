"""`robot-assistant record` and the LeRobotDataset v3.0 writer/reader: layout and contents
against the v3.0 format, video frames == rows, crash safety (SIGKILL mid-recording, and a
crash inside the commit's renames), appending to an existing dataset."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow", reason="pyarrow is needed to write parquet (pip install pyarrow)")
pq = pytest.importorskip("pyarrow.parquet")

from embodiments.datasets import lerobot_v3  # noqa: E402
from embodiments.datasets.lerobot_v3 import DatasetError, LeRobotV3Reader, LeRobotV3Writer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
INFO_KEYS = {"codebase_version", "robot_type", "total_episodes", "total_frames", "total_tasks", "chunks_size",
             "data_files_size_in_mb", "video_files_size_in_mb", "fps", "splits", "data_path", "video_path",
             "features"}
INDEX_FEATURES = ("timestamp", "frame_index", "episode_index", "index", "task_index")
FRONT, WRIST = "observation.images.front", "observation.images.wrist"


def _video_stream(path: Path) -> tuple[int, str, str, int, int]:
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        n = sum(1 for _ in c.decode(s))
        return n, s.codec_context.name, s.codec_context.pix_fmt, s.codec_context.width, s.codec_context.height


def check_v3_layout(root: Path) -> dict:
    """Everything the v3.0 format asks of a dataset folder; returns info.json."""
    info = json.loads((root / "meta/info.json").read_text())
    assert INFO_KEYS <= set(info), INFO_KEYS - set(info)
    assert info["codebase_version"] == "v3.0"
    assert info["data_path"] == "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
    assert info["video_path"] == "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
    assert info["splits"] == {"train": f"0:{info['total_episodes']}"}
    feats = info["features"]
    for k in INDEX_FEATURES:
        assert feats[k]["shape"] == [1] and feats[k]["dtype"] == ("float32" if k == "timestamp" else "int64")
    for k, ft in feats.items():
        assert {"dtype", "shape", "names"} <= set(ft), k
        if ft["dtype"] == "video":
            assert ft["names"] == ["height", "width", "channels"]
            vi = ft["info"]
            assert (vi["video.height"], vi["video.width"], vi["video.channels"]) == tuple(ft["shape"])
            assert vi["video.pix_fmt"] == "yuv420p" and vi["video.fps"] == info["fps"] and not vi["has_audio"]
    for p in ("meta/stats.json", "meta/tasks.parquet", "meta/episodes/chunk-000/file-000.parquet",
              "data/chunk-000/file-000.parquet"):
        assert (root / p).is_file(), p
    video_keys = [k for k, ft in feats.items() if ft["dtype"] == "video"]

    # data: one row per frame, the non-video features, fixed-size float32 vectors
    data = pa.concat_tables([pq.read_table(p) for p in sorted((root / "data").glob("*/*.parquet"))])
    assert data.num_rows == info["total_frames"]
    assert set(data.column_names) == {k for k, ft in feats.items() if ft["dtype"] != "video"}
    for k, ft in feats.items():
        if ft["dtype"] == "video":
            continue
        typ = data.schema.field(k).type
        if ft["shape"] == [1]:
            assert typ == {"float32": pa.float32(), "int64": pa.int64()}[ft["dtype"]], (k, typ)
        else:
            assert pa.types.is_fixed_size_list(typ) and typ.list_size == ft["shape"][0], (k, typ)
            assert typ.value_type == pa.float32() and len(ft["names"]) == ft["shape"][0]
    d = data.to_pydict()
    assert d["index"] == list(range(info["total_frames"]))

    # tasks: pandas sees the task text as the index (LeRobot reads it that way)
    import pandas as pd

    tasks = pd.read_parquet(root / "meta/tasks.parquet")
    assert tasks.index.name == "task" and list(tasks.columns) == ["task_index"]
    assert sorted(tasks["task_index"]) == list(range(info["total_tasks"]))
    task_of = {int(i): t for t, i in zip(tasks.index, tasks["task_index"])}

    # episodes: one row each, pointing at their rows and video frames
    eps = pq.read_table(root / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    assert [e["episode_index"] for e in eps] == list(range(info["total_episodes"]))
    start = 0
    for e in eps:
        for col in ("tasks", "length", "data/chunk_index", "data/file_index", "dataset_from_index",
                    "dataset_to_index", "meta/episodes/chunk_index", "meta/episodes/file_index"):
            assert col in e, col
        assert (e["dataset_from_index"], e["dataset_to_index"]) == (start, start + e["length"])
        rows = [i for i in range(data.num_rows) if d["episode_index"][i] == e["episode_index"]]
        assert rows == list(range(start, start + e["length"]))
        assert [d["frame_index"][i] for i in rows] == list(range(e["length"]))
        np.testing.assert_allclose([d["timestamp"][i] for i in rows], np.arange(e["length"]) / info["fps"],
                                   atol=1e-5)
        assert e["tasks"] == list(dict.fromkeys(task_of[d["task_index"][i]] for i in rows))
        for k in video_keys:
            assert e[f"videos/{k}/to_timestamp"] - e[f"videos/{k}/from_timestamp"] == \
                pytest.approx(e["length"] / info["fps"])
        for k in feats:
            for s in ("min", "max", "mean", "std", "count"):
                assert f"stats/{k}/{s}" in e, (k, s)
            assert e[f"stats/{k}/count"] == [e["length"]]
        start += e["length"]
    assert start == info["total_frames"]

    # videos: frames == rows, per file, in the declared codec and size
    for k in video_keys:
        files = {(e[f"videos/{k}/chunk_index"], e[f"videos/{k}/file_index"]) for e in eps}
        for c, f in files:
            path = root / info["video_path"].format(video_key=k, chunk_index=c, file_index=f)
            n, codec, pix, w, h = _video_stream(path)
            assert n == sum(e["length"] for e in eps if (e[f"videos/{k}/chunk_index"], e[f"videos/{k}/file_index"])
                            == (c, f))
            assert codec == feats[k]["info"]["video.codec"] and pix == "yuv420p"
            assert [h, w, 3] == feats[k]["shape"]

    # stats: every feature, LeRobot's shapes, counts over the whole dataset
    stats = json.loads((root / "meta/stats.json").read_text())
    assert set(stats) == set(feats)
    for k, ft in feats.items():
        s = stats[k]
        assert s["count"] == [info["total_frames"]]
        shape = (3, 1, 1) if ft["dtype"] == "video" else tuple(ft["shape"])
        for name in ("min", "max", "mean", "std"):
            assert np.asarray(s[name]).shape == shape, (k, name)
        assert np.all(np.asarray(s["min"]) <= np.asarray(s["mean"]) + 1e-9)
        assert np.all(np.asarray(s["mean"]) <= np.asarray(s["max"]) + 1e-9)
        if ft["dtype"] == "video":
            assert 0.0 <= np.min(s["min"]) and np.max(s["max"]) <= 1.0
    assert LeRobotV3Reader(root).verify() == []
    return info


# -- a real recording ---------------------------------------------------------------------------
def test_record_two_episodes_as_lerobot_v3(tmp_path):
    from embodiments.policies.record import record

    out = tmp_path / "demos"
    summary = record(out, 2, "panda", seed=0, every=6, progress=False)
    assert summary["kept"] == 2, summary
    info = check_v3_layout(out)
    assert info["fps"] == 10 and info["robot_type"] == "panda" and info["total_episodes"] == 2
    feats = info["features"]
    assert feats["observation.state"]["shape"] == [12]  # hand xyz, yaw, finger opening, 7 joints
    assert feats["observation.state"]["names"][:5] == ["arm.ee_x", "arm.ee_y", "arm.ee_z", "arm.yaw", "arm.gripper"]
    assert feats["action"]["names"] == ["arm.dx", "arm.dy", "arm.dz", "arm.dyaw", "arm.gripper"]
    assert feats[FRONT]["shape"] == [96, 128, 3] and feats[WRIST]["shape"] == [96, 96, 3]
    assert feats[FRONT]["info"]["video.codec"] == "h264"

    reader = LeRobotV3Reader(out)
    rec = json.loads((out / "meta/recording.json").read_text())
    assert rec["every"] == 6 and rec["control_hz"] == 60 and len(rec["episodes"]) == 2
    for ep in range(2):
        e = reader.episode(ep)
        n = len(e["index"])
        assert e[FRONT].shape == (n, 96, 128, 3) and e[WRIST].shape == (n, 96, 96, 3)
        assert e[FRONT].std() > 10  # real pictures, not blank frames
        # each frame's task is the plan step under way: the pick, then the put
        pick, put = rec["episodes"][ep]["instructions"]
        assert pick.startswith("pick up the ") and put.startswith("put the ") and " in the " in put
        first_put = e["task"].index(put)
        assert set(e["task"][:first_put]) == {pick} and set(e["task"][first_put:]) == {put}
        # the expert closed the hand on the object, then let it go; the state shows the fingers
        grip = e["action"][:, 4]
        assert grip[:first_put].min() < 0.01 and grip[first_put:].max() > 0.07
        assert e["observation.state"][:, 4].max() > 0.07 and e["observation.state"][:, 4].min() < 0.06
        assert np.abs(e["action"][:, :3]).max() < 0.05  # per-tick deltas


# -- crash safety -------------------------------------------------------------------------------
def test_sigkill_during_recording_leaves_every_finished_episode(tmp_path):
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "assistant.cli", "record", "--episodes", "5", "--out", str(out), "--every", "12",
           "--seed", "1", "--quiet"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])})
    info = out / "meta/info.json"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if info.exists() and json.loads(info.read_text())["total_episodes"] >= 1:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        time.sleep(1.5)  # well into the next episode: its frames are being rendered
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    info_now = check_v3_layout(out)
    n = info_now["total_episodes"]
    assert 1 <= n < 5
    reader = LeRobotV3Reader(out)
    for ep in range(n):
        e = reader.episode(ep)
        assert len(e[FRONT]) == len(e["index"]) == reader.episode_rows()[ep]["length"]
    # recording again into the folder appends to what is there
    from embodiments.policies.record import record

    summary = record(out, 1, "panda", seed=1, every=12, progress=False)
    assert summary["kept"] == 1
    info_after = check_v3_layout(out)
    assert info_after["total_episodes"] == n + 1
    rec = json.loads((out / "meta/recording.json").read_text())
    assert len({e["attempt"] for e in rec["episodes"]}) == len(rec["episodes"])  # no scene recorded twice


FEATS = {"observation.state": {"dtype": "float32", "shape": [3], "names": ["a", "b", "c"]},
         "action": {"dtype": "float32", "shape": [2], "names": ["x", "y"]},
         FRONT: {"dtype": "video", "shape": [16, 24, 3], "names": ["height", "width", "channels"]}}


def _episode(writer, n: int, value: int, task: str = "pick up the red cube") -> None:
    for i in range(n):
        writer.add_frame({"observation.state": np.full(3, value + i, np.float32), "action": np.zeros(2),
                          FRONT: np.full((16, 24, 3), (value * 40 + i) % 256, np.uint8)}, task)


def test_crash_inside_the_commit_is_trimmed_when_reopened(tmp_path, monkeypatch):
    root = tmp_path / "ds"
    w = LeRobotV3Writer(root, 10, FEATS)
    for v in range(2):
        _episode(w, 5 + v, v)
        assert w.save_episode() == v
    _episode(w, 7, 2)
    real_replace, calls = os.replace, []

    def dying_replace(src, dst):  # the process "dies" after the data and video renames
        calls.append(dst)
        if len(calls) > 2:
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(lerobot_v3.os, "replace", dying_replace)
    with pytest.raises(KeyboardInterrupt):
        w.save_episode()
    monkeypatch.setattr(lerobot_v3.os, "replace", real_replace)
    assert LeRobotV3Reader(root).num_episodes == 2
    assert any("data files hold 18 rows" in p for p in LeRobotV3Reader(root).verify())
    w = LeRobotV3Writer(root, 10, FEATS)  # reopening trims the data and video past the metadata
    assert LeRobotV3Reader(root).verify() == []
    assert not list(root.rglob(".*.tmp-*"))
    _episode(w, 4, 7, "put the red cube in the blue bowl")
    assert w.save_episode() == 2
    info = check_v3_layout(root)
    assert info["total_frames"] == 15 and info["total_tasks"] == 2
    e = LeRobotV3Reader(root).episode(2)
    np.testing.assert_allclose(e["observation.state"][:, 0], [7, 8, 9, 10])
    assert np.abs(e[FRONT][:, 0, 0, 0].astype(int) - (280 + np.arange(4)) % 256).max() <= 3


def test_writer_rolls_over_to_new_files_and_checks_its_input(tmp_path):
    w = LeRobotV3Writer(tmp_path / "ds", 10, FEATS, data_files_size_in_mb=0, video_files_size_in_mb=0)
    for v in range(3):
        _episode(w, 3, v)
        w.save_episode()
    check_v3_layout(tmp_path / "ds")
    assert (tmp_path / "ds/data/chunk-000/file-002.parquet").exists()
    assert (tmp_path / f"ds/videos/{FRONT}/chunk-000/file-002.mp4").exists()
    with pytest.raises(DatasetError, match="missing"):
        w.add_frame({"action": np.zeros(2)}, "x")
    with pytest.raises(DatasetError, match="uint8"):
        w.add_frame({"observation.state": np.zeros(3), "action": np.zeros(2), FRONT: np.zeros((16, 24, 3))}, "x")
    with pytest.raises(DatasetError, match="no frames"):
        w.save_episode()
    with pytest.raises(DatasetError, match="other features"):
        LeRobotV3Writer(tmp_path / "ds", 10, {**FEATS, "action": {"dtype": "float32", "shape": [4], "names": None}})
    with pytest.raises(DatasetError, match="fps"):
        LeRobotV3Writer(tmp_path / "ds", 30, FEATS)


def test_dart_noise_moves_the_robot_but_the_clean_action_is_recorded():
    from embodiments.policies.dart import NoisyExpert

    class Expert:
        arms = ("arm",)
        done = False

        def select_action(self, obs, instruction):
            return np.array([0.10, 0.0, 0.0, 0.0, 0.08], dtype=np.float32)  # 10 cm ahead: beyond the lead

    noisy = NoisyExpert(Expert(), 0.01, np.random.default_rng(0), max_lead=0.045)
    assert noisy.done is False  # the expert's own attributes show through
    executed, clean = [], []
    for _ in range(3000):
        executed.append(noisy.select_action(None, "pick up the red cube"))
        clean.append(noisy.clean)
    executed, clean = np.array(executed), np.array(clean)
    assert np.allclose(clean[:, 0], 0.045) and np.allclose(clean[:, 1:], [0, 0, 0, 0.08])  # clipped to the lead
    noise = executed[:, :3] - np.array([0.10, 0.0, 0.0])
    assert 0.007 < noise.std() < 0.013 and abs(noise.mean()) < 0.004  # about sigma, about zero
    assert np.corrcoef(noise[1:, 1], noise[:-1, 1])[0, 1] > 0.8  # slowly varying, not white
    assert np.array_equal(executed[:, 3:], clean[:, 3:])  # yaw and gripper are not noised
