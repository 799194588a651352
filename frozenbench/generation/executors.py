"""What every executor of a spec's cells shares: planning, repair, scanning, the stacks, one
pool loop and progress through a callback.

An executor trains the pending :class:`~frozenbench.cell.CellJob` s of a run and reports each
outcome; everything around that is here, once:

- :func:`plan_work` resolves the spec, creates (or checks) the output directory, verifies the
  stored cells (quarantining any that fail, :meth:`~frozenbench.generation.store.ShardStore.
  repair`), scans what is done and returns the pending jobs with the :class:`~frozenbench.
  generation.one_cell.RunContext` every one of them shares (the code version is read once).
- :func:`stacks` groups jobs that share z, seed and schedule (the runner trains them as one
  stacked model), the costliest (highest z) first.
- :func:`run_pool` is the one loop that trains stacks in spawned worker processes: inside a
  submitit job (:class:`~frozenbench.generation.worker.CellChunk`, ``packing.concurrent``) and
  for processes sharing one device (:mod:`~frozenbench.generation.gpu_pack`).
- :class:`Tracker` turns outcomes (or a count of stored cells) into :class:`Progress` values
  passed to the caller's callback; only the command line prints them.

The executors behind the :class:`Executor` interface: submitit's SLURM, local and debug
executors (:class:`~frozenbench.generation.launch.SubmititExecutor`) and processes sharing one
device (:class:`~frozenbench.generation.gpu_pack.PackedExecutor`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from frozenbench.cell import Cell, CellJob
from frozenbench.errors import InvalidValueError
from frozenbench.generation import one_cell
from frozenbench.generation.integrity import CellCheck
from frozenbench.generation.one_cell import RunContext
from frozenbench.generation.store import BadShard, ShardStore
from frozenbench.provenance import code_version

if TYPE_CHECKING:
    from frozenbench.generation.spec import GridSpec, Plan

#: A cell within a table or a job: what grouping and ordering accept alike.
CellLike = TypeVar("CellLike", Cell, CellJob)


def costly_first(cells: Sequence[CellLike]) -> list[CellLike]:
    """``cells`` ordered so that the costliest (highest z) go first and the cells of one
    (z, seed, schedule) stay together.

    >>> costly_first([Cell(1, 1, 0), Cell(0, 2, 1), Cell(0, 2, 0)])
    [Cell(config_id=0, z=2, seed=0), Cell(config_id=0, z=2, seed=1), Cell(config_id=1, z=1, seed=0)]
    """
    return sorted(cells, key=lambda c: (-c.z, c.seed, c.schedule, c.config_id))


def stacks(cells: Sequence[CellLike], size: int) -> list[list[CellLike]]:
    """Groups of at most ``size`` cells that share z, seed and schedule (the runner stacks
    them), the costliest (highest z) first.

    >>> stacks([Cell(0, 1, 0), Cell(1, 1, 0), Cell(2, 1, 0), Cell(0, 2, 0), Cell(0, 1, 1)], 2)
    [[Cell(config_id=0, z=2, seed=0)], [Cell(config_id=0, z=1, seed=0), \
Cell(config_id=1, z=1, seed=0)], [Cell(config_id=2, z=1, seed=0)], \
[Cell(config_id=0, z=1, seed=1)]]
    """
    if size < 1:
        raise InvalidValueError(f"stack size={size} must be >= 1")
    groups: dict[tuple[int, int, str], list[CellLike]] = {}
    for cell in costly_first(cells):
        groups.setdefault((cell.z, cell.seed, cell.schedule), []).append(cell)
    return [g[i:i + size] for g in groups.values() for i in range(0, len(g), size)]


@dataclass(frozen=True)
class Work:
    """A run's planned work: the resolved spec, its store, the stored files that repair set
    aside, the cells left to train and what every one of them shares."""

    plan: Plan
    store: ShardStore
    quarantined: tuple[BadShard, ...]
    pending: tuple[CellJob, ...]
    context: RunContext

    @property
    def total(self) -> int:
        """The spec's cells."""
        return len(self.plan.cells)

    def counts(self) -> dict[str, int]:
        """ok / diverged / failed / pending counts among the spec's cells, scanned now."""
        return self.store.scan().counts(self.plan.cells)

    def done(self) -> int:
        """The spec's cells with a shard (ok or diverged), scanned now."""
        wanted = set(self.plan.cells)
        return sum(1 for c in self.store.scan().done if c in wanted)


def prepare(spec: GridSpec, out: str | Path | None = None) -> tuple[Plan, ShardStore]:
    """Resolve the spec and create (or check) its output directory."""
    plan = spec.plan()
    store = ShardStore(spec.output_dir(out))
    store.init({"task": spec.task, "benchmark": spec.benchmark, "source": spec.source,
                "spec": dict(spec.raw), "cells": len(plan.cells)})
    return plan, store


def plan_work(spec: GridSpec, out: str | Path | None, device: str) -> Work:
    """Plan a run of ``spec`` on ``device``: prepare the output directory, quarantine stored
    cells that fail verification, and list the cells without a sound shard (failed cells
    included, so a rerun retries them)."""
    plan, store = prepare(spec, out)
    quarantined = store.repair(CellCheck.of(plan.task))
    done = store.scan().done
    pending = tuple(CellJob.of(plan.task.name, c) for c in plan.cells if c not in done)
    context = RunContext(out=str(store.root), task_module=spec.task_module,
                         grid=plan.task.space.to_dict(), device=device,
                         code_version=code_version())
    return Work(plan, store, tuple(quarantined), pending, context)


@dataclass(frozen=True)
class Progress:
    """Where a run stands: cells done (ok or diverged, including those done before the run),
    the spec's cells, what this run trained and failed, seconds since it started.

    >>> Progress(done=30, total=100, trained=20, failed=1, elapsed_s=10.0).line()
    '30/100 cells (30.0%), 1 failed, 2 cells/s, eta 35s'
    """

    done: int
    total: int
    trained: int
    failed: int
    elapsed_s: float

    @property
    def rate(self) -> float:
        """Cells finished per second in this run."""
        return self.trained / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def line(self) -> str:
        """One progress line."""
        left = self.total - self.done
        eta = f"{left / self.rate:.0f}s" if self.rate > 0 else "?"
        return (f"{self.done}/{self.total} cells ({100 * self.done / max(1, self.total):.1f}%), "
                f"{self.failed} failed, {self.rate:.3g} cells/s, eta {eta}")


#: The progress callback's type: called with each :class:`Progress`; its return is ignored.
OnProgress = Callable[[Progress], object]


class Tracker:
    """Counts outcomes and calls the progress callback at most every ``every_s`` seconds.

    >>> seen = []
    >>> t = Tracker(total=4, done=1, callback=seen.append, every_s=0.0)
    >>> t.add(["ok", "failed", "skipped"]); t.report(force=True)
    >>> (seen[-1].done, seen[-1].trained, seen[-1].failed)
    (2, 2, 1)
    """

    def __init__(self, total: int, done: int, callback: OnProgress | None = None,
                 every_s: float = 10.0, started: float | None = None) -> None:
        self.total, self.done = total, done
        self.started = time.monotonic() if started is None else started
        self.trained = self.failed = 0
        self.outcomes = dict.fromkeys(one_cell.OUTCOMES, 0)
        self.callback, self.every_s = callback, every_s
        self.last = self.started

    def add(self, outcomes: Sequence[str]) -> None:
        """Count the outcomes of a stack (:data:`~frozenbench.generation.one_cell.OUTCOMES`)."""
        for outcome in outcomes:
            self.outcomes[outcome] += 1
            if outcome in ("ok", "diverged"):
                self.done += 1
                self.trained += 1
            elif outcome == "failed":
                self.failed += 1
                self.trained += 1

    def seen_done(self, done: int) -> None:
        """Cells done as scanned in the store (executors that cannot see outcomes: jobs)."""
        self.trained += max(0, done - self.done)
        self.done = done

    def report(self, *, force: bool = False) -> None:
        """Call the callback if ``every_s`` passed since the last call (or ``force``)."""
        now = time.monotonic()
        if self.callback is not None and (force or now - self.last >= self.every_s):
            self.last = now
            self.callback(self.progress())

    def progress(self) -> Progress:
        """Where the run stands now."""
        return Progress(self.done, self.total, self.trained, self.failed,
                        time.monotonic() - self.started)


@dataclass(frozen=True)
class Execution:
    """What an executor did besides the shards: the jobs it submitted (submitit), job- or
    pool-level errors (a killed job, a worker that died), and whether a time limit stopped it
    before every cell started."""

    jobs: tuple[Any, ...] = ()
    errors: tuple[str, ...] = ()
    stopped_early: bool = False


class Executor(Protocol):
    """Trains the pending jobs of planned work (:func:`plan_work`), reporting to ``tracker``;
    the shards it writes are the run's result, the rest is in the :class:`Execution`."""

    def execute(self, work: Work, tracker: Tracker) -> Execution:
        """Train ``work.pending`` (or submit it) and return what happened besides shards."""
        ...


def run_pool(context: RunContext, groups: Sequence[Sequence[CellJob]], *, workers: int,
             tracker: Tracker, initializer: Callable[..., None] | None = None,
             initargs: tuple[Any, ...] = (), deadline: float | None = None) -> Execution:
    """Train the stacks ``groups`` in ``workers`` spawned processes (one torch thread each),
    counting each outcome in ``tracker``. ``deadline`` (a ``time.monotonic`` value): no new
    stack starts after it, those in flight finish and are written. On an exception in this
    process (a preemption signal, an interrupt) the workers are terminated at once: their cells
    have no shard and stay pending. A worker that dies ends the loop with the error."""
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                               initializer=initializer, initargs=initargs)
    try:
        futures = [pool.submit(one_cell.run_stack, context, list(g)) for g in groups]
        end = _drain(set(futures), tracker, deadline)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            if proc.is_alive():
                proc.terminate()
        raise
    # Stacks not started are cancelled; those in flight finish and are written.
    pool.shutdown(wait=True, cancel_futures=True)
    return end


def _drain(pending: set[Future[list[str]]], tracker: Tracker,
           deadline: float | None) -> Execution:
    """Wait for ``pending`` stacks, counting outcomes, until all ran, one broke the pool or
    the deadline passed."""
    while pending:
        timeout = tracker.every_s
        if deadline is not None:
            timeout = max(0.0, min(timeout, deadline - time.monotonic()))
        finished, pending = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
        for fut in finished:
            try:
                tracker.add(fut.result())
            except BrokenProcessPool as exc:  # a worker died (killed, out of memory)
                return Execution(errors=(f"{type(exc).__name__}: {exc}",))
        tracker.report()
        if pending and deadline is not None and time.monotonic() >= deadline:
            return Execution(stopped_early=True)
    return Execution()


def run_here(context: RunContext, groups: Sequence[Sequence[CellJob]],
             tracker: Tracker) -> Execution:
    """Train the stacks ``groups`` one after another in this process (one worker)."""
    for group in groups:
        tracker.add(one_cell.run_stack(context, list(group)))
        tracker.report()
    return Execution()
