"""The JSONL task log: whole lines, fsync'd per event, readable after a kill -9 of the process."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import assistant.tasklog as tasklog
from assistant.session import Session, SessionConfig
from assistant.task import Status
from assistant.tasklog import TaskLog, config_record, read_task_log
from embodiments.scene_spec import SceneSpec

ROOT = Path(__file__).resolve().parents[1]
SCENE = {"seed": 7, "objects": [
    {"id": "red_cube", "kind": "cube", "color": "red", "at": [-0.1, 0.12]},
    {"id": "blue_bowl", "kind": "bowl", "color": "blue", "at": [0.12, 0.1]},
]}


def test_events_round_trip_with_numpy_values(tmp_path):
    path = tmp_path / "logs" / "task.jsonl"  # the folder is made
    with TaskLog(path, session="s1") as log:
        log.write("turn", 0.5, text="mets le cube rouge dans le bol", language=None)
        log.write("step_end", np.float64(3.25), step=1, sim_seconds=np.float32(2.5), pos=np.array([0.1, 0.2]))
    events = read_task_log(path)
    assert [e["event"] for e in events] == ["turn", "step_end"]
    assert [e["seq"] for e in events] == [0, 1] and {e["session"] for e in events} == {"s1"}
    assert events[0]["text"] == "mets le cube rouge dans le bol" and events[0]["t"] == 0.5
    assert events[1]["t"] == 3.25 and events[1]["sim_seconds"] == 2.5 and events[1]["pos"] == [0.1, 0.2]
    assert all(e["v"] == tasklog.SCHEMA_VERSION and abs(e["wall"] - time.time()) < 60 for e in events)
    raw = path.read_bytes()
    assert raw.endswith(b"\n") and raw.count(b"\n") == 2  # one line per event


def test_a_cut_last_line_is_skipped_and_the_next_session_starts_a_new_line(tmp_path):
    path = tmp_path / "task.jsonl"
    with TaskLog(path) as log:
        log.write("session_start", 0.0)
        log.write("step_start", 1.0, step=1)
    with open(path, "ab") as f:  # what a kill in the middle of a write would leave
        f.write(b'{"v": 1, "seq": 2, "event": "step_e')
    assert [e["event"] for e in read_task_log(path)] == ["session_start", "step_start"]
    with TaskLog(path) as log:  # a new process appends to the same file
        log.write("session_start", 0.0)
    assert [e["event"] for e in read_task_log(path)] == ["session_start", "step_start", "session_start"]


def test_sessions_appending_to_one_file_never_interleave_lines(tmp_path):
    """The app's pool: several sessions, each in its own thread, one file."""
    path = tmp_path / "task.jsonl"
    logs = [TaskLog(path, fsync=False) for _ in range(3)]

    def spam(log: TaskLog) -> None:
        for i in range(300):
            log.write("reply", float(i), text="x" * (i % 50) + "¿ü 你好")

    threads = [threading.Thread(target=spam, args=(log,)) for log in logs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    events = read_task_log(path)
    assert len(events) == 900 and len(path.read_text(encoding="utf-8").splitlines()) == 900
    for log in logs:
        assert [e["seq"] for e in events if e["session"] == log.session] == list(range(300))
        log.close()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
def test_a_full_disk_does_not_stop_the_session(caplog):
    log = TaskLog("/dev/full")  # every write fails with ENOSPC
    log.write("turn", 0.0, text="a")
    rec = log.write("turn", 0.0, text="b")
    assert log.errors == 2 and caplog.text.count("cannot write") == 1  # warned once
    assert rec["seq"] == 1 and rec["text"] == "b"
    log.close()
    log.write("turn", 0.0, text="after close")  # ignored, not an exception


def test_the_config_is_logged_without_secrets():
    cfg = SessionConfig("panda", SceneSpec.from_dict(SCENE), understanding="openai",
                        understanding_args={"base_url": "http://x/v1", "model": "m", "api_key": "sk-123"})
    rec = config_record(cfg)
    json.dumps(rec)
    assert rec["understanding_args"] == {"base_url": "http://x/v1", "model": "m", "api_key": "***"}
    assert [o["id"] for o in rec["scene"]["objects"]] == ["red_cube", "blue_bowl"] and rec["embodiment"] == "panda"


def test_a_session_logs_turns_refusals_plans_steps_controls_and_replies(tmp_path):
    path = tmp_path / "task.jsonl"
    s = Session(SessionConfig("panda", SceneSpec.from_dict(SCENE), task_log=str(path)))
    replies = [s.submit("Wirf den roten Würfel auf den Boden.")]
    replies.append(s.submit("Leg den roten Würfel in die blaue Schüssel"))
    s.run(1.0)
    replies.append(s.submit("Stopp!"))
    s.run(0.2)
    replies.append(s.submit("weiter"))
    ok, out = s.run_until_idle(60)
    replies += out
    s.close()
    assert ok and s.state().status is Status.DONE
    events = read_task_log(path)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "session_start" and kinds[-1] == "session_end"
    assert [e["seq"] for e in events] == list(range(len(events)))
    refusal = events[kinds.index("refusal")]
    assert refusal["rule"] == "no_throwing" and refusal["reason"] == "refuse_throw"
    assert [e["text"] for e in events if e["event"] == "turn"] == [
        "Wirf den roten Würfel auf den Boden.", "Leg den roten Würfel in die blaue Schüssel", "Stopp!", "weiter"]
    assert {e["language"] for e in events if e["event"] == "understood"} == {"de"}
    assert [(e["action"], e["status"]) for e in events if e["event"] == "control"] == [
        ("stop", "paused"), ("resume", "running")]
    plan = events[kinds.index("plan")]
    assert [st["skill"] for st in plan["steps"]] == ["pick", "place_in"]
    starts = [e["instruction"] for e in events if e["event"] == "step_start"]
    ends = [(e["instruction"], e["status"]) for e in events if e["event"] == "step_end"]
    assert starts == [st["instruction"] for st in plan["steps"]]
    assert ends == [(i, "succeeded") for i in starts]
    assert events[kinds.index("task_end")]["status"] == "done"
    # Every reply the person got is in the log, in order, with its language.
    assert [(e["text"], e["language"]) for e in events if e["event"] == "reply"] == [
        (r.text, r.language) for r in replies]
    assert all(e["t"] is not None for e in events) and events[-1]["t"] >= events[1]["t"]


CHILD = """
import json, sys
from assistant.session import Session, SessionConfig
from embodiments.scene_spec import SceneSpec
s = Session(SessionConfig("panda", SceneSpec.from_dict(json.loads(sys.argv[2])), task_log=sys.argv[1]))
s.submit("Mets le cube rouge dans le bol bleu")
while True:
    s.tick()
"""


def test_the_log_survives_a_kill_9(tmp_path):
    """A real session in a child process, killed without warning once it has started a step: every
    event written up to the kill is there and whole."""
    path = tmp_path / "task.jsonl"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), json.dumps(SCENE)], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and child.poll() is None:
            if path.exists() and b'"event": "step_start"' in path.read_bytes():
                break
            time.sleep(0.05)
        assert child.poll() is None, child.stderr.read().decode()[-2000:]
        time.sleep(0.3)  # let it get on with the step: the kill lands wherever the child is
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    lines = path.read_bytes().split(b"\n")
    complete, last = lines[:-1], lines[-1]  # `last` is b"" unless the kill cut a line
    parsed = [json.loads(line) for line in complete]  # every complete line parses
    assert read_task_log(path) == parsed
    kinds = [e["event"] for e in parsed]
    assert kinds[:6] == ["session_start", "turn", "understood", "plan", "reply", "step_start"], kinds
    assert [e["seq"] for e in parsed] == list(range(len(parsed)))  # nothing lost in between
    assert parsed[2]["language"] == "fr" and parsed[5]["instruction"] == "pick up the red cube"
    assert "session_end" not in kinds
    if last:
        with pytest.raises(json.JSONDecodeError):
            json.loads(last)
