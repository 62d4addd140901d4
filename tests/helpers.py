"""Shared helpers for the tests (not a test module)."""
from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from embodiments.perception import Perception
from embodiments.registry import make_embodiment
from embodiments.scene_spec import SceneSpec


def connect(embodiment: str, scene: dict, **kw):
    robot = make_embodiment(embodiment, SceneSpec.from_dict(scene), **kw)
    robot.connect()
    return robot


def perceiver(robot):
    """A perceive() over all the robot's cameras, with the real pixel-based perception."""
    p = Perception()
    ignore = robot.robot_bodies | set(robot.world.fixtures)
    return lambda: p.perceive_observation(robot.get_observation(), ignore)


ROOT = Path(__file__).resolve().parents[1]


def cli() -> list[str]:
    """The `robot-assistant` command of this interpreter's environment."""
    exe = Path(sys.executable).parent / "robot-assistant"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "assistant.cli"]


class PolicyServer:
    """`robot-assistant serve-policy ARGS` in a subprocess; `port`/`url` are read from its
    'serving ... on ws://' line."""

    def __init__(self, *args: str, ready_s: float = 60.0) -> None:
        self.log = tempfile.TemporaryFile("w+")  # its log: a pipe nobody reads could fill up and block it
        self.proc = subprocess.Popen([*cli(), "serve-policy", *args], cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True)
        deadline, line = time.monotonic() + ready_s, ""
        while time.monotonic() < deadline and "ws://" not in line:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"serve-policy exited {self.proc.returncode}: {self.log.read()}")
            if select.select([self.proc.stdout], [], [], 0.2)[0]:
                line = self.proc.stdout.readline()
        if "ws://" not in line:
            self.stop()
            raise RuntimeError(f"serve-policy did not report ready in {ready_s:g} s")
        self.port = int(line.strip().rsplit(":", 1)[1])
        self.url = f"ws://127.0.0.1:{self.port}"

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)  # a test may have paused it
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc.stdout.close()
        self.log.close()
