"""`robot-assistant transcribe` and `robot-assistant say` (wired into assistant/cli.py)."""
from __future__ import annotations

import json
import sys


def add_commands(sub) -> None:
    p = sub.add_parser("transcribe", help="speech to text (offline Whisper base by default)")
    p.add_argument("audio", help="an audio file: wav, mp3, ogg, webm, m4a, flac... any rate, mono or stereo")
    p.add_argument("--json", action="store_true", help="print JSON with segments and timings")
    p.add_argument("--language", default=None, help="the expected language (a hint, e.g. en)")
    p.add_argument("--model", default=None,
                   help="base (default, offline), a faster-whisper size name (downloads: needs internet) "
                        "or a CTranslate2 model folder")
    p.add_argument("--device", default="cpu", help="cpu | cuda | auto")
    p.add_argument("--compute-type", default="int8", help="int8 | int8_float16 | float16 | float32 ...")
    p.add_argument("--plain", action="store_true",
                   help="faster-whisper's defaults instead of the command-tuned decoding (for comparison)")
    p.set_defaults(func=_transcribe)

    p = sub.add_parser("say", help="text to speech with espeak-ng, to a WAV file")
    p.add_argument("text")
    p.add_argument("--lang", default="en", help="language code (en, es, fr, de, zh, ...)")
    p.add_argument("--out", required=True, help="the WAV file to write")
    p.set_defaults(func=_say)


def _transcribe(args) -> int:
    from planner.fuzzy import domain_coverage

    from .audio import load_audio
    from .models import ModelError
    from .registry import make_transcriber
    from .types import AudioError

    try:
        audio = load_audio(args.audio)
        t = make_transcriber("whisper", model=args.model, device=args.device, compute_type=args.compute_type)
        r = t.transcribe(audio, language_hint=args.language, robust=not args.plain, scorer=domain_coverage)
    except (AudioError, ModelError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(r.to_dict(), ensure_ascii=False, indent=2))
    else:
        note = " (translated to English)" if r.translated else ""
        if not r.heard:
            print("(nothing heard: silence or noise only)")
        else:
            print(f"[{r.language} {r.probability:.2f}]{note} {r.text}")
    return 0


def _say(args) -> int:
    from .tts import EspeakSpeaker, TTSError

    try:
        EspeakSpeaker().save(args.text, args.lang, args.out)
    except (TTSError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(args.out)
    return 0
