"""A Session running live: its own thread ticks the simulation at real time and renders the view.

PyBullet clients and the dialogue manager are not thread-safe, so everything that
touches the session runs in that one thread: the UI's handlers enqueue work (`call`) and
wait for its result, which happens between two control ticks. Two things never wait
for the queue: STOP sets a flag that the thread reads before the very next tick, and
speech recognition (seconds of CPU) runs in the caller's thread, so the robot keeps
moving while a person's words are transcribed; only the transcript is handed over.
"""
from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from assistant.session import Session, SessionConfig
from assistant.task import Status

VIEW_SIZE = (352, 264)
MAX_MESSAGES = 200


@dataclass
class Snapshot:
    """What the page shows, copied out of the sim thread (safe to read from any thread)."""
    frame: np.ndarray | None
    frame_id: int
    frame_time: float  # sim seconds when the frame was rendered
    moving: bool
    status: str
    language: str
    task_md: str
    messages: list[dict[str, str]]
    version: int  # changes whenever messages or the task change
    sim_time: float
    realtime_factor: float  # sim seconds per wall second, recent
    error: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


class LiveSession:
    def __init__(self, config: SessionConfig, fps: float = 6.5, idle_fps: float = 1.0,
                 view_size: tuple[int, int] = VIEW_SIZE, realtime: bool = True) -> None:
        self.config, self.fps, self.idle_fps, self.realtime = config, fps, idle_fps, realtime
        self.view_size = view_size
        self._q: queue.Queue[tuple[Callable, Future]] = queue.Queue()
        self._stop_flag = threading.Event()
        self._closed = threading.Event()
        self._lock = threading.Lock()  # guards the snapshot fields below
        self.messages: list[dict[str, str]] = []
        self._version = 0
        self._frame: np.ndarray | None = None
        self._frame_id = 0
        self._frame_time = 0.0
        self._moving = False
        self._task_md = ""
        self._status, self._language = "idle", "en"
        self._rtf = 0.0
        self._error: str | None = None
        self.last_used = time.monotonic()
        # (wall perf_counter, sim time) when the last STOP was applied, and when the arms were then at rest
        self.stop_applied: tuple[float, float] | None = None
        self.stop_halted: tuple[float, float] | None = None
        self._ready = threading.Event()
        self.session: Session | None = None
        self._thread = threading.Thread(target=self._run, name="live-session", daemon=True)
        self._thread.start()
        if not self._ready.wait(120):
            raise RuntimeError("the simulation did not start within 120 s")
        if self._error:
            raise RuntimeError(self._error)

    # -- API for the UI (any thread) -------------------------------------------------------------
    def call(self, fn: Callable[[Session], Any], timeout: float = 60.0) -> Any:
        """Run fn(session) in the sim thread between two ticks; returns its result."""
        if self._closed.is_set():
            raise RuntimeError("this session is closed")
        fut: Future = Future()
        self._q.put((fn, fut))
        return fut.result(timeout)

    def stop_now(self) -> None:
        """The STOP button: takes effect before the next control tick, whatever is queued."""
        self._stop_flag.set()

    def chat(self, text: str):
        self.last_used = time.monotonic()
        if text.strip():  # shown as typed, but a pasted novel is not repeated back in full
            self._add("user", text if len(text) <= 500 else text[:500] + f"… ({len(text)} characters)")
        reply = self.call(lambda s: s.submit(text))
        self._add("assistant", reply.text)
        return reply

    def hear(self, audio, sample_rate: int | None = None):
        """A spoken turn: transcription here (the robot keeps moving), the turn in the sim thread."""
        from speech import AudioError

        self.last_used = time.monotonic()
        names = self.call(lambda s: [(o.kind, o.color) for o in s.dm.scene_fn().objects])
        try:
            t = self.session.voice.transcribe(audio, sample_rate, objects=names)
        except AudioError as e:
            err = e  # bound for the closure (the except target is unbound after the block)
            turn = self.call(lambda s: s.voice.audio_error(err))
            self._add("assistant", turn.reply.text)
            return turn
        return self.handle_transcript(t)

    def handle_transcript(self, t):
        """A transcript (from `hear` or the hands-free stream) as a turn, in the sim thread."""
        if t.heard:
            self._add("user", f"🎤 {t.text}")
        turn = self.call(lambda s: s.voice.handle_transcript(t))
        self._add("assistant", turn.reply.text)
        return turn

    def snapshot(self) -> Snapshot:
        with self._lock:
            return Snapshot(self._frame, self._frame_id, self._frame_time, self._moving, self._status,
                            self._language, self._task_md, list(self.messages), self._version,
                            self.session.time if self.session else 0.0, self._rtf, self._error,
                            {"embodiment": self.config.embodiment})

    def wait_until(self, pred: Callable[[Snapshot], bool], timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred(self.snapshot()):
                return True
            time.sleep(0.02)
        return False

    def close(self) -> None:
        self._closed.set()
        self._thread.join(10)

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    # -- the sim thread ---------------------------------------------------------------------------
    def _add(self, role: str, text: str) -> None:
        with self._lock:
            self.messages.append({"role": role, "content": text})
            del self.messages[:-MAX_MESSAGES]
            self._version += 1

    def _run(self) -> None:
        try:
            self.session = Session(self.config)
            from embodiments.sim.world import DEMO_CAMERA

            self._camera = replace(DEMO_CAMERA, width=self.view_size[0], height=self.view_size[1])
            self._render()
            self._publish_task()
        except Exception as e:  # reported to the constructor
            self._error = f"could not start the simulation: {type(e).__name__}: {e}"
            self._ready.set()
            return
        self._ready.set()
        s = self.session
        dt = 1.0 / s.robot.control_hz
        wall0, sim0 = time.perf_counter(), s.time
        next_tick = wall0
        last_frame = 0.0
        try:
            while not self._closed.is_set():
                if self._stop_flag.is_set():
                    self._apply_stop()
                self._drain()
                for r in s.tick():
                    self._add("assistant", r.text)
                speed = s.robot.max_joint_speed()
                if self.stop_applied is not None and self.stop_halted is None and speed < 0.01:
                    self.stop_halted = (time.perf_counter(), s.time)
                moving = speed > 1e-3 or s.dm.busy
                now = time.perf_counter()
                rate = self.fps if moving else self.idle_fps
                if rate > 0 and now - last_frame >= 1.0 / rate:
                    self._render()
                    last_frame = now
                self._moving = moving
                self._publish_task()
                if now - wall0 > 2.0:  # a recent real-time factor
                    self._rtf = (s.time - sim0) / (now - wall0)
                    wall0, sim0 = now, s.time
                if self.realtime:
                    next_tick += dt
                    delay = next_tick - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                    elif delay < -0.5:
                        next_tick = time.perf_counter()  # fell behind (a long turn): do not race to catch up
        except Exception as e:
            self._error = f"the simulation stopped: {type(e).__name__}: {e}"
            self._add("assistant", f"⚠️ {self._error}")
        finally:
            while not self._q.empty():
                _fn, fut = self._q.get_nowait()
                fut.set_exception(RuntimeError("the session was closed"))
            s.close()

    def _drain(self) -> None:
        while True:
            try:
                fn, fut = self._q.get_nowait()
            except queue.Empty:
                return
            if self._stop_flag.is_set():  # a STOP pressed while turns were queued goes first
                self._apply_stop()
            try:
                result = fn(self.session)
                self._publish_task()  # the caller's snapshot right after shows the turn's effect
                fut.set_result(result)
            except Exception as e:  # the turn's error goes back to the caller; the loop goes on
                fut.set_exception(e)

    def _apply_stop(self) -> None:
        self._stop_flag.clear()
        self.stop_applied, self.stop_halted = (time.perf_counter(), self.session.time), None
        self._add("assistant", self.session.dm.emergency_stop().text)

    def _render(self) -> None:
        s = self.session
        frame = s.robot.world.render(self._camera).rgb
        with self._lock:
            self._frame = np.ascontiguousarray(frame[..., :3])
            self._frame_id += 1
            self._frame_time = s.time

    def _publish_task(self) -> None:
        t = self.session.dm.task
        md = task_markdown(t)
        with self._lock:
            if md != self._task_md or t.status.value != self._status:
                self._task_md, self._status, self._language = md, t.status.value, t.language
                self._version += 1


_STATE = {"done": "done", "now": "**now**", "todo": "next", "paused": "**paused**", "failed": "**failed**"}


def task_markdown(t) -> str:
    """The task panel: status, language, goal and the plan's steps with their state."""
    lines = [f"- **Status:** `{t.status.value}`" + (f" ({t.reason})" if t.reason else ""),
             f"- **Language:** `{t.language}`"]
    if t.goal is not None:
        lines.append(f"- **Goal:** {t.goal.describe()}")
    if t.plan is not None and t.plan.steps:
        lines.append("")
        lines.append("| # | step | arm | state |")
        lines.append("| --- | --- | --- | --- |")
        for i, st in enumerate(t.plan.steps):
            if i < t.step:
                mark = _STATE["done"]
            elif i == t.step:
                mark = {Status.RUNNING: _STATE["now"], Status.PAUSED: _STATE["paused"],
                        Status.FAILED: _STATE["failed"]}.get(t.status, _STATE["todo"])
            else:
                mark = _STATE["todo"]
            lines.append(f"| {i + 1} | {st.instruction} | {st.arm or ''} | {mark} |")
    return "\n".join(lines)
