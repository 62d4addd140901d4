"""Spoken replies with espeak-ng (Debian package, ~100 languages, installed by `make install`).

espeak-ng is called as a subprocess writing WAV to stdout: its Python wrappers are
unmaintained, and a subprocess keeps a crash in the synthesizer out of the session.
"""
from __future__ import annotations

import io
import shutil
import subprocess
import wave

import numpy as np

from .types import AudioError

# Our language code -> espeak-ng voice. Chinese is Mandarin read from characters (`cmn-latn-pinyin`:
# the plain `cmn` voice of Debian espeak-ng 1.51 speaks the tone digits of its pinyin in English), Portuguese the
# Brazilian voice (more speakers; the text catalogues are neutral), English American.
VOICES: dict[str, str] = {
    "en": "en-us", "es": "es", "fr": "fr-fr", "de": "de", "it": "it", "pt": "pt-br", "nl": "nl", "pl": "pl",
    "ru": "ru", "uk": "uk", "tr": "tr", "ar": "ar", "hi": "hi", "bn": "bn", "zh": "cmn-latn-pinyin", "ja": "ja",
    "ko": "ko", "vi": "vi", "id": "id", "sw": "sw", "sv": "sv", "fi": "fi", "cs": "cs", "el": "el", "he": "he",
    "th": "th", "fa": "fa",
}
MAX_CHARS = 2000  # a reply is a sentence or two; anything longer is cut, not read for minutes


class TTSError(RuntimeError):
    pass


class EspeakSpeaker:
    def __init__(self, binary: str | None = None, rate_wpm: int = 165, timeout: float = 30.0) -> None:
        self.binary = binary or shutil.which("espeak-ng") or shutil.which("espeak")
        self.rate, self.timeout = rate_wpm, timeout

    def available(self) -> bool:
        return self.binary is not None

    def voices(self) -> dict[str, str]:
        return dict(VOICES)

    def voice_for(self, language: str) -> str:
        return VOICES.get(language, VOICES.get(language.split("-")[0], "en-us"))

    def to_wav(self, text: str, language: str) -> bytes:
        if not self.binary:
            raise TTSError("espeak-ng is not installed (make install installs it with apt-get)")
        text = " ".join((text or "").split())[:MAX_CHARS]
        if not text:
            raise TTSError("nothing to say (empty text)")
        cmd = [self.binary, "-v", self.voice_for(language), "-s", str(self.rate), "--stdout"]
        try:
            # The text goes in on stdin: no shell, no argument parsing of text that starts with "-".
            res = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            raise TTSError(f"espeak-ng took longer than {self.timeout:.0f} s") from None
        if res.returncode != 0 or len(res.stdout) < 44:
            raise TTSError(f"espeak-ng failed ({res.returncode}): {res.stderr.decode(errors='replace').strip()}")
        return _fix_stream_wav(res.stdout)

    def synthesize(self, text: str, language: str) -> tuple[np.ndarray, int]:
        """(float32 mono samples, sample rate)."""
        return read_wav(self.to_wav(text, language))

    def save(self, text: str, language: str, path) -> None:
        with open(path, "wb") as f:
            f.write(self.to_wav(text, language))


def _fix_stream_wav(data: bytes) -> bytes:
    """espeak-ng writes WAV to a pipe with unknown lengths in the header (0x7fffffff): rewrite them,
    so players and decoders that trust the header read the whole file."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return data
    pos = 12
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        if cid == b"data":
            n = len(data) - pos - 8
            out = bytearray(data)
            out[pos + 4:pos + 8] = n.to_bytes(4, "little")
            out[4:8] = (len(data) - 8).to_bytes(4, "little")
            return bytes(out)
        pos += 8 + size
    return data


def read_wav(data: bytes) -> tuple[np.ndarray, int]:
    try:
        with wave.open(io.BytesIO(data)) as w:
            rate, width, ch = w.getframerate(), w.getsampwidth(), w.getnchannels()
            raw = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as e:
        raise AudioError(f"not a valid WAV: {e}") from None
    if width != 2:
        raise AudioError(f"only 16-bit WAV is supported here, not {8 * width}-bit")
    a = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    if ch > 1:
        a = a.reshape(-1, ch).mean(axis=1)
    return a, rate
