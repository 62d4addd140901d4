"""The task log: what a session heard, understood, planned, did, refused and said, one event per line.

Why a separate log: `TaskState.history` is for the person and the UI and lives in memory; the
task log is for whoever must find out afterwards what happened (a failed task, a fault, a
crash). So every event is one JSON object on one line (JSONL), appended with a single
`os.write` on a file opened with O_APPEND and then `os.fsync`ed: a `kill -9`, or a power cut
after the fsync, loses at most the line being written. Several sessions (the app's pool) may
append to one file: each line names its session.

fsync costs 0.13 ms per event on the development VM's idle disk and 1.5-3.4 ms while a
recording job writes to the same disk: nothing against the task-level events here (about a
dozen for a pick-and-place, 2-3 KB), but up to a fifth of a 60 Hz control tick, and 60 lines a
second would make the log useless to read: per-tick things never go in. Safety clips, which
can happen on every tick, are summed per step (`safety_clips`).

Every line has:

    v        schema version (1)
    seq      0, 1, 2 ... within the session
    session  the session's id (12 hex digits)
    wall     Unix time, seconds
    t        simulated (robot) time, seconds; null before the robot exists
    event    one of the kinds below

and per kind:

    session_start  config (the SessionConfig, secrets removed), pid
    session_end    -
    turn           text (at most 500 characters), language (given for speech, else null)
    understood     language, act, goal (its description or null), fallback (why the LLM backend
                   failed and the lexicon answered, or null)
    refusal        rule, reason (the reply's catalogue key)
    plan           goal, status, steps: [{skill, instruction, arm}]
    step_start     step (1-based), skill, instruction, arm
    step_end       step, skill, instruction, status (succeeded | failed | interrupted), reason,
                   sim_seconds
    safety_clips   step, counts {kind: n}, reasons [[arm, reason], ...] (distinct, at most 10):
                   what the robot's safety limits changed since the last summary
    control        action (stop | resume | cancel), status
    safety_stop    arm, reason, link, touched, force (N): the robot stopped itself on an
                   unexpected contact (`embodiments/sim/contact.py`)
    fault          kind (skill_error | object_lost | perception | llm | controller), error
    task_end       status (done | failed | refused), reason
    reply          text, language, status

`read_task_log(path)` reads it back, skipping a line that a kill cut short.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from dataclasses import asdict, fields, is_dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
MAX_TEXT = 500  # characters of a turn kept in the log (turns may be up to 2000)
SECRET_KEYS = ("key", "token", "secret", "password", "auth")


class TaskLog:
    """Appends events to a JSONL file, each written whole and fsync'd before `write` returns."""

    def __init__(self, path: str | os.PathLike, session: str | None = None, fsync: bool = True) -> None:
        self.path = Path(path)
        self.session = session or uuid.uuid4().hex[:12]
        self.fsync = fsync
        self.seq = 0
        self.errors = 0
        self._lock = threading.Lock()
        if self.path.parent != Path(""):
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        # A process killed mid-line left a partial last line: end it, so our first event is not
        # glued onto it (the reader then skips the partial line alone).
        if os.fstat(self._fd).st_size > 0 and not _ends_with_newline(self.path):
            os.write(self._fd, b"\n")

    def write(self, event: str, t: float | None = None, **fields: Any) -> dict[str, Any]:
        """Append one event; never raises (a full disk must not stop the robot): errors are logged."""
        record = {"v": SCHEMA_VERSION, "seq": self.seq, "session": self.session, "wall": round(time.time(), 3),
                  "t": None if t is None else round(float(t), 3), "event": event, **fields}
        with self._lock:
            self.seq += 1
            if self._fd is None:
                return record
            try:
                data = (json.dumps(record, ensure_ascii=False, default=_plain) + "\n").encode()
                while data:  # a regular file takes it in one write; loop in case it does not
                    data = data[os.write(self._fd, data):]
                if self.fsync:
                    os.fsync(self._fd)
            except (OSError, TypeError, ValueError) as e:
                self.errors += 1
                if self.errors == 1:
                    log.warning("task log %s: cannot write (%s); going on without it", self.path, e)
        return record

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> TaskLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_task_log(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The events in `path`, oldest first. A line that is not a whole JSON object (the last line
    of a killed process, possibly followed by a later session's lines) is skipped."""
    events, bad = [], 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                e = json.loads(line)
            except json.JSONDecodeError:
                bad += 1
                continue
            if isinstance(e, dict) and "event" in e:
                events.append(e)
            else:
                bad += 1
    if bad:
        log.info("task log %s: skipped %d partial line(s)", path, bad)
    return events


def config_record(config: Any) -> dict[str, Any]:
    """A SessionConfig as plain data for `session_start` (the scene in full), secrets removed."""
    out: dict[str, Any] = {}
    for f in fields(config) if is_dataclass(config) else ():
        value = getattr(config, f.name)
        if is_dataclass(value) and not isinstance(value, type):  # the SceneSpec: seed, objects, person
            value = asdict(value)
        elif isinstance(value, dict):
            value = {k: ("***" if any(s in k.lower() for s in SECRET_KEYS) else v) for k, v in value.items()}
        out[f.name] = value
    return out


def _plain(o: Any) -> Any:
    """JSON for what json does not know: numpy scalars and arrays, enums, paths, anything else as text."""
    if hasattr(o, "tolist"):
        return o.tolist()
    if hasattr(o, "value") and isinstance(o.value, str | int | float):
        return o.value
    return str(o)


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"
