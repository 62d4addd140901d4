"""Fast checks of the installation promises: cheap imports, the console script, the Makefile."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pybullet", "pybullet_data", "pybullet_utils", "torch")


def test_import_embodiments_is_cheap():
    code = (
        "import json, sys\n"
        "import embodiments\n"
        "from embodiments import SceneSpec, available, make_embodiment\n"
        f"heavy = {HEAVY!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, check=True)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded == [], f"`import embodiments` imported {loaded}"


def test_console_script_installed():
    script = Path(sysconfig.get_path("scripts")) / "robot-assistant"
    assert script.is_file(), f"{script} is missing: run `make install`"
    assert os.access(script, os.X_OK)
    (ep,) = entry_points(group="console_scripts", name="robot-assistant")
    assert ep.value == "assistant.cli:main"


def _make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w.-]*)\s*:(?!=)", text, flags=re.M))


def test_makefile_targets():
    missing = {"install", "run", "test", "bench", "clean"} - _make_targets()
    assert not missing, f"Makefile lacks targets {sorted(missing)}"


def test_torch_pinned_the_same_in_makefile_and_pyproject():
    make = re.search(r"^TORCH_VERSION\s*:?=\s*(\S+)", (ROOT / "Makefile").read_text(), flags=re.M)
    assert make, "Makefile must pin TORCH_VERSION (an unpinned torch pulls a multi-GB CUDA build)"
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    pins = [d for deps in extras.values() for d in deps if re.match(r"torch\b", d)]
    assert pins and set(pins) == {f"torch=={make.group(1)}"}, pins


def test_ci_runs_make_test():
    ci = ROOT / ".ci" / "run"
    assert ci.is_file() and os.access(ci, os.X_OK), ".ci/run must exist and be executable"
    assert re.search(r"^\s*make test\b", ci.read_text(), flags=re.M)


def test_lint_clean():
    """ruff (configured in pyproject.toml) finds nothing: the style rules hold for every file."""
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "--quiet", str(ROOT)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
