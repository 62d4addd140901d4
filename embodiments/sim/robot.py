"""Simulated embodiments: one Panda, two Pandas (bimanual), or a KUKA iiwa with a gripper."""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

from ..limits import ClipLog, SafetyLimits, SafetyStop, clip_box, clip_step
from ..robot import Robot
from ..scene_spec import SceneSpec
from ..types import ArmCommand, CameraFrame, Observation
from .arms import KUKA, PANDA, SimArm, down_quat
from .contact import ContactMonitor, MotionCheck
from .world import FLOOR_Z, FRONT_CAMERA, PHYSICS_HZ, CameraSpec, SimWorld

# Robot bases stand on pedestals just off the near edge of the table. The Panda sits a little
# below the table top (it reaches the near edge and the far edge from above); the (scaled, see
# arms.py) iiwa stands on a 20 cm plinth a little farther back: there its upper arm clears
# the table edge when it reaches the far side, and it still folds enough for the near edge
# (checked with its IK and a table-contact test over the table grid).
PANDA_BASE = (-0.52, 0.0, -0.1)
KUKA_BASE = (-0.68, 0.0, FLOOR_Z + 0.2)

log = logging.getLogger(__name__)


@dataclass
class SimRobotConfig:
    type: str = "panda"  # panda | bimanual | kuka
    scene: SceneSpec = field(default_factory=SceneSpec)
    gui: bool = False
    control_hz: int = 60
    camera_size: tuple[int, int] = (256, 192)
    wrist_size: tuple[int, int] = (96, 96)
    wrist_cameras: bool = True
    limits: SafetyLimits = field(default_factory=SafetyLimits)

    def __post_init__(self) -> None:
        if PHYSICS_HZ % self.control_hz:
            raise ValueError(f"control_hz {self.control_hz} must divide the {PHYSICS_HZ} Hz physics rate")
        if self.type not in LAYOUTS:
            raise ValueError(f"unknown embodiment {self.type!r}; one of {', '.join(LAYOUTS)}")


# arm name -> (model, base xy)
LAYOUTS = {
    "panda": {"arm": (PANDA, PANDA_BASE)},
    "kuka": {"arm": (KUKA, KUKA_BASE)},
    "bimanual": {"left": (PANDA, (PANDA_BASE[0], 0.26, PANDA_BASE[2])),
                 "right": (PANDA, (PANDA_BASE[0], -0.26, PANDA_BASE[2]))},
}


class SimRobot(Robot):
    def __init__(self, config: SimRobotConfig) -> None:
        self.config = config
        self.name = config.type
        self.arms = tuple(LAYOUTS[config.type])
        self.control_hz = config.control_hz
        self.substeps = PHYSICS_HZ // config.control_hz
        self.limits = config.limits
        self.clips = ClipLog()
        self.world: SimWorld | None = None
        self._arms: dict[str, SimArm] = {}
        self._halted = False
        self.safety_stop: SafetyStop | None = None  # set when the robot stopped itself (contact)
        self._contacts: ContactMonitor | None = None
        self._motion: MotionCheck | None = None
        self._ee_cmd: dict[str, np.ndarray] = {}
        self._quat_cmd: dict[str, np.ndarray] = {}
        self._reach_cache: dict[tuple, float] = {}
        self._neutral: dict[str, float] = {}
        w, h = config.camera_size
        self.front_camera = CameraSpec(**{**FRONT_CAMERA.__dict__, "width": w, "height": h})

    # -- lifecycle -------------------------------------------------------------------------
    def connect(self) -> None:
        if self.world is not None:
            return
        self.world = SimWorld(self.config.scene, gui=self.config.gui, front_camera=self.front_camera)
        c = self.world.c
        for name, (model, (bx, by, bz)) in LAYOUTS[self.config.type].items():
            if bz - FLOOR_Z > 0.01:
                half = [0.09, 0.09, (bz - FLOOR_Z) / 2]
                ped = c.createCollisionShape(c.GEOM_BOX, halfExtents=half)
                pv = c.createVisualShape(c.GEOM_BOX, halfExtents=half, rgbaColor=[0.3, 0.3, 0.33, 1])
                self.world.fixtures.append(c.createMultiBody(0, ped, pv, [bx - 0.02, by, bz - half[2]]))
            self._arms[name] = SimArm(c, model, (bx, by, bz))
        # Start at home, hand up at the near edge: from the rest pose the hand hangs over
        # the middle of the table and hides objects from the front camera.
        for name, a in self._arms.items():
            pos, yaw = self.home_pose(name)
            a.reset_to(self._solve_down(a, pos, yaw))
        self.world.settle(0.2)
        self._contacts = ContactMonitor(self.world, self._arms, self.limits)
        self._motion = MotionCheck(self.world, self.limits)
        self.world.mark_start()  # where things rest when the scene begins (for `unmoved`)
        self._sync_targets()

    def disconnect(self) -> None:
        if self.world is not None:
            self.world.close()
        self.world = None
        self._arms.clear()

    @property
    def is_connected(self) -> bool:
        return self.world is not None

    @property
    def time(self) -> float:
        return self.world.time if self.world else 0.0

    def arm(self, name: str) -> SimArm:
        return self._arms[name]

    @property
    def person_present(self) -> bool:
        return bool(self.world and self.world.person is not None)

    @property
    def robot_bodies(self) -> set[int]:
        return {a.body for a in self._arms.values()}

    # -- observe -----------------------------------------------------------------------------
    def get_observation(self, cameras: bool = True) -> Observation:
        assert self.world is not None, "connect() first"
        arms = {n: a.state() for n, a in self._arms.items()}
        cams: dict[str, CameraFrame] = {}
        if cameras:
            cams["front"] = self.world.render(self.front_camera)
            if self.config.wrist_cameras:
                for n in self._arms:
                    cams[f"wrist_{n}"] = self.render_wrist(n)
        return Observation(time=self.world.time, arms=arms, cameras=cams)

    def render_wrist(self, arm: str) -> CameraFrame:
        a = self._arms[arm]
        pos, quat = a.ee_pose()
        rot = np.array(self.world.c.getMatrixFromQuaternion(quat)).reshape(3, 3)
        z, x = rot[:, 2], rot[:, 0]
        eye = pos - 0.09 * z + 0.05 * x  # on the hand, beside the fingers, looking along them
        w, h = self.config.wrist_size
        cam = CameraSpec(f"wrist_{arm}", tuple(eye), tuple(pos + 0.3 * z), tuple(x), w, h, fov=70.0, near=0.02)
        view = self.world.c.computeViewMatrix(cam.eye, cam.target, cam.up)
        return self.world.render_view(cam, view)

    # -- act ---------------------------------------------------------------------------------
    def send_action(self, action: dict[str, ArmCommand]) -> dict[str, ArmCommand]:
        assert self.world is not None, "connect() first"
        sent: dict[str, ArmCommand] = {}
        if self._halted:
            return sent  # the e-stop wins over every command
        dt = 1.0 / self.control_hz
        for name, cmd in action.items():
            if name not in self._arms:
                raise KeyError(f"no arm {name!r} on {self.name} (arms: {', '.join(self.arms)})")
            arm = self._arms[name]
            q_prev = arm.q_cmd
            before = self._ee_cmd[name], self._quat_cmd[name]
            if cmd.ee_pos is not None:
                target = np.asarray(cmd.ee_pos, dtype=float)
                quat = np.asarray(cmd.ee_quat if cmd.ee_quat is not None else self._quat_cmd[name], dtype=float)
                target, hit = clip_box(target, self.limits.workspace_lo, self.limits.workspace_hi)
                if hit:
                    self.clips.add(name, "workspace: target outside the workspace box")
                speed = self.limits.ee_speed(self.person_present)
                if cmd.max_speed is not None:
                    speed = min(speed, cmd.max_speed)
                target, hit = clip_step(target, self._ee_cmd[name], speed * dt)
                if hit and (cmd.max_speed is None or cmd.max_speed > speed):
                    self.clips.add(name, "ee_speed: end-effector speed limited")
                real = arm.ee_pose()[0]
                target, hit = clip_step(target, real, self.limits.max_lead + speed * dt)
                # pulled toward a hand that tracking left just outside the box: back inside it
                target, _ = clip_box(target, self.limits.workspace_lo, self.limits.workspace_hi)
                self._ee_cmd[name], self._quat_cmd[name] = target, quat
                q = arm.ik(target, quat)
            elif cmd.joints is not None:
                q = np.asarray(cmd.joints, dtype=float)
                qc = np.clip(q, arm.q_lower, arm.q_upper)
                if np.any(qc != q):
                    self.clips.add(name, "joint_limit: joint target outside its range")
                q = qc
                pos, _ = arm.fk(q)
                lo, hi = np.array(self.limits.workspace_lo), np.array(self.limits.workspace_hi)
                if np.any(pos < lo - 1e-6) or np.any(pos > hi + 1e-6):
                    self.clips.add(name, "workspace: joint target puts the hand outside the workspace box")
                    q = q_prev
                pos, quat = arm.fk(q)
                self._ee_cmd[name], self._quat_cmd[name] = pos, quat
            else:
                q = q_prev
            max_step = arm.spec.max_joint_speed * dt
            dq = np.clip(q - q_prev, -max_step, max_step)
            if np.any(np.abs(dq - (q - q_prev)) > 1e-9):
                self.clips.add(name, "joint_speed: joint speed limited")
            if cmd.ee_pos is not None:
                dq = self._check_hand(name, arm, q_prev, dq, speed * dt)
            why = self._motion.refuse(arm, q_prev, q_prev + dq) if np.any(dq) else None
            if why:  # into the table or the person's keep-out: refused, the arm holds
                self.clips.add(name, why)
                dq = np.zeros_like(dq)
                self._ee_cmd[name], self._quat_cmd[name] = before
            arm.q_cmd = q_prev + dq
            arm.apply(arm.q_cmd)
            if cmd.gripper is not None:
                arm.set_gripper(cmd.gripper)
            sent[name] = ArmCommand(ee_pos=self._ee_cmd[name].copy(), ee_quat=self._quat_cmd[name].copy(),
                                    joints=arm.q_cmd.copy(), gripper=arm.gripper_target)
        return sent

    def _check_hand(self, name: str, arm, q_prev: np.ndarray, dq: np.ndarray, max_step: float) -> np.ndarray:
        """The joint step the motors get, checked where it puts the hand.

        The Cartesian target was already clipped to the box and the speed cap, but the IK
        solution for it can still swing the hand elsewhere (an unreachable point, a wrist
        told to spin): so the forward kinematics of the step are checked too. A step that
        would leave the box is held; one that would move the hand faster than the cap is
        scaled down."""
        pos0, _ = arm.fk(q_prev)
        pos1, _ = arm.fk(q_prev + dq)
        lo, hi = np.array(self.limits.workspace_lo), np.array(self.limits.workspace_hi)
        if np.any(pos1 < lo - 0.015) or np.any(pos1 > hi + 0.015):  # IK tracking error near the edge is ~1 cm
            self.clips.add(name, "workspace: the IK solution puts the hand outside the workspace box")
            return np.zeros_like(dq)
        moved = float(np.linalg.norm(pos1 - pos0))
        if moved > max_step * 1.05:
            self.clips.add(name, "ee_speed: the joint step would move the hand too fast")
            return dq * (max_step / moved)
        return dq

    def advance(self) -> None:
        assert self.world is not None, "connect() first"
        if self._halted:
            for a in self._arms.values():
                a.apply(a.q_cmd, hold=True)
        for _ in range(self.substeps):  # contacts are felt after every physics step
            self.world.step(1)
            if not self._halted:
                self._contact_stop(self._contacts.sample())
        if not self._halted:
            self._contact_stop(self._contacts.end_tick(self.substeps))

    def _contact_stop(self, stop: SafetyStop | None) -> None:
        """Unexpected contact: the e-stop's hold from this physics step on, reported until release."""
        if stop is None:
            return
        self.halt()
        self.safety_stop = stop
        self.clips.add(stop.arm, stop.reason)
        log.warning("safety stop on %s at %.2f s: %s", stop.arm, stop.time, stop.reason)

    # -- stop --------------------------------------------------------------------------------
    def halt(self) -> None:
        """Brake through the motors: hold where the joints are now (no teleport)."""
        self._halted = True
        for a in self._arms.values():
            q, _ = a.joint_state()
            a.q_cmd = q
            a.apply(q, hold=True)
            a.hold_fingers()

    def release(self) -> None:
        self._halted = False
        self.safety_stop = None
        if self._contacts is not None:
            self._contacts.forgive()  # the arm may back away from what it stopped against
        self._sync_targets()

    @property
    def halted(self) -> bool:
        return self._halted

    def _sync_targets(self) -> None:
        for n, a in self._arms.items():
            pos, quat = a.ee_pose()
            self._ee_cmd[n], self._quat_cmd[n] = pos, quat
            a.q_cmd = a.joint_state()[0]

    def max_joint_speed(self) -> float:
        return max(a.max_joint_speed() for a in self._arms.values())

    # -- reach -------------------------------------------------------------------------------
    def reach(self, arm: str, point: np.ndarray) -> float:
        """0 when `arm` cannot bring its hand, pointing down, to `point` at grasp and travel height.

        Checked with the arm's own IK (the same solver the controller uses) rather than a
        distance rule, because what an arm reaches from above depends on its joint limits.
        Otherwise a score in (0, 1] that prefers the arm whose base is nearer.
        """
        a = self._arms[arm]
        key = (arm, round(float(point[0]), 3), round(float(point[1]), 3))
        if key not in self._reach_cache:
            ok = a.reaches_down(np.array([point[0], point[1], 0.03])) and \
                a.reaches_down(np.array([point[0], point[1], 0.14]))
            d = math.hypot(point[0] - a.base_pos[0], point[1] - a.base_pos[1])
            self._reach_cache[key] = (1.0 / (1.0 + d)) if ok else 0.0
        return self._reach_cache[key]

    def home_pose(self, arm: str) -> tuple[np.ndarray, float]:
        """Hand above the arm's own base, out of the front camera's view of the table."""
        a = self._arms[arm]
        return np.array([a.base_pos[0] + a.spec.home[0], a.base_pos[1], a.spec.home[1]]), self.neutral_yaw(arm)

    def neutral_yaw(self, arm: str) -> float:
        """Hand yaw that keeps the last wrist joint mid-range when pointing down at home.

        Found once per arm with its IK: of four candidate yaws, the one whose solution
        leaves the last joint nearest the middle of its range (for the iiwa, yaw 0 puts
        it against its limit; a half turn away is the same grasp with a relaxed wrist).
        """
        if arm not in self._neutral:
            a = self._arms[arm]
            pos = np.array([a.base_pos[0] + a.spec.home[0], a.base_pos[1], a.spec.home[1]])
            mid = (a.q_lower[-1] + a.q_upper[-1]) / 2
            best = (np.inf, 0.0)
            for yaw in (0.0, math.pi / 2, math.pi, -math.pi / 2):
                q = self._solve_down(a, pos, yaw)
                err = float(np.linalg.norm(a.fk(q)[0] - pos))
                cost = abs(q[-1] - mid) + 100 * max(0.0, err - 0.005)
                best = min(best, (cost, yaw))
            self._neutral[arm] = best[1]
        return self._neutral[arm]

    def _solve_down(self, a: SimArm, pos: np.ndarray, yaw: float) -> np.ndarray:
        """Joints pointing the hand down at `pos`, solved from the rest pose (state restored)."""
        c = self.world.c
        saved = [c.getJointState(a.body, j)[:2] for j in a.spec.arm_joints]
        for j, v in zip(a.spec.arm_joints, a.spec.rest):
            c.resetJointState(a.body, j, v)
        for _ in range(6):
            q = a._ik_once(pos, down_quat(c, yaw))
            for j, v in zip(a.spec.arm_joints, q):
                c.resetJointState(a.body, j, float(v))
        for j, (p, v) in zip(a.spec.arm_joints, saved):
            c.resetJointState(a.body, j, p, v)
        return q

    def down(self, yaw: float) -> np.ndarray:
        return down_quat(self.world.c, yaw)
