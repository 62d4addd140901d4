"""A kinematic stand-in robot for fast unit tests of everything above the embodiment.

No physics and no pybullet: each arm's hand goes where the (safety-clipped)
command puts it, a closing gripper picks up the nearest object under the hand,
an opening one drops it on the table or into the container below. Objects come
from the scene spec (unplaced ones on a seeded grid), and `perceive()` reports
them as a `PerceivedScene`, so dialogue and planner tests run in milliseconds.
The same `SafetyLimits` clip commands as on the simulated robots, and a stop
ignores commands until `release()`, exactly as the interface promises.

What it cannot do, it does not pretend to: with no physics there is no contact and so no
contact sensing (`safety_stop` is always None; the simulated robots feel contacts, see
sim/contact.py), and its hand is a point with no links, so the collision check is the
workspace box (whose floor keeps the hand above the table) and the person's keep-out
around the hand point (`SafetyLimits.near_person`, the same model the planner uses).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .limits import ClipLog, SafetyLimits, SafetyStop, clip_box, clip_step
from .robot import Robot
from .scene_spec import SceneSpec
from .types import (
    CONTAINER_KINDS,
    TABLE_HALF,
    ArmCommand,
    ArmState,
    DetectedObject,
    Observation,
    PerceivedScene,
)

SIZES = {"cube": 0.04, "block": 0.03, "ball": 0.05, "lego": 0.025, "duck": 0.04, "teddy": 0.045,
         "bowl": 0.05, "plate": 0.016, "mug": 0.09, "tray": 0.06}
RADII = {"bowl": 0.07, "plate": 0.09, "mug": 0.04, "tray": 0.14}
GRASP_RADIUS = 0.03
PERSON_AT = np.array([0.56, 0.0, 0.8])  # where a person stands (the far edge, as in simulation)


@dataclass
class _MockObject:
    id: str
    kind: str
    color: str
    pos: np.ndarray  # (3,) bottom centre


class MockRobot(Robot):
    control_hz = 60

    def __init__(self, scene: SceneSpec | None = None, arms: tuple[str, ...] = ("arm",),
                 limits: SafetyLimits | None = None, **_: object) -> None:
        self.name = "mock"
        self.arms = tuple(arms)
        self.scene = scene or SceneSpec()
        self.limits = limits or SafetyLimits()
        self.clips = ClipLog()
        self._connected = False
        self._halted = False
        self._time = 0.0
        self.objects: dict[str, _MockObject] = {}
        self.ee: dict[str, np.ndarray] = {}
        self.ee_quat = np.array([1.0, 0.0, 0.0, 0.0])
        self.gripper: dict[str, float] = {}
        self.commanded: dict[str, float] = {}  # the last gripper target: "closed" means asked to close
        self.holding: dict[str, str | None] = {}
        self._speed: dict[str, float] = {}
        self.safety_stop: SafetyStop | None = None  # never set: no physics, no contact sensing

    # -- lifecycle ---------------------------------------------------------------------------
    def connect(self) -> None:
        rng = np.random.default_rng(self.scene.seed)
        free = [(x, y) for x in np.arange(-0.2, 0.21, 0.1) for y in np.arange(-0.2, 0.21, 0.1)]
        rng.shuffle(free)
        for o in self.scene.objects:
            xy = o.at if o.at is not None else free.pop()
            self.objects[o.id] = _MockObject(o.id, o.kind, o.resolved_color, np.array([xy[0], xy[1], 0.0]))
        for a in self.arms:
            self.ee[a] = self.home_pose(a)[0]
            self.gripper[a], self.holding[a], self._speed[a] = 0.08, None, 0.0
            self.commanded[a] = 0.08
        self._connected = True

    def disconnect(self) -> None:
        self._connected = False

    @property
    def is_connected(self) -> bool:
        return self._connected

    @property
    def time(self) -> float:
        return self._time

    # -- observe -----------------------------------------------------------------------------
    def get_observation(self, cameras: bool = True) -> Observation:
        arms = {a: ArmState(np.zeros(7), np.zeros(7), self.ee[a].copy(), self.ee_quat.copy(), self.gripper[a],
                            self.commanded[a] < 0.04) for a in self.arms}
        return Observation(self._time, arms, {})

    def perceive(self) -> PerceivedScene:
        objs = []
        for i, o in enumerate(sorted(self.objects.values(), key=lambda o: o.id)):
            h = SIZES[o.kind]
            r = RADII.get(o.kind, h / 2)
            objs.append(DetectedObject(i, o.kind, o.color, o.pos + np.array([0, 0, h / 2]),
                                       np.array([2 * r, 2 * r, h]), (0, 0), (0, 0, 0, 0), 1.0,
                                       top_z=float(o.pos[2] + h)))
        person = PERSON_AT.copy() if self.scene.person else None
        return PerceivedScene(self._time, tuple(objs), person)

    # -- act ---------------------------------------------------------------------------------
    def send_action(self, action: dict[str, ArmCommand]) -> dict[str, ArmCommand]:
        if self._halted:
            return {}
        dt = 1.0 / self.control_hz
        sent = {}
        for a, cmd in action.items():
            if a not in self.ee:
                raise KeyError(f"no arm {a!r} on mock (arms: {', '.join(self.arms)})")
            before = self.ee[a]
            if cmd.ee_pos is not None:
                lim = self.limits
                target, hit = clip_box(np.asarray(cmd.ee_pos, float), lim.workspace_lo, lim.workspace_hi)
                if hit:
                    self.clips.add(a, "workspace: target outside the workspace box")
                speed = self.limits.ee_speed(self.scene.person)
                if cmd.max_speed is not None:
                    speed = min(speed, cmd.max_speed)
                target, hit = clip_step(target, before, speed * dt)
                if hit and (cmd.max_speed is None or cmd.max_speed > speed):
                    self.clips.add(a, "ee_speed: end-effector speed limited")
                person = PERSON_AT if self.scene.person else None
                gap = lim.person_clearance(target, person)
                if gap < lim.person_margin and gap < lim.person_clearance(before, person):
                    self.clips.add(a, f"keep_out: the hand would come within {gap:.2f} m of the person "
                                      f"(keep-out {lim.person_margin:.2f} m)")
                    target = before  # refused: the hand holds (moving out of the keep-out is allowed)
                self.ee[a] = target
            self._speed[a] = float(np.linalg.norm(self.ee[a] - before)) / dt
            if cmd.gripper is not None:
                self._grip(a, float(np.clip(cmd.gripper, 0.0, 0.08)))
            sent[a] = ArmCommand(ee_pos=self.ee[a].copy(), ee_quat=self.ee_quat.copy(), gripper=self.gripper[a])
        return sent

    def _grip(self, arm: str, width: float) -> None:
        closing = width < self.gripper[arm]
        self.gripper[arm] = self.commanded[arm] = width
        if closing and self.holding[arm] is None:
            p = self.ee[arm]
            near = [o for o in self.objects.values() if o.kind not in CONTAINER_KINDS
                    and np.hypot(*(o.pos[:2] - p[:2])) < GRASP_RADIUS and p[2] < o.pos[2] + SIZES[o.kind] + 0.01]
            if near:
                self.holding[arm] = near[0].id
        held = self.holding[arm]
        size = min(SIZES[self.objects[held].kind], 0.08) if held is not None else 0.0
        if held is not None and (closing or width <= size):  # the fingers stop on the object
            self.gripper[arm] = max(width, size)
        elif held is not None:  # opened wider than the object: it is let go
            o = self.objects[held]
            self.holding[arm] = None
            below = [c for c in self.objects.values() if c.kind in CONTAINER_KINDS
                     and np.hypot(*(c.pos[:2] - o.pos[:2])) < RADII[c.kind]]
            o.pos[2] = below[0].pos[2] + 0.008 if below else 0.0
            o.pos[:2] = np.clip(o.pos[:2], -TABLE_HALF, TABLE_HALF)

    def advance(self) -> None:
        self._time += 1.0 / self.control_hz
        for a, oid in self.holding.items():
            if oid is not None:
                o = self.objects[oid]
                o.pos = self.ee[a] - np.array([0.0, 0.0, SIZES[o.kind] / 2])
        if self._halted:
            self._speed = {a: 0.0 for a in self.arms}

    # -- stop --------------------------------------------------------------------------------
    def halt(self) -> None:
        self._halted = True
        self._speed = {a: 0.0 for a in self.arms}

    def release(self) -> None:
        self._halted = False

    @property
    def halted(self) -> bool:
        return self._halted

    def max_joint_speed(self) -> float:
        return max(self._speed.values(), default=0.0)

    def home_pose(self, arm: str) -> tuple[np.ndarray, float]:
        y = 0.0 if len(self.arms) == 1 else (0.26 if self.arms.index(arm) == 0 else -0.26)
        return np.array([-0.3, y, 0.3]), 0.0

    def reach(self, arm: str, point: np.ndarray) -> float:
        """Everything on the table is reachable; nearer arms (bimanual layouts) score higher."""
        if abs(point[0]) > TABLE_HALF + 0.05 or abs(point[1]) > TABLE_HALF + 0.05:
            return 0.0
        return 1.0 / (1.0 + float(np.hypot(*(point[:2] - self.ee[arm][:2]))))
