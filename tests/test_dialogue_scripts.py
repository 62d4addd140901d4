"""Every dialogue script in tests/dialogues/ passes, and the runner follows the spec's interface."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from assistant.script_run import run_script
from assistant.scripts import ScriptError, collect, load_script

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = collect([str(ROOT / "tests" / "dialogues")])
EXE = ROOT / ".venv" / "bin" / "robot-assistant"


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_script(path):
    out = run_script(load_script(path))
    assert out.passed, f"{out.failure}\nreplies: {out.replies}\nlog:\n" + "\n".join(out.log[-30:])


def test_runner_output_and_exit_codes(tmp_path):
    good = ROOT / "tests" / "dialogues" / "fr_change_of_mind.yaml"
    r = subprocess.run([str(EXE), "script", str(good), "--json", str(tmp_path / "r.json")],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    lines = r.stdout.strip().splitlines()
    assert r.returncode == 0 and lines[-1] == "1 passed, 0 failed" and lines[0].startswith("PASS ")
    assert (tmp_path / "r.json").exists()
    failing = tmp_path / "fail.yaml"
    failing.write_text(good.read_text().replace("in: [green_cube, blue_bowl]", "in: [red_cube, blue_bowl]")
                       .replace("name: French request changed mid-task", "name: must fail"))
    r = subprocess.run([str(EXE), "script", str(failing)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 1 and r.stdout.splitlines()[0].startswith("FAIL must fail: final in")
    assert r.stdout.strip().splitlines()[-1] == "0 passed, 1 failed"


@pytest.mark.parametrize("mutation, key", [
    (("timeout: 120", "timout: 120"), "timout"),
    (("expect: {status: running}", "expect: {statuz: running}"), "steps[2].expect.statuz"),
    (("kind: bowl", "kind: bowll"), "scene.objects[2].kind"),
    (("- wait: {seconds: 1.5}", "- wait: {until: done}"), "steps[1].wait.until"),
    (("- status: done", "- status: finished"), "final[2].status"),
    (("- in: [green_cube, blue_bowl]", "- inside: [green_cube, blue_bowl]"), "final[0].inside"),
])
def test_malformed_scripts_name_the_key(tmp_path, mutation, key):
    good = (ROOT / "tests" / "dialogues" / "fr_change_of_mind.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.replace(*mutation))
    with pytest.raises(ScriptError) as e:
        load_script(bad)
    assert e.value.key == key, e.value
    r = subprocess.run([str(EXE), "script", str(bad)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 2 and key in r.stderr and str(bad) in r.stderr
