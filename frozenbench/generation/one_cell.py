"""Train cells of a grid spec and store their shards: what every executor runs per stack of
cells that share task, z, seed and schedule (:func:`run_stack`; a stack of one is a cell
trained alone).

Free of submitit, so that every executor (:mod:`~frozenbench.generation.executors`: SLURM and
local jobs through submitit, and processes sharing one device, where submitit may be absent)
shares one definition of the skip rules, the shard and its provenance. A cell arrives as a
:class:`~frozenbench.cell.CellJob`; what every cell of a run shares is a :class:`RunContext`.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from frozenbench.cell import CellJob
from frozenbench.errors import InvalidValueError
from frozenbench.extras import require
from frozenbench.generation.lock import CellLock
from frozenbench.generation.store import ShardStore, provenance
from frozenbench.schema import FIXED

#: Outcomes of one cell in a worker.
OUTCOMES = ("ok", "diverged", "failed", "skipped")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunContext:
    """What every cell of one run shares: where shards go (``out``), the module that trains
    them, the task's grid (the shard's hyperparameter columns), the device and the code
    version recorded in each shard.

    >>> RunContext("/tmp/out", "frozenbench.tasks", {"lr": [0.1]}, "cpu", "abc123").device
    'cpu'
    """

    out: str
    task_module: str
    grid: Mapping[str, Sequence[object]]
    device: str
    code_version: str


def run_one(ctx: RunContext, job: CellJob) -> str:
    """Train one cell and write its shard (or its failure record); return the outcome
    (:data:`OUTCOMES`). A stack of one (:func:`run_stack`)."""
    return run_stack(ctx, [job])[0]


def run_stack(ctx: RunContext, jobs: Sequence[CellJob]) -> list[str]:
    """Train ``jobs`` (one task, z, seed and schedule) as one stacked model and write each
    one's shard (or failure record); return each job's outcome, in order.

    A cell that already has a shard, or that another run is training (its lock is held, see
    :mod:`~frozenbench.generation.lock`), is ``"skipped"``; the rest train together (alone,
    through the runner's ``run_cell``, when one is left). Exceptions are recorded, not raised,
    so one bad stack does not take the rest of the job down with it; so is a result that
    names another cell than its job (a shard is written under its job's stem only).
    """
    keys = sorted({(j.task, j.z, j.seed, j.schedule) for j in jobs})
    if len(keys) > 1:
        raise InvalidValueError(f"a stack shares task, z, seed and schedule; got (task, z, "
                                f"seed, schedule) {keys}")
    store = ShardStore(ctx.out)
    outcomes = dict.fromkeys(jobs, "skipped")
    with ExitStack() as held:
        todo = []
        for job in jobs:
            cell = job.cell
            lock = None if store.is_done(cell) else CellLock.acquire(store.locks, cell)
            if lock is not None:
                held.enter_context(lock)
                if not store.is_done(cell):  # finished by another run before the lock
                    todo.append(job)
        if todo:
            outcomes.update(_train(ctx, store, todo))
    return [outcomes[j] for j in jobs]


def _train(ctx: RunContext, store: ShardStore, jobs: Sequence[CellJob]) -> dict[CellJob, str]:
    api = require(ctx.task_module)
    first = jobs[0]
    started = time.time()
    try:
        task = api.get_task(first.task)
        configs = [task.space.config(j.config_id) for j in jobs]
        kw = dict(seed=first.seed, device=ctx.device, threads=1, **_fidelity(first))
        if len(jobs) == 1:
            results = [api.run_cell(task, configs[0], **kw)]
        else:
            results = api.run_cells(task, configs, **kw)
        for job, result in zip(jobs, results, strict=True):
            if result.key != job:  # the shard is the job's, never the cell a result names
                raise InvalidValueError(f"the runner returned the cell {result.key} for the "
                                        f"job {job}; no shard is written for either")
        out = {}
        for job, result in zip(jobs, results):
            prov = provenance(ctx.code_version, result.device)
            prov["started"] = started
            prov["wall_s"] = time.time() - started
            store.write_result(result, ctx.grid, prov)
            out[job] = str(result.status)
        return out
    except Exception as exc:
        prov = provenance(ctx.code_version, ctx.device)
        prov["started"] = started
        for job in jobs:
            store.write_failure(job, exc, traceback.format_exc(), prov)
        log.warning("%d cell(s) from %s failed: %s: %s", len(jobs), first,
                    type(exc).__name__, exc)
        return dict.fromkeys(jobs, "failed")


def _fidelity(job: CellJob) -> dict[str, Any]:
    """How the runner is told a cell's z: ``z`` for a fixed cell, its ``schedule`` otherwise
    (so that a task module without schedules still runs fixed cells)."""
    return {"z": job.z} if job.schedule == FIXED else {"schedule": job.schedule}
