"""The `robot-assistant` command line. Each subcommand imports its heavy parts lazily."""
from __future__ import annotations

import argparse
import logging
import sys

EMBODIMENTS = ("panda", "bimanual", "kuka")


def _sim_demo(sub) -> None:
    p = sub.add_parser("sim-demo", help="household tidy-up with the scripted skills; writes an MP4")
    p.add_argument("--embodiment", choices=EMBODIMENTS, default="panda")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="out", help="folder for sim-demo.mp4")
    p.add_argument("--gui", action="store_true", help="open the PyBullet GUI window")
    p.add_argument("--oracle", action="store_true",
                   help="ablation: read objects from the simulator instead of perceiving them")

    def run(args) -> int:
        from embodiments.demo import main
        return main(args)
    p.set_defaults(func=run)


def _chat(sub) -> None:
    p = sub.add_parser("chat", help="type to the robot in any supported language; prints the task state")
    p.add_argument("--embodiment", choices=EMBODIMENTS, default="panda")
    p.add_argument("--seed", type=int, default=0, help="seed of the household scene")
    p.add_argument("--planner", choices=("lexicon", "openai", "transformers"), default="lexicon",
                   help="understanding backend: the embedded multilingual lexicon (offline, default), any "
                        "OpenAI-compatible chat server, or a local transformers chat-model folder")
    p.add_argument("--llm-url", default="http://localhost:11434/v1", help="openai: the server's base URL")
    p.add_argument("--llm-model", default="qwen2.5:7b-instruct", help="openai: the model name")
    p.add_argument("--model-dir", default=None, help="transformers: the chat-model folder")
    p.add_argument("--gui", action="store_true", help="open the PyBullet GUI window")

    def run(args) -> int:
        from .chat import main
        return main(args)
    p.set_defaults(func=run)


def _script(sub) -> None:
    p = sub.add_parser("script", help="run dialogue scripts (../shared/specs/dialogue-scripts.md)")
    p.add_argument("paths", nargs="+", help="script files or folders of *.yaml")
    p.add_argument("--json", dest="json_out", default=None, help="write a JSON report to this file")
    p.add_argument("--video", default=None, help="save each run's front camera as DIR/<name>.mp4")

    def run(args) -> int:
        from .scripts import main
        return main(args)
    p.set_defaults(func=run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="robot-assistant", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    _sim_demo(sub)
    _chat(sub)
    _script(sub)
    from speech.cli import add_commands
    from ui.serve import add_command

    add_commands(sub)
    add_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
