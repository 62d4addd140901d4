"""MP4 recording of camera frames with PyAV (its wheels bundle libx264: no system ffmpeg needed)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


class VideoWriter:
    """Writes RGB frames to an H.264 MP4; frames are flushed as they come, so a kill loses little."""

    def __init__(self, path: str | Path, fps: int = 15) -> None:
        import av

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._container = av.open(str(self.path), mode="w")
        self._stream = self._container.add_stream("libx264", rate=fps)
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = {"crf": "23", "preset": "veryfast"}
        self._size: tuple[int, int] | None = None
        self.frames = 0

    def add(self, rgb: np.ndarray) -> None:
        import av

        h, w = rgb.shape[:2]
        h2, w2 = h - h % 2, w - w % 2  # yuv420p needs even sizes
        if self._size is None:
            self._stream.width, self._stream.height = w2, h2
            self._size = (w2, h2)
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[:h2, :w2, :3]), format="rgb24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames += 1

    def close(self) -> None:
        if self._container is None:
            return
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()
        self._container = None

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
