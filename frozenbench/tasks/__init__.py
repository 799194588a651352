"""Benchmark tasks and the cell runner: ONE training code path for table generation and for
live verification.

Listing tasks and validating configs is torch-free; :func:`run_cell` imports torch (the
``train`` extra) when called.

>>> from frozenbench.tasks import get_task, task_names
>>> task_names()[0], "fb-letter-mlp" in task_names(), len(task_names())
('debug-mnist', True, 38)
>>> get_task("resnet18-cifar100").fidelities.check_z(12)
Traceback (most recent call last):
...
frozenbench.errors.FidelityError: z=12 is out of range for resnet18-cifar100 (z in 1..11)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from frozenbench.tasks.base import Task
from frozenbench.tasks.catalog import get_task, task_names

if TYPE_CHECKING:
    from frozenbench.cell import CellResult
    from frozenbench.schedules import ZSchedule

__all__ = ["Task", "get_task", "run_cell", "run_cells", "task_names"]


def run_cell(
    task: Task | str,
    config: Mapping[str, Any],
    z: int | None = None,
    seed: int = 0,
    *,
    schedule: ZSchedule | str | None = None,
    device: str = "cpu",
    threads: int | None = None,
    progress: bool = False,
) -> CellResult:
    """Train one cell (task, config, z, seed) alone (a stack of one) for the task's full
    budget and return its learning curve (one :class:`~frozenbench.cell.EpochRecord` per epoch
    or checkpoint).

    ``device``: a torch device string (``"cpu"``, ``"cuda"``, ``"cuda:1"``). ``threads``: sets
    ``torch.set_num_threads`` (process-wide) when given; one thread per worker process is the
    fast setting on a shared CPU. ``progress``: log each epoch to stderr. ``schedule``
    instead of ``z``: a z schedule over the records (``"thaw"``: the linear thaw). See
    :func:`frozenbench.tasks.runner.run_cell` for errors, divergence and determinism.

    >>> cell = run_cell("debug-mnist", {"lr": 0.01, "optimizer": "adam"}, z=2, seed=0,
    ...                 threads=1)
    >>> str(cell.key), cell.status, [r.epoch for r in cell.records]
    ('debug-mnist/c2/z2/s0', 'ok', [1, 2])
    """
    from frozenbench.tasks.runner import run_cell as _run_cell

    return _run_cell(task, config, z, seed, schedule=schedule, device=device, threads=threads,
                     progress=progress)


def run_cells(
    task: Task | str,
    configs: Sequence[Mapping[str, Any]],
    z: int | None = None,
    seed: int = 0,
    *,
    schedule: ZSchedule | str | None = None,
    device: str = "cpu",
    threads: int | None = None,
    progress: bool = False,
) -> list[CellResult]:
    """Train the cells (task, config, z, seed) of every config in ``configs`` as one stacked
    model per optimizer (the frozen prefix computed once for all of them); each cell's numbers
    are those it gets alone. See :func:`frozenbench.tasks.runner.run_cells`.

    >>> cells = run_cells("debug-mnist", [{"lr": 0.01, "optimizer": "sgd"},
    ...                                   {"lr": 0.001, "optimizer": "sgd"}], z=1, seed=0,
    ...                   threads=1)
    >>> [c.status for c in cells], cells[0].extra["stack_size"]
    (['ok', 'ok'], 2)
    """
    from frozenbench.tasks.runner import run_cells as _run_cells

    return _run_cells(task, configs, z, seed, schedule=schedule, device=device,
                      threads=threads, progress=progress)
