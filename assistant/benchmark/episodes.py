"""The episode matrix of the household benchmark, and the crash-proof wrapper around one episode.

The full factorial (6 families x 20 languages x 5 perturbations x 3 robots x controllers) is
far too big for a 2-core machine, so the design is balanced instead: for every embodiment and
controller, every (family, language) pair is run once, and the perturbation is rotated across
languages Latin-square style, `PERTURBATIONS[(language + family + embodiment) % 5]`. So each
(family, perturbation) cell still holds 4 episodes per robot and controller, each language
meets every perturbation, and the same (family, language) pair meets a different perturbation
on each robot. Seeds are fixed: the episode list is the same on every machine.

A stop is issued mid-motion (and the task resumed) in the unperturbed episodes of the moving
families whose language index is even: that is where stop -> halt is measured.
"""
from __future__ import annotations

import traceback
from dataclasses import asdict, dataclass, field, fields

from .phrases import LANGUAGES
from .tasks import FAMILIES, PERTURBATIONS

EMBODIMENTS = ("panda", "bimanual", "kuka")
CONTROLLERS = ("scripted", "tiny_vla")
# Controllers that only exist for some robots (the learned policy was trained on the Panda).
CONTROLLER_EMBODIMENTS = {"tiny_vla": ("panda",)}
QUICK_LANGUAGES = ("en", "es", "zh", "ru")
BASE_SEED = 7000


@dataclass(frozen=True)
class Episode:
    embodiment: str
    controller: str
    family: str
    language: str
    perturbation: str
    seed: int
    stop_probe: bool = False

    @property
    def key(self) -> str:
        return f"{self.embodiment}/{self.controller}/{self.family}/{self.language}/{self.perturbation}/{self.seed}"


@dataclass
class EpisodeResult:
    episode: Episode
    success: bool
    reason: str = ""
    error: str | None = None  # a crash of the episode (or of its worker process), with the traceback's last line
    status: str = ""  # the assistant's final task status
    completion_s: float | None = None  # sim seconds from the first turn until the task was idle
    turn_to_plan_ms: float | None = None  # wall time of the first `submit` (language ID, parse, plan)
    turn_to_motion_s: float | None = None  # sim seconds from the first turn until a joint moves
    stop_to_halt_s: float | None = None  # sim seconds from "stop" until every joint < 0.01 rad/s
    change_to_goal_s: float | None = None  # sim seconds from the change turn until a step of the new plan runs
    sim_seconds: float = 0.0
    wall_seconds: float = 0.0
    replies: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(d.pop("episode"))
        return d

    @classmethod
    def from_dict(cls, d: dict) -> EpisodeResult:
        ep_keys = {f.name for f in fields(Episode)}
        ep = Episode(**{k: d[k] for k in ep_keys if k in d})
        return cls(episode=ep, **{k: v for k, v in d.items() if k not in ep_keys})


def matrix(embodiments=EMBODIMENTS, controllers=("scripted",), languages=LANGUAGES, families=FAMILIES,
           seed: int = BASE_SEED) -> tuple[list[Episode], list[str]]:
    """The balanced episode list, and notes on (embodiment, controller) pairs left out."""
    eps, notes = [], []
    for ei, emb in enumerate(embodiments):
        for ctrl in controllers:
            only = CONTROLLER_EMBODIMENTS.get(ctrl)
            if only is not None and emb not in only:
                notes.append(f"{ctrl} runs on {', '.join(only)} only: no {ctrl} episodes on {emb}")
                continue
            for fi, fam in enumerate(families):
                for li, lang in enumerate(languages):
                    li_all = LANGUAGES.index(lang) if lang in LANGUAGES else li
                    fi_all = FAMILIES.index(fam) if fam in FAMILIES else fi
                    ei_all = EMBODIMENTS.index(emb) if emb in EMBODIMENTS else ei
                    pert = PERTURBATIONS[(li + fi + ei_all) % len(PERTURBATIONS)]
                    ep_seed = seed + 10_000 * ei_all + 100 * fi_all + li_all
                    stop = pert == "none" and fam != "questions" and li_all % 2 == 0
                    eps.append(Episode(emb, ctrl, fam, lang, pert, ep_seed, stop))
    return eps, notes


def quick_matrix() -> tuple[list[Episode], list[str]]:
    """`--quick`: the Panda with the scripted controller, 4 languages x 6 families = 24 episodes,
    each family meeting four different perturbations."""
    eps, notes = matrix(("panda",), ("scripted",), QUICK_LANGUAGES)
    # In 4 languages the even-index rule would leave few stops: probe every unperturbed moving episode.
    eps = [Episode(**{**asdict(e), "stop_probe": e.perturbation == "none" and e.family != "questions"})
           for e in eps]
    return eps, notes


def safe_run(episode: Episode, checkpoint: str | None = None) -> EpisodeResult:
    """One episode; any exception becomes a failed result carrying the error, never a crash."""
    import time

    t0 = time.perf_counter()
    try:
        from .episode_run import run_episode

        return run_episode(episode, checkpoint=checkpoint)
    except Exception as e:  # the benchmark records every kind of crash as a failed episode
        tb = traceback.format_exc(limit=-3)
        return EpisodeResult(episode, False, reason="crashed", error=f"{type(e).__name__}: {e}\n{tb}",
                             wall_seconds=time.perf_counter() - t0)
