"""Responsiveness of the app, measured through the client as a page would see it.

Launches the real app on a free local port and drives it with gradio_client:
- chat message -> first camera frame showing motion: wall seconds from sending the turn
  until a /refresh returns a frame that differs from the frame before the turn;
- STOP -> halted: wall seconds from the /stop call until every joint of the robot is
  under 0.01 rad/s (read from the live session itself, between ticks), and the sim
  seconds this took;
- the simulation's real-time factor while the page streams the camera (5+ fps while
  moving), beside the same robot with the camera view off (the peer, same run).

    python -m bench.ui [--trials 10] [--no-docs]
"""
from __future__ import annotations

import argparse
import socket
import statistics
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
COMMAND = "Put the red cube in the tray."


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _frame(path) -> np.ndarray | None:
    if not isinstance(path, str) or not path:  # gr.skip(): no new frame since the last refresh
        return None
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def run(trials: int, fps: float) -> dict:
    from gradio_client import Client

    from ui.app import SessionPool, build_app
    from ui.live import LiveSession

    pool = SessionPool(max_sessions=1, make=lambda cfg: LiveSession(cfg, fps=fps, idle_fps=min(fps, 1.0)))
    demo = build_app(pool, preset="tidy", speak_replies=False)
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=_port(), prevent_thread_lock=True, quiet=True)
    c = Client(url, verbose=False)
    first_motion, stop_applied, halt_wall, halt_sim, rtf, frame_rate = [], [], [], [], [], []
    try:
        for _ in tqdm(range(trials), desc=f"ui (camera {fps:g} fps)", leave=False):
            c.predict("panda", "tidy", "lexicon", api_name="/reset")
            (live,) = pool.sessions.values()
            time.sleep(1.0)
            before = None
            while fps and before is None:  # the newest frame before the turn
                before = _frame(c.predict({}, api_name="/refresh")[0])
                time.sleep(0.05)
            t0 = time.perf_counter()
            c.predict(COMMAND, True, api_name="/send")
            if fps:
                while time.perf_counter() - t0 < 20:
                    img = _frame(c.predict({}, api_name="/refresh")[0])
                    if img is not None and img.shape == before.shape and \
                            (np.abs(img - before).max(axis=2) > 40).sum() > 30:
                        first_motion.append(time.perf_counter() - t0)
                        break
                    time.sleep(0.02)
            live.wait_until(lambda s: s.moving, 20)
            time.sleep(1.0)
            live.stop_applied = live.stop_halted = None
            t_stop = time.perf_counter()
            c.predict(api_name="/stop")
            while time.perf_counter() - t_stop < 5 and live.stop_halted is None:
                time.sleep(0.005)
            if live.stop_applied and live.stop_halted:
                stop_applied.append(live.stop_applied[0] - t_stop)
                halt_wall.append(live.stop_halted[0] - t_stop)
                halt_sim.append(live.stop_halted[1] - live.stop_applied[1])
            c.predict("continue", True, api_name="/send")
            s0, t_run = live.snapshot(), time.perf_counter()
            while time.perf_counter() - t_run < 30 and live.snapshot().status == "running":
                if fps:
                    c.predict({}, api_name="/refresh")  # the page keeps polling the camera
                time.sleep(REFRESH)
            s1, t_end = live.snapshot(), time.perf_counter()
            rtf.append((s1.sim_time - s0.sim_time) / (t_end - t_run))  # over the whole rest of the task
            frame_rate.append((s1.frame_id - s0.frame_id) / (t_end - t_run))
    finally:
        pool.close_all()
        demo.close()
    return {"fps": fps, "first_motion": first_motion, "stop_applied": stop_applied, "halt_wall": halt_wall,
            "halt_sim": halt_sim, "rtf": rtf, "frame_rate": frame_rate}


REFRESH = 0.15


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--fps", type=float, default=None, help="the live view's target rate (default: the app's)")
    ap.add_argument("--no-docs", action="store_true")
    args = ap.parse_args(argv)
    if args.fps is None:
        from ui.live import LiveSession

        args.fps = LiveSession.__init__.__defaults__[0]
    cam = run(args.trials, args.fps)
    peer = run(max(3, args.trials // 2), 0.0)

    def ms(xs):
        return f"{1000 * statistics.median(xs):.0f} / {1000 * _pct(xs, 0.95):.0f}" if xs else "n/a"

    rows = [
        "| measure | median / p95 |",
        "| --- | --- |",
        f"| chat message -> first camera frame showing motion (ms, wall) | {ms(cam['first_motion'])} |",
        f"| STOP call -> stop applied before the next control tick (ms, wall) | {ms(cam['stop_applied'])} |",
        f"| STOP call -> every joint under 0.01 rad/s (ms, wall) | {ms(cam['halt_wall'])} |",
        f"| stop applied -> every joint under 0.01 rad/s (ms of sim time, through the physics) | "
        f"{ms(cam['halt_sim'])} |",
        f"| camera frames per second while moving | {statistics.median(cam['frame_rate']):.1f} / "
        f"min {min(cam['frame_rate']):.1f} |",
        f"| real-time factor while moving, camera streamed | "
        f"{statistics.median(cam['rtf']):.2f} / min {min(cam['rtf']):.2f} |",
        f"| real-time factor while moving, no camera (peer, same run) | "
        f"{statistics.median(peer['rtf']):.2f} / min {min(peer['rtf']):.2f} |",
    ]
    print("\n".join(rows))
    print(f"trials: {len(cam['first_motion'])} motion, {len(cam['halt_wall'])} stops")
    if not args.no_docs:
        from bench.skills import _write_section

        head = ("## App responsiveness\n\nMeasured by `python -m bench.ui` (part of `make bench`): the real app on a "
                f"local port, driven by gradio_client polling the page's refresh every {REFRESH:.2f} s, "
                f"{args.trials} trials. The live session paces the simulation at real time (a factor of 1.00 is "
                "the target: it cannot run faster by design; below 1 means the 2 cores could not keep up).")
        _write_section(DOCS, "ui", head + "\n\n" + "\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
