"""One simulated arm with a parallel gripper: loading, IK, motor commands, state.

The KUKA iiwa of pybullet_data has no usable gripper for household objects (its
WSG-50 sdf is fiddly), so we append a simple parallel-jaw gripper to its URDF at
run time and write the result into a cache folder with absolute mesh paths.
"""
from __future__ import annotations

import math
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pybullet_data

from ..types import ArmState

_DATA = Path(pybullet_data.getDataPath())
FINGER_FRICTION = 2.0


@dataclass(frozen=True)
class ArmModelSpec:
    name: str  # "panda" or "kuka"
    arm_joints: tuple[int, ...]
    finger_joints: tuple[int, int]
    ee_link: int
    rest: tuple[float, ...]
    max_width: float  # fully open gripper (m)
    finger_force: float  # N per finger
    max_joint_speed: float  # rad/s cap applied to commanded setpoints
    home: tuple[float, float] = (0.22, 0.32)  # hand at home: (x ahead of the base, z above the table)
    # Links from this index on are the wrist and the hand: touching the objects it handles is
    # their job (sim/contact.py). The scaled iiwa's big wrist (links 5, 6) touches a tall object
    # it grasps; the Panda's last arm link (6) is the flange disc right above its hand.
    hand_from: int = 6


PANDA = ArmModelSpec("panda", tuple(range(7)), (9, 10), 11,
                     (0.0, -0.25, 0.0, -2.1, 0.0, 1.85, 0.785), 0.08, 40.0, 2.0)
KUKA = ArmModelSpec("kuka", tuple(range(7)), (9, 10), 11,
                    (0.0, -0.40, 0.0, -1.42, 0.0, 1.95, 0.0), 0.08, 40.0, 1.6, home=(0.38, 0.26), hand_from=5)


KUKA_SCALE = 1.3


def _scale_links(text: str, s: float) -> str:
    """Scale an arm's geometry (joint offsets, link origins and meshes) by `s`."""
    def xyz(m: re.Match) -> str:
        vals = [float(v) * s for v in m.group(1).split()]
        return 'xyz="' + " ".join(f"{v:.6g}" for v in vals) + '"'
    text = re.sub(r'(?<=<origin )(?:rpy="[^"]*" )?xyz="([^"]+)"', lambda m: m.group(0).replace(
        m.group(0)[m.group(0).index('xyz='):], xyz(m)), text)
    return re.sub(r'(<mesh filename="[^"]+")\s*/>', rf'\1 scale="{s} {s} {s}"/>', text)


def _kuka_urdf() -> str:
    """The iiwa URDF, scaled by KUKA_SCALE, with a two-finger gripper appended.

    Why scaled: the iiwa's elbow folds only 120 degrees, so pointing straight down
    it covers either the near or the far half of a 50 cm table, never both (checked
    with its IK over the table grid). At 1.3x (reach ~1.07 m, like the bigger arms
    of its class) and mounted low beside the table, it reaches the whole table from
    above. The gripper is appended unscaled.
    """
    out_dir = Path(os.environ.get("ROBOT_ASSISTANT_CACHE", Path(tempfile.gettempdir()) / "robot-assistant"))
    out = out_dir / "kuka_iiwa_gripper.urdf"
    src = (_DATA / "kuka_iiwa" / "model.urdf").read_text()
    text = re.sub(r'filename="meshes/', f'filename="{_DATA / "kuka_iiwa" / "meshes"}/', src)
    text = _scale_links(text, KUKA_SCALE)
    finger = """
  <link name="{n}">
    <inertial><origin xyz="0 {y} 0.025"/><mass value="0.05"/><inertia ixx="1e-5" ixy="0" ixz="0" iyy="1e-5" iyz="0" izz="1e-5"/></inertial>
    <visual><origin xyz="0 {y} 0.025"/><geometry><box size="0.022 0.012 0.05"/></geometry><material name="grey"><color rgba="0.3 0.3 0.32 1"/></material></visual>
    <collision><origin xyz="0 {y} 0.025"/><geometry><box size="0.022 0.012 0.05"/></geometry></collision>
  </link>
  <joint name="{n}_joint" type="prismatic">
    <parent link="gripper_base"/><child link="{n}"/><origin xyz="0 0 0.012"/>
    <axis xyz="0 {a} 0"/><limit effort="40" lower="0" upper="0.04" velocity="0.2"/>
  </joint>"""
    gripper = f"""
  <link name="gripper_base">
    <inertial><origin xyz="0 0 0.006"/><mass value="0.3"/><inertia ixx="1e-4" ixy="0" ixz="0" iyy="1e-4" iyz="0" izz="1e-4"/></inertial>
    <visual><origin xyz="0 0 0.006"/><geometry><box size="0.04 0.11 0.024"/></geometry><material name="dark"><color rgba="0.15 0.15 0.17 1"/></material></visual>
    <collision><origin xyz="0 0 0.006"/><geometry><box size="0.04 0.11 0.024"/></geometry></collision>
  </link>
  <joint name="gripper_mount" type="fixed">
    <parent link="lbr_iiwa_link_7"/><child link="gripper_base"/><origin xyz="0 0 0.045"/>
  </joint>
  <link name="gripper_spacer"><inertial><mass value="0.001"/><inertia ixx="1e-7" ixy="0" ixz="0" iyy="1e-7" iyz="0" izz="1e-7"/></inertial></link>
  <joint name="gripper_spacer_joint" type="fixed"><parent link="gripper_base"/><child link="gripper_spacer"/></joint>
  {finger.format(n="finger_left", y=0.006, a=1)}
  {finger.format(n="finger_right", y=-0.006, a=-1)}
  <link name="grasp_target"><inertial><mass value="0.001"/><inertia ixx="1e-7" ixy="0" ixz="0" iyy="1e-7" iyz="0" izz="1e-7"/></inertial></link>
  <joint name="grasp_target_joint" type="fixed">
    <parent link="gripper_base"/><child link="grasp_target"/><origin xyz="0 0 0.05"/>
  </joint>
"""
    text = text.replace("</robot>", gripper + "\n</robot>")
    if not out.exists() or out.read_text() != text:
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, out)  # atomic: parallel test workers may race here
    return str(out)


class SimArm:
    """An arm body in a BulletClient, driven by position setpoints."""

    def __init__(self, client, spec: ArmModelSpec, base_pos, base_yaw: float = 0.0) -> None:
        self.c, self.spec = client, spec
        quat = client.getQuaternionFromEuler([0, 0, base_yaw])
        urdf = str(_DATA / "franka_panda" / "panda.urdf") if spec.name == "panda" else _kuka_urdf()
        self.body = client.loadURDF(urdf, list(base_pos), quat, useFixedBase=True,
                                    flags=client.URDF_USE_SELF_COLLISION_EXCLUDE_PARENT)
        self.base_pos = np.asarray(base_pos, dtype=float)
        self.base_yaw = base_yaw
        dofs = [j for j in range(client.getNumJoints(self.body))
                if client.getJointInfo(self.body, j)[2] != client.JOINT_FIXED]
        self._dofs = dofs
        info = [client.getJointInfo(self.body, j) for j in dofs]
        self.lower = np.array([i[8] for i in info])
        self.upper = np.array([i[9] for i in info])
        self.max_force = np.array([max(i[10], 1.0) for i in info])
        self._arm_idx = [dofs.index(j) for j in spec.arm_joints]
        self.q_lower = self.lower[self._arm_idx]
        self.q_upper = self.upper[self._arm_idx]
        rest_all = np.zeros(len(dofs))
        rest_all[self._arm_idx] = spec.rest
        self._rest_all = rest_all
        for f in spec.finger_joints:
            client.changeDynamics(self.body, f, lateralFriction=FINGER_FRICTION, spinningFriction=0.05,
                                  frictionAnchor=1)
        # The two fingers of a parallel gripper are geared together (as on the real Panda
        # hand): each finger on its own lets a grasped object slide sideways between them
        # long after the grasp, and keeps them moving after a stop.
        gear = client.createConstraint(self.body, spec.finger_joints[0], self.body, spec.finger_joints[1],
                                       client.JOINT_GEAR, [1, 0, 0], [0, 0, 0], [0, 0, 0])
        client.changeConstraint(gear, gearRatio=-1, erp=0.1, maxForce=50)
        self.gripper_target = spec.max_width
        self.gripper_closed = False
        self.reset_to(np.array(spec.rest))

    # -- state ---------------------------------------------------------------------------
    def reset_to(self, q: np.ndarray) -> None:
        for j, v in zip(self.spec.arm_joints, q):
            self.c.resetJointState(self.body, j, float(v), 0.0)
        for f in self.spec.finger_joints:
            self.c.resetJointState(self.body, f, self.spec.max_width / 2, 0.0)
        self.q_cmd = np.array(q, dtype=float)
        self.apply(self.q_cmd)
        self.set_gripper(self.spec.max_width)

    def joint_state(self) -> tuple[np.ndarray, np.ndarray]:
        states = self.c.getJointStates(self.body, list(self.spec.arm_joints))
        return np.array([s[0] for s in states]), np.array([s[1] for s in states])

    def ee_pose(self) -> tuple[np.ndarray, np.ndarray]:
        ls = self.c.getLinkState(self.body, self.spec.ee_link, computeForwardKinematics=True)
        return np.array(ls[4]), np.array(ls[5])

    def ee_velocity(self) -> np.ndarray:
        ls = self.c.getLinkState(self.body, self.spec.ee_link, computeLinkVelocity=1)
        return np.array(ls[6])

    def finger_width(self) -> float:
        return float(sum(self.c.getJointState(self.body, f)[0] for f in self.spec.finger_joints))

    def state(self) -> ArmState:
        q, dq = self.joint_state()
        pos, quat = self.ee_pose()
        return ArmState(q=q, dq=dq, ee_pos=pos, ee_quat=quat, gripper_width=self.finger_width(),
                        gripper_closed=self.gripper_closed)

    def max_joint_speed(self) -> float:
        """Fastest joint, fingers included (they must be at rest after a stop too)."""
        states = self.c.getJointStates(self.body, self._dofs)
        return float(max(abs(s[1]) for s in states))

    # -- kinematics ------------------------------------------------------------------------
    def _ik_once(self, pos, quat) -> np.ndarray:
        ranges = (self.upper - self.lower).tolist()
        sol = self.c.calculateInverseKinematics(
            self.body, self.spec.ee_link, list(map(float, pos)), list(map(float, quat)),
            lowerLimits=self.lower.tolist(), upperLimits=self.upper.tolist(), jointRanges=ranges,
            restPoses=self._rest_all.tolist(), maxNumIterations=40, residualThreshold=1e-4)
        return np.clip(np.array(sol)[self._arm_idx], self.q_lower, self.q_upper)

    def ik(self, pos, quat) -> np.ndarray:
        """Joint positions reaching (pos, quat), within joint limits, near the rest pose.

        pybullet's IK starts from the current joint state and can get stuck against a
        joint limit (the hand then stalls or drifts away). When the answer misses by
        more than a centimetre, solve again from the rest pose and keep the better one.
        """
        q = self._ik_once(pos, quat)
        err = float(np.linalg.norm(self.fk(q)[0] - np.asarray(pos)))
        if err < 0.01:
            return q
        saved = [self.c.getJointState(self.body, j)[:2] for j in self.spec.arm_joints]
        for j, v in zip(self.spec.arm_joints, self.spec.rest):
            self.c.resetJointState(self.body, j, v)
        for _ in range(4):
            q2 = self._ik_once(pos, quat)
            for j, v in zip(self.spec.arm_joints, q2):
                self.c.resetJointState(self.body, j, float(v))
        err2 = float(np.linalg.norm(self.ee_pose()[0] - np.asarray(pos)))
        for j, (p, v) in zip(self.spec.arm_joints, saved):
            self.c.resetJointState(self.body, j, p, v)
        return q2 if err2 < err else q

    def reaches_down(self, pos: np.ndarray, tol: float = 0.008) -> bool:
        """Can the hand point straight down at `pos`? (IK from the rest pose, state restored.)"""
        saved = [self.c.getJointState(self.body, j)[:2] for j in self.spec.arm_joints]
        best = np.inf
        for yaw in (0.0, math.pi / 2):
            for j, v in zip(self.spec.arm_joints, self.spec.rest):
                self.c.resetJointState(self.body, j, v)
            for _ in range(8):
                q = self._ik_once(pos, down_quat(self.c, yaw))
                for j, v in zip(self.spec.arm_joints, q):
                    self.c.resetJointState(self.body, j, float(v))
            best = min(best, float(np.linalg.norm(self.ee_pose()[0] - pos)))
        for j, (p, v) in zip(self.spec.arm_joints, saved):
            self.c.resetJointState(self.body, j, p, v)
        return best < tol

    def fk(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Forward kinematics of a joint vector (temporarily sets the state, then restores it)."""
        joints = list(self.spec.arm_joints)
        saved = self.c.getJointStates(self.body, joints)
        # One call each way (not one per joint): this runs every control tick.
        self.c.resetJointStatesMultiDof(self.body, joints, [[float(v)] for v in q])
        pos, quat = self.ee_pose()
        self.c.resetJointStatesMultiDof(self.body, joints, [[s[0]] for s in saved], [[s[1]] for s in saved])
        return pos, quat

    # -- motors --------------------------------------------------------------------------
    def apply(self, q_target: np.ndarray, hold: bool = False) -> None:
        """Send joint position setpoints (already clipped by the caller's safety layer)."""
        n = len(self.spec.arm_joints)
        self.c.setJointMotorControlArray(
            self.body, list(self.spec.arm_joints), self.c.POSITION_CONTROL,
            targetPositions=list(map(float, q_target)), targetVelocities=[0.0] * n,
            forces=self.max_force[self._arm_idx].tolist(),
            positionGains=[0.2 if not hold else 0.1] * n, velocityGains=[1.0] * n)

    def set_gripper(self, width: float) -> None:
        width = float(np.clip(width, 0.0, self.spec.max_width))
        self.gripper_target = width
        self.gripper_closed = width < self.spec.max_width * 0.5
        for f in self.spec.finger_joints:
            self.c.setJointMotorControl2(self.body, f, self.c.POSITION_CONTROL, targetPosition=width / 2,
                                         force=self.spec.finger_force, maxVelocity=0.15)

    def finger_speed(self) -> float:
        return float(max(abs(self.c.getJointState(self.body, f)[1]) for f in self.spec.finger_joints))

    def hold_fingers(self) -> None:
        """Stop the fingers where they are (an e-stop must not leave them creeping).

        Fingers already at rest keep their command: a hand closed on an object (fingers
        blocked) would drop its grip force to zero under a position hold and let the object
        slip out of the stopped hand, and an open hand stopped with a finger against the
        table (a contact stop) would have that finger pushed along by the gear coupling.
        """
        if self.finger_speed() < 0.01:
            return
        for f in self.spec.finger_joints:
            pos = self.c.getJointState(self.body, f)[0]
            self.c.setJointMotorControl2(self.body, f, self.c.POSITION_CONTROL, targetPosition=pos,
                                         targetVelocity=0.0, force=self.spec.finger_force,
                                         positionGain=0.3, velocityGain=1.0)

    def finger_axis_world(self) -> np.ndarray:
        """Unit vector (world) along which the fingers open, from the finger link positions."""
        a = np.array(self.c.getLinkState(self.body, self.spec.finger_joints[0])[4])
        b = np.array(self.c.getLinkState(self.body, self.spec.finger_joints[1])[4])
        d = a - b
        n = np.linalg.norm(d)
        return d / n if n > 1e-6 else np.array([0.0, 1.0, 0.0])

    def touching(self, body: int) -> bool:
        """True when both fingers touch `body` (a grasp, not a brush).

        "Touch" is within 3 mm rather than the contact list of the last step: a mesh
        held at a rounded spot (a teddy's arm) drops in and out of that list from one
        step to the next while it sits firmly in the hand.
        """
        return all(self.c.getClosestPoints(self.body, body, 0.003, linkIndexA=f) for f in self.spec.finger_joints)


def down_quat(client, yaw: float) -> np.ndarray:
    """End-effector orientation pointing straight down, turned by `yaw` about world z."""
    return np.array(client.getQuaternionFromEuler([math.pi, 0.0, yaw]))
