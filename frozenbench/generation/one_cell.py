"""Train one cell of a grid spec and store its shard: what every executor runs per cell.

Free of submitit, so that :mod:`~frozenbench.generation.worker` (SLURM and local jobs) and
:mod:`~frozenbench.generation.gpu_pack` (processes sharing one GPU, where submitit may be
absent) share one definition of the skip rules, the shard and its provenance.
"""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Mapping, Sequence

from frozenbench.cell import Cell, CellKey
from frozenbench.extras import require
from frozenbench.generation.lock import CellLock
from frozenbench.generation.store import ShardStore, provenance


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
    key = CellKey(task_name, cell.config_id, cell.z, cell.seed)
    started = time.time()
    try:
        task = api.get_task(task_name)
        config = task.space.config(cell.config_id)
        result = api.run_cell(task, config, cell.z, cell.seed, device=device, threads=1)
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
