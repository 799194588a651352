"""Launch the cells of a spec as submitit jobs, and report progress.

``run`` is idempotent: it scans the shards first and submits only the cells without one (failed
cells included, so a rerun retries them). Cells are grouped into chunks of
``packing.cells_per_job``; on SLURM the chunks go out as one job array.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from frozenbench.errors import unknown_name
from frozenbench.extras import require
from frozenbench.provenance import code_version
from generation.spec import GridSpec, Plan
from generation.store import Cell, ShardStore, StoreState

EXECUTORS = ("slurm", "local", "debug")


def plan_cells(plan: Plan) -> list[Cell]:
    return [(c.config_id, c.z, c.seed) for c in plan.cells]


def chunk_cells(cells: Sequence[Cell], size: int) -> list[list[Cell]]:
    """Chunks of at most ``size`` cells; the costliest (highest z) cells go out first.

    >>> chunk_cells([(0, 1, 0), (0, 6, 0), (1, 6, 0)], 2)
    [[(0, 6, 0), (1, 6, 0)], [(0, 1, 0)]]
    """
    ordered = sorted(cells, key=lambda c: (-c[1], c[0], c[2]))
    return [ordered[i:i + size] for i in range(0, len(ordered), size)]


def make_executor(kind: str, spec: GridSpec, folder: Path, *, max_jobs: int | None = None,
                  params: Mapping[str, Any] | None = None) -> Any:
    """A submitit executor for ``kind`` with the spec's resources.

    ``params`` are passed to ``update_parameters`` last (e.g. ``slurm_signal_delay_s``).
    """
    submitit = require("submitit")
    res = spec.resources
    if kind == "slurm":
        ex = submitit.AutoExecutor(folder=folder, cluster="slurm",
                                   slurm_max_num_timeout=res.max_requeues)
        kw: dict[str, Any] = {
            "name": f"fb-{spec.benchmark}",
            "timeout_min": res.time_min,
            "nodes": 1,
            "tasks_per_node": 1,
            "cpus_per_task": max(res.cpus, spec.packing.concurrent if res.gpus == 0 else 1),
            "mem_gb": res.mem_gb,
            # Signal before the time limit so the checkpoint can requeue the rest.
            "slurm_signal_delay_s": min(90, max(10, res.time_min * 60 // 5)),
        }
        if res.gpus:
            kw["gpus_per_node"] = res.gpus
        if res.partition:
            kw["slurm_partition"] = res.partition
        if res.account:
            kw["slurm_account"] = res.account
        if max_jobs:
            kw["slurm_array_parallelism"] = max_jobs
    elif kind == "local":
        ex = submitit.LocalExecutor(folder=folder, max_num_timeout=res.max_requeues)
        kw = {"timeout_min": res.time_min}
        if res.gpus:
            kw["gpus_per_node"] = res.gpus
    elif kind == "debug":
        ex = submitit.DebugExecutor(folder=folder)
        kw = {}
    else:
        raise unknown_name("executor", kind, EXECUTORS)
    kw.update(params or {})
    ex.update_parameters(**kw)
    return ex


@dataclass
class RunResult:
    """What :func:`run` did: the jobs it submitted, job-level errors, and the final counts."""

    out: Path
    submitted_cells: int
    jobs: list[Any] = field(default_factory=list)
    job_errors: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.counts.get("pending", 0) == 0 and self.counts.get("failed", 0) == 0


def prepare(spec: GridSpec, out: str | Path | None = None) -> tuple[Plan, ShardStore]:
    """Resolve the spec and create (or check) its output directory."""
    plan = spec.plan()
    store = ShardStore(spec.output_dir(out))
    store.init({"task": spec.task, "benchmark": spec.benchmark, "source": spec.source,
                "spec": dict(spec.raw), "cells": len(plan.cells)})
    return plan, store


def _chunk_fn(spec: GridSpec, store: ShardStore, plan: Plan, cells: list[Cell],
              progress: bool) -> Any:
    from generation.worker import CellChunk

    return CellChunk(
        out=str(store.root), task_name=plan.task.name, task_module=spec.task_module,
        grid=plan.task.space.to_dict(), cells=cells,
        device="cuda" if spec.resources.gpus else "cpu",
        concurrent=spec.packing.concurrent, code_version=code_version(), progress=progress,
    )


def run(spec: GridSpec, executor: str = "local", *, out: str | Path | None = None,
        max_jobs: int | None = None, wait: bool = True, params: Mapping[str, Any] | None = None,
        progress: bool = True, poll_s: float = 1.0) -> RunResult:
    """Train every cell of ``spec`` that has no shard yet; wait and report unless ``wait=False``.

    ``max_jobs`` caps the jobs running at once (SLURM array parallelism; local: processes,
    by default one per CPU core divided by ``packing.concurrent``).
    Job-level failures (a killed or cancelled job) are collected in ``job_errors``; rerunning
    the same call resumes where the grid stopped.
    """
    if executor not in EXECUTORS:
        raise unknown_name("executor", executor, EXECUTORS)
    plan, store = prepare(spec, out)
    cells = plan_cells(plan)
    state = store.scan()
    pending = [c for c in cells if c not in state.done]
    chunks = chunk_cells(pending, spec.packing.cells_per_job)
    result = RunResult(out=store.root, submitted_cells=len(pending))
    if chunks:
        ex = make_executor(executor, spec, store.logs, max_jobs=max_jobs, params=params)
        fns = [_chunk_fn(spec, store, plan, c, progress) for c in chunks]
        if executor == "slurm":
            result.jobs = list(ex.submit_array(fns))  # one job array
            if wait:
                _wait(result, store, cells, state, progress, poll_s)
        elif executor == "debug":
            result.jobs = [ex.submit(fn) for fn in fns]
            if wait:
                for job in result.jobs:
                    _collect(result, job)
        elif not wait:
            result.jobs = [ex.submit(fn) for fn in fns]
        else:  # local: at most max_jobs processes at once, the rest submitted as they free up
            if max_jobs is None:
                max_jobs = max(1, (os.cpu_count() or 1) // spec.packing.concurrent)
            _wait(result, store, cells, state, progress, poll_s,
                  queue=fns, submit=ex.submit, limit=max_jobs)
    result.counts = store.scan().counts(cells)
    return result


#: SLURM states of a job that ended without a result (submitit would wait 15 s for one).
ENDED_WITHOUT_RESULT = ("FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL",
                        "PREEMPTED", "BOOT_FAIL", "DEADLINE")


def _collect(result: RunResult, job: Any) -> None:
    state = str(getattr(job, "state", "")).split(" ")[0]
    if state in ENDED_WITHOUT_RESULT and not job.paths.result_pickle.exists():
        result.job_errors.append(f"job {job.job_id}: ended {state} (see {job.paths.stderr})")
        return
    try:
        job.result()
    except Exception as exc:  # a killed, cancelled or crashed job: the rerun resumes it
        first = str(exc).strip().splitlines()[:3]
        result.job_errors.append(f"job {job.job_id}: {type(exc).__name__}: {' '.join(first)}")


def _bar(total: int, initial: int, progress: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc="cells done", unit="cell",
                disable=not progress, file=sys.stderr)


def _wait(result: RunResult, store: ShardStore, cells: list[Cell], state: StoreState,
          progress: bool, poll_s: float, *, queue: Sequence[Any] = (),
          submit: Any = None, limit: int = 0) -> None:
    """Poll until every job in ``result.jobs`` has ended, with a bar of cells done; callables in
    ``queue`` are submitted while fewer than ``limit`` jobs run (the local executor)."""
    wanted = set(cells)

    def done() -> int:
        return sum(1 for c in store.scan().done if c in wanted)

    bar = _bar(len(cells), sum(1 for c in state.done if c in wanted), progress)
    waiting, running = list(queue), list(result.jobs)
    while waiting or running:
        while waiting and len(running) < limit:
            job = submit(waiting.pop(0))
            result.jobs.append(job)
            running.append(job)
        time.sleep(poll_s)
        bar.update(done() - bar.n)
        for job in [j for j in running if j.done()]:
            _collect(result, job)
            running.remove(job)
    bar.update(done() - bar.n)
    bar.close()


def status(spec: GridSpec, out: str | Path | None = None, *, progress: bool = True,
           show_failed: int = 10) -> dict[str, int]:
    """Counts of ok / diverged / failed / pending cells, with a progress bar and the first
    failures (cell, error)."""
    plan = spec.plan()
    store = ShardStore(spec.output_dir(out))
    cells = plan_cells(plan)
    state = store.scan()
    counts = state.counts(cells)
    done = counts["ok"] + counts["diverged"]
    if progress:
        from tqdm import tqdm

        tqdm(total=len(cells), initial=done, desc="cells done", unit="cell", file=sys.stderr,
             postfix=", ".join(f"{k} {v}" for k, v in counts.items())).close()
    print(f"{spec.benchmark} ({store.root}): {len(cells)} cells: "
          + ", ".join(f"{k} {v}" for k, v in counts.items()))
    failed = [c for c in cells if c in state.failed and c not in state.done]
    for cell in failed[:show_failed]:
        rec = store.failure(cell) or {}
        print(f"  failed {rec.get('cell', cell)} (attempts {rec.get('attempts', '?')}): "
              f"{rec.get('error', '?')}")
    if len(failed) > show_failed:
        print(f"  ... and {len(failed) - show_failed} more failed cells in {store.failures}")
    return counts
