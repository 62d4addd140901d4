"""The tiny VLA network.

    per camera:  3 strided convs + 1 conv (GroupNorm, GELU), FiLM-conditioned on the instruction
                 after every block, then spatial-softmax keypoints (x, y per channel) -> a linear
    proprio:     normalised state -> 2-layer MLP
    text:        the frozen 384-d MiniLM embedding -> a linear (and the FiLM scales/shifts)
    head:        [cameras, proprio, text] -> residual MLP -> K x action_dim (normalised actions)

Trained with an L1 loss on a chunk of the next K recorded actions (ACT without the CVAE and
without the transformer: the tokens are few and the CPU budget is small). Inputs and outputs are
normalised with the training set's mean/std, which travel in the config.

What a chunk holds (`action_mode`):
  "target" (default): per future frame k and arm, the hand's commanded pose at frame t+k
      relative to the hand measured now (dx, dy, dz, dyaw) and the finger opening. This is how
      ACT and Diffusion Policy predict (positions, not velocities): a small error in one
      prediction does not add up over the chunk, and the policy turns the targets into
      per-tick actions against the hand it measures each tick (`TinyVLAPolicy`).
  "delta": the recorded per-tick actions themselves (the first version; they are a few mm
      each, and in closed loop the arm crept and hovered: 0/5 episodes after 40 demos).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .text import TEXT_DIM

GOAL_SCALE = 0.1  # m: the goal heads' unit (the table's inner area is about +-0.25 m)


@dataclass
class TinyVLAConfig:
    cameras: dict[str, tuple[int, int]] = field(default_factory=lambda: {
        "observation.images.front": (96, 128), "observation.images.wrist": (96, 96)})  # key -> (h, w)
    state_dim: int = 12
    action_dim: int = 5
    chunk: int = 10  # K actions at the dataset's fps
    text_dim: int = TEXT_DIM
    channels: tuple[int, ...] = (16, 32, 64, 64)
    feat_dim: int = 128
    hidden: int = 512
    action_mode: str = "target"  # "target" | "delta": see the module docstring
    aux_goal: bool = False  # heads that say where the step goes (training only: see `TinyVLA.forward`)
    # the state entries the network sees (None: all). Mirror-trained models keep each arm's hand pose
    # and gripper and leave the joint angles out: a mirrored joint vector is not a negated one.
    state_keep: list[int] | None = None
    # PCA whitening of the instruction embedding, fitted on the training instructions (see `fit_text_whitening`)
    text_mean: list[float] | None = None
    text_proj: list[list[float]] | None = None  # (text_dim, k)
    state_mean: list[float] | None = None
    state_std: list[float] | None = None
    action_mean: list[float] | None = None
    action_std: list[float] | None = None

    def as_dict(self) -> dict:
        d = asdict(self)
        d["cameras"] = {k: list(v) for k, v in self.cameras.items()}
        d["channels"] = list(self.channels)
        return d

    @staticmethod
    def from_dict(d: dict) -> TinyVLAConfig:
        d = dict(d)
        d.setdefault("action_mode", "delta")  # checkpoints from before the field were per-tick deltas
        d["cameras"] = {k: tuple(v) for k, v in d["cameras"].items()}
        d["channels"] = tuple(d["channels"])
        return TinyVLAConfig(**d)


def fit_text_whitening(emb: np.ndarray, k: int = 48, floor: float = 1e-3) -> tuple[list[float], list[list[float]]]:
    """Mean and projection that whiten the training instructions' embeddings.

    MiniLM puts instructions that differ in one word very close together ("put the red cube in
    the blue bowl" vs "... green bowl": cosine 0.96), so the words that choose the object and
    the container are a small part of each vector. Projected on the principal directions of the
    training instructions and scaled to unit variance, those differences become as large as any
    other: the network sees which colour and which kind were asked for."""
    emb = np.asarray(emb, dtype=np.float64)
    mean = emb.mean(0)
    _, sv, vt = np.linalg.svd(emb - mean, full_matrices=False)
    var = sv ** 2 / max(1, len(emb) - 1)
    keep = min(k, int((var > floor * var[0]).sum()))
    proj = vt[:keep].T / np.sqrt(var[:keep])
    return mean.tolist(), proj.tolist()


class SpatialSoftmax(nn.Module):
    """(B, C, H, W) -> (B, 2C): the expected image coordinates of each channel's softmax."""

    def __init__(self, h: int, w: int) -> None:
        super().__init__()
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
        self.register_buffer("grid", torch.stack([xs.reshape(-1), ys.reshape(-1)], 1), persistent=False)
        self.temperature = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        att = torch.softmax(x.reshape(b * c, h * w) / self.temperature, dim=-1)
        return (att @ self.grid).reshape(b, 2 * c)


class FiLMConvEncoder(nn.Module):
    def __init__(self, h: int, w: int, channels: tuple[int, ...], text_dim: int, out_dim: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList()
        self.films = nn.ModuleList()
        cin = 3
        for i, c in enumerate(channels):
            stride, k = (2, 5 if i == 0 else 3) if i < 3 else (1, 3)
            self.blocks.append(nn.Sequential(nn.Conv2d(cin, c, k, stride, k // 2), nn.GroupNorm(min(8, c // 4), c)))
            film = nn.Linear(text_dim, 2 * c)
            nn.init.zeros_(film.weight)
            nn.init.zeros_(film.bias)  # starts as the identity
            self.films.append(film)
            cin = c
            if i < 3:
                h, w = (h + 1) // 2, (w + 1) // 2
        self.keypoints = SpatialSoftmax(h, w)
        self.pool_proj = nn.Linear(2 * cin + cin, out_dim)

    def forward(self, img: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        x = img
        for block, film in zip(self.blocks, self.films):
            x = block(x)
            g, b = film(text).chunk(2, dim=-1)
            x = F.gelu(x * (1 + g[:, :, None, None]) + b[:, :, None, None])
        feats = torch.cat([self.keypoints(x), x.mean(dim=(2, 3))], dim=-1)
        return F.gelu(self.pool_proj(feats))


class TinyVLA(nn.Module):
    def __init__(self, cfg: TinyVLAConfig) -> None:
        super().__init__()
        self.cfg = cfg
        if cfg.text_proj is not None:
            self.register_buffer("text_mean", torch.tensor(cfg.text_mean, dtype=torch.float32))
            self.register_buffer("text_proj", torch.tensor(cfg.text_proj, dtype=torch.float32))
        text_in = len(cfg.text_proj[0]) if cfg.text_proj is not None else cfg.text_dim
        self.encoders = nn.ModuleDict({k.replace(".", "_"): FiLMConvEncoder(h, w, cfg.channels, text_in,
                                                                            cfg.feat_dim)
                                       for k, (h, w) in cfg.cameras.items()})
        n_state = len(cfg.state_keep) if cfg.state_keep is not None else cfg.state_dim
        if cfg.state_keep is not None:
            self.register_buffer("state_keep", torch.tensor(cfg.state_keep, dtype=torch.long), persistent=False)
        self.proprio = nn.Sequential(nn.Linear(n_state, 128), nn.GELU(), nn.Linear(128, 128), nn.GELU())
        self.text = nn.Sequential(nn.Linear(text_in, 128), nn.GELU())
        d_in = cfg.feat_dim * len(cfg.cameras) + 128 + 128
        self.inp = nn.Sequential(nn.Linear(d_in, cfg.hidden), nn.LayerNorm(cfg.hidden), nn.GELU())
        self.res = nn.ModuleList([nn.Sequential(nn.Linear(cfg.hidden, cfg.hidden), nn.LayerNorm(cfg.hidden), nn.GELU(),
                                                nn.Linear(cfg.hidden, cfg.hidden)) for _ in range(2)])
        self.out = nn.Linear(cfg.hidden, cfg.chunk * cfg.action_dim)
        if cfg.aux_goal:
            # Where the step goes, as a training signal for the encoders: on the table from the
            # front camera's features alone (the named object found in the image), and relative
            # to the hand from the trunk. Unused when acting.
            self.goal_front = nn.Linear(cfg.feat_dim, 3)
            self._front = next((i for i, k in enumerate(cfg.cameras) if k.endswith("front")), 0)
            self.goal_rel = nn.Linear(cfg.hidden, 3)
        self._register_norm("state", cfg.state_mean, cfg.state_std, cfg.state_dim)
        self._register_norm("action", cfg.action_mean, cfg.action_std, cfg.action_dim)
        self.register_buffer("img_mean", torch.tensor([0.5, 0.5, 0.5]).view(1, 3, 1, 1), persistent=False)

    def _register_norm(self, name: str, mean, std, dim: int) -> None:
        m = torch.tensor(mean if mean is not None else [0.0] * dim, dtype=torch.float32)
        s = torch.tensor(std if std is not None else [1.0] * dim, dtype=torch.float32).clamp(min=1e-4)
        self.register_buffer(f"{name}_mean", m)
        self.register_buffer(f"{name}_std", s)

    def forward(self, images: dict[str, torch.Tensor], state: torch.Tensor, text: torch.Tensor,
                aux: bool = False):
        """images: key -> (B, 3, h, w) float in [0, 1]; state (B, state_dim) raw; text (B, text_dim).
        Returns normalised actions (B, K, action_dim); with `aux` (a model built with `aux_goal`)
        also the goal heads' (B, 3) predictions: on the table from the front camera, and relative
        to the first arm's hand, both in units of GOAL_SCALE metres."""
        if self.cfg.text_proj is not None:
            text = (text - self.text_mean) @ self.text_proj
        feats = [enc(images[k] - self.img_mean, text)
                 for k, enc in zip(self.cfg.cameras, self.encoders.values())]
        s = (state - self.state_mean) / self.state_std
        if self.cfg.state_keep is not None:
            s = s[:, self.state_keep]
        x = self.inp(torch.cat([*feats, self.proprio(s), self.text(text)], dim=-1))
        for block in self.res:
            x = x + block(x)
        actions = self.out(x).view(-1, self.cfg.chunk, self.cfg.action_dim)
        if not aux:
            return actions
        return actions, self.goal_front(feats[self._front]), self.goal_rel(x)

    def normalise_actions(self, a: torch.Tensor) -> torch.Tensor:
        return (a - self.action_mean) / self.action_std

    def unnormalise_actions(self, a: torch.Tensor) -> torch.Tensor:
        return a * self.action_std + self.action_mean

    @torch.no_grad()
    def predict(self, images: dict[str, torch.Tensor], state: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """Raw (unnormalised) actions (B, K, action_dim)."""
        return self.unnormalise_actions(self(images, state, text))


def param_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def images_to_tensor(frames: np.ndarray | list[np.ndarray]) -> torch.Tensor:
    """(B, h, w, 3) uint8 -> (B, 3, h, w) float in [0, 1]."""
    a = torch.from_numpy(np.ascontiguousarray(np.asarray(frames)))
    return a.permute(0, 3, 1, 2).float().div_(255.0)
