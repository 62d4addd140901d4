"""`robot-assistant chat`: a terminal conversation with the simulated robot.

Each line you type is handled between control ticks; the simulation then runs
in real time while you watch the task state, until the task is idle again or
you type the next line (Ctrl-C stops the arm, Ctrl-D leaves).
"""
from __future__ import annotations

import sys
import threading
import time

from embodiments.sim.scenarios import tidy_scene

from .controllers import ControllerError, controller_fields
from .session import Session, SessionConfig


def main(args) -> int:
    extra = {"openai": {"base_url": args.llm_url, "model": args.llm_model},
             "transformers": {"model_dir": args.model_dir}}.get(args.planner, {})
    if args.planner == "transformers" and not args.model_dir:
        print("--planner transformers needs --model-dir FOLDER", file=sys.stderr)
        return 2
    try:
        session = Session(SessionConfig(args.embodiment, tidy_scene(args.seed), gui=args.gui,
                                        understanding=args.planner, understanding_args=extra,
                                        task_log=getattr(args, "task_log", None), **controller_fields(args)))
    except ControllerError as e:  # no checkpoint, no policy server, ...: nothing has moved
        print(f"error: {e}", file=sys.stderr)
        return 2
    lines: list[str] = []
    lock = threading.Lock()

    def read() -> None:
        for line in sys.stdin:
            with lock:
                lines.append(line.rstrip("\n"))
        with lock:
            lines.append("\x04")

    print(f"robot-assistant chat ({args.embodiment}); objects: "
          + ", ".join(o.id for o in session.robot.world.scene.objects) + ". Type a request; Ctrl-D to quit.")
    threading.Thread(target=read, daemon=True).start()
    last = ""
    dt = 1.0 / session.robot.control_hz
    quitting = False
    try:
        while True:
            with lock:
                todo, lines[:] = list(lines), []
            for line in todo:
                if line == "\x04":
                    quitting = True  # end of input: finish the task under way, then leave
                    continue
                reply = session.submit(line)
                print(f"robot [{reply.language}]: {reply.text}")
            t0 = time.perf_counter()
            for r in session.tick():
                print(f"robot [{r.language}]: {r.text}")
            summary = session.state().summary()
            if summary != last:
                print("  " + summary.replace("\n", "\n  "))
                last = summary
            if quitting and not session.dm.busy and session.state().status.value != "running":
                return 0
            time.sleep(max(0.0, dt - (time.perf_counter() - t0)))  # real time
    except KeyboardInterrupt:
        session.submit("stop")
        print("stopped")
        return 130
    finally:
        session.close()
