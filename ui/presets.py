"""Household scene presets for the app (and anyone scripting demos): a scene plus what to try."""
from __future__ import annotations

from dataclasses import dataclass

from embodiments.scene_spec import SceneSpec


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    scene: dict
    try_saying: tuple[str, ...]  # example requests shown under the chat


def _o(id_, kind, color, x, y):
    d = {"id": id_, "kind": kind, "at": [x, y]}
    if color:
        d["color"] = color
    return d


PRESETS: dict[str, Preset] = {p.name: p for p in [
    Preset("tidy", "Tidy the table", {"seed": 1, "objects": [
        _o("red_cube", "cube", "red", -0.12, 0.13), _o("duck", "duck", None, -0.10, -0.12),
        _o("green_ball", "ball", "green", 0.02, 0.16), _o("tray", "tray", "brown", 0.13, -0.02)]},
        ("Put everything in the tray.", "Mets le canard dans le plateau.", "Räum den roten Würfel in das Tablett.")),
    Preset("sort", "Sort by color", {"seed": 2, "objects": [
        _o("red_cube", "cube", "red", -0.12, 0.12), _o("blue_cube", "cube", "blue", -0.12, -0.02),
        _o("red_block", "block", "red", -0.02, -0.15), _o("red_bowl", "bowl", "red", 0.13, 0.12),
        _o("blue_bowl", "bowl", "blue", 0.13, -0.10)]},
        ("Sort the things by color.", "Ordena los objetos por color.", "按颜色分类。")),
    Preset("breakfast", "Breakfast table", {"seed": 3, "objects": [
        _o("white_mug", "mug", "white", -0.12, 0.10), _o("plate", "plate", "white", 0.10, 0.05),
        _o("orange_ball", "ball", "orange", -0.10, -0.12), _o("yellow_bowl", "bowl", "yellow", 0.12, -0.13)]},
        ("Put the orange ball on the plate.", "Metti la palla arancione sul piatto.",
         "Put the mug in the yellow bowl.")),
    Preset("toys", "Toys into the tray", {"seed": 4, "objects": [
        _o("duck", "duck", None, -0.12, 0.12), _o("teddy", "teddy", "brown", -0.10, -0.10),
        _o("lego", "lego", "red", 0.0, 0.15), _o("tray", "tray", "brown", 0.13, -0.02)]},
        ("Put the teddy bear in the tray.", "Coloque o pato na bandeja.", "把小鸭子放进托盘里。")),
    Preset("stack", "Stacking", {"seed": 5, "objects": [
        _o("red_cube", "cube", "red", -0.10, 0.12), _o("green_cube", "cube", "green", -0.10, -0.10),
        _o("blue_cube", "cube", "blue", 0.08, 0.12), _o("yellow_cube", "cube", "yellow", 0.10, -0.10)]},
        ("Stack the cubes.", "Stapel die Würfel.", "Put the red cube on the blue cube.")),
]}
DEFAULT_PRESET = "tidy"


def scene(name: str) -> SceneSpec:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; one of {', '.join(PRESETS)}")
    return SceneSpec.from_dict(PRESETS[name].scene, source=f"preset {name}")
