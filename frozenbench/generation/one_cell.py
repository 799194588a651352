"""Train cells of a grid spec and store their shards: what every executor runs per cell, or per
stack of cells that share z and seed (:func:`run_stack`, trained as one stacked model).

Free of submitit, so that :mod:`~frozenbench.generation.worker` (SLURM and local jobs) and
:mod:`~frozenbench.generation.gpu_pack` (processes sharing one GPU, where submitit may be
absent) share one definition of the skip rules, the shard and its provenance.
"""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from typing import Any

from frozenbench.cell import Cell, CellKey
from frozenbench.errors import InvalidValueError
from frozenbench.extras import require
from frozenbench.generation.lock import CellLock
from frozenbench.generation.store import ShardStore, provenance
from frozenbench.schema import FIXED


def run_one(out: str, task_module: str, task_name: str, grid: Mapping[str, Sequence[object]],
            cell: Cell, device: str, code_version: str) -> str:
    """Train one cell and write its shard (or its failure record); return the outcome.

    A cell that already has a shard, or that another run is training (its lock is held, see
    :mod:`~frozenbench.generation.lock`), is skipped. Exceptions are recorded, not raised, so
    one bad cell does not take the rest of the chunk down with it.
    """
    store = ShardStore(out)
    if store.is_done(cell):
        return "skipped"
    lock = CellLock.acquire(store.locks, cell)
    if lock is None:
        return "skipped"
    with lock:
        if store.is_done(cell):  # finished by another run between the check and the lock
            return "skipped"
        return _train(store, task_module, task_name, grid, cell, device, code_version)


def _train(store: ShardStore, task_module: str, task_name: str,
           grid: Mapping[str, Sequence[object]], cell: Cell, device: str,
           code_version: str) -> str:
    api = require(task_module)
    key = CellKey(task_name, cell.config_id, cell.z, cell.seed, cell.schedule)
    started = time.time()
    try:
        task = api.get_task(task_name)
        config = task.space.config(cell.config_id)
        result = api.run_cell(task, config, seed=cell.seed, device=device, threads=1,
                              **_fidelity(cell))
        prov = provenance(code_version, result.device)
        prov["started"] = started
        prov["wall_s"] = time.time() - started
        store.write_result(result, grid, prov)
        return str(result.status)
    except Exception as exc:
        prov = provenance(code_version, device)
        prov["started"] = started
        store.write_failure(key, exc, traceback.format_exc(), prov)
        print(f"cell {key} failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return "failed"


def _fidelity(cell: Cell) -> dict[str, Any]:
    """How the runner is told a cell's z: ``z`` for a fixed cell, its ``schedule`` otherwise
    (so that a task module without schedules still runs fixed cells)."""
    return {"z": cell.z} if cell.schedule == FIXED else {"schedule": cell.schedule}


def run_stack(out: str, task_module: str, task_name: str, grid: Mapping[str, Sequence[object]],
              cells: Sequence[Cell], device: str, code_version: str) -> list[str]:
    """Train ``cells`` (one z, seed and schedule) as one stacked model and write each one's
    shard (or failure record); return each cell's outcome, in order. The skip rules of
    :func:`run_one` apply per cell: done or locked elsewhere is ``"skipped"``, the rest train
    together."""
    if len({(c.z, c.seed, c.schedule) for c in cells}) > 1:
        pairs = sorted({(c.z, c.seed, c.schedule) for c in cells})
        raise InvalidValueError(f"a stack shares z, seed and schedule; got (z, seed, schedule) "
                                f"{pairs}")
    store = ShardStore(out)
    outcomes = dict.fromkeys(cells, "skipped")
    with ExitStack() as held:
        todo = []
        for cell in cells:
            lock = None if store.is_done(cell) else CellLock.acquire(store.locks, cell)
            if lock is not None:
                held.enter_context(lock)
                if not store.is_done(cell):
                    todo.append(cell)
        if todo:
            outcomes.update(_train_stack(store, task_module, task_name, grid, todo, device,
                                         code_version))
    return [outcomes[c] for c in cells]


def _train_stack(store: ShardStore, task_module: str, task_name: str,
                 grid: Mapping[str, Sequence[object]], cells: Sequence[Cell], device: str,
                 code_version: str) -> dict[Cell, str]:
    api = require(task_module)
    started = time.time()
    try:
        task = api.get_task(task_name)
        configs = [task.space.config(c.config_id) for c in cells]
        results = api.run_cells(task, configs, seed=cells[0].seed, device=device, threads=1,
                                **_fidelity(cells[0]))
        out = {}
        for cell, result in zip(cells, results):
            prov = provenance(code_version, result.device)
            prov["started"] = started
            prov["wall_s"] = time.time() - started
            store.write_result(result, grid, prov)
            out[cell] = str(result.status)
        return out
    except Exception as exc:
        prov = provenance(code_version, device)
        prov["started"] = started
        for cell in cells:
            key = CellKey(task_name, cell.config_id, cell.z, cell.seed, cell.schedule)
            store.write_failure(key, exc, traceback.format_exc(), prov)
        print(f"stack of {len(cells)} cells at z={cells[0].z} s={cells[0].seed} "
              f"{cells[0].schedule} failed: "
              f"{type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return dict.fromkeys(cells, "failed")
