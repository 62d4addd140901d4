"""The openpi wire format (wire.py), the policy server (serve.py) and its client (remote.py)."""
from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from helpers import PolicyServer, cli

from embodiments.policies import available_policies, make_policy, wire
from embodiments.policies.remote import PolicyMismatch, PolicyUnavailable, RemotePolicy, RemotePolicyError, hold_action
from embodiments.types import ArmState, CameraFrame, Observation

ROOT = Path(__file__).resolve().parents[1]


# -- helpers ---------------------------------------------------------------------------------
def arm_state(x: float = 0.3, width: float = 0.04, closed: bool = False) -> ArmState:
    return ArmState(q=np.linspace(-1, 1, 7), dq=np.full(7, 0.01), ee_pos=np.array([x, 0.05, 0.2]),
                    ee_quat=np.array([1.0, 0.0, 0.0, 0.0]), gripper_width=width, gripper_closed=closed)


def observation(arms=("arm",), cameras: bool = False) -> Observation:
    cams = {}
    if cameras:
        rng = np.random.default_rng(0)
        for name, (h, w) in (("front", (24, 32)), ("wrist_arm", (12, 16))):
            cams[name] = CameraFrame(name, rng.integers(0, 256, (h, w, 3), dtype=np.uint8),
                                     rng.random((h, w), dtype=np.float32), rng.integers(-1, 5, (h, w), dtype=np.int32),
                                     rng.random((4, 4)), rng.random((4, 4)), 0.01, 5.0)
    return Observation(time=1.25, arms={a: arm_state(0.3 + 0.1 * i, closed=i % 2 == 1) for i, a in enumerate(arms)},
                       cameras=cams)


class Server(PolicyServer):
    """`serve-policy --controller CONTROLLER --port PORT ARGS` (see tests/helpers.py)."""

    def __init__(self, controller: str = "hold", port: int = 0, *args: str) -> None:
        super().__init__("--controller", controller, "--port", str(port), *args, ready_s=30)


@pytest.fixture
def server():
    started: list[Server] = []

    def start(*args, **kwargs) -> Server:
        s = Server(*args, **kwargs)
        started.append(s)
        return s
    yield start
    for s in started:
        s.stop()


# -- msgpack-numpy: byte-exact with openpi_client.msgpack_numpy ---------------------------------------
def _bin(b: bytes) -> bytes:
    return bytes([0xC4, len(b)]) + b  # msgpack bin 8


def _str(s: str) -> bytes:
    return bytes([0xA0 | len(s)]) + s.encode()  # msgpack fixstr


def test_ndarray_bytes_match_openpi_spec():
    # {b"__ndarray__": True, b"data": tobytes(), b"dtype": dtype.str, b"shape": shape}: bin keys, in that order
    expected = (b"\x84" + _bin(b"__ndarray__") + b"\xc3" + _bin(b"data") + _bin(b"\x01\x00\x02\x00")
                + _bin(b"dtype") + _str("<i2") + _bin(b"shape") + b"\x91\x02")
    assert wire.packb(np.array([1, 2], dtype="<i2")) == expected
    # written out in full once, to keep the helpers honest
    assert expected.hex() == ("84" "c40b" "5f5f6e6461727261795f5f" "c3" "c404" "64617461" "c404" "01000200"
                              "c405" "6474797065" "a3" "3c6932" "c405" "7368617065" "91" "02")


def test_nested_message_bytes_match_openpi_spec():
    msg = {"actions": np.zeros((2, 1), dtype="<f4"), "t": np.float32(1.5), "ok": np.bool_(True), "x": 2.0,
           "prompt": "hi", "nested": {"n": np.int64(-3)}}
    arr = (b"\x84" + _bin(b"__ndarray__") + b"\xc3" + _bin(b"data") + _bin(bytes(8)) + _bin(b"dtype") + _str("<f4")
           + _bin(b"shape") + b"\x92\x02\x01")

    def generic(data: bytes, dtype: str) -> bytes:  # {b"__npgeneric__": True, b"data": item(), b"dtype": ...}
        return b"\x83" + _bin(b"__npgeneric__") + b"\xc3" + _bin(b"data") + data + _bin(b"dtype") + _str(dtype)

    expected = (b"\x86" + _str("actions") + arr
                + _str("t") + generic(b"\xcb" + struct.pack(">d", 1.5), "<f4")  # item() is a Python float: float 64
                + _str("ok") + generic(b"\xc3", "|b1")
                + _str("x") + b"\xcb" + struct.pack(">d", 2.0)
                + _str("prompt") + _str("hi")
                + _str("nested") + b"\x81" + _str("n") + generic(b"\xfd", "<i8"))  # -3: negative fixint
    assert wire.packb(msg) == expected
    assert wire.Packer().pack(msg) == expected
    back = wire.unpackb(expected)
    assert back["actions"].dtype == np.float32 and back["actions"].shape == (2, 1)
    assert isinstance(back["t"], np.float32) and back["t"] == 1.5
    assert isinstance(back["ok"], np.bool_) and back["ok"]
    assert isinstance(back["nested"]["n"], np.int64) and back["nested"]["n"] == -3
    assert back["prompt"] == "hi" and back["x"] == 2.0


@pytest.mark.parametrize("value", [
    np.array(1.0),
    np.array([1, 2, 3], dtype=np.int32),
    np.array(["asdf", "qwer"]),
    np.array([True, False]),
    np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32),
    np.arange(24, dtype=np.int16).reshape(2, 3, 4),
    np.array([np.nan, np.inf, -np.inf]),
    np.arange(60, dtype=np.uint8).reshape(3, 4, 5),
    np.zeros((0, 5), dtype=np.float32),
    np.arange(12, dtype=">f8").reshape(3, 4),  # big-endian stays big-endian
    np.arange(20, dtype=np.float64).reshape(4, 5)[:, ::2],  # not contiguous
    np.float16(0.5), np.uint16(7), np.int8(-2), np.bool_(False),
])
def test_round_trip(value):
    back = wire.unpackb(wire.packb(value))
    assert type(back) is type(value)
    if isinstance(value, np.ndarray):
        assert back.shape == value.shape and back.dtype == value.dtype
        assert np.array_equal(back, value, equal_nan=value.dtype.kind == "f")
    else:
        assert back == value


def test_round_trip_nested_containers():
    data = {"arr": np.array([1, 2, 3]), "nested": {"arr": np.array([4.0, 5.0]), "list": [np.array([1]), "s", 3]},
            "none": None, "raw": b"\x00\x01", "text": "héllo", "flag": True}
    back = wire.unpackb(wire.packb(data))
    assert np.array_equal(back["arr"], data["arr"]) and np.array_equal(back["nested"]["arr"], data["nested"]["arr"])
    assert np.array_equal(back["nested"]["list"][0], [1]) and back["nested"]["list"][1:] == ["s", 3]
    assert back["none"] is None and back["raw"] == b"\x00\x01" and back["text"] == "héllo" and back["flag"] is True


@pytest.mark.parametrize("value", [np.array([1 + 2j]), np.array([object()], dtype=object),
                                   np.zeros(2, dtype=[("a", "i4")]), np.complex64(1j)])
def test_unsupported_dtypes_are_refused(value):
    with pytest.raises(ValueError, match="Unsupported dtype"):
        wire.packb(value)


# -- observation dict ---------------------------------------------------------------------------------
def test_observation_round_trip_with_geometry():
    obs = observation(("left", "right"), cameras=True)
    msg = wire.observation_to_wire(obs, "put the red cube in the bowl", geometry=True)
    assert msg["prompt"] == "put the red cube in the bowl"
    assert msg["observation/arm_names"] == ["left", "right"]
    assert msg["observation/state"].shape == (16,) and msg["observation/images/front"].dtype == np.uint8
    back, prompt = wire.observation_from_wire(wire.unpackb(wire.packb(msg)))
    assert prompt == "put the red cube in the bowl" and back.time == obs.time
    for a in obs.arms:
        for f in ("q", "dq", "ee_pos", "ee_quat"):
            assert np.array_equal(getattr(back.arms[a], f), getattr(obs.arms[a], f))
        assert back.arms[a].gripper_width == obs.arms[a].gripper_width
        assert back.arms[a].gripper_closed == obs.arms[a].gripper_closed
    for name, f in obs.cameras.items():
        g = back.cameras[name]
        for attr in ("rgb", "depth", "segmentation", "view", "proj"):
            got, want = getattr(g, attr), getattr(f, attr)
            assert np.array_equal(got, want) and got.dtype == want.dtype
        assert (g.near, g.far) == (f.near, f.far)
        assert g.rgb.flags.writeable


def test_observation_without_geometry_and_selected_cameras():
    obs = observation(cameras=True)
    msg = wire.observation_to_wire(obs, "x", cameras=("front", "missing"))
    assert [k for k in msg if k.startswith("observation/images/")] == ["observation/images/front"]
    assert not any(k.startswith(("observation/depth/", "observation/camera/")) for k in msg)
    back, _ = wire.observation_from_wire(msg)
    assert back.cameras["front"].depth.shape == (24, 32)


def test_minimal_openpi_style_observation_is_understood():
    state = np.array([0.3, 0.0, 0.2, 1.0, 0.0, 0.0, 0.0, 0.02])
    obs, prompt = wire.observation_from_wire({"observation/state": state, "prompt": "hi"}, arms=("arm",))
    assert prompt == "hi" and obs.arms["arm"].gripper_width == 0.02
    with pytest.raises(ValueError, match="8 per arm"):
        wire.observation_from_wire({"observation/state": state[:5]}, arms=("arm",))


def test_hold_action_keeps_grip():
    obs = observation(("left", "right"))  # right is closed
    a = hold_action(obs, ("left", "right"))
    assert a.dtype == np.float32 and a.shape == (10,)
    assert np.all(a[[0, 1, 2, 3, 5, 6, 7, 8]] == 0) and a[4] == pytest.approx(0.04) and a[9] == 0.0
    assert {"hold", "replay", "remote"} <= set(available_policies())
    p = make_policy("hold", arms=("left", "right"), chunk_size=3)
    assert np.array_equal(p.predict_action_chunk(obs, "x"), np.tile(a, (3, 1)))


# -- server + client, over real sockets ---------------------------------------------------------------
def test_metadata_first_then_actions_with_timing(server):
    from websockets.sync.client import connect

    s = server("hold", 0, "--policy-arg", "chunk_size=4")
    with connect(s.url, compression=None, max_size=None, proxy=None) as ws:
        meta = wire.unpackb(ws.recv(timeout=5))
        assert meta["name"] == "hold" and meta["arms"] == ["arm"] and meta["chunk_size"] == 4
        assert meta["action_dim"] == 5 and meta["action_names"] == ["dx", "dy", "dz", "dyaw", "gripper"]
        msg = wire.observation_to_wire(observation(), "hold still")
        ws.send(wire.packb(msg))
        reply = wire.unpackb(ws.recv(timeout=5))
        assert reply["actions"].shape == (4, 5) and reply["actions"].dtype == np.float32
        assert "infer_ms" in reply["server_timing"] and "infer_ms" in reply["policy_timing"]
        assert "prev_total_ms" not in reply["server_timing"]
        ws.send(wire.packb(msg))
        assert "prev_total_ms" in wire.unpackb(ws.recv(timeout=5))["server_timing"]
    with urllib.request.urlopen(f"http://127.0.0.1:{s.port}/healthz", timeout=5) as r:
        assert r.status == 200 and r.read() == b"OK\n"


def test_remote_policy_gets_chunks(server):
    s = server("hold", 0, "--policy-arg", "chunk_size=3")
    with make_policy("remote", url=s.url, arms=("arm",), timeout=5) as p:
        assert not p.connected  # lazy
        obs = observation()
        chunk = p.predict_action_chunk(obs, "hold")
        assert p.connected and p.server_metadata["name"] == "hold" and p.chunk_size == 3
        assert np.allclose(chunk, np.tile(hold_action(obs, ("arm",)), (3, 1)))
        assert np.allclose(p.select_action(obs, "hold"), hold_action(obs, ("arm",)))
        assert "server_timing" in p.last_timing
        with RemotePolicy(f"127.0.0.1:{s.port}", ("arm",), timeout=5) as q:  # two connections at once
            assert q.predict_action_chunk(obs, "x").shape == (3, 5)
            assert p.predict_action_chunk(obs, "y").shape == (3, 5)


def test_bimanual_and_mismatch(server):
    s = server("hold", 0, "--arms", "left,right")
    obs = observation(("left", "right"))
    with RemotePolicy(s.url, ("left", "right"), timeout=5) as p:
        assert np.allclose(p.predict_action_chunk(obs, "x")[0], hold_action(obs, ("left", "right")))
    with RemotePolicy(s.url, ("arm",), timeout=5) as p, pytest.raises(PolicyMismatch, match="left"):
        p.predict_action_chunk(observation(), "x")


def test_killed_server_then_restarted(server):
    s = server("hold", 0)
    port, obs = s.port, observation()
    p = RemotePolicy(s.url, ("arm",), timeout=1.5)
    assert p.predict_action_chunk(obs, "x").shape == (1, 5)
    s.kill()
    t0 = time.monotonic()
    with pytest.raises(PolicyUnavailable, match=f"127.0.0.1:{port}.*unavailable"):
        p.predict_action_chunk(obs, "x")
    assert time.monotonic() - t0 < 1.5 + 1.0
    s2 = server("hold", port)  # same port: the client reconnects by itself
    assert s2.port == port
    assert p.predict_action_chunk(obs, "x").shape == (1, 5)
    p.close()


def test_refused_and_hung_server_fail_in_bounded_time(server):
    s = server("hold", 0)
    p = RemotePolicy(s.url, ("arm",), timeout=1.0)
    obs = observation()
    p.predict_action_chunk(obs, "x")
    os.kill(s.proc.pid, signal.SIGSTOP)  # alive but silent
    try:
        t0 = time.monotonic()
        with pytest.raises(PolicyUnavailable, match="did not answer within 1 s"):
            p.predict_action_chunk(obs, "x")
        assert time.monotonic() - t0 < 1.0 + 1.0
        t0 = time.monotonic()  # a new connection cannot even get the metadata
        with pytest.raises(PolicyUnavailable, match="unavailable"):
            p.predict_action_chunk(obs, "x")
        assert time.monotonic() - t0 < 1.0 + 1.0
    finally:
        os.kill(s.proc.pid, signal.SIGCONT)
    assert p.predict_action_chunk(obs, "x").shape == (1, 5)  # and it recovers when the server does
    s.kill()
    t0 = time.monotonic()
    with pytest.raises(PolicyUnavailable, match="connection refused"):
        RemotePolicy(s.url, ("arm",), timeout=0.8).predict_action_chunk(obs, "x")
    assert 0.7 < time.monotonic() - t0 < 0.8 + 1.0  # it kept retrying, with backoff, until the deadline


def test_policy_error_comes_back_and_server_keeps_serving(server, tmp_path):
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    path = tmp_path / "actions.npy"
    np.save(path, np.arange(20, dtype=np.float32).reshape(4, 5))
    s = server("replay", 0, "--policy-arg", f"path={path}", "--policy-arg", "chunk_size=2")
    # a malformed message: the traceback comes back as text, then the connection is closed (1011)
    with connect(s.url, compression=None, max_size=None, proxy=None) as ws:
        ws.recv(timeout=5)
        ws.send(wire.packb({"observation/state": np.zeros(3)}))
        err = ws.recv(timeout=5)
        assert isinstance(err, str) and "Traceback" in err and "8 per arm" in err
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd.code == 1011
    obs = observation()
    p = RemotePolicy(s.url, ("arm",), timeout=5, reset_remote=True)
    assert np.array_equal(p.predict_action_chunk(obs, "x"), np.arange(10).reshape(2, 5))
    assert np.array_equal(p.predict_action_chunk(obs, "x"), np.arange(10, 20).reshape(2, 5))
    with pytest.raises(RemotePolicyError, match="recorded actions") as e:  # the policy raises: replay is over
        p.predict_action_chunk(obs, "x")
    assert "Traceback" in e.value.traceback and isinstance(e.value, PolicyUnavailable)
    p.reset()  # our extension {"__ctrl__": "reset"} rewinds the server's replay
    assert np.array_equal(p.predict_action_chunk(obs, "x"), np.arange(10).reshape(2, 5))
    p.close()


def test_serve_policy_unknown_controller_fails_cleanly():
    r = subprocess.run([*cli(), "serve-policy", "--controller", "no_such_policy", "--port", "0"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "unknown controller 'no_such_policy'" in r.stderr


# -- the real openpi-client, in a venv of its own (it pins numpy<2) ---------------------------------------
OPENPI_CLIENT_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    from openpi_client import msgpack_numpy, websocket_client_policy

    port = int(sys.argv[1])
    client = websocket_client_policy.WebsocketClientPolicy(host="127.0.0.1", port=port)
    meta = client.get_server_metadata()
    assert meta["name"] == "hold" and meta["arms"] == ["arm"] and meta["chunk_size"] == 2, meta
    obs = {
        "observation/state": np.array([0.3, 0.0, 0.2, 1.0, 0.0, 0.0, 0.0, 0.03]),
        "observation/images/front": np.zeros((8, 8, 3), dtype=np.uint8),
        "prompt": "hold still",
    }
    out = client.infer(obs)
    assert out["actions"].shape == (2, 5) and out["actions"].dtype == np.float32, out
    assert abs(float(out["actions"][0, 4]) - 0.03) < 1e-6 and "infer_ms" in out["server_timing"], out
    try:
        client.infer({"observation/state": np.zeros(3)})
        raise SystemExit("no error")
    except RuntimeError as e:
        assert "Error in inference server" in str(e) and "8 per arm" in str(e), e
    sample = {"a": np.arange(6, dtype="<i2").reshape(2, 3), "s": np.float32(1.5), "b": np.bool_(True), "t": "x"}
    print("PACKED", msgpack_numpy.packb(sample).hex())
    print("OK", np.__version__)
""")


@pytest.mark.slow
def test_real_openpi_client_talks_to_our_server(server, tmp_path):
    venv = tmp_path / "openpi-venv"
    base = getattr(sys, "_base_executable", sys.executable)
    try:
        subprocess.run([base, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=120)
        # openpi-client 0.1.2 imports typing_extensions without declaring it
        r = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "openpi-client", "typing_extensions"],
                           capture_output=True, text=True, timeout=300)
    except (subprocess.SubprocessError, OSError) as e:
        pytest.skip(f"cannot set up a venv with openpi-client: {e}")
    if r.returncode != 0:
        pytest.skip(f"pip install openpi-client failed (offline?): {r.stderr.strip()[-300:]}")
    s = server("hold", 0, "--policy-arg", "chunk_size=2")
    script = tmp_path / "client.py"
    script.write_text(OPENPI_CLIENT_SCRIPT)
    out = subprocess.run([str(venv / "bin" / "python"), str(script), str(s.port)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines() if " " in line)
    sample = {"a": np.arange(6, dtype="<i2").reshape(2, 3), "s": np.float32(1.5), "b": np.bool_(True), "t": "x"}
    assert lines["PACKED"] == wire.packb(sample).hex()  # their encoder and ours give the same bytes
    assert lines["OK"].startswith("1.")  # it really ran with numpy<2, against our numpy-2 server
