"""Running one validated dialogue script in its own Session (see `scripts.py` for the format checks)."""
from __future__ import annotations

import time
from pathlib import Path

from embodiments.predicates import WorldTruth
from embodiments.scene_spec import object_from_dict

from .controllers import ControllerError
from .scripts import Outcome, Script
from .session import Session, SessionConfig
from .task import Status

AT_REST = 0.01  # rad/s: "every arm joint speed falls under 0.01 rad/s"


def run_script(script: Script, video_dir: str | None = None, controller: dict | None = None) -> Outcome:
    """`controller`: SessionConfig's controller fields (controller, policy_url, checkpoint); default scripted."""
    out = Outcome(script.name)
    t_wall = time.perf_counter()
    try:
        session = Session(SessionConfig(script.embodiment, script.scene, **(controller or {})))
    except ControllerError as e:  # e.g. tiny_vla on a kuka script: this script fails, the others run
        out.fail(f"controller: {e}")
        out.wall_seconds = time.perf_counter() - t_wall
        return out
    writer = None
    if video_dir:
        from embodiments.sim.video import VideoWriter

        path = Path(video_dir) / (_slug(script.name) + ".mp4")
        writer = VideoWriter(path, fps=15).__enter__()
    refused = False
    try:
        every = max(1, session.robot.control_hz // 15)
        ticks = [0]

        def tick() -> None:
            for r in session.tick():
                out.replies.append({"time": round(session.time, 3), "event": True, "text": r.text,
                                    "language": r.language, "status": r.status.value})
            ticks[0] += 1
            if writer is not None and ticks[0] % every == 0:
                writer.add(session.robot.world.render(session.robot.front_camera).rgb)

        end = script.timeout
        for i, step in enumerate(script.steps):
            where = f"steps[{i}]"
            if session.time > end:
                out.fail(f"{where}: the script's timeout of {end:.0f} s ran out")
                break
            if "user" in step:
                reply = session.submit(step["user"])
                refused |= reply.status is Status.REFUSED
                out.replies.append({"time": round(session.time, 3), "user": step["user"], "text": reply.text,
                                    "language": reply.language, "status": reply.status.value,
                                    "detected": session.dm.last_detected})
                _expect(out, where, step.get("expect", {}), session, reply, tick)
            elif "say" in step or "audio" in step:
                turn = _spoken_turn(session, script, step, where, out)
                if turn is None:
                    continue
                refused |= turn.reply.status is Status.REFUSED
                t = turn.transcript
                out.replies.append({"time": round(session.time, 3), "say" if "say" in step else "audio":
                                    step.get("say") or step.get("audio"), "transcript": t.text if t else None,
                                    "heard_language": t.language if t else None, "text": turn.reply.text,
                                    "language": turn.reply.language, "status": turn.reply.status.value,
                                    "detected": session.dm.last_detected})
                _expect(out, where, step.get("expect", {}), session, turn.reply, tick, transcript=t)
            elif "wait" in step:
                w = step["wait"]
                if "seconds" in w:
                    for _ in range(int(round(float(w["seconds"]) * session.robot.control_hz))):
                        tick()
                else:
                    done = False
                    while session.time < end:
                        tick()
                        if session.state().status.value in ("done", "failed", "cancelled", "refused", "clarifying",
                                                            "idle") and not session.dm.busy:
                            done = True
                            break
                    if not done:
                        out.fail(f"{where}: wait until idle timed out (status {session.state().status.value})")
            elif "move" in step:
                try:
                    session.robot.world.move_object(step["move"]["object"], step["move"]["to"])
                except (ValueError, KeyError) as e:
                    out.fail(f"{where}: move: {e}")
            elif "remove" in step:
                try:
                    session.robot.world.remove_object(step["remove"])
                except (ValueError, KeyError) as e:
                    out.fail(f"{where}: remove: {e}")
            elif "add" in step:
                spec = object_from_dict(dict(step["add"]), f"{where}.add")
                try:
                    session.robot.world.add_object(spec)
                except ValueError as e:
                    out.fail(f"{where}: add: {e}")
        truth = WorldTruth(session.robot)
        for chk in script.final:
            (k, v), = chk.items()
            if k == "status":
                allowed = v if isinstance(v, list) else [v]
                ok = session.state().status.value in allowed
                why = f"status {session.state().status.value}, expected {' or '.join(allowed)}"
            elif k == "refused":
                ok, why = refused == bool(v), f"refused: {refused}"
            else:
                try:
                    ok, why = truth.check(chk)
                except Exception as e:  # an unknown id in a check is a failed check, with the reason
                    ok, why = False, str(e)
            label = f"final {k}: {v}"
            out.checks.append((label, ok, why))
            if not ok and out.passed:
                out.passed, out.failure = False, f"{label} ({why})"
        out.log = list(session.state().history)
        out.sim_seconds = session.time
    finally:
        if writer is not None:
            writer.__exit__(None, None, None)
        session.close()
        out.wall_seconds = time.perf_counter() - t_wall
    return out


def _spoken_turn(session: Session, script: Script, step: dict, where: str, out: Outcome):
    """espeak-ng -> WAV bytes (say) or the file (audio) -> the session's speech pipeline."""
    from speech.tts import EspeakSpeaker, TTSError

    try:
        if "say" in step:
            src = EspeakSpeaker().to_wav(step["say"], step["voice"])
        else:
            src = Path(script.path).parent / step["audio"]
        return session.submit_audio(src)
    except TTSError as e:
        out.fail(f"{where}: text-to-speech failed: {e}")
    except Exception as e:  # a broken model install: report it as the step's failure
        out.fail(f"{where}: speech pipeline error: {type(e).__name__}: {e}")
    return None


def _expect(out: Outcome, where: str, exp: dict, session: Session, reply, tick, transcript=None) -> None:
    def check(name: str, ok: bool, why: str) -> None:
        out.checks.append((f"{where}.expect.{name}", ok, why))
        if not ok:
            out.fail(f"{where}.expect.{name}: {why}")

    if "language" in exp:
        got = session.dm.last_detected
        check("language", got == exp["language"], f"detected {got}, expected {exp['language']}")
    if "reply_language" in exp:
        check("reply_language", reply.language == exp["reply_language"],
              f"replied in {reply.language}, expected {exp['reply_language']}")
    if "status" in exp:
        allowed = exp["status"] if isinstance(exp["status"], list) else [exp["status"]]
        check("status", reply.status.value in allowed, f"status {reply.status.value}, expected {' or '.join(allowed)}")
    if "reply_contains_any" in exp:
        words = exp["reply_contains_any"]
        ok = any(str(w).lower() in reply.text.lower() for w in words)
        check("reply_contains_any", ok, f"reply {reply.text!r} has none of {words}")
    if "halted_within" in exp:
        limit = float(exp["halted_within"])
        t0 = session.time
        halted = session.robot.max_joint_speed() < AT_REST
        while not halted and session.time - t0 < limit - 1e-9:
            tick()
            halted = session.robot.max_joint_speed() < AT_REST
        check("halted_within", halted, f"joints still moving after {session.time - t0:.3f} s (limit {limit})")
    if "transcript_contains_any" in exp:
        if transcript is None:
            check("transcript_contains_any", False, "typed turn: no transcript")
        else:
            words = exp["transcript_contains_any"]
            ok = any(str(w).lower() in transcript.text.lower() for w in words)
            check("transcript_contains_any", ok, f"transcript {transcript.text!r} has none of {words}")


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name).strip("_")[:80] or "script"
