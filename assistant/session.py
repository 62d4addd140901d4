"""One Session: the robot, its perception, the dialogue manager and the clock.

The CLI, the UI and the dialogue-script runner all drive the same object:
`submit(text)` between ticks, `tick()` once per control tick, `state()` to show.
Perception runs when the dialogue manager asks for it (before planning, before
each step, when a skill checks its work), not on every tick: rendering costs far
more than physics (docs/benchmarks.md).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from embodiments.perception import Perception
from embodiments.registry import make_embodiment
from embodiments.scene_spec import SceneSpec
from embodiments.types import PerceivedScene

from .controllers import make_controller
from .dialogue import DialogueManager, Reply
from .task import Status, TaskState
from .tasklog import TaskLog, config_record

PERCEPTION_MAX_AGE = 1.0  # s of sim time a perceived scene stays good for planning a turn
IDLE_STATUSES = (Status.IDLE, Status.DONE, Status.FAILED, Status.CANCELLED, Status.REFUSED, Status.CLARIFYING)


@dataclass
class SessionConfig:
    embodiment: str = "panda"
    scene: SceneSpec | None = None
    gui: bool = False
    understanding: str = "lexicon"  # lexicon | openai | transformers (planner.llm.make_understanding)
    understanding_args: dict = field(default_factory=dict)  # e.g. base_url, model / model_dir
    task_log: str | None = None  # a JSONL file events are appended to (assistant/tasklog.py)
    # What drives the arm (assistant/controllers.py): scripted | tiny_vla | remote
    controller: str = "scripted"
    policy_url: str | None = None  # remote: the policy server, ws://host:port
    checkpoint: str | None = None  # tiny_vla: default controllers.DEFAULT_CHECKPOINT
    controller_args: dict = field(default_factory=dict)  # step_timeout_s; the policy's own (remote: timeout)


class Session:
    def __init__(self, config: SessionConfig | None = None) -> None:
        self.config = config or SessionConfig()
        self.robot = make_embodiment(self.config.embodiment, self.config.scene or SceneSpec(), gui=self.config.gui)
        self.robot.connect()
        self.perception = Perception()
        self._ignore = self.robot.robot_bodies | set(self.robot.world.fixtures)
        from planner.llm import make_understanding

        parser = make_understanding(self.config.understanding, **self.config.understanding_args)
        c = self.config
        try:  # a controller that cannot start (no checkpoint, no server) is a ControllerError, before any motion
            controller = make_controller(c.controller, self.robot, self.perceive, embodiment=c.embodiment,
                                         policy_url=c.policy_url, checkpoint=c.checkpoint, options=c.controller_args)
        except BaseException:
            self.robot.disconnect()
            raise
        self.dm = DialogueManager(self.robot, self.perceive, parser=parser, scene_fn=self.latest_scene,
                                  controller=controller)
        self._scene = None
        self._voice = None
        self._perception_fault_at: float | None = None  # sim time of the last perception fault logged
        self.task_log = TaskLog(self.config.task_log) if self.config.task_log else None
        if self.task_log is not None:
            self.dm.on_event = lambda event, t, fields: self.task_log.write(event, t, **fields)
            self.task_log.write("session_start", self.robot.time, config=config_record(self.config), pid=os.getpid())

    def perceive(self):
        """A fresh look through every camera (renders: tens of milliseconds). A camera or perception
        error is a fault, not a crash: the robot then sees nothing (so it moves nothing new) until
        the next look works."""
        try:
            self._scene = self.perception.perceive_observation(self.robot.get_observation(cameras=True),
                                                               self._ignore)
        except Exception as e:  # any camera or perception failure
            if self._perception_fault_at is None or self.robot.time - self._perception_fault_at >= 10.0:
                self._perception_fault_at = self.robot.time  # log it at most every 10 s while it lasts
                self.dm._emit("fault", kind="perception", error=f"{type(e).__name__}: {e}")
            self._scene = PerceivedScene(self.robot.time, ())
        return self._scene

    def latest_scene(self, max_age: float = PERCEPTION_MAX_AGE):
        """The last perception if it is recent (sim seconds), else a fresh one.

        Turns are planned on this, so a turn costs a plan (milliseconds), not a render. It is
        safe because every step binds its objects to a fresh look before it moves, and what
        a hand holds is added from the hand itself.
        """
        s = self._scene
        if s is None or self.robot.time - s.time > max_age:
            return self.perceive()
        return s

    # -- the three calls everyone uses --------------------------------------------------------
    def submit(self, text: str, language: str | None = None) -> Reply:
        return self.dm.handle(text, language=language)

    def submit_audio(self, audio, sample_rate: int | None = None):
        """A spoken turn (a file path, encoded bytes or samples): returns an `assistant.voice.VoiceTurn`."""
        return self.voice.hear(audio, sample_rate)

    @property
    def voice(self):
        if self._voice is None:
            from .voice import Voice

            self._voice = Voice(self)
        return self._voice

    def tick(self) -> list[Reply]:
        """One control tick; returns the replies the task produced on the way (done, failed)."""
        self.dm.tick()
        if self._scene is None or self.robot.time - self._scene.time > PERCEPTION_MAX_AGE * 0.8:
            self.perceive()  # keep a recent view, so that a turn never waits for a render
        out, self.dm.events = self.dm.events, []
        return out

    def state(self) -> TaskState:
        return self.dm.task

    # -- helpers for scripts and tests ----------------------------------------------------------
    @property
    def time(self) -> float:
        return self.robot.time

    def run(self, seconds: float) -> list[Reply]:
        out: list[Reply] = []
        for _ in range(int(round(seconds * self.robot.control_hz))):
            out += self.tick()
        return out

    def run_until_idle(self, timeout: float = 120.0) -> tuple[bool, list[Reply]]:
        """Tick until the task is in an idle status and nothing moves; False on timeout."""
        out: list[Reply] = []
        end = self.robot.time + timeout
        while self.robot.time < end:
            out += self.tick()
            if self.dm.task.status in IDLE_STATUSES and not self.dm.busy:
                return True, out
        return False, out

    def close(self) -> None:
        if self.task_log is not None:
            self.dm._flush_clips()
            self.task_log.write("session_end", self.robot.time)
            self.task_log.close()
        self.dm.runner.close()  # a remote policy's connection
        self.robot.disconnect()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
