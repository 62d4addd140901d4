"""The household table scene in PyBullet: room, table, person, objects, cameras.

The world frame *is* the scene frame of the dialogue-script spec: origin at the
centre of the table top, x away from the robot, y to the robot's left, z up.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .quiet import c_quiet

with c_quiet():  # the C module prints its build time when imported
    import pybullet
    import pybullet_data
    from pybullet_utils.bullet_client import BulletClient

from ..scene_spec import ObjectSpec, SceneSpec
from ..types import TABLE_HALF, CameraFrame, UnknownObjectError
from . import objects as objs

PHYSICS_HZ = 240
TABLE_X = (-0.33, 0.42)
TABLE_Y = (-0.6, 0.6)
TABLE_TOP_THICKNESS = 0.04
FLOOR_Z = -0.74
PERSON_X = 0.56


@dataclass(frozen=True)
class CameraSpec:
    name: str
    eye: tuple[float, float, float]
    target: tuple[float, float, float]
    up: tuple[float, float, float]
    width: int = 256
    height: int = 192
    fov: float = 55.0
    near: float = 0.05
    far: float = 3.0


# A three-quarter view from beside the person, for videos and pictures (never for perception).
DEMO_CAMERA = CameraSpec("demo", eye=(0.55, -0.75, 0.65), target=(-0.1, 0.0, 0.0), up=(0.0, 0.0, 1.0),
                         width=640, height=480, fov=50.0, near=0.05, far=5.0)

# A view from above the person's side of the table, looking down at the workspace:
# top faces dominate (good for perception) and the robot is at the bottom of the image.
FRONT_CAMERA = CameraSpec("front", eye=(0.0, 0.0, 1.1), target=(0.1, 0.0, 0.0), up=(1.0, 0.0, 0.0), fov=60.0)


class SimWorld:
    """Owns the BulletClient and everything in it that is not a robot."""

    def __init__(self, scene: SceneSpec, gui: bool = False, front_camera: CameraSpec = FRONT_CAMERA,
                 render: str = "tiny") -> None:
        self.scene = scene
        with c_quiet():
            self.c = BulletClient(connection_mode=pybullet.GUI if gui else pybullet.DIRECT)
        self.c.setAdditionalSearchPath(pybullet_data.getDataPath())
        self.c.setGravity(0, 0, -9.81)
        self.c.setTimeStep(1.0 / PHYSICS_HZ)
        self.c.setPhysicsEngineParameter(numSolverIterations=60, deterministicOverlappingPairs=1)
        if gui:
            self.c.configureDebugVisualizer(self.c.COV_ENABLE_GUI, 0)
        self.front_camera = front_camera
        self._renderer = self.c.ER_TINY_RENDERER if render == "tiny" else self.c.ER_BULLET_HARDWARE_OPENGL
        self.time = 0.0
        self.fixtures: list[int] = []
        self._build_room()
        self.person: int | None = self._build_person() if scene.person else None
        self.ids: dict[str, int] = {}  # scene id -> body id (ground truth: success checks only)
        self.kinds: dict[str, str] = {}
        self.start_pos: dict[str, np.ndarray] = {}
        self._settling: dict[str, float] = {}  # scene-changed objects still settling -> time of the change
        placed = objs.place_objects(scene.objects, scene.seed)
        for spec in scene.objects:
            (x, y), yaw = placed[spec.id]
            self._add(spec, (x, y), yaw)
        self.settle()

    # -- construction ----------------------------------------------------------------------
    def _static_box(self, half, pos, color) -> int:
        col = self.c.createCollisionShape(self.c.GEOM_BOX, halfExtents=half)
        vis = self.c.createVisualShape(self.c.GEOM_BOX, halfExtents=half, rgbaColor=color)
        b = self.c.createMultiBody(0, col, vis, pos)
        self.fixtures.append(b)
        return b

    def _build_room(self) -> None:
        plane = self.c.loadURDF("plane.urdf", [0, 0, FLOOR_Z])
        self.c.changeVisualShape(plane, -1, rgbaColor=[0.62, 0.55, 0.47, 1], textureUniqueId=-1)
        self.fixtures.append(plane)
        hx, hy = (TABLE_X[1] - TABLE_X[0]) / 2, (TABLE_Y[1] - TABLE_Y[0]) / 2
        cx = (TABLE_X[0] + TABLE_X[1]) / 2
        self.table = self._static_box([hx, hy, TABLE_TOP_THICKNESS / 2], [cx, 0, -TABLE_TOP_THICKNESS / 2],
                                      [0.80, 0.72, 0.60, 1])
        self.c.changeDynamics(self.table, -1, lateralFriction=0.8)
        leg_h = (-TABLE_TOP_THICKNESS - FLOOR_Z) / 2
        for sx in (-1, 1):
            for sy in (-1, 1):
                self._static_box([0.025, 0.025, leg_h], [cx + sx * (hx - 0.05), sy * (hy - 0.05), FLOOR_Z + leg_h],
                                 [0.45, 0.32, 0.2, 1])
        # Walls: a room, seen behind the person in the front camera.
        self._static_box([0.02, 2.0, 1.3], [1.6, 0, FLOOR_Z + 1.3], [0.86, 0.87, 0.84, 1])
        self._static_box([2.0, 0.02, 1.3], [0, 2.0, FLOOR_Z + 1.3], [0.80, 0.84, 0.86, 1])

    def _build_person(self) -> int:
        """A simple standing person at the far edge of the table (static: the robot must avoid it)."""
        skin, shirt, trousers = [0.88, 0.70, 0.58, 1], [0.20, 0.50, 0.55, 1], [0.20, 0.22, 0.35, 1]
        shapes = [  # (geom, dims, local pos, color)
            (self.c.GEOM_BOX, [0.09, 0.15, 0.42], [0, 0, 0.42], trousers),
            (self.c.GEOM_BOX, [0.11, 0.2, 0.3], [0, 0, 1.14], shirt),
            (self.c.GEOM_SPHERE, [0.1], [0, 0, 1.56], skin),
            (self.c.GEOM_BOX, [0.04, 0.04, 0.28], [0, 0.25, 1.12], shirt),  # arms hanging
            (self.c.GEOM_BOX, [0.04, 0.04, 0.28], [0, -0.25, 1.12], shirt),
        ]
        cols, viss = [], []
        for g, dims, p, color in shapes:
            kw = {"radius": dims[0]} if g == self.c.GEOM_SPHERE else {"halfExtents": dims}
            cols.append(self.c.createCollisionShape(g, **kw, collisionFramePosition=p))
            viss.append(self.c.createVisualShape(g, **kw, visualFramePosition=p, rgbaColor=color))
        body = self.c.createMultiBody(0, cols[0], viss[0], [PERSON_X, 0.0, FLOOR_Z],
                                      linkMasses=[0] * 4, linkCollisionShapeIndices=cols[1:],
                                      linkVisualShapeIndices=viss[1:], linkPositions=[[0, 0, 0]] * 4,
                                      linkOrientations=[[0, 0, 0, 1]] * 4,
                                      linkInertialFramePositions=[[0, 0, 0]] * 4,
                                      linkInertialFrameOrientations=[[0, 0, 0, 1]] * 4,
                                      linkParentIndices=[0] * 4, linkJointTypes=[self.c.JOINT_FIXED] * 4,
                                      linkJointAxis=[[0, 0, 1]] * 4)
        return body

    def _add(self, spec: ObjectSpec, xy, yaw: float) -> int:
        body = objs.create_object(self.c, spec.kind, spec.resolved_color, xy, yaw)
        self.ids[spec.id] = body
        self.kinds[spec.id] = spec.kind
        self.start_pos[spec.id] = np.array([xy[0], xy[1], 0.0])
        return body

    # -- scene changes (the script's move/remove/add steps) ----------------------------------
    def add_object(self, spec: ObjectSpec) -> None:
        if spec.id in self.ids:
            raise ValueError(f"an object with id {spec.id!r} is already in the scene")
        taken = [(*self.position(i)[:2], objs.KINDS[self.kinds[i]].footprint) for i in self.ids]
        placed = objs.place_objects([spec], self.scene.seed + 7919 * (len(self.ids) + 1), taken)
        (x, y), yaw = placed[spec.id]
        self._add(spec, (x, y), yaw)
        self.start_pos[spec.id] = self.position(spec.id)
        self._settling[spec.id] = self.time  # its start is where it comes to rest (see step)

    def move_object(self, obj_id: str, xy) -> None:
        body = self.body(obj_id)
        if not all(abs(v) <= TABLE_HALF + 1e-9 for v in xy):
            raise ValueError(f"{list(xy)} is off the table")
        pos, quat = self.c.getBasePositionAndOrientation(body)
        lo, _ = self.c.getAABB(body)
        z = pos[2] - lo[2] + 0.002
        self.c.resetBasePositionAndOrientation(body, [xy[0], xy[1], z], quat)
        self.c.resetBaseVelocity(body, [0, 0, 0], [0, 0, 0])
        self.start_pos[obj_id] = self.position(obj_id)
        self._settling[obj_id] = self.time

    def mark_start(self) -> None:
        """Record every object's settled position as its start (the spec's `unmoved` reference)."""
        for oid in self.ids:
            self.start_pos[oid] = self.position(oid)

    def remove_object(self, obj_id: str) -> None:
        self.c.removeBody(self.body(obj_id))
        del self.ids[obj_id], self.kinds[obj_id]
        self.start_pos.pop(obj_id, None)

    # -- queries (ground truth; for success checks, never for the robot's decisions) ----------
    def body(self, obj_id: str) -> int:
        try:
            return self.ids[obj_id]
        except KeyError:
            raise UnknownObjectError(f"no object {obj_id!r} in the scene") from None

    def position(self, obj_id: str) -> np.ndarray:
        return np.array(self.c.getBasePositionAndOrientation(self.body(obj_id))[0])

    def aabb(self, obj_id: str) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.c.getAABB(self.body(obj_id))
        return np.array(lo), np.array(hi)

    def object_bodies(self) -> set[int]:
        return set(self.ids.values())

    # -- time ----------------------------------------------------------------------------
    def step(self, n: int = 1) -> None:
        for _ in range(n):
            self.c.stepSimulation()
        self.time += n / PHYSICS_HZ
        # An object put down by a scene change drops its last millimetres and may tip: its
        # `unmoved` reference is where it rests half a second later.
        for oid, t in list(self._settling.items()):
            if self.time - t >= 0.5:
                del self._settling[oid]
                if oid in self.ids:
                    self.start_pos[oid] = self.position(oid)

    def settle(self, seconds: float = 0.3) -> None:
        self.step(int(seconds * PHYSICS_HZ))

    # -- cameras -------------------------------------------------------------------------
    def render(self, cam: CameraSpec) -> CameraFrame:
        view = self.c.computeViewMatrix(cam.eye, cam.target, cam.up)
        return self.render_view(cam, view)

    def render_view(self, cam: CameraSpec, view) -> CameraFrame:
        proj = self.c.computeProjectionMatrixFOV(cam.fov, cam.width / cam.height, cam.near, cam.far)
        w, h, rgb, depth, seg = self.c.getCameraImage(cam.width, cam.height, view, proj,
                                                      renderer=self._renderer,
                                                      flags=self.c.ER_NO_SEGMENTATION_MASK * 0)
        rgb = np.asarray(rgb, dtype=np.uint8).reshape(h, w, 4)[:, :, :3]
        zbuf = np.asarray(depth, dtype=np.float32).reshape(h, w)
        # The depth buffer is non-linear; turn it into metres along the optical axis.
        depth_m = cam.far * cam.near / (cam.far - (cam.far - cam.near) * zbuf)
        seg = np.asarray(seg, dtype=np.int64).reshape(h, w)
        seg = np.where(seg < 0, -1, seg & ((1 << 24) - 1)).astype(np.int32)
        return CameraFrame(cam.name, rgb, depth_m.astype(np.float32), seg,
                           np.asarray(view, dtype=np.float64).reshape(4, 4).T,
                           np.asarray(proj, dtype=np.float64).reshape(4, 4).T, cam.near, cam.far)

    def close(self) -> None:
        try:
            self.c.disconnect()
        except pybullet.error:
            pass


def yaw_of(quat) -> float:
    x, y, z, w = quat
    return math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
