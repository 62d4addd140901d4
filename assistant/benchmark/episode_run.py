"""One household-benchmark episode: a fresh Session on a seeded scene, the person's turns as text,
ticks until the task is idle or the time is up, perturbations mid-task, and the judgement.

Timeline of a moving episode (sim time, t = 0 at the first turn):

- the first turn is submitted; its wall time is turn -> plan (language ID, parse, grounding,
  planning on the session's recent view);
- the first tick on which a joint moves faster than 0.05 rad/s is turn -> first motion;
- 0.5 s after the first motion the perturbation happens: the change turn (`changed`: change ->
  new goal is the sim time until a step of the new plan runs), the object being reached for is
  moved to a free spot (`moved`) or taken away (`removed`);
- with `stop_probe`, 1 s after the first motion (while a joint moves) the person says "stop" in
  their language; stop -> halt is the sim time until every joint is below 0.01 rad/s; 0.5 s
  later they say "continue";
- the episode ends when the task is idle (done, failed, ...) and nothing moves, or at the
  family's time limit (a time-out is a failure even if the goal happens to hold).

Questions: the scene change (if any) happens 1 s before the question, so that the person asks
about a table they have seen change; a `changed` episode asks the other question 0.5 s later.
"""
from __future__ import annotations

import math
import time
from dataclasses import fields

import numpy as np

from .episodes import Episode, EpisodeResult
from .judge import judge_answer, judge_world
from .phrases import PHRASES
from .tasks import NEAR_START, Task, build_task

MOTION = 0.05  # rad/s: a joint faster than this is moving (at rest is below 0.01)
AT_REST = 0.01  # rad/s: the dialogue-script spec's "halted"
SETTLE = 0.5  # s of ticks before the first turn: objects settle, the session takes its first look
PERTURB_AFTER = 0.5  # s after the first motion
STOP_AFTER = 1.0  # s after the first motion
RESUME_AFTER = 0.5  # s after the halt
HALT_LIMIT = 2.0  # s: a stop not at rest by then is recorded as not halting
WALL_LIMIT = 300.0  # s of wall time: a hung episode fails instead of blocking its worker forever
_WARM: set[str] = set()


class ControllerUnavailable(RuntimeError):
    """The Session of this checkout cannot run the requested controller."""


def session_config(ep: Episode, scene, checkpoint: str | None = None):
    from assistant.session import SessionConfig

    kw = {}
    if ep.controller != "scripted":
        if "controller" not in {f.name for f in fields(SessionConfig)}:
            raise ControllerUnavailable(
                f"controller {ep.controller!r}: this Session has no `controller` option yet (SessionConfig has no "
                "`controller` field); run with --controllers scripted")
        kw["controller"] = ep.controller
        if checkpoint:
            kw["checkpoint"] = checkpoint
    return SessionConfig(embodiment=ep.embodiment, scene=scene, **kw)


def _warm_up(language: str) -> None:
    """Load the language's lexicon and language-ID models once per process, with another sentence,
    so that turn -> plan measures a turn and not a cold start."""
    if language in _WARM:
        return
    from assistant.messages import say
    from assistant.safety import check
    from planner.language import DomainLanguageDetector
    from planner.lexicon_parser import LexiconParser

    text = PHRASES[language].put_all
    DomainLanguageDetector().detect(text)
    intent = LexiconParser().parse(text, language)
    check(text, language, intent, False)  # the constitution's word lists, read on first use
    say(language, "ack_task")
    _WARM.add(language)


def run_episode(ep: Episode, checkpoint: str | None = None) -> EpisodeResult:
    from assistant.session import Session

    wall0 = time.perf_counter()
    task = build_task(ep.family, ep.language, ep.perturbation, ep.seed)
    _warm_up(ep.language)
    res = EpisodeResult(ep, False)
    session = Session(session_config(ep, task.scene, checkpoint))
    try:
        session.run(SETTLE)
        if ep.family == "questions":
            _questions(ep, task, session, res)
        else:
            _manipulation(ep, task, session, res, wall0)
        res.sim_seconds = session.time
    finally:
        session.close()
        res.wall_seconds = time.perf_counter() - wall0
    return res


def _idle(session) -> bool:
    from assistant.session import IDLE_STATUSES

    return session.state().status in IDLE_STATUSES and not session.dm.busy


def _runner_busy(session) -> bool:
    runner = getattr(session.dm, "runner", None)
    return bool(getattr(runner, "busy", False)) and not getattr(runner, "paused", False)


def _manipulation(ep: Episode, task: Task, session, res: EpisodeResult, wall0: float) -> None:
    from assistant.task import Status

    robot, rng = session.robot, np.random.default_rng(ep.seed + 1)
    t0 = session.time
    w = time.perf_counter()
    reply = session.submit(task.command)
    res.turn_to_plan_ms = 1000 * (time.perf_counter() - w)
    res.replies.append(reply.text)
    goal, events = task.goal, []
    motion_at = change_at = stop_at = halted_at = None
    perturbed = resumed = timed_out = False
    removed: str | None = None
    while not _idle(session):
        if session.time - t0 > task.timeout or time.perf_counter() - wall0 > WALL_LIMIT:
            timed_out = True
            break
        for r in session.tick():
            events.append(r)
            res.replies.append(r.text)
        now = session.time
        speed = robot.max_joint_speed()
        if motion_at is None and speed > MOTION:
            motion_at, res.turn_to_motion_s = now, now - t0
        if change_at is not None and res.change_to_goal_s is None and _runner_busy(session):
            res.change_to_goal_s = now - change_at
        if motion_at is not None and not perturbed and now - motion_at >= PERTURB_AFTER:
            perturbed = True
            if ep.perturbation == "changed":
                r = session.submit(task.change)
                res.replies.append(r.text)
                goal, change_at = task.changed_goal, session.time
                if _runner_busy(session):  # the grasp under way goes on: the new goal is already pursued
                    res.change_to_goal_s = 0.0
            elif ep.perturbation in ("moved", "removed"):
                oid = _reached_for(session, task, goal)
                if ep.perturbation == "removed":
                    robot.world.remove_object(oid)
                    removed = oid
                else:
                    spot = _free_spot(robot, oid, rng, anchor=goal.dest if goal.kind == "near" else None)
                    if spot is not None:
                        robot.world.move_object(oid, spot)
        if ep.stop_probe and motion_at is not None:
            if stop_at is None and now - motion_at >= STOP_AFTER and speed > MOTION:
                res.replies.append(session.submit(PHRASES[ep.language].stop).text)
                stop_at = now
            elif stop_at is not None and halted_at is None:
                if speed < AT_REST or now - stop_at > HALT_LIMIT:
                    halted_at = now
                    res.stop_to_halt_s = now - stop_at if speed < AT_REST else None
            elif halted_at is not None and not resumed and now - halted_at >= RESUME_AFTER:
                res.replies.append(session.submit(PHRASES[ep.language].resume).text)
                resumed = True
    res.status = session.state().status.value
    if timed_out:
        res.success, res.reason = False, f"timed out after {session.time - t0:.0f} s (status {res.status})"
        return
    res.completion_s = session.time - t0
    if removed is not None and not any(o in robot.world.ids for o in goal.objects):
        # The only object of the goal was taken away: the right outcome is to say it cannot be done.
        said = [e for e in events if e.status is Status.FAILED and e.language == ep.language]
        res.success = res.status == Status.FAILED.value and bool(said)
        res.reason = "" if res.success else f"{removed} was removed: expected a failure report, got {res.status}"
        return
    res.success, why = judge_world(goal, robot)
    if not res.success:
        res.reason = (f"never moved: first reply {reply.text!r} (status {res.status})" if motion_at is None
                      else f"{why} (status {res.status})")


def _reached_for(session, task: Task, goal) -> str:
    """The goal's object the current plan step is about (what the arm is reaching for), if it is
    still on the table and not in a hand; else the first such object of the goal."""
    from embodiments.predicates import WorldTruth

    world = session.robot.world
    truth = WorldTruth(session.robot)
    free = [o for o in goal.objects if o in world.ids and truth.holder(o) is None]
    by_label = {(o.kind, o.resolved_color): o.id for o in task.scene.objects}
    st = session.state()
    if st.plan is not None and st.step < len(st.plan.steps):
        obj = st.plan.steps[st.step].obj
        oid = by_label.get((obj.kind, obj.color)) if obj is not None else None
        if oid in free:
            return oid
    return free[0] if free else task.primary


def _free_spot(robot, oid: str, rng: np.random.Generator, anchor: str | None = None, side: float | None = None):
    """A place on the table clear of every other object and hand, 12 cm or more from where the object
    is (and, for a `near` goal, not already near its anchor; for `side`, on that side of the table)."""
    from embodiments.sim.objects import KINDS

    world = robot.world
    r = KINDS[world.kinds[oid]].footprint
    cur = world.position(oid)[:2]
    others = [(world.position(i)[:2], KINDS[world.kinds[i]].footprint) for i in world.ids if i != oid]
    hands = [robot.arm(a).ee_pose()[0][:2] for a in robot.arms]
    for _ in range(1000):
        p = rng.uniform(-0.19, 0.19, 2)
        if side is not None:
            p[1] = side * rng.uniform(0.12, 0.19)
        if math.dist(p, cur) < 0.12 or any(math.dist(p, c) < r + rr + 0.02 for c, rr in others):
            continue
        if any(math.dist(p, h) < 0.1 for h in hands):
            continue
        if anchor is not None and anchor in world.ids and math.dist(p, world.position(anchor)[:2]) < NEAR_START:
            continue
        return [round(float(p[0]), 4), round(float(p[1]), 4)]
    return None


def _questions(ep: Episode, task: Task, session, res: EpisodeResult) -> None:
    robot, rng = session.robot, np.random.default_rng(ep.seed + 1)
    if ep.perturbation in ("moved", "removed"):
        oid = task.primary
        if ep.perturbation == "removed":
            robot.world.remove_object(oid)
        else:  # the duck goes to the other side; a cube just goes elsewhere (the count stays)
            side = -np.sign(robot.world.position(oid)[1]) if oid == "duck" else None
            spot = _free_spot(robot, oid, rng, side=side)
            if spot is not None:
                robot.world.move_object(oid, spot)
        session.run(1.0)
    oks, whys = [], []
    turns = [(task.command, task.goal)] + ([(task.change, task.changed_goal)] if ep.perturbation == "changed" else [])
    for i, (text, goal) in enumerate(turns):
        if i:
            session.run(0.5)
        w = time.perf_counter()
        reply = session.submit(text)
        if i == 0:
            res.turn_to_plan_ms = 1000 * (time.perf_counter() - w)
        res.replies.append(reply.text)
        ok, why = judge_answer(goal.question, reply.text, reply.language, ep.language, robot)
        oks.append(ok)
        whys.append(why)
    res.status = session.state().status.value
    res.success = all(oks)
    res.reason = "" if res.success else "; ".join(w for ok, w in zip(oks, whys) if not ok)
