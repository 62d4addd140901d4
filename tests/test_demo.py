"""`robot-assistant sim-demo` end to end: skills, final predicates and the MP4."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import av
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("embodiment", ["panda", "bimanual"])
def test_sim_demo_cli(tmp_path, embodiment):
    exe = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "robot-assistant"
    if not exe.exists():
        exe = ROOT / ".venv" / "bin" / "robot-assistant"
    out = subprocess.run([str(exe), "sim-demo", "--embodiment", embodiment, "--seed", "0", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "PASS in:" in out.stdout and "FAIL" not in out.stdout
    assert "succeeded" in out.stdout
    video = tmp_path / "sim-demo.mp4"
    with av.open(str(video)) as f:
        frames = sum(1 for _ in f.decode(video=0))
    assert frames > 100  # ~15 fps over the whole tidy-up


def test_sim_demo_rejects_unknown_embodiment(tmp_path):
    exe = ROOT / ".venv" / "bin" / "robot-assistant"
    out = subprocess.run([str(exe), "sim-demo", "--embodiment", "ur5", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "ur5" in out.stderr
