"""Running the episodes: in local worker processes or on a Ray cluster, with a progress bar,
each result streamed to a JSON-lines file as it arrives.

Local: a `ProcessPoolExecutor` (spawn: a fresh interpreter per worker, no forked pybullet
state) with at most one episode per worker in flight, so that when a worker process dies
(a segfault in native code, the kernel killing it) we know which episodes were running. Those
are re-run one at a time in a fresh single-worker pool: one that kills its worker again is
recorded as a failed episode with the error, and the benchmark goes on. An exception inside an
episode never gets this far: `episodes.safe_run` turns it into a failed result.

Ray (`--ray ADDRESS`, or `--ray local` for a Ray instance started here): the same `safe_run`
as a Ray task, one CPU each, no retries (a retried episode would hide a crash).
"""
from __future__ import annotations

import json
import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from .episodes import Episode, EpisodeResult, safe_run

Emit = Callable[[int, EpisodeResult], None]


def _died(ep: Episode, why: str) -> EpisodeResult:
    return EpisodeResult(ep, False, reason="crashed", error=why)


def run_local(episodes: Sequence[Episode], workers: int, emit: Emit, checkpoint: str | None = None,
              fn: Callable[[Episode, str | None], EpisodeResult] = safe_run) -> None:
    """`fn(episode, checkpoint)` in worker processes (a module-level function: spawn imports it)."""
    ctx = multiprocessing.get_context("spawn")
    pending = list(enumerate(episodes))
    pool = ProcessPoolExecutor(max(1, workers), mp_context=ctx)
    in_flight: dict = {}
    try:
        while pending or in_flight:
            while pending and len(in_flight) < max(1, workers):
                i, ep = pending.pop(0)
                in_flight[pool.submit(fn, ep, checkpoint)] = (i, ep)
            done, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
            broken = False
            for fut in done:
                i, ep = in_flight.pop(fut)
                try:
                    emit(i, fut.result())
                except BrokenProcessPool:
                    broken = True
                    in_flight[fut] = (i, ep)  # a suspect: re-run alone below
                except Exception as e:  # e.g. a result that could not be sent back
                    emit(i, _died(ep, f"{type(e).__name__}: {e}"))
            if broken:
                suspects = list(in_flight.values())
                in_flight.clear()
                pool.shutdown(wait=False, cancel_futures=True)
                for i, ep in suspects:
                    emit(i, _isolated(ep, checkpoint, ctx, fn))
                pool = ProcessPoolExecutor(max(1, workers), mp_context=ctx)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _isolated(ep: Episode, checkpoint: str | None, ctx, fn) -> EpisodeResult:
    """Run one episode alone; if its worker dies again, that episode is the one that kills it."""
    with ProcessPoolExecutor(1, mp_context=ctx) as solo:
        try:
            return solo.submit(fn, ep, checkpoint).result()
        except BrokenProcessPool as e:
            return _died(ep, f"the worker process died while running this episode (BrokenProcessPool: {e})")


def run_ray(episodes: Sequence[Episode], address: str, workers: int, emit: Emit,
            checkpoint: str | None = None) -> None:
    try:
        import ray
    except ImportError as e:
        raise SystemExit("--ray needs Ray: pip install -e '.[ray]'") from e
    started = not ray.is_initialized()
    if started:
        if address == "local":
            ray.init(num_cpus=max(1, workers), include_dashboard=False, log_to_driver=False,
                     object_store_memory=128 * 1024 ** 2)
        else:
            ray.init(address=address, log_to_driver=False)
    try:
        task = ray.remote(num_cpus=1, max_retries=0)(safe_run)
        refs = {task.remote(ep, checkpoint): (i, ep) for i, ep in enumerate(episodes)}
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            for ref in ready:
                i, ep = refs.pop(ref)
                try:
                    emit(i, ray.get(ref))
                except Exception as e:  # the Ray worker died (RayTaskError, WorkerCrashedError, ...)
                    emit(i, _died(ep, f"Ray task failed: {type(e).__name__}: {str(e)[:500]}"))
    finally:
        if started:
            ray.shutdown()


def run_all(episodes: Sequence[Episode], workers: int = 2, ray_address: str | None = None,
            json_path: str | None = None, checkpoint: str | None = None, progress: bool = True,
            meta: dict | None = None) -> tuple[list[EpisodeResult], float]:
    """Every episode's result (in episode order) and the wall time; results stream to `json_path`
    (one JSON object per line, a `meta` line first) as they arrive."""
    from tqdm import tqdm

    results: list[EpisodeResult | None] = [None] * len(episodes)
    out = None
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        out = open(json_path, "w", encoding="utf-8")  # closed in the finally below
        out.write(json.dumps({"meta": meta or {}}) + "\n")
        out.flush()
    bar = tqdm(total=len(episodes), desc="household episodes", unit="ep", disable=not progress)
    ok = [0]

    def emit(i: int, res: EpisodeResult) -> None:
        results[i] = res
        ok[0] += res.success
        bar.update(1)
        bar.set_postfix_str(f"{ok[0]}/{bar.n} ok")
        if out is not None:
            out.write(json.dumps(res.to_dict(), ensure_ascii=False) + "\n")
            out.flush()

    t0 = time.perf_counter()
    try:
        if ray_address:
            run_ray(episodes, ray_address, workers, emit, checkpoint)
        else:
            run_local(episodes, workers, emit, checkpoint)
    finally:
        bar.close()
        wall = time.perf_counter() - t0
        if out is not None:  # the meta line again, now with the wall time (the last one wins when read)
            out.write(json.dumps({"meta": {**(meta or {}), "wall_seconds": wall}}) + "\n")
            out.close()
    return [r for r in results if r is not None], wall


def load_results(path: str) -> tuple[list[EpisodeResult], dict]:
    """Results and the meta line of a `--json` file (for `--from-json`: a report without re-running)."""
    results, meta = [], {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        d = json.loads(line)
        if "meta" in d and len(d) == 1:
            meta = d["meta"]
        else:
            results.append(EpisodeResult.from_dict(d))
    return results, meta
