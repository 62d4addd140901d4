"""A LeRobotDataset v3.0 writer and reader with pyarrow + PyAV (no lerobot, no torch).

The layout is LeRobot's v3.0 (`codebase_version` "v3.0"): many episodes per file, and
relational metadata that says where each episode lies.

    meta/info.json                                   schema, fps, counts, path templates
    meta/stats.json                                  per feature: min, max, mean, std, count
    meta/tasks.parquet                               task text (the pandas index "task") -> task_index
    meta/episodes/chunk-000/file-000.parquet         one row per episode: tasks, length, where its
                                                     rows and video frames are, its own stats
    data/chunk-000/file-000.parquet                  one row per frame: the non-video features and
                                                     timestamp, frame_index, episode_index, index, task_index
    videos/<key>/chunk-000/file-000.mp4              the frames of a camera, episode after episode

Crash safety: frames are buffered in memory until `save_episode()`, which writes every file
it changes to a temporary name in the same folder and then `os.replace`s them, the data files
first and `meta/info.json` last, so a kill at any moment leaves the dataset as it was after
the last saved episode (a kill inside the microseconds of the renames can leave the last
data file or video one episode longer than the metadata says; reopening the folder for
writing trims it). A video file grows by remuxing it with the new episode's separately
encoded frames (stream copy, no re-encoding; LeRobot concatenates the same way), and a new
file is started once one passes `video_files_size_in_mb` (parquet: `data_files_size_in_mb`).
Videos are H.264 (libx264) or AV1 (libsvtav1), yuv420p, a keyframe every `gop` frames and
no B-frames, so every frame decodes quickly and the episodes concatenate cleanly.
"""
from __future__ import annotations

import json
import os
from contextlib import suppress
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

CODEBASE_VERSION = "v3.0"
DEFAULT_CHUNK_SIZE = 1000  # files per chunk folder
DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
EPISODES_PATH = "meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
INFO_PATH, STATS_PATH, TASKS_PATH = "meta/info.json", "meta/stats.json", "meta/tasks.parquet"
DEFAULT_FEATURES: dict[str, dict] = {
    "timestamp": {"dtype": "float32", "shape": [1], "names": None},
    "frame_index": {"dtype": "int64", "shape": [1], "names": None},
    "episode_index": {"dtype": "int64", "shape": [1], "names": None},
    "index": {"dtype": "int64", "shape": [1], "names": None},
    "task_index": {"dtype": "int64", "shape": [1], "names": None},
}
CODECS = {"libx264": "h264", "libsvtav1": "av1"}
STAT_NAMES = ("min", "max", "mean", "std", "count")
IMAGE_STATS_FRAMES = 100  # frames per episode sampled for image statistics


class DatasetError(Exception):
    """A dataset folder that is not what the writer or reader expects (the message says why)."""


# -- small helpers ------------------------------------------------------------------------------
def _require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError as e:
        raise DatasetError("writing or reading a LeRobot dataset needs pyarrow (pip install pyarrow, or make "
                           "install)") from e


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_json(path: Path, data: Any) -> Path:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(json.dumps(data, indent=4, ensure_ascii=False) + "\n")
    return tmp


def _write_parquet(path: Path, table) -> Path:
    import pyarrow.parquet as pq

    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, tmp, compression="snappy")
    return tmp


def _next_file(chunk: int, file: int, chunks_size: int) -> tuple[int, int]:
    return (chunk + 1, 0) if file >= chunks_size - 1 else (chunk, file + 1)


def _arrow_type(ft: dict):
    import pyarrow as pa

    base = {"float32": pa.float32(), "float64": pa.float64(), "int64": pa.int64(), "int32": pa.int32(),
            "bool": pa.bool_()}[ft["dtype"]]
    shape = tuple(ft["shape"])
    return base if shape == (1,) else pa.list_(base, int(np.prod(shape)))


def _tasks_table(tasks: dict[str, int]):
    """meta/tasks.parquet as pandas writes a DataFrame indexed by "task" (LeRobot reads it with pandas)."""
    import pyarrow as pa

    names = sorted(tasks, key=tasks.get)
    table = pa.table({"task_index": pa.array([tasks[t] for t in names], pa.int64()),
                      "task": pa.array(names, pa.string())})
    pandas_meta = {
        "index_columns": ["task"],
        "column_indexes": [{"name": None, "field_name": None, "pandas_type": "unicode", "numpy_type": "object",
                            "metadata": {"encoding": "UTF-8"}}],
        "columns": [{"name": "task_index", "field_name": "task_index", "pandas_type": "int64", "numpy_type": "int64",
                     "metadata": None},
                    {"name": "task", "field_name": "task", "pandas_type": "unicode", "numpy_type": "object",
                     "metadata": None}],
        "attributes": {}, "creator": {"library": "pyarrow", "version": pa.__version__}, "pandas_version": "2.2.3",
    }
    return table.replace_schema_metadata({"pandas": json.dumps(pandas_meta)})


# -- statistics ---------------------------------------------------------------------------------
def feature_stats(values: np.ndarray, is_image: bool = False) -> dict[str, np.ndarray]:
    """min/max/mean/std/count of one feature over one episode (images: per channel, in [0, 1],
    shaped (3, 1, 1) as LeRobot keeps them)."""
    n = len(values)
    if is_image:
        idx = np.unique(np.linspace(0, n - 1, min(n, IMAGE_STATS_FRAMES)).round().astype(int))
        px = values[idx].astype(np.float64) / 255.0  # (k, h, w, 3)
        px = px.reshape(-1, px.shape[-1])
        out = {"min": px.min(0), "max": px.max(0), "mean": px.mean(0), "std": px.std(0)}
        out = {k: v.reshape(-1, 1, 1) for k, v in out.items()}
    else:
        x = values.astype(np.float64).reshape(n, -1)
        out = {"min": x.min(0), "max": x.max(0), "mean": x.mean(0), "std": x.std(0)}
    out["count"] = np.array([n], dtype=np.int64)
    return out


def aggregate_stats(parts: list[dict[str, dict[str, np.ndarray]]]) -> dict[str, dict[str, np.ndarray]]:
    """Combine per-episode statistics: count-weighted mean, pooled variance, min of mins, max of maxes."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for key in {k for p in parts for k in p}:
        ss = [p[key] for p in parts if key in p]
        counts = np.array([float(s["count"][0]) for s in ss])
        total = counts.sum()
        w = counts / total
        w = w.reshape((-1,) + (1,) * np.asarray(ss[0]["mean"]).ndim)
        means = np.stack([np.asarray(s["mean"], dtype=np.float64) for s in ss])
        mean = (w * means).sum(0)
        var = (w * (np.stack([np.asarray(s["std"], dtype=np.float64) for s in ss]) ** 2 + (means - mean) ** 2)).sum(0)
        out[key] = {"min": np.min(np.stack([np.asarray(s["min"]) for s in ss]), axis=0),
                    "max": np.max(np.stack([np.asarray(s["max"]) for s in ss]), axis=0),
                    "mean": mean, "std": np.sqrt(var), "count": np.array([int(total)], dtype=np.int64)}
    return out


def _stats_json(stats: dict[str, dict[str, np.ndarray]]) -> dict:
    return {k: {n: np.asarray(v[n]).tolist() for n in STAT_NAMES} for k, v in sorted(stats.items())}


def _stats_from_json(d: dict) -> dict[str, dict[str, np.ndarray]]:
    return {k: {n: np.asarray(v[n]) for n in STAT_NAMES if n in v} for k, v in d.items()}


# -- video --------------------------------------------------------------------------------------
def encode_video(path: Path, frames: list[np.ndarray], fps: int, vcodec: str = "libx264", gop: int = 2,
                 crf: int | None = None) -> None:
    """RGB frames (h, w, 3) uint8 -> an MP4 (yuv420p), one frame every 1/fps s from t = 0."""
    import av

    h, w = frames[0].shape[:2]
    with av.open(str(path), mode="w", format="mp4") as out:
        s = out.add_stream(vcodec, rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.time_base = Fraction(1, fps)
        if vcodec == "libx264":
            s.options = {"crf": str(crf if crf is not None else 23), "g": str(gop), "bf": "0", "preset": "veryfast"}
        else:
            s.options = {"crf": str(crf if crf is not None else 30), "g": str(gop), "preset": "10"}
        for i, rgb in enumerate(frames):
            f = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            f.pts, f.time_base = i, Fraction(1, fps)
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode():
            out.mux(p)


def remux_videos(inputs: list[tuple[Path, int]], out_path: Path, fps: int) -> int:
    """Concatenate MP4s of the same encoding without re-encoding: `inputs` are (path, frames to
    take from its start). Frame k of the result is at k/fps s. Returns the frames written."""
    import av

    written = 0
    with av.open(str(out_path), mode="w", format="mp4") as out:
        ost = None
        for path, take in inputs:
            with av.open(str(path)) as src:
                ist = src.streams.video[0]
                if ost is None:
                    ost = out.add_stream_from_template(ist, opaque=True)
                shift = round(Fraction(written, fps) / ist.time_base)
                n = 0
                for pkt in src.demux(ist):
                    if pkt.dts is None or pkt.size == 0:
                        continue  # the demuxer's flush packet
                    if n >= take:
                        break
                    pkt.pts += shift
                    pkt.dts += shift
                    pkt.stream = ost
                    out.mux(pkt)
                    n += 1
                written += n
    return written


def count_video_frames(path: Path) -> int:
    import av

    with av.open(str(path)) as src:
        return sum(1 for p in src.demux(src.streams.video[0]) if p.dts is not None and p.size > 0)


def decode_video(path: Path, start_s: float = 0.0, end_s: float = float("inf")) -> tuple[np.ndarray, np.ndarray]:
    """(timestamps (n,), frames (n, h, w, 3) uint8) of the frames with start_s <= t < end_s."""
    import av

    ts, frames = [], []
    with av.open(str(path)) as src:
        stream = src.streams.video[0]
        if start_s > 0 and stream.time_base:
            # Many episodes share one file: jump to the keyframe at or before the episode instead
            # of decoding every earlier episode (reading a whole dataset was quadratic).
            src.seek(int(start_s / float(stream.time_base)), stream=stream, backward=True)
        for f in src.decode(stream):
            t = float(f.time)
            if t < start_s - 1e-4:
                continue
            if t >= end_s - 1e-4:
                break
            ts.append(t)
            frames.append(f.to_ndarray(format="rgb24"))
    if not frames:
        return np.zeros(0), np.zeros((0, 0, 0, 3), np.uint8)
    return np.array(ts), np.stack(frames)


# -- the writer ---------------------------------------------------------------------------------
class _InfoView:
    """What writer and reader both read off `info.json` (`self.info`)."""

    info: dict

    @property
    def features(self) -> dict[str, dict]:
        return self.info["features"]

    @property
    def video_keys(self) -> list[str]:
        return [k for k, ft in self.features.items() if ft["dtype"] == "video"]


class LeRobotV3Writer(_InfoView):
    """Writes a LeRobotDataset v3.0, one whole episode at a time, crash-safely (see the module doc).

    `features` are the dataset's own features, LeRobot style: `{"observation.state": {"dtype":
    "float32", "shape": [n], "names": [...]}, "action": {...}, "observation.images.front":
    {"dtype": "video", "shape": [h, w, 3], "names": ["height", "width", "channels"]}}`; the
    timestamp and index features are added. Opening a folder that already holds a dataset
    appends to it (same fps and features required), after trimming what a kill may have left.
    """

    def __init__(self, root: str | Path, fps: int, features: dict[str, dict], robot_type: str | None = None,
                 vcodec: str = "libx264", gop: int = 2, crf: int | None = None,
                 chunks_size: int = DEFAULT_CHUNK_SIZE, data_files_size_in_mb: int = 100,
                 video_files_size_in_mb: int = 200) -> None:
        _require_pyarrow()
        if vcodec not in CODECS:
            raise DatasetError(f"video codec {vcodec!r} is not one of {', '.join(CODECS)}")
        self.root = Path(root)
        self.fps, self.vcodec, self.gop, self.crf = int(fps), vcodec, gop, crf
        for key, ft in features.items():
            if "/" in key:
                raise DatasetError(f"feature names must not contain '/': {key!r}")
            if ft["dtype"] == "video" and (len(ft["shape"]) != 3 or ft["shape"][2] != 3):
                raise DatasetError(f"{key}: a video feature is shaped [height, width, 3], got {ft['shape']}")
            if ft["dtype"] == "video" and (ft["shape"][0] % 2 or ft["shape"][1] % 2):
                raise DatasetError(f"{key}: yuv420p video needs an even width and height, got {ft['shape']}")
        self._buffer: list[dict[str, np.ndarray]] = []
        self._buffer_tasks: list[str] = []
        if (self.root / INFO_PATH).exists():
            self._open_existing(features)
        else:
            self._create(features, robot_type, chunks_size, data_files_size_in_mb, video_files_size_in_mb)

    # -- state -------------------------------------------------------------------------------
    @property
    def num_episodes(self) -> int:
        return int(self.info["total_episodes"])

    @property
    def num_frames(self) -> int:
        return int(self.info["total_frames"])

    @property
    def buffered_frames(self) -> int:
        return len(self._buffer)

    def _create(self, features, robot_type, chunks_size, data_mb, video_mb) -> None:
        if self.root.exists() and any(p for p in self.root.iterdir() if not p.name.startswith(".")):
            raise DatasetError(f"{self.root} exists and is not a LeRobot dataset (no {INFO_PATH}); choose an "
                               "empty or new folder")
        feats = {}
        for key, ft in features.items():
            ft = {"dtype": ft["dtype"], "shape": list(ft["shape"]), "names": ft.get("names")}
            if ft["dtype"] == "video":
                h, w, c = ft["shape"]
                ft["info"] = {"video.height": h, "video.width": w, "video.codec": CODECS[self.vcodec],
                              "video.pix_fmt": "yuv420p", "video.is_depth_map": False, "video.fps": self.fps,
                              "video.channels": c, "has_audio": False}
            feats[key] = ft
        feats.update({k: dict(v) for k, v in DEFAULT_FEATURES.items()})
        self.info = {
            "codebase_version": CODEBASE_VERSION, "robot_type": robot_type,
            "total_episodes": 0, "total_frames": 0, "total_tasks": 0,
            "chunks_size": chunks_size, "data_files_size_in_mb": data_mb, "video_files_size_in_mb": video_mb,
            "fps": self.fps, "splits": {}, "data_path": DATA_PATH,
            "video_path": VIDEO_PATH if any(f["dtype"] == "video" for f in feats.values()) else None,
            "features": feats,
        }
        self.tasks: dict[str, int] = {}
        self.episodes: list[dict] = []
        self.stats: dict[str, dict[str, np.ndarray]] = {}
        self._data_file: tuple[int, int] | None = None
        self._data_table = None
        self._video_file: dict[str, tuple[int, int] | None] = {k: None for k in self.video_keys}
        self._video_frames: dict[str, int] = {k: 0 for k in self.video_keys}
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = _write_json(self.root / INFO_PATH, self.info)
        os.replace(tmp, self.root / INFO_PATH)

    def _open_existing(self, features: dict[str, dict]) -> None:
        reader = LeRobotV3Reader(self.root)
        self.info = reader.info
        if int(self.info["fps"]) != self.fps:
            raise DatasetError(f"{self.root} was recorded at {self.info['fps']} fps, not {self.fps}")
        mine = {k: (ft["dtype"], list(ft["shape"])) for k, ft in features.items()}
        theirs = {k: (ft["dtype"], list(ft["shape"])) for k, ft in self.info["features"].items()
                  if k not in DEFAULT_FEATURES}
        if mine != theirs:
            raise DatasetError(f"{self.root} has other features: {theirs} (asked for {mine})")
        codec = next((ft["info"]["video.codec"] for ft in self.info["features"].values() if ft["dtype"] == "video"),
                     CODECS[self.vcodec])
        self.vcodec = next(k for k, v in CODECS.items() if v == codec)
        self.tasks = {t: i for i, t in enumerate(reader.tasks)}
        self.episodes = reader.episode_rows(with_stats=True)
        self.stats = reader.stats
        self._repair()
        self._data_file, self._data_table = None, None
        self._video_file = {k: None for k in self.video_keys}
        self._video_frames = {k: 0 for k in self.video_keys}
        if self.episodes:
            import pyarrow.parquet as pq

            last = self.episodes[-1]
            self._data_file = (int(last["data/chunk_index"]), int(last["data/file_index"]))
            self._data_table = pq.read_table(self.root / DATA_PATH.format(
                chunk_index=self._data_file[0], file_index=self._data_file[1]))
            for k in self.video_keys:
                self._video_file[k] = (int(last[f"videos/{k}/chunk_index"]), int(last[f"videos/{k}/file_index"]))
                self._video_frames[k] = sum(int(e["length"]) for e in self.episodes
                                            if (e[f"videos/{k}/chunk_index"], e[f"videos/{k}/file_index"])
                                            == self._video_file[k])

    def _repair(self) -> None:
        """Trim what a kill during the last save's renames may have left past the metadata."""
        import pyarrow.parquet as pq

        for tmp in self.root.rglob(".*.tmp-*"):
            tmp.unlink()
        want_rows: dict[Path, int] = {}
        want_frames: dict[Path, int] = {}
        for e in self.episodes:
            p = self.root / DATA_PATH.format(chunk_index=e["data/chunk_index"], file_index=e["data/file_index"])
            want_rows[p] = want_rows.get(p, 0) + int(e["length"])
            for k in self.video_keys:
                v = self.root / VIDEO_PATH.format(video_key=k, chunk_index=e[f"videos/{k}/chunk_index"],
                                                  file_index=e[f"videos/{k}/file_index"])
                want_frames[v] = want_frames.get(v, 0) + int(e["length"])
        for p in sorted((self.root / "data").glob("*/*.parquet")) if (self.root / "data").exists() else []:
            if p not in want_rows:
                p.unlink()
            elif pq.read_metadata(p).num_rows > want_rows[p]:
                tmp = _write_parquet(p, pq.read_table(p).slice(0, want_rows[p]))
                os.replace(tmp, p)
        for p in sorted((self.root / "videos").glob("*/*/*.mp4")) if (self.root / "videos").exists() else []:
            if p not in want_frames:
                p.unlink()
            elif count_video_frames(p) > want_frames[p]:
                tmp = p.with_name(f".{p.name}.tmp-{os.getpid()}")
                remux_videos([(p, want_frames[p])], tmp, self.fps)
                os.replace(tmp, p)

    # -- recording -------------------------------------------------------------------------------
    def add_frame(self, frame: dict[str, np.ndarray], task: str) -> None:
        """One frame of the episode being recorded: every feature of the dataset (no timestamp or
        indices: they are filled in), and the task (instruction) this frame belongs to."""
        own = [k for k in self.features if k not in DEFAULT_FEATURES]
        missing, extra = set(own) - set(frame), set(frame) - set(own)
        if missing or extra:
            raise DatasetError(f"frame features differ: missing {sorted(missing)}, unexpected {sorted(extra)}")
        if not task:
            raise DatasetError("every frame needs a task (its instruction)")
        out = {}
        for k in own:
            ft = self.features[k]
            v = np.asarray(frame[k])
            if ft["dtype"] == "video":
                if v.dtype != np.uint8 or list(v.shape) != list(ft["shape"]):
                    raise DatasetError(f"{k}: expected uint8 {ft['shape']}, got {v.dtype} {list(v.shape)}")
                out[k] = v.copy()
            else:
                v = v.astype(ft["dtype"]).reshape(-1)
                if v.size != int(np.prod(ft["shape"])):
                    raise DatasetError(f"{k}: expected shape {ft['shape']}, got {v.size} numbers")
                out[k] = v
        self._buffer.append(out)
        self._buffer_tasks.append(str(task))

    def discard_episode(self) -> None:
        """Forget the frames of the episode being recorded (e.g. a failed demonstration)."""
        self._buffer.clear()
        self._buffer_tasks.clear()

    def save_episode(self) -> int:
        """Write the buffered frames as the next episode; returns its index. Atomic (module doc)."""
        import pyarrow as pa

        n = len(self._buffer)
        if n == 0:
            raise DatasetError("no frames to save")
        ep, first = self.num_episodes, self.num_frames
        tasks = dict(self.tasks)
        for t in self._buffer_tasks:
            tasks.setdefault(t, len(tasks))
        own = [k for k in self.features if k not in DEFAULT_FEATURES]
        columns: dict[str, np.ndarray] = {k: np.stack([f[k] for f in self._buffer]) for k in own}
        columns["timestamp"] = (np.arange(n) / self.fps).astype(np.float32)
        columns["frame_index"] = np.arange(n, dtype=np.int64)
        columns["episode_index"] = np.full(n, ep, dtype=np.int64)
        columns["index"] = np.arange(first, first + n, dtype=np.int64)
        columns["task_index"] = np.array([tasks[t] for t in self._buffer_tasks], dtype=np.int64)
        ep_stats = {k: feature_stats(v, self.features[k]["dtype"] == "video") for k, v in columns.items()}

        # data: the episode's rows appended to the current file, or a new file past the size limit
        arrays, fields = [], []
        for k, ft in self.features.items():
            if ft["dtype"] == "video":
                continue
            typ = _arrow_type(ft)
            v = columns[k]
            arrays.append(pa.array(v.reshape(n, -1).tolist(), typ) if pa.types.is_fixed_size_list(typ)
                          else pa.array(v.reshape(n), typ))
            fields.append(pa.field(k, typ))
        ep_table = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
        limit = float(self.info["data_files_size_in_mb"]) * 1024 * 1024
        data_file, table = self._data_file, self._data_table
        if data_file is None:
            data_file, table = (0, 0), ep_table
        elif self._data_path(data_file).exists() and self._data_path(data_file).stat().st_size >= limit:
            data_file, table = _next_file(*data_file, int(self.info["chunks_size"])), ep_table
        else:
            table = pa.concat_tables([table, ep_table])
        pending: list[tuple[Path, Path]] = []  # (temporary, final), in commit order
        try:
            pending.append((_write_parquet(self._data_path(data_file), table), self._data_path(data_file)))
            row: dict[str, Any] = {
                "episode_index": ep, "tasks": list(dict.fromkeys(self._buffer_tasks)), "length": n,
                "data/chunk_index": data_file[0], "data/file_index": data_file[1],
                "dataset_from_index": first, "dataset_to_index": first + n,
            }
            video_state = {}
            for k in self.video_keys:
                vfile, frames_before = self._video_file[k], self._video_frames[k]
                vlimit = float(self.info["video_files_size_in_mb"]) * 1024 * 1024
                if vfile is None:
                    vfile, frames_before = (0, 0), 0
                elif self._video_path(k, vfile).stat().st_size >= vlimit:
                    vfile, frames_before = _next_file(*vfile, int(self.info["chunks_size"])), 0
                final = self._video_path(k, vfile)
                final.parent.mkdir(parents=True, exist_ok=True)
                ep_tmp = final.with_name(f".ep-{ep:06d}.{final.name}.tmp-{os.getpid()}")
                encode_video(ep_tmp, [f[k] for f in self._buffer], self.fps, self.vcodec, self.gop, self.crf)
                if frames_before:
                    out_tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
                    remux_videos([(final, frames_before), (ep_tmp, n)], out_tmp, self.fps)
                    ep_tmp.unlink()
                else:
                    out_tmp = ep_tmp
                pending.append((out_tmp, final))
                row.update({f"videos/{k}/chunk_index": vfile[0], f"videos/{k}/file_index": vfile[1],
                            f"videos/{k}/from_timestamp": frames_before / self.fps,
                            f"videos/{k}/to_timestamp": (frames_before + n) / self.fps})
                video_state[k] = (vfile, frames_before + n)
            row.update({"meta/episodes/chunk_index": 0, "meta/episodes/file_index": 0})
            for k, s in ep_stats.items():
                for name in STAT_NAMES:
                    row[f"stats/{k}/{name}"] = np.asarray(s[name]).tolist() if name == "count" else \
                        np.asarray(s[name], dtype=np.float64).tolist()
            episodes = self.episodes + [row]
            stats = aggregate_stats([self.stats, ep_stats]) if self.stats else ep_stats
            info = json.loads(json.dumps(self.info))
            info.update({"total_episodes": ep + 1, "total_frames": first + n, "total_tasks": len(tasks),
                         "splits": {"train": f"0:{ep + 1}"}})
            ep_path = self.root / EPISODES_PATH.format(chunk_index=0, file_index=0)
            pending.append((_write_parquet(ep_path, pa.Table.from_pylist(episodes)), ep_path))
            pending.append((_write_parquet(self.root / TASKS_PATH, _tasks_table(tasks)), self.root / TASKS_PATH))
            pending.append((_write_json(self.root / STATS_PATH, _stats_json(stats)), self.root / STATS_PATH))
            pending.append((_write_json(self.root / INFO_PATH, info), self.root / INFO_PATH))
            for tmp, _ in pending:
                _fsync(tmp)
        except BaseException:
            for tmp, _ in pending:
                with suppress(FileNotFoundError):
                    tmp.unlink()
            raise
        for tmp, final in pending:  # the commit: data and videos first, info.json last
            os.replace(tmp, final)
        self.info, self.tasks, self.episodes, self.stats = info, tasks, episodes, stats
        self._data_file, self._data_table = data_file, table
        for k, (vfile, frames) in video_state.items():
            self._video_file[k], self._video_frames[k] = vfile, frames
        self.discard_episode()
        return ep

    def close(self) -> None:
        """Drop an unsaved episode (nothing else is open between episodes)."""
        self.discard_episode()

    def __enter__(self) -> LeRobotV3Writer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _data_path(self, f: tuple[int, int]) -> Path:
        return self.root / DATA_PATH.format(chunk_index=f[0], file_index=f[1])

    def _video_path(self, key: str, f: tuple[int, int]) -> Path:
        return self.root / VIDEO_PATH.format(video_key=key, chunk_index=f[0], file_index=f[1])


# -- the reader ---------------------------------------------------------------------------------
class LeRobotV3Reader(_InfoView):
    """Loads a LeRobotDataset v3.0 folder: metadata, and any episode's frames (videos decoded)."""

    def __init__(self, root: str | Path) -> None:
        _require_pyarrow()
        import pyarrow.parquet as pq

        self.root = Path(root)
        if not (self.root / INFO_PATH).exists():
            raise DatasetError(f"{self.root} is not a LeRobot dataset: no {INFO_PATH}")
        self.info = json.loads((self.root / INFO_PATH).read_text())
        if self.info.get("codebase_version") != CODEBASE_VERSION:
            raise DatasetError(f"{self.root}: codebase_version {self.info.get('codebase_version')!r}, "
                               f"this reader reads {CODEBASE_VERSION}")
        self.tasks: list[str] = []
        if (self.root / TASKS_PATH).exists():
            t = pq.read_table(self.root / TASKS_PATH).to_pydict()
            order = sorted(range(len(t["task"])), key=lambda i: t["task_index"][i])
            self.tasks = [t["task"][i] for i in order]
        self._episodes: list[dict] = []
        ep_dir = self.root / "meta" / "episodes"
        for p in sorted(ep_dir.glob("*/*.parquet")) if ep_dir.exists() else []:
            self._episodes += pq.read_table(p).to_pylist()
        self._episodes.sort(key=lambda e: e["episode_index"])
        self._episodes = self._episodes[:int(self.info["total_episodes"])]
        self.stats = _stats_from_json(json.loads((self.root / STATS_PATH).read_text())) \
            if (self.root / STATS_PATH).exists() else {}
        self._tables: dict[Path, Any] = {}

    @property
    def fps(self) -> int:
        return int(self.info["fps"])

    @property
    def num_episodes(self) -> int:
        return len(self._episodes)

    @property
    def num_frames(self) -> int:
        return int(self.info["total_frames"])

    def episode_rows(self, with_stats: bool = False) -> list[dict]:
        """The per-episode metadata rows (without the `stats/...` columns unless asked)."""
        return [dict(e) if with_stats else {k: v for k, v in e.items() if not k.startswith("stats/")}
                for e in self._episodes]

    def data_path(self, ep: int) -> Path:
        e = self._episodes[ep]
        return self.root / self.info["data_path"].format(chunk_index=e["data/chunk_index"],
                                                         file_index=e["data/file_index"])

    def video_path(self, ep: int, key: str) -> Path:
        e = self._episodes[ep]
        return self.root / self.info["video_path"].format(video_key=key, chunk_index=e[f"videos/{key}/chunk_index"],
                                                          file_index=e[f"videos/{key}/file_index"])

    def episode(self, ep: int, videos: bool | list[str] = True) -> dict[str, Any]:
        """One episode: every non-video feature as an array (frames first), `task` (the text of
        each frame's task) and, unless `videos=False`, each camera's frames (n, h, w, 3) uint8."""
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        e = self._episodes[ep]
        path = self.data_path(ep)
        if path not in self._tables:
            self._tables[path] = pq.read_table(path)
        t = self._tables[path]
        t = t.filter(pc.equal(t["episode_index"], ep))
        out: dict[str, Any] = {}
        for k, ft in self.features.items():
            if ft["dtype"] == "video":
                continue
            col = t[k].combine_chunks()
            if ft["shape"] == [1] or tuple(ft["shape"]) == (1,):
                out[k] = col.to_numpy(zero_copy_only=False)
            else:
                out[k] = np.asarray(col.flatten().to_numpy(zero_copy_only=False)).reshape(len(t), *ft["shape"])
        out["task"] = [self.tasks[i] for i in out["task_index"]]
        keys = self.video_keys if videos is True else (list(videos) if videos else [])
        for k in keys:
            _, frames = decode_video(self.video_path(ep, k), float(e[f"videos/{k}/from_timestamp"]),
                                     float(e[f"videos/{k}/to_timestamp"]))
            out[k] = frames
        return out

    def verify(self) -> list[str]:
        """Problems with the dataset's consistency (empty when it is whole)."""
        import pyarrow.parquet as pq

        problems = []
        info = self.info
        if len(self._episodes) != info["total_episodes"]:
            problems.append(f"{len(self._episodes)} episode rows, info says {info['total_episodes']}")
        lengths = sum(int(e["length"]) for e in self._episodes)
        if lengths != info["total_frames"]:
            problems.append(f"episodes hold {lengths} frames, info says {info['total_frames']}")
        rows = 0
        data_dir = self.root / "data"
        for p in sorted(data_dir.glob("*/*.parquet")) if data_dir.exists() else []:
            rows += pq.read_metadata(p).num_rows
        if rows != info["total_frames"]:
            problems.append(f"data files hold {rows} rows, info says {info['total_frames']}")
        if len(self.tasks) != info["total_tasks"]:
            problems.append(f"{len(self.tasks)} tasks, info says {info['total_tasks']}")
        expect = 0
        for e in self._episodes:
            if e["dataset_from_index"] != expect or e["dataset_to_index"] != expect + e["length"]:
                problems.append(f"episode {e['episode_index']}: index range {e['dataset_from_index']}.."
                                f"{e['dataset_to_index']} does not follow on from {expect}")
            expect = e["dataset_to_index"]
        for k in self.video_keys:
            per_file: dict[Path, int] = {}
            for i, e in enumerate(self._episodes):
                p = self.video_path(i, k)
                per_file[p] = per_file.get(p, 0) + int(e["length"])
            for p, n in per_file.items():
                got = count_video_frames(p) if p.exists() else -1
                if got != n:
                    problems.append(f"{p.relative_to(self.root)}: {got} frames, its episodes have {n}")
        return problems
