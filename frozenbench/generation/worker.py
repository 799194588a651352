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
from collections.abc import Sequence
from typing import Any

import submitit  # the generation extra; launch.run checks for it with a clear error first

from frozenbench.cell import CellJob
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
    """A job's work: train ``jobs`` with what they share (``context``: where shards go, the
    task module, grid, device and code version).

    Returns the count of each outcome (:data:`OUTCOMES`).
    """

    def __init__(self, *, context: RunContext, jobs: Sequence[CellJob], concurrent: int = 1,
                 stack: int = 1, progress: bool = True) -> None:
        self.context = context
        self.jobs: list[CellJob] = list(jobs)
        self.concurrent = concurrent
        self.stack = stack
        self.progress = progress

    def __call__(self) -> dict[str, int]:
        """Train the chunk: stacks of up to ``stack`` cells that share (z, seed, schedule),
        in ``concurrent`` worker processes (or in this process when ``concurrent`` is 1); return
        the count of each outcome (:data:`OUTCOMES`)."""
        tracker = Tracker(len(self.jobs), 0, _print_progress if self.progress else None,
                          every_s=30.0)
        groups = stacks(self.jobs, self.stack)
        if self.concurrent <= 1:
            run_here(self.context, groups, tracker)
        else:
            run_pool(self.context, groups, workers=self.concurrent, tracker=tracker,
                     initializer=_ignore_preemption_signal)
        tracker.report(force=True)
        return dict(tracker.outcomes)

    def remaining(self) -> list[CellJob]:
        """Jobs of this chunk whose cell has no shard yet."""
        store = ShardStore(self.context.out)
        return [j for j in self.jobs if not store.is_done(j.cell)]

    def checkpoint(self, *args: Any, **kwargs: Any) -> submitit.helpers.DelayedSubmission:
        """Called by submitit on preemption/timeout: resubmit with the cells still to do."""
        left = self.remaining()
        print(f"checkpoint: {len(self.jobs) - len(left)} of {len(self.jobs)} cells done, "
              f"requeueing {len(left)} (pid {os.getpid()})", file=sys.stderr, flush=True)
        return submitit.helpers.DelayedSubmission(
            CellChunk(context=self.context, jobs=left, concurrent=self.concurrent,
                      stack=self.stack, progress=self.progress))
