"""What runs inside a job: a chunk of cells, each trained and written as its own shard.

:class:`CellChunk` is a submitit ``Checkpointable``: on preemption or timeout submitit calls
:meth:`CellChunk.checkpoint`, which resubmits the same chunk restricted to the cells that have no
shard yet, and requeues the job. Cells already written are never trained again, so nothing is
counted twice; the cells in flight when the job stopped are simply trained again.

With ``concurrent > 1`` the cells of a chunk run in that many worker processes at once (spawned,
one torch thread each): low-z cells need a fraction of a GPU's memory, so several share it.
With ``stack > 1`` the cells of a chunk that share (z, seed) train in groups of up to ``stack``
as one stacked model (:func:`~frozenbench.generation.one_cell.run_stack`): the frozen prefix is
computed once per group, and each cell's numbers are those it gets alone.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from multiprocessing import get_context
from typing import Any

import submitit  # the generation extra; launch.run checks for it with a clear error first

from frozenbench.cell import Cell, CellJob
from frozenbench.generation.one_cell import OUTCOMES, RunContext, run_one, run_stack
from frozenbench.generation.store import ShardStore


def _ignore_preemption_signal() -> None:
    # The job's main process handles submitit's preemption signal; pool workers must not die of
    # it (USR2 terminates a process by default) and leave a half-finished checkpoint.
    signal.signal(signal.SIGUSR2, signal.SIG_IGN)


class CellChunk(submitit.helpers.Checkpointable):
    """A job's work: train ``cells`` of ``task_name``, writing shards under ``out``.

    Returns the count of each outcome (:data:`OUTCOMES`).
    """

    def __init__(self, *, out: str, task_name: str, task_module: str,
                 grid: Mapping[str, Sequence[object]], cells: Sequence[Cell], device: str = "cpu",
                 concurrent: int = 1, stack: int = 1, code_version: str = "",
                 progress: bool = True) -> None:
        self.out = out
        self.task_name = task_name
        self.task_module = task_module
        self.grid = {k: list(v) for k, v in grid.items()}
        self.cells: list[Cell] = list(cells)
        self.device = device
        self.concurrent = concurrent
        self.stack = stack
        self.code_version = code_version
        self.progress = progress

    @property
    def context(self) -> RunContext:
        """What every cell of the chunk shares."""
        return RunContext(self.out, self.task_module, self.grid, self.device, self.code_version)

    def _job(self, cell: Cell) -> CellJob:
        return CellJob.of(self.task_name, cell)

    def _groups(self) -> list[list[Cell]]:
        """The chunk's cells in groups of at most ``stack`` that share (z, seed, schedule), in
        order: the thaw cells of one seed train as stacks of their own."""
        by_key: dict[tuple[int, int, str], list[Cell]] = {}
        for cell in self.cells:
            by_key.setdefault((cell.z, cell.seed, cell.schedule), []).append(cell)
        return [group[i:i + self.stack] for group in by_key.values()
                for i in range(0, len(group), self.stack)]

    def _run_stacks(self, bar: Any) -> dict[str, int]:
        counts = dict.fromkeys(OUTCOMES, 0)
        for group in self._groups():
            for outcome in run_stack(self.context, [self._job(c) for c in group]):
                counts[outcome] += 1
            bar.update(len(group))
        bar.close()
        return counts

    def __call__(self) -> dict[str, int]:
        from tqdm import tqdm

        counts = dict.fromkeys(OUTCOMES, 0)
        bar = tqdm(total=len(self.cells), desc=f"{self.task_name} cells", unit="cell",
                   disable=not self.progress, file=sys.stderr, mininterval=1.0)
        if self.stack > 1:
            return self._run_stacks(bar)
        if self.concurrent <= 1:
            for cell in self.cells:
                counts[run_one(self.context, self._job(cell))] += 1
                bar.update()
            bar.close()
            return counts
        pool = ProcessPoolExecutor(max_workers=self.concurrent, mp_context=get_context("spawn"),
                                   initializer=_ignore_preemption_signal)
        try:
            pending: set[Future[str]] = {pool.submit(run_one, self.context, self._job(c))
                                         for c in self.cells}
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    counts[fut.result()] += 1
                    bar.update()
        except BaseException:
            # On preemption (SystemExit from submitit's handler) do not wait for running cells:
            # they have no shard and are in the checkpoint's remaining cells.
            pool.shutdown(wait=False, cancel_futures=True)
            procs = getattr(pool, "_processes", None) or {}
            for proc in list(procs.values()):
                if proc.is_alive():
                    proc.terminate()
            raise
        else:
            pool.shutdown(wait=True)
        finally:
            bar.close()
        return counts

    def remaining(self) -> list[Cell]:
        """Cells of this chunk without a shard yet."""
        store = ShardStore(self.out)
        return [c for c in self.cells if not store.is_done(c)]

    def checkpoint(self, *args: Any, **kwargs: Any) -> submitit.helpers.DelayedSubmission:
        """Called by submitit on preemption/timeout: resubmit with the cells still to do."""
        left = self.remaining()
        print(f"checkpoint: {len(self.cells) - len(left)} of {len(self.cells)} cells done, "
              f"requeueing {len(left)} (pid {os.getpid()})", file=sys.stderr, flush=True)
        return submitit.helpers.DelayedSubmission(
            CellChunk(out=self.out, task_name=self.task_name, task_module=self.task_module,
                      grid=self.grid, cells=left, device=self.device,
                      concurrent=self.concurrent, stack=self.stack,
                      code_version=self.code_version,
                      progress=self.progress)
        )
