"""The Gradio app: chat and voice with the robot, a live camera, the task panel and a big STOP.

`build_app(session)` builds the page and never launches it (`ui/serve.py` does, and the
tests launch it on a free port). Sessions and browser tabs, decided:
- `build_app(SessionPool(...))` (what `robot-assistant run` does): every browser session
  gets its own simulated robot, created when the page loads and closed when it is
  closed; at most `max_sessions` live at once (each needs a core for real-time physics
  and rendering), the least recently used idle one is closed to make room, and a tab
  that still finds no room is told so.
- `build_app(Session or LiveSession)`: one shared robot for every tab, for a real arm or a
  demo screen; turns from all tabs go through its one queue, in arrival order, and every
  tab sees the same chat and task.
"""
from __future__ import annotations

import dataclasses
import logging
import tempfile
import threading
import time
from collections.abc import Callable

import gradio as gr

from assistant.session import Session, SessionConfig

from .live import LiveSession
from .presets import DEFAULT_PRESET, PRESETS, scene

log = logging.getLogger(__name__)
EMBODIMENTS = ("panda", "bimanual", "kuka")
BACKENDS = ("lexicon", "openai", "transformers")
REFRESH_S = 0.15  # the page polls the camera and task this often (>= 5 frames per second when moving)

CSS = """
#stop-button {background: #d11a2a !important; color: white !important; font-size: 1.6em !important;
              font-weight: 700; min-height: 3.2em; border-radius: 12px;}
#task-panel {min-height: 12em;}
"""


class Busy(RuntimeError):
    pass


class SessionPool:
    """One LiveSession per browser session, at most `max_sessions` at once."""

    def __init__(self, max_sessions: int = 2, idle_close_s: float = 900.0,
                 make: Callable[[SessionConfig], LiveSession] = LiveSession) -> None:
        self.max_sessions, self.idle_close_s, self.make = max_sessions, idle_close_s, make
        self.sessions: dict[str, LiveSession] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> LiveSession | None:
        live = self.sessions.get(key)
        return None if live is None or live.closed else live

    def create(self, key: str, config: SessionConfig) -> LiveSession:
        with self._lock:
            old = self.sessions.pop(key, None)
            if old is not None:
                old.close()
            self._evict()
            if len(self.sessions) >= self.max_sessions:
                raise Busy(f"all {self.max_sessions} robots are in use by other browser tabs; try again later")
            live = self.make(config)
            self.sessions[key] = live
            return live

    def _evict(self) -> None:
        now = time.monotonic()
        for k, s in sorted(self.sessions.items(), key=lambda kv: kv[1].last_used):
            idle = s.snapshot().status not in ("running", "paused")
            if s.closed or now - s.last_used > self.idle_close_s or (
                    len(self.sessions) >= self.max_sessions and idle):
                s.close()
                del self.sessions[k]
                if len(self.sessions) < self.max_sessions:
                    return

    def close(self, key: str) -> None:
        with self._lock:
            s = self.sessions.pop(key, None)
        if s is not None:
            s.close()

    def close_all(self) -> None:
        for k in list(self.sessions):
            self.close(k)


_SERVER_FIELDS = ("task_log", "controller", "policy_url", "checkpoint")


class _Shared:
    """One robot for everyone (see the module docstring)."""

    def __init__(self, live: LiveSession) -> None:
        self.live = live

    def get(self, key: str) -> LiveSession:
        return self.live

    def create(self, key: str, config: SessionConfig) -> LiveSession:
        # The page chooses the robot, scene and backend; what the command line chose (the task
        # log, the controller) stays with the shared robot across resets.
        kept = {f: getattr(self.live.config, f) for f in _SERVER_FIELDS if hasattr(self.live.config, f)}
        config = dataclasses.replace(config, **kept)
        if config != self.live.config:
            self.live.close()
            self.live = LiveSession(config)
        return self.live

    def close(self, key: str) -> None:
        pass  # the shared robot outlives the tabs

    def close_all(self) -> None:
        self.live.close()


def _config(embodiment: str, preset: str, backend: str, args: dict | None = None) -> SessionConfig:
    return SessionConfig(embodiment=embodiment, scene=scene(preset), understanding=backend,
                         understanding_args=dict(args or {}))


def build_app(session: SessionPool | Session | LiveSession | None = None, *, embodiment: str = "panda",
              preset: str = DEFAULT_PRESET, backend: str = "lexicon", backend_args: dict | None = None,
              speak_replies: bool = True) -> gr.Blocks:
    if session is None:
        pool = SessionPool()
    elif isinstance(session, SessionPool):
        pool = session
    elif isinstance(session, LiveSession):
        pool = _Shared(session)
    elif isinstance(session, Session):  # wrap a ready Session's configuration in a live runner
        cfg = session.config
        session.close()
        pool = _Shared(LiveSession(cfg))
    else:
        raise TypeError(f"build_app takes a SessionPool, Session or LiveSession, not {type(session).__name__}")
    defaults = {"embodiment": embodiment, "preset": preset, "backend": backend}
    speaker_box: dict = {}
    streams: dict[str, object] = {}

    def key_of(request: gr.Request | None) -> str:
        return getattr(request, "session_hash", None) or "default"

    def live_for(request: gr.Request | None) -> LiveSession:
        key = key_of(request)
        live = pool.get(key)
        if live is None:
            live = pool.create(key, _config(defaults["embodiment"], defaults["preset"], defaults["backend"],
                                            backend_args))
        return live

    def reply_audio(reply, mute: bool):
        if mute or not speak_replies or reply is None or not reply.text:
            return None
        try:
            if "speaker" not in speaker_box:
                from speech import make_speaker

                speaker_box["speaker"] = make_speaker("espeak")
            wav = speaker_box["speaker"].to_wav(reply.text, reply.language)
        except Exception as e:  # no espeak-ng: the chat still works, silently
            log.warning("spoken reply unavailable: %s", e)
            return None
        f = tempfile.NamedTemporaryFile(prefix="reply-", suffix=".wav", delete=False)
        f.write(wav)
        f.close()
        return f.name

    # -- handlers --------------------------------------------------------------------------------
    def on_load(request: gr.Request):
        try:
            live = live_for(request)
        except Busy as e:
            return [{"role": "assistant", "content": f"⚠️ {e}"}], "", None
        snap = live.snapshot()
        return snap.messages, snap.task_md, snap.frame

    def on_send(text: str, mute: bool, request: gr.Request):
        try:
            live = live_for(request)
            reply = live.chat(text if isinstance(text, str) else "")
        except Busy as e:
            return "", [{"role": "assistant", "content": f"⚠️ {e}"}], gr.skip(), None
        snap = live.snapshot()
        return "", snap.messages, snap.task_md, reply_audio(reply, mute)

    def on_audio(path, mute: bool, request: gr.Request):
        if not path:
            return gr.skip(), gr.skip(), None, None
        try:
            live = live_for(request)
        except Busy as e:
            return [{"role": "assistant", "content": f"⚠️ {e}"}], gr.skip(), None, None
        turn = live.hear(path)
        snap = live.snapshot()
        return snap.messages, snap.task_md, reply_audio(turn.reply, mute), None

    def on_stream(chunk, request: gr.Request) -> None:
        """Hands-free: chunks as the microphone records; an utterance when the person pauses.
        Results reach the page through the chat and task panel that the timer refreshes."""
        if chunk is None:
            return
        from speech.stream import StreamingRecognizer

        try:
            live = live_for(request)
        except Busy:
            return  # the page already says why (on load)
        key = key_of(request)
        rec = streams.get(key)
        if rec is None:
            voice = live.session.voice
            rec = streams[key] = StreamingRecognizer(
                voice.transcriber, is_stop=_is_stop, language_hint=lambda: live.session.dm.language,
                prompt=lambda lang: voice.prompt_from(live.call(
                    lambda s: [(o.kind, o.color) for o in s.dm.scene_fn().objects]), lang))
        rate, samples = chunk
        for ev in rec.feed(samples, rate):
            if ev.kind == "stop":
                live.stop_now()
                live._add("user", f"🎤 {ev.transcript.text}")
            else:
                live.handle_transcript(ev.transcript)

    def on_stream_end(request: gr.Request) -> None:
        rec = streams.get(key_of(request))
        live = pool.get(key_of(request))
        if rec is not None and live is not None:
            for ev in rec.flush():
                live.handle_transcript(ev.transcript)

    def on_stop(request: gr.Request):
        live = pool.get(key_of(request))
        if live is not None:
            live.stop_now()

    def on_reset(emb: str, pre: str, be: str, request: gr.Request):
        streams.pop(key_of(request), None)
        try:
            live = pool.create(key_of(request), _config(emb, pre, be, backend_args))
        except Busy as e:
            return [{"role": "assistant", "content": f"⚠️ {e}"}], "", None, _hints(pre)
        except Exception as e:
            return [{"role": "assistant", "content": f"⚠️ could not start: {e}"}], "", None, _hints(pre)
        snap = live.snapshot()
        return snap.messages, snap.task_md, snap.frame, _hints(pre)

    def on_tick(seen: dict, request: gr.Request):
        live = pool.get(key_of(request))
        if live is None:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), seen
        snap = live.snapshot()
        seen = dict(seen or {})
        frame = snap.frame if snap.frame_id != seen.get("frame") else gr.skip()
        changed = snap.version != seen.get("version")
        seen.update(frame=snap.frame_id, version=snap.version)
        status = (f"**{snap.meta.get('embodiment', '')}** · sim {snap.sim_time:6.1f} s · "
                  f"{snap.realtime_factor:.2f}x real time · status `{snap.status}`")
        return (frame, snap.task_md if changed else gr.skip(), snap.messages if changed else gr.skip(),
                status, seen)

    def on_unload(request: gr.Request):
        streams.pop(key_of(request), None)
        pool.close(key_of(request))

    # -- layout ----------------------------------------------------------------------------------
    with gr.Blocks(title="Robot assistant") as demo:
        gr.Markdown("# Robot assistant\nTalk or type to the robot in your language, and watch it work.")
        with gr.Row():
            with gr.Column(scale=3):
                camera = gr.Image(label="Live view", interactive=False, elem_id="camera", height=330)
                status_line = gr.Markdown(elem_id="status-line")
                stop = gr.Button("■ STOP", elem_id="stop-button", variant="stop")
                task = gr.Markdown("", elem_id="task-panel", label="Task")
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Chat", elem_id="chat", height=380)
                with gr.Row():
                    text = gr.Textbox(placeholder="Type a request, e.g. put the red cube in the tray",
                                      show_label=False, elem_id="chat-input", scale=5, max_lines=3)
                    send = gr.Button("Send", elem_id="send-button", variant="primary", scale=1)
                hints = gr.Markdown(_hints(preset), elem_id="hints")
                with gr.Row():
                    mic = gr.Audio(sources=["microphone", "upload"], type="filepath", label="Push to talk / upload",
                                   elem_id="mic")
                    live_mic = gr.Audio(sources=["microphone"], streaming=True, label="Hands-free",
                                        elem_id="live-mic")
                with gr.Row():
                    spoken = gr.Audio(label="Reply", autoplay=True, interactive=False, elem_id="reply-audio")
                    mute = gr.Checkbox(label="Mute spoken replies", value=not speak_replies, elem_id="mute")
        with gr.Accordion("Robot, scene and planner", open=False):
            with gr.Row():
                emb = gr.Dropdown(list(EMBODIMENTS), value=embodiment, label="Embodiment", elem_id="embodiment")
                pre = gr.Dropdown([(p.title, p.name) for p in PRESETS.values()], value=preset, label="Scene",
                                  elem_id="preset")
                be = gr.Dropdown(list(BACKENDS), value=backend, label="Planner backend", elem_id="backend")
                reset = gr.Button("Reset", elem_id="reset-button")
        seen = gr.State({})
        timer = gr.Timer(REFRESH_S)

        demo.load(on_load, None, [chat, task, camera])
        send.click(on_send, [text, mute], [text, chat, task, spoken], api_name="send")
        text.submit(on_send, [text, mute], [text, chat, task, spoken], api_name=False)
        mic.stop_recording(on_audio, [mic, mute], [chat, task, spoken, mic], api_name="hear")
        mic.upload(on_audio, [mic, mute], [chat, task, spoken, mic], api_name=False)
        live_mic.stream(on_stream, [live_mic], None, stream_every=0.5, time_limit=120, api_name=False)
        live_mic.stop_recording(on_stream_end, None, None, api_name=False)
        stop.click(on_stop, None, None, api_name="stop", queue=False)
        reset.click(on_reset, [emb, pre, be], [chat, task, camera, hints], api_name="reset")
        timer.tick(on_tick, [seen], [camera, task, chat, status_line, seen], api_name="refresh",
                   show_progress="hidden")
        demo.unload(on_unload)
    demo.pool = pool  # for the launcher and tests (closing the robots)
    return demo


def _hints(preset: str) -> str:
    p = PRESETS.get(preset)
    if p is None:
        return ""
    return "**Try:** " + " · ".join(f"“{s}”" for s in p.try_saying)


def _is_stop(text: str, language: str | None) -> bool:
    """Does this (partial) transcript say stop, in its language's lexicon?"""
    from planner.fuzzy import repair
    from planner.lexicon_parser import LexiconParser

    if not text or not language:
        return False
    try:
        intent = LexiconParser().parse(repair(text, language)[0], language, "running")
    except FileNotFoundError:
        return False
    return intent.act.value == "stop"


def theme_kwargs() -> dict:
    return {"css": CSS, "theme": gr.themes.Soft()}


__all__ = ["Busy", "SessionPool", "build_app", "theme_kwargs"]
