"""`robot-assistant run`: launch the app on 127.0.0.1:7860 (what `make run` starts)."""
from __future__ import annotations

import sys
import time
from dataclasses import replace

MAX_UPLOAD = "25mb"  # speech.audio.MAX_BYTES; the length limit (60 s) is checked when decoding


def add_command(sub) -> None:
    p = sub.add_parser("run", help="the Gradio app: chat and talk to the robot, watch it work")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: this machine only)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--share", action="store_true", help="also open a public gradio.live link (off by default)")
    p.add_argument("--auth", default=None, metavar="USER:PASS", help="require this login")
    p.add_argument("--embodiment", choices=("panda", "bimanual", "kuka"), default="panda")
    p.add_argument("--preset", default="tidy", help="scene preset: tidy, sort, breakfast, toys, stack")
    p.add_argument("--planner", choices=("lexicon", "openai", "transformers"), default="lexicon")
    p.add_argument("--llm-url", default="http://localhost:11434/v1")
    p.add_argument("--llm-model", default="qwen2.5:7b-instruct")
    p.add_argument("--model-dir", default=None)
    p.add_argument("--max-sessions", type=int, default=2, help="simulated robots at once (one per browser tab)")
    p.add_argument("--shared", action="store_true", help="one robot shared by every tab (turns queued)")
    p.add_argument("--mute", action="store_true", help="do not speak replies")
    p.add_argument("--task-log", default=None, metavar="PATH",
                   help="append every session's events to this JSONL file (each line names its session)")
    from assistant.cli import add_controller_arguments

    add_controller_arguments(p)
    p.set_defaults(func=main)


def main(args) -> int:
    from assistant.controllers import ControllerError, check_controller, controller_fields
    from assistant.session import SessionConfig

    from .app import SessionPool, build_app, theme_kwargs
    from .live import LiveSession
    from .presets import PRESETS, scene

    if args.preset not in PRESETS:
        print(f"error: unknown preset {args.preset!r}; one of {', '.join(PRESETS)}", file=sys.stderr)
        return 2
    auth = None
    if args.auth:
        if ":" not in args.auth:
            print("error: --auth takes USER:PASS", file=sys.stderr)
            return 2
        auth = tuple(args.auth.split(":", 1))
    backend_args = ({"base_url": args.llm_url, "model": args.llm_model} if args.planner == "openai" else
                    {"model_dir": args.model_dir} if args.planner == "transformers" else {})
    task_log = getattr(args, "task_log", None)
    controller = controller_fields(args)
    try:  # no checkpoint, no policy server: say so now, not in every tab
        check_controller(controller["controller"], args.embodiment, controller["policy_url"], controller["checkpoint"])
    except ControllerError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.shared:
        session = LiveSession(SessionConfig(args.embodiment, scene(args.preset), understanding=args.planner,
                                            understanding_args=backend_args, task_log=task_log, **controller))
    else:  # the app builds each tab's config; the task log and the controller are added to every one
        extra = {**controller, **({"task_log": task_log} if task_log else {})}
        session = SessionPool(max_sessions=args.max_sessions, make=lambda cfg: LiveSession(replace(cfg, **extra)))
    demo = build_app(session, embodiment=args.embodiment, preset=args.preset, backend=args.planner,
                     backend_args=backend_args, speak_replies=not args.mute)
    _, url, share_url = demo.launch(server_name=args.host, server_port=args.port, share=args.share, auth=auth,
                                    max_file_size=MAX_UPLOAD, prevent_thread_lock=True, quiet=True,
                                    **theme_kwargs())
    print(f"robot-assistant is running at {url}" + (f" (public: {share_url})" if share_url else ""), flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        demo.pool.close_all()
        demo.close()
    return 0
