"""Serve any Policy over the openpi websocket protocol (`robot-assistant serve-policy`).

Protocol, as openpi's `WebsocketPolicyServer` (Physical-Intelligence/openpi,
src/openpi/serving/websocket_policy_server.py) speaks it, so that openpi's
`WebsocketClientPolicy` and our `RemotePolicy` can both talk to it:

* websockets, `compression=None`, `max_size=None` (no message size limit), default keepalive
  pings (every 20 s, 20 s timeout); `GET /healthz` answers 200 "OK" without upgrading.
* on connect the server sends the metadata dict (msgpack-numpy, see wire.py); ours holds
  the served policy's PolicyInfo fields (`wire.metadata_of`).
* then every binary message from the client is an observation dict (wire.py) and is answered by
  the action dict {"actions": (chunk, 5 * n_arms) float32, "policy_timing": {...},
  "server_timing": {"infer_ms", "prev_total_ms"}}.
* if anything fails while handling a message (bad message, the policy raising), the server sends
  the traceback as a *text* frame, closes that connection with code 1011 (internal error) and
  keeps serving: the next connection gets a fresh start.
* an extension openpi's upstream server lacks (some openpi forks send these): a message with a
  "__ctrl__" key is a control message, answered {"__ack__": <ctrl>}: "reset" and "episode_start"
  call `policy.reset()`; anything else is acknowledged and ignored. Stock openpi clients never
  send one.

Connections: several may be open at once (as with openpi's server); the one policy object is
shared and every request runs in a single worker thread, so requests are answered one at a time
while the event loop keeps answering pings and accepting connections.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import http
import importlib
import logging
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

from . import wire
from .base import ACTION_DIM, Policy

log = logging.getLogger(__name__)


class PolicyServer:
    def __init__(self, policy: Policy, host: str = "127.0.0.1", port: int = 8000,
                 metadata: dict[str, Any] | None = None) -> None:
        self.policy, self.host, self.port = policy, host, port
        self.metadata = wire.metadata_of(policy.info) if metadata is None else metadata
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="policy")

    # the policy side, in the worker thread ------------------------------------------------
    def _infer(self, msg: Any) -> dict[str, Any]:
        obs, prompt = wire.observation_from_wire(msg, self.policy.arms)
        missing = [a for a in self.policy.arms if a not in obs.arms]
        if missing:
            raise ValueError(f"policy {self.policy.name!r} drives arms {list(self.policy.arms)}, but the "
                             f"observation has only {list(obs.arms)}")
        t0 = time.monotonic()
        chunk = np.asarray(self.policy.predict_action_chunk(obs, prompt), dtype=np.float32)
        infer_ms = (time.monotonic() - t0) * 1000
        dim = ACTION_DIM * len(self.policy.arms)
        if chunk.ndim != 2 or chunk.shape[1] != dim or len(chunk) == 0:
            raise ValueError(f"policy {self.policy.name!r} returned actions of shape {chunk.shape}; "
                             f"expected (chunk, {dim})")
        return {"actions": chunk, "policy_timing": {"infer_ms": infer_ms}}

    def _control(self, ctrl: Any) -> dict[str, Any]:
        if ctrl in ("reset", "episode_start"):
            self.policy.reset()
        return {"__ack__": ctrl if ctrl in ("reset", "episode_start", "episode_end") else "ignored"}

    # the connection side, on the event loop ------------------------------------------------
    async def _handler(self, ws) -> None:
        import websockets

        loop = asyncio.get_running_loop()
        log.info("connection from %s opened", ws.remote_address)
        packer = wire.Packer()
        try:
            await ws.send(packer.pack(self.metadata))
        except websockets.ConnectionClosed:
            return
        prev_total: float | None = None
        while True:
            try:
                start = time.monotonic()  # as openpi: a cycle spans waiting, inference and sending
                msg = wire.unpackb(await ws.recv())
                if isinstance(msg, dict) and "__ctrl__" in msg:
                    reply = await loop.run_in_executor(self._pool, self._control, msg["__ctrl__"])
                    await ws.send(packer.pack(reply))
                    continue
                t0 = time.monotonic()
                reply = await loop.run_in_executor(self._pool, self._infer, msg)
                reply["server_timing"] = {"infer_ms": (time.monotonic() - t0) * 1000}
                if prev_total is not None:
                    reply["server_timing"]["prev_total_ms"] = prev_total * 1000
                await ws.send(packer.pack(reply))
                prev_total = time.monotonic() - start
            except websockets.ConnectionClosed:
                log.info("connection from %s closed", ws.remote_address)
                return
            except Exception:
                tb = traceback.format_exc()
                log.error("policy request failed; the traceback goes back to the client:\n%s", tb)
                try:
                    await ws.send(tb)
                    await ws.close(code=1011, reason="Internal server error. Traceback included in previous frame.")
                except websockets.ConnectionClosed:
                    pass
                return

    async def run(self, ready: Callable[[int], None] | None = None) -> None:
        from websockets.asyncio.server import serve

        async with serve(self._handler, self.host, self.port, compression=None, max_size=None,
                         process_request=_health_check) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            if ready is not None:
                ready(port)
            await server.serve_forever()

    def serve_forever(self, ready: Callable[[int], None] | None = None) -> None:
        try:
            asyncio.run(self.run(ready))
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)


def _health_check(connection, request):
    if request.path == "/healthz":
        return connection.respond(http.HTTPStatus.OK, "OK\n")
    return None


def serve_policy(policy: Policy, host: str = "127.0.0.1", port: int = 8000,
                 ready: Callable[[int], None] | None = None) -> None:
    """Serve `policy` until interrupted (blocking). `ready(port)` is called once listening
    (port 0 picks a free port)."""
    PolicyServer(policy, host, port).serve_forever(ready)


def build_policy(name: str, arms: tuple[str, ...], options: dict[str, Any]) -> Policy:
    """A registered policy by name; a name not registered yet is looked for as a module
    `embodiments.policies.<name>` that registers itself on import."""
    from . import available_policies, make_policy

    if name not in available_policies():
        try:
            importlib.import_module(f"{__package__}.{name}")
        except ImportError:
            pass
    return make_policy(name, arms=arms, **options)


def parse_options(items: list[str]) -> dict[str, Any]:
    """["chunk_size=8", "path=a.npy", "loop=true"] -> {"chunk_size": 8, "path": "a.npy", "loop": True}."""
    import yaml

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--policy-arg expects KEY=VALUE, got {item!r}")
        out[key.strip().replace("-", "_")] = yaml.safe_load(value)
    return out


def main(args) -> int:
    """`robot-assistant serve-policy`."""
    arms = tuple(a.strip() for a in args.arms.split(",") if a.strip())
    try:
        policy = build_policy(args.controller, arms, parse_options(args.policy_arg))
    except TypeError as e:  # e.g. "scripted" needs a live robot, not just arm names
        print(f"serve-policy: controller {args.controller!r} cannot be built from --arms/--policy-arg: {e}",
              file=sys.stderr)
        return 2
    except (ValueError, OSError) as e:
        print(f"serve-policy: {e}", file=sys.stderr)
        return 2

    def ready(port: int) -> None:
        print(f"serving policy {policy.name!r} (arms {', '.join(policy.arms)}, chunk {policy.chunk_size}) "
              f"on ws://{args.host}:{port}", flush=True)

    serve_policy(policy, args.host, args.port, ready)
    return 0
