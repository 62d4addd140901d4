"""The `robot-assistant` command line. Each subcommand imports its heavy parts lazily."""
from __future__ import annotations

import argparse
import logging
import sys

EMBODIMENTS = ("panda", "bimanual", "kuka")


def add_controller_arguments(p) -> None:
    """--controller, --policy-url, --checkpoint: what drives the arm (assistant/controllers.py)."""
    p.add_argument("--controller", choices=("scripted", "tiny_vla", "remote"), default="scripted",
                   help="what moves the arm for pick-and-place steps: the scripted skills (default), the tiny VLA "
                        "(panda only), or a policy server; other steps always run as scripted skills")
    p.add_argument("--policy-url", default=None, metavar="ws://HOST:PORT",
                   help="remote: the policy server (robot-assistant serve-policy, or an openpi policy server)")
    p.add_argument("--checkpoint", default=None, metavar="PATH",
                   help="tiny_vla: the checkpoint (default: embodiments/policies/tiny_vla/checkpoints/panda.pt)")


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
    p.add_argument("--task-log", default=None, metavar="PATH",
                   help="append what happens (turns, plans, steps, faults, replies) to this JSONL file")
    add_controller_arguments(p)

    def run(args) -> int:
        from .chat import main
        return main(args)
    p.set_defaults(func=run)


def _script(sub) -> None:
    p = sub.add_parser("script", help="run dialogue scripts (../shared/specs/dialogue-scripts.md)")
    p.add_argument("paths", nargs="+", help="script files or folders of *.yaml")
    p.add_argument("--json", dest="json_out", default=None, help="write a JSON report to this file")
    p.add_argument("--video", default=None, help="save each run's front camera as DIR/<name>.mp4")
    add_controller_arguments(p)

    def run(args) -> int:
        from .scripts import main
        return main(args)
    p.set_defaults(func=run)


def _serve_policy(sub) -> None:
    p = sub.add_parser("serve-policy", help="serve a controller over the openpi websocket protocol")
    p.add_argument("--controller", required=True,
                   help="a registered policy name (hold, replay, scripted, ...; see embodiments.policies)")
    p.add_argument("--port", type=int, default=8000, help="TCP port (0: any free port, printed when ready)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    p.add_argument("--arms", default="arm", help="comma-separated arm names, in action order (e.g. left,right)")
    p.add_argument("--policy-arg", action="append", default=[], metavar="KEY=VALUE",
                   help="keyword argument for the policy's factory, e.g. path=actions.npy or chunk_size=8")

    def run(args) -> int:
        from embodiments.policies.serve import main
        return main(args)
    p.set_defaults(func=run)


def _record(sub) -> None:
    p = sub.add_parser("record", help="record the scripted expert's demonstrations as a LeRobotDataset v3.0")
    p.add_argument("--embodiment", choices=EMBODIMENTS, default="panda")
    p.add_argument("--episodes", type=int, default=10, help="successful episodes to keep")
    p.add_argument("--out", required=True, help="dataset folder (a dataset already there is appended to)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random scenes and instructions")
    p.add_argument("--every", type=int, default=3, help="record every Nth control tick (60 Hz / 3 = 20 fps)")
    p.add_argument("--no-jitter", action="store_true", help="calibrated cameras and default lighting")
    p.add_argument("--vcodec", choices=("libx264", "libsvtav1"), default="libx264")
    p.add_argument("--noise", type=float, default=0.0,
                   help="DART noise: std (m) of slowly varying noise added to the executed hand targets; "
                        "the clean expert action is recorded")
    p.add_argument("--fumble", type=float, default=0.0,
                   help="share of episodes whose first grasp misses on purpose (2.5-4.5 cm off); recording starts "
                        "at the expert's recovery (reopen, look again, grasp), to teach retrying a missed grasp")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    def run(args) -> int:
        from embodiments.policies.record import main
        return main(args)
    p.set_defaults(func=run)


def _train(sub) -> None:
    p = sub.add_parser("train", help="train the tiny VLA policy on a LeRobotDataset v3.0 of demonstrations")
    p.add_argument("--dataset", required=True, action="append",
                   help="dataset folder (from `robot-assistant record`); repeat to train on several")
    p.add_argument("--out", required=True, help="checkpoint file (a loss plot <out>.loss.png is written beside it)")
    p.add_argument("--steps", type=int, default=4000, help="total optimizer steps (with --resume: up to this many)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--chunk", type=int, default=10, help="actions per predicted chunk, at the dataset's fps")
    p.add_argument("--action-mode", choices=("target", "delta"), default="target",
                   help="what a chunk holds: hand targets relative to the hand now, or per-tick deltas")
    p.add_argument("--image-scale", type=float, default=1.0, help="train on the dataset's images scaled by this")
    p.add_argument("--aux-goal", type=float, default=0.0, metavar="W",
                   help="add W x an auxiliary loss: where each step goes (the object, then the container), "
                        "predicted from the front camera and relative to the hand (needs the recording's seeds)")
    p.add_argument("--mirror", action="store_true",
                   help="also train on each sample mirrored left-right (one-arm robots; the network then reads "
                        "the hand pose, not the joint angles)")
    p.add_argument("--init", default=None, metavar="CKPT",
                   help="fine-tune: start from this checkpoint's network and normalisation (fresh optimizer and "
                        "schedule), e.g. after recording more demonstrations")
    p.add_argument("--threads", type=int, default=2, help="torch threads for training")
    p.add_argument("--ckpt-every", type=int, default=500, help="checkpoint (and loss plot) every N steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint at --out")
    p.add_argument("--export", metavar="PATH", default=None,
                   help="also write the policy alone (no optimizer, float16 weights: a few MB) to PATH")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    def run(args) -> int:
        from embodiments.policies.tiny_vla.train import main
        return main(args)
    p.set_defaults(func=run)


def _eval(sub) -> None:
    p = sub.add_parser("eval", help="closed-loop pick-and-place success of a controller on held-out tables")
    p.add_argument("--controller", choices=("tiny_vla", "scripted"), default="tiny_vla")
    p.add_argument("--checkpoint", default=None, help="tiny_vla: the checkpoint (default: the shipped Panda one)")
    p.add_argument("--episodes", type=int, default=20)
    p.add_argument("--seed", type=int, default=1000, help="seed of the held-out tables (the recorder's is 0)")
    p.add_argument("--embodiment", choices=EMBODIMENTS, default="panda")
    p.add_argument("--step-timeout", type=float, default=20.0, help="sim seconds per plan step")
    p.add_argument("--json", default=None, help="write the results to this JSON file")
    p.add_argument("--video", default=None, help="write MP4s of the first episodes into this folder")
    p.add_argument("--video-episodes", type=int, default=3)
    p.add_argument("--workers", type=int, default=1, help="episodes run in parallel processes (same episodes)")
    p.add_argument("--n-action-steps", type=int, default=None,
                   help="tiny_vla: actions run per chunk (dataset fps; default half the chunk)")
    p.add_argument("--temporal-ensemble", type=float, default=None, help="tiny_vla: ACT temporal ensembling weight m")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    def run(args) -> int:
        from embodiments.policies.tiny_vla.eval import main
        return main(args)
    p.set_defaults(func=run)


def _bench(sub) -> None:
    p = sub.add_parser("bench", help="household benchmark: task families x languages x perturbations, every robot")
    from .benchmark.cli import add_arguments

    add_arguments(p)

    def run(args) -> int:
        from .benchmark.cli import main
        return main(args)
    p.set_defaults(func=run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="robot-assistant", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    _sim_demo(sub)
    _chat(sub)
    _script(sub)
    _serve_policy(sub)
    _record(sub)
    _train(sub)
    _eval(sub)
    _bench(sub)
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
