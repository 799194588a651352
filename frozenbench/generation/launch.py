"""Launch the cells of a spec as submitit jobs (SLURM, local processes, or inline for
debugging), and say where a grid stands.

``run`` is idempotent: its planning (:func:`~frozenbench.generation.executors.plan_work`, shared
with every executor) verifies the stored cells first (quarantining any that fail, see
:meth:`~frozenbench.generation.store.ShardStore.repair`; it stops, moving nothing, when a stored
file cannot be read), and :class:`SubmititExecutor` submits only the cells without a sound shard
(failed cells included, so a rerun retries them). Cells are grouped into chunks of
``packing.cells_per_job``, one chunk per job. Every submitit executor goes through one
submission path, ``Executor.submit_array``: on SLURM the chunks go out as one job array (its
parallelism is ``max_jobs``); locally at most ``max_jobs`` jobs run at once and the rest are
submitted as they free up.

:func:`run` and :func:`status` return values (:class:`RunResult`, :class:`GridStatus`) and
report progress through a callback; the command line (``frozenbench generate``) prints them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from frozenbench.cell import Cell
from frozenbench.errors import InvalidValueError, unknown_name
from frozenbench.extras import require
from frozenbench.generation.executors import (
    CellLike,
    Execution,
    OnProgress,
    Tracker,
    Work,
    costly_first,
    plan_work,
    prepare,
)
from frozenbench.generation.integrity import CellCheck
from frozenbench.generation.lock import LockInfo, held_locks
from frozenbench.generation.spec import GridSpec
from frozenbench.generation.store import BAD_KINDS, BadShard, ShardStore, StoreState

__all__ = ["EXECUTORS", "GridStatus", "RunResult", "SubmititExecutor", "chunk_cells",
           "make_executor", "prepare", "run", "status"]

EXECUTORS = ("slurm", "local", "debug")
#: SLURM states of a job that ended without a result (submitit would wait 15 s for one).
ENDED_WITHOUT_RESULT = ("FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL",
                        "PREEMPTED", "BOOT_FAIL", "DEADLINE")


def chunk_cells(cells: Sequence[CellLike], size: int) -> list[list[CellLike]]:
    """Chunks of at most ``size`` cells; the costliest (highest z) cells go out first, and the
    cells of one (z, seed, schedule) stay together (a job can train them as one stacked model).

    >>> chunk_cells([Cell(0, 1, 0), Cell(0, 6, 1), Cell(0, 6, 0), Cell(1, 6, 0)], 2)
    [[Cell(config_id=0, z=6, seed=0), Cell(config_id=1, z=6, seed=0)], \
[Cell(config_id=0, z=6, seed=1), Cell(config_id=0, z=1, seed=0)]]
    """
    ordered = costly_first(cells)
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


@dataclass(frozen=True)
class RunResult:
    """What :func:`run` did: the stored files it set aside (:meth:`ShardStore.repair`: corrupt
    or duplicate), which of their cells it submitted again (``retrained``), the jobs it
    submitted, job-level errors, the final counts (ok / diverged / failed / pending among the
    spec's cells) and the locks of cells left pending (another run holds them, or a lock file
    without an owner is not stale yet)."""

    out: Path
    submitted_cells: int
    jobs: tuple[Any, ...] = ()
    job_errors: tuple[str, ...] = ()
    counts: Mapping[str, int] | None = None
    quarantined: tuple[BadShard, ...] = ()
    retrained: frozenset[Cell] = frozenset()
    locks: tuple[LockInfo, ...] = ()

    @property
    def complete(self) -> bool:
        """Every cell of the spec has a shard (ok or diverged)."""
        counts = self.counts or {}
        return counts.get("pending", 0) == 0 and counts.get("failed", 0) == 0


def run(spec: GridSpec, executor: str = "local", *, out: str | Path | None = None,
        max_jobs: int | None = None, wait: bool = True, params: Mapping[str, Any] | None = None,
        on_progress: OnProgress | None = None, poll_s: float = 1.0) -> RunResult:
    """Train every cell of ``spec`` that has no shard yet; wait and report unless ``wait=False``.

    ``max_jobs`` caps the jobs running at once (SLURM array parallelism; local: processes,
    by default one per CPU core divided by ``packing.concurrent``). ``on_progress`` is called
    with a :class:`~frozenbench.generation.executors.Progress` while waiting (every ``poll_s``
    seconds at most) and at the end. Job-level failures (a killed or cancelled job) are
    collected in ``job_errors``; rerunning the same call resumes where the grid stopped.
    """
    if executor not in EXECUTORS:
        raise unknown_name("executor", executor, EXECUTORS)
    require("submitit")  # MissingExtraError naming the pip command, before anything is done
    if spec.packing.stack > 1 and not hasattr(require(spec.task_module), "run_cells"):
        raise InvalidValueError(
            f"packing.stack = {spec.packing.stack} needs a task module that trains stacks "
            f"(run_cells); {spec.task_module} has none: set packing.stack = 1")
    work = plan_work(spec, out, "cuda" if spec.resources.gpus else "cpu")
    tracker = Tracker(work.total, work.done(), on_progress, every_s=poll_s)
    execution = Execution()
    if work.pending:
        execution = SubmititExecutor(spec, executor, max_jobs=max_jobs, wait=wait,
                                     params=params, poll_s=poll_s).execute(work, tracker)
    tracker.seen_done(work.done())
    tracker.report(force=True)
    pending = {j.cell for j in work.pending}
    final = work.store.scan()
    return RunResult(out=work.store.root, submitted_cells=len(pending), jobs=execution.jobs,
                     job_errors=execution.errors, counts=final.counts(work.plan.cells),
                     quarantined=work.quarantined,
                     retrained=frozenset(pending) & {b.cell for b in work.quarantined},
                     locks=pending_locks(work.store, set(work.plan.cells) - set(final.done)))


@dataclass(frozen=True)
class SubmititExecutor:
    """Runs planned work as submitit jobs of ``kind`` (:data:`EXECUTORS`): one
    :class:`~frozenbench.generation.worker.CellChunk` of ``packing.cells_per_job`` cells per
    job; with ``wait``, at most ``max_jobs`` running at once (local), polled every ``poll_s``
    seconds until every job has ended."""

    spec: GridSpec
    kind: str = "local"
    max_jobs: int | None = None
    wait: bool = True
    params: Mapping[str, Any] | None = None
    poll_s: float = 1.0

    def execute(self, work: Work, tracker: Tracker) -> Execution:
        """Submit ``work.pending`` in chunks; wait for the jobs unless ``wait`` is off."""
        from frozenbench.generation.worker import CellChunk

        spec = self.spec
        ex = make_executor(self.kind, spec, work.store.logs, max_jobs=self.max_jobs,
                           params=self.params)
        fns = [CellChunk(context=work.context, jobs=chunk, concurrent=spec.packing.concurrent,
                         stack=spec.packing.stack, progress=self.kind != "debug")
               for chunk in chunk_cells(work.pending, spec.packing.cells_per_job)]
        if not self.wait:
            return Execution(jobs=tuple(ex.submit_array(fns)))
        limit = len(fns)  # SLURM: one array (the scheduler applies max_jobs); debug: inline
        if self.kind == "local":
            limit = self.max_jobs or max(1, (os.cpu_count() or 1) // spec.packing.concurrent)
        return self._submit_and_wait(ex, fns, limit, work, tracker)

    def _submit_and_wait(self, ex: Any, fns: Sequence[Any], limit: int, work: Work,
                         tracker: Tracker) -> Execution:
        """Submit ``fns`` with at most ``limit`` jobs running at once and poll until every job
        has ended, reporting the cells done."""
        jobs: list[Any] = []
        errors: list[str] = []
        waiting, running = list(fns), list[Any]()
        while waiting or running:
            if waiting and len(running) < limit:
                batch = waiting[:limit - len(running)]
                del waiting[:len(batch)]
                new = list(ex.submit_array(batch))
                jobs.extend(new)
                running.extend(new)
            for job in [j for j in running if j.done()]:
                running.remove(job)
                error = _job_error(job)
                if error:
                    errors.append(error)
            tracker.seen_done(work.done())
            tracker.report()
            if running:
                time.sleep(self.poll_s)
        return Execution(jobs=tuple(jobs), errors=tuple(errors))


def pending_locks(store: ShardStore, cells: Collection[Cell]) -> tuple[LockInfo, ...]:
    """The lock files of ``cells`` (those still pending), for the report."""
    return tuple(info for info in held_locks(store.locks) if info.cell in cells)


def _job_error(job: Any) -> str | None:
    """Why a finished job has no result (None when it has one)."""
    state = str(getattr(job, "state", "")).split(" ")[0]
    if state in ENDED_WITHOUT_RESULT and not job.paths.result_pickle.exists():
        return f"job {job.job_id}: ended {state} (see {job.paths.stderr})"
    try:
        job.result()
    except Exception as exc:  # a killed, cancelled or crashed job: the rerun resumes it
        first = str(exc).strip().splitlines()[:3]
        return f"job {job.job_id}: {type(exc).__name__}: {' '.join(first)}"
    return None


@dataclass(frozen=True)
class Failure:
    """A cell whose last attempt failed (it has no shard; a rerun retries it)."""

    cell: Cell
    attempts: int
    error: str


@dataclass(frozen=True)
class GridStatus:
    """Where a grid stands: counts of ok / diverged / failed / pending (and unreadable) cells,
    the failures (in cell order), and the stored files that are not used, by kind
    (:data:`~frozenbench.generation.store.BAD_KINDS`): ``corrupt`` (``run`` quarantines them
    and retrains their cells), ``unreadable`` (this user cannot read them: never judged nor
    moved) and ``duplicates`` (a verified copy of the cell wins; ``run`` sets them aside); and
    the lock files of pending cells, with their owner and age."""

    benchmark: str
    out: Path
    cells: int
    counts: Mapping[str, int]
    failures: tuple[Failure, ...] = ()
    corrupt: tuple[BadShard, ...] = ()
    unreadable: tuple[BadShard, ...] = ()
    duplicates: tuple[BadShard, ...] = ()
    locks: tuple[LockInfo, ...] = ()

    @property
    def done(self) -> int:
        """Cells with a shard (ok or diverged)."""
        return self.counts.get("ok", 0) + self.counts.get("diverged", 0)


def status(spec: GridSpec, out: str | Path | None = None) -> GridStatus:
    """Counts of ok / diverged / failed / pending cells of ``spec``, its failed cells and the
    stored files that are not used (every stored cell is read and verified)."""
    plan = spec.plan()
    store = ShardStore(spec.output_dir(out))
    good, bad = store.read_cells(CellCheck.of(plan.task))
    kinds = {kind: tuple(b for b in bad if b.kind == kind) for kind in BAD_KINDS}
    state = StoreState({c: s.status for c, s in good.items()}, store.scan().failed,
                       frozenset(b.cell for b in kinds["unreadable"] if b.cell is not None))
    failures = []
    for cell in plan.cells:
        if cell in state.failed and cell not in state.done:
            rec = store.failure(cell) or {}
            failures.append(Failure(cell, int(rec.get("attempts", 0)), str(rec.get("error", "?"))))
    return GridStatus(benchmark=spec.benchmark, out=store.root, cells=len(plan.cells),
                      counts=state.counts(plan.cells), failures=tuple(failures),
                      corrupt=kinds["corrupt"], unreadable=kinds["unreadable"],
                      duplicates=kinds["duplicate"],
                      locks=pending_locks(store, set(plan.cells) - set(good)))
