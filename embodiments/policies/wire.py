"""The openpi policy-server wire format: msgpack with numpy arrays, and our observation dict.

Encoding (compatible byte for byte with `openpi_client.msgpack_numpy`, Physical-Intelligence/openpi,
packages/openpi-client/src/openpi_client/msgpack_numpy.py; we speak it without depending on
openpi-client, which pins numpy<2):

* msgpack with `use_bin_type=True` (str -> msgpack str, bytes -> msgpack bin, tuples -> arrays,
  floats as float64).
* an `np.ndarray` becomes the 4-entry map, in this order, with *bytes* (msgpack bin) keys:
      {b"__ndarray__": True, b"data": arr.tobytes(), b"dtype": arr.dtype.str, b"shape": arr.shape}
  e.g. `np.array([1, 2], "<i2")` -> 84 c4 0b "__ndarray__" c3 c4 04 "data" c4 04 01 00 02 00
  c4 05 "dtype" a3 "<i2" c4 05 "shape" 91 02.
* a numpy scalar that msgpack cannot pack natively (np.float32, np.int64, np.bool_, ...; np.float64
  and np.str_ subclass float/str and are packed as plain float/str) becomes
      {b"__npgeneric__": True, b"data": scalar.item(), b"dtype": scalar.dtype.str}
* dtypes of kind "V" (void/structured), "O" (object) and "c" (complex) are refused (ValueError).
* decoding turns those maps back into arrays (read-only views on the message bytes) or scalars;
  other maps stay dicts with str keys, msgpack arrays become lists.

Observation dict our robot sends (one message per inference request; keys in openpi's
"observation/..." style, as its DROID/LIBERO examples name them):

    "prompt"                         str: the instruction in force
    "observation/time"               float: sim (or robot) seconds
    "observation/arm_names"          list[str]: the arms, in action order
    "observation/state"              float64 (8 * n_arms,): per arm [x, y, z, qx, qy, qz, qw, gripper_width]
                                     (end effector in the scene frame, quaternion xyzw, metres)
    "observation/gripper_closed"     bool (n_arms,): last gripper command was "close"
    "observation/joint_position/<arm>"  float64 (n_joints,) rad
    "observation/joint_velocity/<arm>"  float64 (n_joints,) rad/s
    "observation/images/<camera>"    uint8 (H, W, 3) RGB, one per camera sent; our camera names are
                                     "front" and "wrist_<arm>" (e.g. "wrist_arm", "wrist_left")
  and only with geometry=True (what a perception-based policy needs to deproject pixels):
    "observation/depth/<camera>"         float32 (H, W) metres
    "observation/segmentation/<camera>"  int32 (H, W) instance ids
    "observation/camera/<camera>"        {"view": float64 (4, 4), "proj": float64 (4, 4), "near": float, "far": float}

Reply to an observation (the server's action dict):

    "actions"        float32 (chunk, 5 * n_arms): [dx, dy, dz, dyaw, gripper] per arm (see base.py)
    "policy_timing"  {"infer_ms": float}: time spent in the policy
    "server_timing"  {"infer_ms": float, "prev_total_ms": float (from the 2nd reply on)}, as openpi's server

The first message on a connection comes from the server: its metadata dict (see
`metadata_of`). An error is a *text* frame holding the traceback, after which the server closes
the connection (code 1011), as openpi's server does.
"""
from __future__ import annotations

import functools
from typing import Any

import msgpack
import numpy as np

from ..types import ArmState, CameraFrame, Observation
from .base import ACTION_DIM, ACTION_NAMES, PolicyInfo

STATE_PER_ARM = 8  # x, y, z, qx, qy, qz, qw, gripper_width
WIRE_VERSION = 1

PROMPT = "prompt"
TIME = "observation/time"
ARM_NAMES = "observation/arm_names"
STATE = "observation/state"
GRIPPER_CLOSED = "observation/gripper_closed"
JOINT_POSITION = "observation/joint_position/"
JOINT_VELOCITY = "observation/joint_velocity/"
IMAGES = "observation/images/"
DEPTH = "observation/depth/"
SEGMENTATION = "observation/segmentation/"
CAMERA = "observation/camera/"


# -- msgpack-numpy ---------------------------------------------------------------------------
def _encode(obj: Any) -> Any:
    """msgpack `default` hook: numpy arrays and scalars -> openpi's tagged maps."""
    if isinstance(obj, np.ndarray | np.generic) and obj.dtype.kind in ("V", "O", "c"):
        raise ValueError(f"Unsupported dtype: {obj.dtype}")
    if isinstance(obj, np.ndarray):
        return {b"__ndarray__": True, b"data": obj.tobytes(), b"dtype": obj.dtype.str, b"shape": obj.shape}
    if isinstance(obj, np.generic):
        return {b"__npgeneric__": True, b"data": obj.item(), b"dtype": obj.dtype.str}
    return obj  # msgpack then raises TypeError for what it cannot pack


def _decode(obj: dict) -> Any:
    """msgpack `object_hook`: openpi's tagged maps -> numpy (str keys accepted too, as some forks send)."""
    for nd, data, dtype, shape in ((b"__ndarray__", b"data", b"dtype", b"shape"),
                                   ("__ndarray__", "data", "dtype", "shape")):
        if nd in obj:
            return np.ndarray(buffer=obj[data], dtype=np.dtype(obj[dtype]), shape=obj[shape])
    for ng, data, dtype in ((b"__npgeneric__", b"data", b"dtype"), ("__npgeneric__", "data", "dtype")):
        if ng in obj:
            return np.dtype(obj[dtype]).type(obj[data])
    return obj


Packer = functools.partial(msgpack.Packer, default=_encode, use_bin_type=True)
Unpacker = functools.partial(msgpack.Unpacker, object_hook=_decode)


def packb(obj: Any) -> bytes:
    return msgpack.packb(obj, default=_encode, use_bin_type=True)


def unpackb(data: bytes) -> Any:
    return msgpack.unpackb(data, object_hook=_decode)


# -- Observation <-> wire dict -----------------------------------------------------------------
def observation_to_wire(observation: Observation, prompt: str, arms: tuple[str, ...] | None = None,
                        cameras: tuple[str, ...] | None = None, geometry: bool = False) -> dict[str, Any]:
    """Our Observation -> the observation dict above. `arms`: which arms, in action order (default:
    all, in the observation's order); `cameras`: which cameras (default: all it carries)."""
    arms = tuple(observation.arms) if arms is None else tuple(arms)
    missing = [a for a in arms if a not in observation.arms]
    if missing:
        raise KeyError(f"the observation has no arm {missing[0]!r} (it has {', '.join(observation.arms)})")
    out: dict[str, Any] = {PROMPT: str(prompt), TIME: float(observation.time), ARM_NAMES: list(arms)}
    state, closed = [], []
    for a in arms:
        st = observation.arms[a]
        state.append(np.concatenate([np.asarray(st.ee_pos, np.float64).reshape(3),
                                     np.asarray(st.ee_quat, np.float64).reshape(4), [float(st.gripper_width)]]))
        closed.append(bool(st.gripper_closed))
        out[JOINT_POSITION + a] = np.asarray(st.q, np.float64)
        out[JOINT_VELOCITY + a] = np.asarray(st.dq, np.float64)
    out[STATE] = np.concatenate(state) if state else np.zeros(0, np.float64)
    out[GRIPPER_CLOSED] = np.asarray(closed, dtype=bool)
    names = tuple(observation.cameras) if cameras is None else tuple(cameras)
    for name in names:
        if name not in observation.cameras:
            continue  # a camera not rendered this tick is simply not sent
        f = observation.cameras[name]
        out[IMAGES + name] = np.ascontiguousarray(f.rgb, dtype=np.uint8)
        if geometry:
            out[DEPTH + name] = np.asarray(f.depth, np.float32)
            out[SEGMENTATION + name] = np.asarray(f.segmentation, np.int32)
            out[CAMERA + name] = {"view": np.asarray(f.view, np.float64), "proj": np.asarray(f.proj, np.float64),
                                  "near": float(f.near), "far": float(f.far)}
    return out


def observation_from_wire(msg: dict[str, Any], arms: tuple[str, ...] | None = None) -> tuple[Observation, str]:
    """The observation dict -> (Observation, prompt). Arrays are copied (writable). A dict from a
    client that sends only openpi's minimal keys ("observation/state", images, "prompt") works when
    `arms` says which arms the state holds; what is not sent is zero (joints) or absent (cameras)."""
    if not isinstance(msg, dict):
        raise TypeError(f"expected an observation dict, got {type(msg).__name__}")
    names = tuple(msg.get(ARM_NAMES) or (arms or ()))
    if not names:
        raise ValueError(f"the observation names no arms ({ARM_NAMES!r} missing)")
    state = np.asarray(msg.get(STATE, np.zeros(0)), dtype=np.float64).reshape(-1)
    if state.size != STATE_PER_ARM * len(names):
        raise ValueError(f"{STATE!r} has {state.size} numbers; expected {STATE_PER_ARM} per arm for "
                         f"{len(names)} arm(s) {list(names)}")
    closed = np.asarray(msg.get(GRIPPER_CLOSED, np.zeros(len(names), bool)), dtype=bool).reshape(-1)
    arm_states: dict[str, ArmState] = {}
    for i, a in enumerate(names):
        s = state[i * STATE_PER_ARM:(i + 1) * STATE_PER_ARM]
        q = np.array(msg.get(JOINT_POSITION + a, np.zeros(0)), dtype=np.float64)
        dq = np.array(msg.get(JOINT_VELOCITY + a, np.zeros_like(q)), dtype=np.float64)
        arm_states[a] = ArmState(q=q, dq=dq, ee_pos=s[:3].copy(), ee_quat=s[3:7].copy(), gripper_width=float(s[7]),
                                 gripper_closed=bool(closed[i]) if i < closed.size else False)
    cams: dict[str, CameraFrame] = {}
    for key, value in msg.items():
        if not (isinstance(key, str) and key.startswith(IMAGES)):
            continue
        name = key[len(IMAGES):]
        rgb = np.array(value, dtype=np.uint8)
        h, w = rgb.shape[:2]
        geo = msg.get(CAMERA + name) or {}
        cams[name] = CameraFrame(
            name=name, rgb=rgb,
            depth=np.array(msg.get(DEPTH + name, np.zeros((h, w))), dtype=np.float32),
            segmentation=np.array(msg.get(SEGMENTATION + name, np.full((h, w), -1)), dtype=np.int32),
            view=np.array(geo.get("view", np.eye(4)), dtype=np.float64),
            proj=np.array(geo.get("proj", np.eye(4)), dtype=np.float64),
            near=float(geo.get("near", 0.0)), far=float(geo.get("far", 0.0)))
    return Observation(time=float(msg.get(TIME, 0.0)), arms=arm_states, cameras=cams), str(msg.get(PROMPT, ""))


def metadata_of(info: PolicyInfo) -> dict[str, Any]:
    """The metadata dict the server sends first on every connection (openpi sends its policy's
    metadata dict there; ours carries PolicyInfo's fields plus what a client needs to check)."""
    return {
        "name": info.name,
        "arms": list(info.arms),
        "chunk_size": int(info.chunk_size),
        "action_dim": int(info.action_dim),
        "cameras": list(info.cameras),
        "extra": _plain(info.extra),
        "action_names": list(ACTION_NAMES),
        "action_dim_per_arm": ACTION_DIM,
        "wire_version": WIRE_VERSION,
    }


def _plain(obj: Any) -> Any:
    """What msgpack can carry, else its str (metadata must never make the handshake fail)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if obj is None or isinstance(obj, bool | int | float | str | bytes):
        return obj
    if isinstance(obj, np.ndarray | np.generic) and obj.dtype.kind not in ("V", "O", "c"):
        return obj
    return str(obj)
