"""`robot-assistant script FILE_OR_DIR...`: dialogue scripts, exactly as ../shared/specs/dialogue-scripts.md.

Every script is validated before any runs: an unknown key anywhere, a wrong
type or an unknown step is a malformed script (exit code 2, with the file, the
key and what is wrong), so a typo never silently passes. Then each script runs
headless and deterministically in its own Session and prints `PASS <name>` or
`FAIL <name>: <first failed check>`; the last line is `N passed, N failed`.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embodiments.predicates import WORLD_CHECKS
from embodiments.scene_spec import SceneSpec, SceneSpecError, object_from_dict
from planner.lexicon_parser import load_yaml

from .task import Status

TOP_KEYS = {"name", "embodiment", "scene", "timeout", "steps", "final"}
EMBODIMENTS = ("panda", "bimanual", "kuka")
STEP_KINDS = {"user", "say", "audio", "wait", "move", "remove", "add"}
EXPECT_KEYS = {"language", "reply_language", "status", "reply_contains_any", "halted_within",
               "transcript_contains_any"}
FINAL_KEYS = set(WORLD_CHECKS) | {"status", "refused"}
STATUSES = {s.value for s in Status}


class ScriptError(Exception):
    def __init__(self, file: str, key: str, problem: str) -> None:
        self.file, self.key, self.problem = file, key, problem
        super().__init__(f"{file}: {key}: {problem}")


@dataclass
class Script:
    path: Path
    name: str
    embodiment: str
    scene: SceneSpec
    timeout: float
    steps: list[dict[str, Any]]
    final: list[dict[str, Any]]


@dataclass
class Outcome:
    name: str
    passed: bool = True
    failure: str = ""
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    replies: list[dict[str, Any]] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    sim_seconds: float = 0.0
    wall_seconds: float = 0.0

    def fail(self, what: str) -> None:
        self.checks.append((what, False, ""))
        if self.passed:
            self.passed, self.failure = False, what


# -- validation --------------------------------------------------------------------------------
def load_script(path: Path) -> Script:
    f = str(path)
    try:
        data = load_yaml(path)
    except Exception as e:  # unreadable or not YAML
        raise ScriptError(f, "-", f"cannot read: {e}") from e
    if not isinstance(data, dict):
        raise ScriptError(f, "-", "expected a mapping at the top")
    for k in data:
        if k not in TOP_KEYS:
            raise ScriptError(f, str(k), f"unknown key (allowed: {', '.join(sorted(TOP_KEYS))})")
    for k in ("name", "scene", "steps"):
        if k not in data:
            raise ScriptError(f, k, "required")
    if not isinstance(data["name"], str) or not data["name"].strip():
        raise ScriptError(f, "name", "expected a non-empty string")
    emb = data.get("embodiment", "panda")
    if emb not in EMBODIMENTS:
        raise ScriptError(f, "embodiment", f"one of {', '.join(EMBODIMENTS)}, got {emb!r}")
    try:
        scene = SceneSpec.from_dict(data["scene"], f)
    except SceneSpecError as e:
        raise ScriptError(f, f"scene.{e.key}" if e.key else "scene", e.problem) from e
    timeout = data.get("timeout", 120)
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
        raise ScriptError(f, "timeout", f"expected seconds > 0, got {timeout!r}")
    steps = data["steps"]
    if not isinstance(steps, list):
        raise ScriptError(f, "steps", "expected a list")
    for i, st in enumerate(steps):
        _check_step(f, f"steps[{i}]", st)
    final = data.get("final", []) or []
    if not isinstance(final, list):
        raise ScriptError(f, "final", "expected a list")
    for i, chk in enumerate(final):
        if not isinstance(chk, dict) or len(chk) != 1:
            raise ScriptError(f, f"final[{i}]", "each check is one key with its value")
        (k, v), = chk.items()
        if k not in FINAL_KEYS:
            raise ScriptError(f, f"final[{i}].{k}", f"unknown check (allowed: {', '.join(sorted(FINAL_KEYS))})")
        if k == "status":
            _check_status(f, f"final[{i}].status", v)
    return Script(path, data["name"], emb, scene, float(timeout), steps, final)


def _check_step(f: str, key: str, st: Any) -> None:
    if not isinstance(st, dict):
        raise ScriptError(f, key, "expected a mapping")
    kinds = [k for k in st if k in STEP_KINDS]
    if len(kinds) != 1:
        raise ScriptError(f, key, f"exactly one of {', '.join(sorted(STEP_KINDS))}")
    kind = kinds[0]
    allowed = {kind} | ({"expect"} if kind in ("user", "say", "audio") else set()) | (
        {"voice"} if kind == "say" else set())
    for k in st:
        if k not in allowed:
            raise ScriptError(f, f"{key}.{k}", f"unknown key for a {kind} step (allowed: {', '.join(sorted(allowed))})")
    v = st[kind]
    if kind in ("user", "say", "audio") and not isinstance(v, str):
        raise ScriptError(f, f"{key}.{kind}", "expected text")
    if kind == "say" and not isinstance(st.get("voice"), str):
        raise ScriptError(f, f"{key}.voice", "a say step needs voice: LANG")
    if kind == "audio" and not (Path(f).parent / v).is_file():
        raise ScriptError(f, f"{key}.audio", f"no audio file {v!r} next to the script")
    if kind == "wait":
        if not isinstance(v, dict) or len(v) != 1 or not ({"seconds", "until"} & set(v)):
            raise ScriptError(f, f"{key}.wait", "expected {seconds: S} or {until: idle}")
        if "until" in v and v["until"] != "idle":
            raise ScriptError(f, f"{key}.wait.until", "only `idle` is allowed")
        if "seconds" in v and (not isinstance(v["seconds"], (int, float)) or v["seconds"] < 0):
            raise ScriptError(f, f"{key}.wait.seconds", "expected seconds >= 0")
    if kind == "move":
        if not isinstance(v, dict) or set(v) != {"object", "to"}:
            raise ScriptError(f, f"{key}.move", "expected {object: ID, to: [x, y]}")
        to = v["to"]
        if not (isinstance(to, list) and len(to) == 2 and all(isinstance(x, (int, float)) for x in to)):
            raise ScriptError(f, f"{key}.move.to", "expected [x, y]")
    if kind == "remove" and not isinstance(v, str):
        raise ScriptError(f, f"{key}.remove", "expected an object id")
    if kind == "add":
        if not isinstance(v, dict):
            raise ScriptError(f, f"{key}.add", "expected {id, kind, color, at}")
        spec = dict(v)
        try:
            object_from_dict(spec, f"{key}.add", f)
        except SceneSpecError as e:
            raise ScriptError(f, e.key, e.problem) from e
    if "expect" in st:
        exp = st["expect"]
        if not isinstance(exp, dict):
            raise ScriptError(f, f"{key}.expect", "expected a mapping")
        for k in exp:
            if k not in EXPECT_KEYS:
                raise ScriptError(f, f"{key}.expect.{k}", f"unknown check (allowed: {', '.join(sorted(EXPECT_KEYS))})")
        if "status" in exp:
            _check_status(f, f"{key}.expect.status", exp["status"])


def _check_status(f: str, key: str, v: Any) -> None:
    values = v if isinstance(v, list) else [v]
    for s in values:
        if s not in STATUSES:
            raise ScriptError(f, key, f"unknown status {s!r} (one of {', '.join(sorted(STATUSES))})")


def collect(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(p.glob("*.yaml")) + sorted(p.glob("*.yml"))
        else:
            out.append(p)
    return out


# -- running -----------------------------------------------------------------------------------
def main(args) -> int:
    from .controllers import ControllerError, check_controller, controller_fields
    from .script_run import run_script

    files = collect(args.paths)
    scripts, errors = [], []
    for path in files:
        if not path.exists():
            errors.append(ScriptError(str(path), "-", "no such file"))
            continue
        try:
            scripts.append(load_script(path))
        except ScriptError as e:
            errors.append(e)
    names = [s.name for s in scripts]
    for n in {n for n in names if names.count(n) > 1}:
        errors.append(ScriptError(next(str(s.path) for s in scripts if s.name == n), "name", f"duplicate {n!r}"))
    if errors:
        for e in errors:
            print(f"malformed script: {e}", file=sys.stderr)
        return 2
    controller = controller_fields(args)
    if controller["controller"] != "scripted" or controller["policy_url"] or controller["checkpoint"]:
        try:  # a missing checkpoint or a dead server is one clear error, not a failure per script
            first = scripts[0].embodiment if scripts and controller["controller"] == "remote" else "panda"
            check_controller(controller["controller"], first, controller["policy_url"], controller["checkpoint"])
        except ControllerError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        print(f"controller: {controller['controller']}", file=sys.stderr)
    outcomes = []
    for s in scripts:
        o = run_script(s, video_dir=args.video, controller=controller)
        outcomes.append(o)
        print(f"PASS {o.name}" if o.passed else f"FAIL {o.name}: {o.failure}", flush=True)
    n_pass = sum(o.passed for o in outcomes)
    print(f"{n_pass} passed, {len(outcomes) - n_pass} failed")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps([o.__dict__ for o in outcomes], indent=1, default=str))
    return 0 if n_pass == len(outcomes) else 1
