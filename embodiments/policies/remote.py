"""A policy served elsewhere, over the openpi websocket protocol (see serve.py and wire.py).

`RemotePolicy(url, arms=..., timeout=...)` is an ordinary Policy: `predict_action_chunk` sends
the observation (wire.py's dict, the instruction as "prompt") and returns the server's
"actions" chunk. It talks to our `robot-assistant serve-policy` and to openpi's own policy
server alike (as openpi's `WebsocketClientPolicy` does: no compression, no size limit, the
server's metadata read first).

Failure handling, so that a dead server can never leave the arm running blind:
* it connects lazily (first request), reads the metadata and checks it fits (arms, action size);
* every `predict_action_chunk` takes at most `timeout` seconds, reconnects included: a dropped
  connection is re-opened with exponential backoff (and the observation sent again) while time
  is left;
* when no reply comes in time, the server refuses or closes, or it answers with an error, it
  raises `PolicyUnavailable` (`RemotePolicyError`, a subclass, carries the server's traceback).

The caller (the control-loop runner) must then stop the arms safely: send `hold_action(obs,
arms)` (zero motion, grip kept) through `to_commands` on the following ticks (or halt the robot),
end or fail the task with the error's message, and only call the policy again when it wants to
retry (the next call reconnects on its own).
"""
from __future__ import annotations

import functools
import inspect
import threading
import time
from typing import Any

import numpy as np

from ..types import Observation, RobotError
from . import wire
from .base import ACTION_DIM, Policy, PolicyInfo
from .basic import hold_row


class PolicyUnavailable(RobotError):
    """The policy gives no actions now (server unreachable, too slow, gone, or failing): hold still."""


class RemotePolicyError(PolicyUnavailable):
    """The policy server failed while handling a request; `traceback` is what it sent back."""

    def __init__(self, message: str, traceback: str = "") -> None:
        super().__init__(message)
        self.traceback = traceback


class PolicyMismatch(PolicyUnavailable):
    """The server's policy does not fit this robot (other arms, other action size)."""


def hold_action(observation: Observation, arms: tuple[str, ...]) -> np.ndarray:
    """One action (ACTION_DIM * len(arms)) that keeps every arm where it is: zero motion, the
    gripper kept (a closed hand keeps closing so that a held object is not dropped)."""
    return np.asarray([v for a in arms for v in hold_row(observation, a)], dtype=np.float32)


class RemotePolicy(Policy):
    """Client of a policy server. Synchronous (websockets.sync), safe to call from the control-loop
    thread; calls from several threads are serialized.

    url: "ws://host:port" (or "host:port"); timeout: the most seconds one request may take, from
    sending the observation to the actions, reconnects included (a first request to a server
    that loads or compiles a model may need more); cameras: which cameras to send (default: those
    the server's metadata lists, else all the observation carries); geometry: also send depth,
    segmentation and camera matrices (what a perception-based policy needs); reset_remote:
    `reset()` also tells the server ({"__ctrl__": "reset"}, our extension: only for our server, a
    stock openpi server fails on it).
    """

    name = "remote"

    def __init__(self, url: str = "ws://127.0.0.1:8000", arms: tuple[str, ...] = ("arm",), timeout: float = 10.0,
                 *, chunk_size: int | None = None, cameras: tuple[str, ...] | None = None, geometry: bool = False,
                 reset_remote: bool = False, api_key: str | None = None, backoff: tuple[float, float] = (0.05, 1.0),
                 ) -> None:
        super().__init__(arms, chunk_size or 1)
        self.url = url if url.startswith(("ws://", "wss://")) else f"ws://{url}"
        self.timeout = float(timeout)
        self.cameras = None if cameras is None else tuple(cameras)
        self.geometry, self.reset_remote, self.api_key = geometry, reset_remote, api_key
        self.backoff = backoff
        self.server_metadata: dict[str, Any] | None = None
        self.last_timing: dict[str, Any] = {}
        self._chunk_size_given = chunk_size is not None
        self._ws = None
        self._lock = threading.Lock()

    # -- Policy ------------------------------------------------------------------------------
    @property
    def info(self) -> PolicyInfo:
        return PolicyInfo(self.name, self.arms, self.chunk_size, ACTION_DIM * len(self.arms),
                          self.cameras or (), {"url": self.url, "server": self.server_metadata})

    def reset(self) -> None:
        super().reset()
        if self.reset_remote:
            self._request({"__ctrl__": "reset"})

    def predict_action_chunk(self, observation: Observation, instruction: str) -> np.ndarray:
        msg = wire.observation_to_wire(observation, instruction, self.arms, self.cameras, self.geometry)
        reply = self._request(msg)
        actions = reply.get("actions") if isinstance(reply, dict) else None
        dim = ACTION_DIM * len(self.arms)
        if actions is None:
            raise PolicyMismatch(f"the policy server at {self.url} sent no actions")
        actions = np.array(actions, dtype=np.float32)
        if actions.ndim == 1 and actions.size == dim:
            actions = actions[None]
        if actions.ndim != 2 or actions.shape[1] != dim or len(actions) == 0:
            raise PolicyMismatch(f"the policy server at {self.url} sent actions of shape {actions.shape}; "
                                 f"this robot needs (chunk, {dim}) for arms {list(self.arms)}")
        self.last_timing = {k: reply[k] for k in ("policy_timing", "server_timing") if k in reply}
        return actions

    # -- connection --------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._ws is not None

    def connect(self) -> dict[str, Any]:
        """Connect now rather than at the first request, and return the server's metadata: a caller
        can then refuse to start (PolicyUnavailable; PolicyMismatch for another protocol or a policy
        for other arms) before anything moves. Takes at most `timeout` seconds, retries included."""
        self._request(None)
        return dict(self.server_metadata or {})

    def close(self) -> None:
        with self._lock:
            self._drop()

    def __enter__(self) -> RemotePolicy:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _drop(self, wait: bool = True) -> None:
        ws, self._ws = self._ws, None
        if ws is None:
            return
        if wait:
            ws.close()
        else:  # a hung server must not make the caller wait for the closing handshake
            _close_in_background(ws)

    def _connect(self, budget: float) -> None:
        from websockets.sync.client import connect

        headers = {"Authorization": f"Api-Key {self.api_key}"} if self.api_key else None
        kw = {"legacy": True} if _HAS_LEGACY(connect) else {}  # websockets >= 17: a connection, not a context
        ws = connect(self.url, compression=None, max_size=None, additional_headers=headers, proxy=None,
                     open_timeout=max(budget, 1e-3), close_timeout=1.0, **kw)
        try:
            try:
                first = ws.recv(timeout=max(budget, 1e-3))
            except TimeoutError as e:  # openpi servers send their metadata at once: this is something else
                raise PolicyMismatch(f"{self.url} accepted a websocket connection but sent no policy metadata "
                                     f"within {budget:.3g} s: not an openpi policy server?") from e
            if isinstance(first, str):
                raise RemotePolicyError(f"the policy server at {self.url} failed at connection", first)
            try:
                meta = wire.unpackb(first)
            except Exception as e:  # not msgpack at all
                raise PolicyMismatch(f"{self.url} sent something that is not openpi policy metadata "
                                     f"({type(e).__name__}): not an openpi policy server?") from e
            if not isinstance(meta, dict):
                raise PolicyMismatch(f"{self.url} sent {type(meta).__name__} where openpi policy metadata (a dict) "
                                     "belongs: not an openpi policy server?")
            self._check(meta)
        except BaseException:
            _close_in_background(ws)
            raise
        self._ws, self.server_metadata = ws, meta
        if not self._chunk_size_given and isinstance(meta.get("chunk_size"), int) and meta["chunk_size"] > 0:
            self.chunk_size = meta["chunk_size"]
        if self.cameras is None and isinstance(meta.get("cameras"), list) and meta["cameras"]:
            self.cameras = tuple(str(c) for c in meta["cameras"])  # what the served policy looks at

    def _check(self, meta: dict[str, Any]) -> None:
        arms, dim = meta.get("arms"), meta.get("action_dim")
        if arms is not None and list(arms) != list(self.arms):
            raise PolicyMismatch(f"the policy served at {self.url} drives arms {list(arms)}; "
                                 f"this robot's are {list(self.arms)}")
        if dim is not None and int(dim) != ACTION_DIM * len(self.arms):
            raise PolicyMismatch(f"the policy served at {self.url} gives {dim} numbers per action; "
                                 f"this robot needs {ACTION_DIM * len(self.arms)}")

    def _request(self, msg: dict[str, Any] | None) -> Any:
        """Send one message, return the decoded reply, within `timeout` seconds or raise PolicyUnavailable
        (`msg` None: only make sure the connection is open)."""
        from websockets.exceptions import (
            ConnectionClosed,
            InvalidMessage,
            InvalidStatus,
            InvalidURI,
            WebSocketException,
        )

        with self._lock:
            deadline = time.monotonic() + self.timeout
            data = None if msg is None else wire.packb(msg)
            delay, last, drops = self.backoff[0], "no attempt", 0
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PolicyUnavailable(f"the policy server at {self.url} is unavailable "
                                            f"(no answer within {self.timeout:g} s: {last})")
                if self._ws is None:
                    try:
                        self._connect(remaining)
                    except InvalidURI as e:
                        raise PolicyUnavailable(f"bad policy server address {self.url!r}: {e}") from e
                    except InvalidStatus as e:  # an HTTP server, not a websocket one: retrying will not help
                        raise PolicyMismatch(f"{self.url} answered HTTP but is no websocket policy server ({e}): "
                                             "not an openpi policy server?") from e
                    except (OSError, TimeoutError, EOFError, WebSocketException) as e:
                        if isinstance(e, InvalidMessage) and not isinstance(e.__cause__, EOFError):
                            # it answered, in another protocol (closed mid-handshake: retry, it may be restarting)
                            raise PolicyMismatch(f"{self.url} answered, but not as a websocket server "
                                                 f"({e.__cause__ or e}): not an openpi policy server?") from e
                        last = _describe(e)
                        time.sleep(max(0.0, min(delay, deadline - time.monotonic())))
                        delay = min(delay * 2, self.backoff[1])
                        continue
                    remaining = deadline - time.monotonic()
                if data is None:
                    return None
                try:
                    self._ws.send(data)
                    reply = self._ws.recv(timeout=max(remaining, 1e-3))
                except TimeoutError as e:
                    self._drop(wait=False)  # a late reply must never be taken for the next request's
                    raise PolicyUnavailable(f"the policy server at {self.url} did not answer within "
                                            f"{self.timeout:g} s") from e
                except (ConnectionClosed, OSError) as e:  # dropped: reconnect and send again
                    self._drop(wait=False)
                    last = _describe(e)
                    drops += 1
                    if drops > 1:  # a server that keeps dropping us must not be hammered
                        time.sleep(max(0.0, min(delay, deadline - time.monotonic())))
                        delay = min(delay * 2, self.backoff[1])
                    continue
                if isinstance(reply, str):  # openpi's servers send a traceback as text, then close
                    self._drop(wait=False)
                    tail = reply.strip().splitlines()[-1] if reply.strip() else "unknown error"
                    raise RemotePolicyError(f"the policy server at {self.url} failed: {tail}", reply)
                try:
                    return wire.unpackb(reply)
                except Exception as e:  # not msgpack: whatever answers is not an openpi policy server
                    self._drop(wait=False)
                    raise PolicyMismatch(f"the policy server at {self.url} sent a reply that is not msgpack "
                                         f"({type(e).__name__})") from e


def _close_in_background(ws) -> None:
    threading.Thread(target=ws.close, daemon=True, name="remote-policy-close").start()


@functools.cache
def _HAS_LEGACY(connect) -> bool:  # noqa: N802
    return "legacy" in inspect.signature(connect).parameters


def _describe(e: BaseException) -> str:
    if isinstance(e, ConnectionRefusedError):
        return "connection refused"
    if isinstance(e, TimeoutError):
        return "timed out"
    return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
