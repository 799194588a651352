"""What runs inside a job: a chunk of cells, each trained and written as its own shard.

:class:`CellChunk` is a submitit ``Checkpointable``: on preemption or timeout submitit calls
:meth:`CellChunk.checkpoint`, which resubmits the same chunk restricted to the cells that have no
shard yet, and requeues the job. Cells already written are never trained again, so nothing is
counted twice; the cells in flight when the job stopped are simply trained again.

With ``concurrent > 1`` the cells of a chunk run in that many worker processes at once (spawned,
one torch thread each, through the pool loop every executor shares,
:func:`~frozenbench.generation.executors.run_pool`): low-z cells need a fraction of a GPU's
memory, so several share it. With ``stack > 1`` the cells of a chunk that share (z, seed,
schedule) train in groups of up to ``stack`` as one stacked model
(:func:`~frozenbench.generation.one_cell.run_stack`): the frozen prefix is computed once per
group, and each cell's numbers are those it gets alone. ``progress`` prints a line of cells
done to the job's stderr (its log) now and then.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import submitit  # the generation extra; launch.run checks for it with a clear error first

from frozenbench.cell import Cell, CellJob
from frozenbench.generation.executors import Progress, Tracker, run_here, run_pool, stacks
from frozenbench.generation.one_cell import OUTCOMES, RunContext
from frozenbench.generation.store import ShardStore

__all__ = ["OUTCOMES", "CellChunk"]


def _ignore_preemption_signal() -> None:
    # The job's main process handles submitit's preemption signal; pool workers must not die of
    # it (USR2 terminates a process by default) and leave a half-finished checkpoint.
    signal.signal(signal.SIGUSR2, signal.SIG_IGN)


def _print_progress(progress: Progress) -> None:
    # A job's entry point: its stderr is the job's log.
    print(progress.line(), file=sys.stderr, flush=True)


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

    @property
    def jobs(self) -> list[CellJob]:
        """The chunk's cells as jobs."""
        return [CellJob.of(self.task_name, c) for c in self.cells]

    def __call__(self) -> dict[str, int]:
        """Train the chunk: stacks of up to ``stack`` cells that share (z, seed, schedule),
        in ``concurrent`` worker processes (or in this process when ``concurrent`` is 1); return
        the count of each outcome (:data:`OUTCOMES`)."""
        tracker = Tracker(len(self.cells), 0, _print_progress if self.progress else None,
                          every_s=30.0)
        groups = stacks(self.jobs, self.stack)
        if self.concurrent <= 1:
            run_here(self.context, groups, tracker)
        else:
            run_pool(self.context, groups, workers=self.concurrent, tracker=tracker,
                     initializer=_ignore_preemption_signal)
        tracker.report(force=True)
        return dict(tracker.outcomes)

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
