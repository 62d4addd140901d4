"""Decoding audio from anything ffmpeg can read (through PyAV, which bundles ffmpeg) to 16 kHz mono.

faster-whisper has its own `decode_audio`, but it accepts only paths/file objects, has no
size or length limits and raises PyAV's own errors; the UI and the dialogue scripts need a
clear `AudioError` for corrupt or oversized uploads, and numpy arrays at any rate as input.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from .types import SAMPLE_RATE, AudioError

MAX_SECONDS = 60.0  # a spoken command; longer uploads are refused, not truncated silently
MAX_BYTES = 25 * 1024 * 1024


def load_audio(src: str | os.PathLike | bytes | np.ndarray, sample_rate: int | None = None,
               max_seconds: float = MAX_SECONDS) -> np.ndarray:
    """Mono float32 at 16 kHz in [-1, 1]. `sample_rate` is needed only for arrays."""
    if isinstance(src, np.ndarray):
        return _from_array(src, sample_rate or SAMPLE_RATE, max_seconds)
    if isinstance(src, (bytes, bytearray)):
        if len(src) == 0:
            raise AudioError("the audio is empty (0 bytes)")
        if len(src) > MAX_BYTES:
            raise AudioError(f"the audio is too big ({len(src) / 1e6:.1f} MB; at most {MAX_BYTES / 1e6:.0f} MB)")
        return _decode(io.BytesIO(bytes(src)), "<bytes>", max_seconds)
    path = Path(src)
    if not path.is_file():
        raise AudioError(f"no such audio file: {path}")
    size = path.stat().st_size
    if size == 0:
        raise AudioError(f"the audio file is empty: {path}")
    if size > MAX_BYTES:
        raise AudioError(f"the audio file is too big ({size / 1e6:.1f} MB; at most {MAX_BYTES / 1e6:.0f} MB): {path}")
    with open(path, "rb") as f:
        return _decode(f, str(path), max_seconds)


def _from_array(a: np.ndarray, rate: int, max_seconds: float) -> np.ndarray:
    a = to_float_mono(a)
    if not np.all(np.isfinite(a)):
        raise AudioError("the audio contains NaN or infinite samples")
    if a.size / rate > max_seconds:
        raise AudioError(f"the audio is too long ({a.size / rate:.0f} s; at most {max_seconds:.0f} s)")
    return resample(a, rate)


def to_float_mono(a: np.ndarray) -> np.ndarray:
    """float32 mono in [-1, 1] from int or float samples, shaped (n,), (n, ch) as Gradio gives
    them, or (ch, n)."""
    a = np.asarray(a)
    if np.issubdtype(a.dtype, np.integer):  # scale before mixing channels (the mean is a float)
        a = a.astype(np.float32) / float(np.iinfo(a.dtype).max)
    if a.ndim == 2:
        a = a.mean(axis=1) if a.shape[0] >= a.shape[1] else a.mean(axis=0)
    if a.ndim != 1:
        raise AudioError(f"audio arrays must be 1-D or 2-D, not shape {a.shape}")
    return a.astype(np.float32, copy=False)


def resample(a: np.ndarray, rate: int) -> np.ndarray:
    """Linear-interpolation resampling to 16 kHz (enough for speech recognition; no scipy needed)."""
    if rate == SAMPLE_RATE or a.size == 0:
        return a.astype(np.float32, copy=False)
    n = int(round(a.size * SAMPLE_RATE / rate))
    t = np.linspace(0.0, a.size - 1, num=max(n, 1))
    return np.interp(t, np.arange(a.size), a).astype(np.float32)


def _decode(f, name: str, max_seconds: float) -> np.ndarray:
    import av  # PyAV: its wheels bundle ffmpeg (wav, mp3, ogg/opus, webm, m4a, flac...)

    try:
        with av.open(f, mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioError(f"no audio stream in {name}")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            chunks, n = [], 0
            limit = int(max_seconds * SAMPLE_RATE)
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    arr = out.to_ndarray().reshape(-1)
                    chunks.append(arr)
                    n += arr.size
                if n > limit:
                    raise AudioError(f"the audio is too long (more than {max_seconds:.0f} s): {name}")
            for out in resampler.resample(None):  # flush
                chunks.append(out.to_ndarray().reshape(-1))
    except AudioError:
        raise
    except Exception as e:  # PyAV raises InvalidDataError, EOFError, ValueError... on corrupt input
        raise AudioError(f"cannot decode audio {name}: {type(e).__name__}: {e}") from None
    if not chunks:
        raise AudioError(f"no audio samples in {name}")
    audio = np.concatenate(chunks).astype(np.float32) / 32768.0
    if audio.size == 0:
        raise AudioError(f"no audio samples in {name}")
    return audio


def to_wav_bytes(audio: np.ndarray, rate: int = SAMPLE_RATE) -> bytes:
    """16-bit PCM mono WAV (stdlib `wave`)."""
    import wave

    pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()
