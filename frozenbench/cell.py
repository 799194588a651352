"""A training cell and what it produces: the values passed between the cell runner, the
generation pipeline and live verification.

A *cell* is (config, z, seed) of a task, trained for the task's full budget and evaluated at
every epoch or checkpoint. :class:`CellJob` is the one value of a cell that travels, from the
spec's plan through the executors and workers to the runner's result and its shard;
:class:`Cell` is the same cell within one table (the store's key, whose stem names the shard,
``c00017-z03-s0``).
This module is torch-free so that the generation pipeline, the table code and the tests can
handle cells without the training extra.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from numbers import Integral
from typing import Any

import pandas as pd

from frozenbench.errors import InvalidValueError
from frozenbench.schema import CELL_COLUMNS, FIXED, MEMORY_METHODS, STATUSES
from frozenbench.space import Value


@dataclass(frozen=True)
class EpochRecord:
    """Metrics at one evaluation point; cost fields are cumulative from the start of the cell.
    ``test_loss``/``test_error``: on the held-out test split (NaN without one); the eval clocks
    time validation only."""

    epoch: int
    samples_seen: int
    train_loss: float
    val_loss: float
    val_error: float  # NaN for language models
    train_time_s: float  # wall
    train_cpu_s: float  # CPU time of the training thread: the contention-robust clock
    eval_time_s: float
    eval_cpu_s: float
    peak_memory_bytes: int
    peak_rss_bytes: int
    train_flops: float
    test_loss: float = math.nan
    test_error: float = math.nan  # NaN for language models
    z: int | None = None  # the z trained during this record (None: the cell's z, older shards)


#: A cell's file stem (see :attr:`Cell.stem`), for the modules that name files after cells.
STEM_PATTERN = r"c\d+-(?:[a-z]+-)?z\d+-s\d+"
_STEM = re.compile(r"^c(\d+)-(?:([a-z]+)-)?z(\d+)-s(\d+)$")


@dataclass(frozen=True, order=True, slots=True)
class Cell:
    """One cell of a table: grid index of the config, z, seed and z schedule (ordered so).

    A ``fixed`` cell trains at ``z`` throughout; another schedule (``thaw``, see
    :mod:`frozenbench.schedules`) names a cell whose z grows over its records, and ``z`` is
    then its final z. The stem names the schedule of the others (and keeps z, so that a stem
    alone gives the cell back).

    >>> cell = Cell(17, 3, 0)
    >>> cell.stem
    'c00017-z03-s0'
    >>> Cell.from_stem("c00017-z03-s0") == cell
    True
    >>> Cell(17, 6, 0, "thaw").stem, Cell.from_stem("c00017-thaw-z06-s0")
    ('c00017-thaw-z06-s0', Cell(config_id=17, z=6, seed=0, schedule='thaw'))
    >>> Cell(17, 0, -1)
    Traceback (most recent call last):
    ...
    frozenbench.errors.InvalidValueError: invalid cell: z=0 must be an integer >= 1; seed=-1 \
must be an integer >= 0
    """

    config_id: int
    z: int
    seed: int
    schedule: str = FIXED

    def __post_init__(self) -> None:
        problems = []
        for name, lo in (("config_id", 0), ("z", 1), ("seed", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, Integral) or value < lo:
                problems.append(f"{name}={value!r} must be an integer >= {lo}")
            else:
                object.__setattr__(self, name, int(value))  # numpy integers become int
        if not (isinstance(self.schedule, str) and self.schedule.isalpha()
                and self.schedule.islower()):
            problems.append(f"schedule={self.schedule!r} must be lower-case letters (e.g. "
                            f"'fixed', 'thaw')")
        if problems:
            raise InvalidValueError("invalid cell: " + "; ".join(problems))

    @property
    def stem(self) -> str:
        """The file stem of the cell's shard and failure record."""
        tag = "" if self.schedule == FIXED else f"{self.schedule}-"
        return f"c{self.config_id:05d}-{tag}z{self.z:02d}-s{self.seed}"

    @classmethod
    def from_stem(cls, stem: str) -> Cell:
        """The inverse of :attr:`stem`."""
        m = _STEM.match(stem)
        if not m:
            raise InvalidValueError(f"not a cell stem: {stem!r} (expected like 'c00017-z03-s0' "
                                    f"or 'c00017-thaw-z06-s0')")
        return cls(int(m[1]), int(m[3]), int(m[4]), m[2] or FIXED)

    def __str__(self) -> str:
        return self.stem

    def __repr__(self) -> str:
        tail = "" if self.schedule == FIXED else f", schedule={self.schedule!r}"
        return f"Cell(config_id={self.config_id}, z={self.z}, seed={self.seed}{tail})"


@dataclass(frozen=True, order=True, slots=True)
class CellJob:
    """One cell of a task as a value that travels whole: from the spec's plan through every
    executor and worker to the runner's result and the shard (task, grid index of the config,
    z, seed and z schedule; ``z`` is the final z of a schedule other than ``fixed``).

    :class:`Cell` is the same cell within one table (the task is the table's): the key of its
    shard, named by :attr:`stem`.

    >>> job = CellJob("demo", 17, 3, 0)
    >>> str(job), job.cell, job.stem
    ('demo/c17/z3/s0', Cell(config_id=17, z=3, seed=0), 'c00017-z03-s0')
    >>> CellJob.of("demo", Cell(17, 6, 0, "thaw")) == CellJob("demo", 17, 6, 0, "thaw")
    True
    >>> CellJob("", 17, 0, 0)
    Traceback (most recent call last):
    ...
    frozenbench.errors.InvalidValueError: invalid cell job: task='' must be a non-empty \
string; invalid cell: z=0 must be an integer >= 1
    """

    task: str
    config_id: int
    z: int
    seed: int
    schedule: str = FIXED

    def __post_init__(self) -> None:
        problems = []
        if not (isinstance(self.task, str) and self.task):
            problems.append(f"task={self.task!r} must be a non-empty string")
        try:
            cell = Cell(self.config_id, self.z, self.seed, self.schedule)
        except InvalidValueError as exc:
            problems.append(str(exc))
        else:  # numpy integers become int, as in Cell
            for name in ("config_id", "z", "seed"):
                object.__setattr__(self, name, getattr(cell, name))
        if problems:
            raise InvalidValueError("invalid cell job: " + "; ".join(problems))

    @classmethod
    def of(cls, task: str, cell: Cell) -> CellJob:
        """The job of ``cell`` in a table of ``task``."""
        return cls(task, cell.config_id, cell.z, cell.seed, cell.schedule)

    def __str__(self) -> str:
        """``task/c17/z3/s0``; a thaw cell: ``task/c17/thaw-z6/s0``."""
        tag = "" if self.schedule == FIXED else f"{self.schedule}-"
        return f"{self.task}/c{self.config_id}/{tag}z{self.z}/s{self.seed}"

    @property
    def cell(self) -> Cell:
        """The cell without its task (the key of its shard in the table's store).

        >>> CellJob("demo", 17, 3, 0).cell
        Cell(config_id=17, z=3, seed=0)
        """
        return Cell(self.config_id, self.z, self.seed, self.schedule)

    @property
    def stem(self) -> str:
        """The file stem of the cell's shard (:attr:`Cell.stem`)."""
        return self.cell.stem


#: The name a result's identity had before :class:`CellJob` (the runner and older code use it).
CellKey = CellJob


@dataclass(frozen=True)
class CellResult:
    """The learning curve of one cell plus what it ran on.

    ``status`` is ``"diverged"`` when a loss became NaN or infinite; the epochs finished until
    then are kept and the cell is not retried (divergence is a property of the config).
    """

    key: CellJob
    config: Mapping[str, Value]
    n_layers: int
    trainable_params: int
    total_params: int
    memory_method: str
    device: str
    versions: Mapping[str, str]
    hardware: Mapping[str, str]
    records: tuple[EpochRecord, ...]
    status: str = "ok"
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise InvalidValueError(f"status={self.status!r}; valid: {list(STATUSES)}")
        if self.memory_method not in MEMORY_METHODS:
            raise InvalidValueError(
                f"memory_method={self.memory_method!r}; valid: {list(MEMORY_METHODS)}"
            )
        if not 1 <= self.key.z <= self.n_layers:
            raise InvalidValueError(f"z={self.key.z} outside 1..{self.n_layers}")

    def to_frame(self) -> pd.DataFrame:
        """Rows in the table schema (hyperparameter columns first, then the fixed columns).

        >>> rec = EpochRecord(1, 128, 2.3, 2.2, 0.8, 1.5, 1.4, 0.1, 0.1, 10**6, 10**8, 1e9)
        >>> cell = CellResult(CellJob("demo", 0, 1, 0), {"lr": 0.1}, 2, 10, 20,
        ...                   "cpu_tensor_estimate", "cpu", {"torch": "2.14.1"},
        ...                   {"cpu_model": "demo"}, (rec,))
        >>> cell.to_frame()[["lr", "z", "epoch", "val_error", "schedule"]].to_dict("records")
        [{'lr': 0.1, 'z': 1, 'epoch': 1, 'val_error': 0.8, 'schedule': 'fixed'}]
        """
        const = {
            "config_id": self.key.config_id,
            "seed": self.key.seed,
            "z": self.key.z,
            "schedule": self.key.schedule,
            "n_layers": self.n_layers,
            "memory_method": self.memory_method,
            "trainable_params": self.trainable_params,
            "total_params": self.total_params,
            "status": self.status,
            "device": self.device,
            "versions": json.dumps(dict(self.versions), sort_keys=True),
            "hardware": json.dumps(dict(self.hardware), sort_keys=True),
        }
        rows = [{**dict(self.config), **const, **_record_row(r)} for r in self.records]
        columns = [*self.config.keys(), *CELL_COLUMNS]
        return pd.DataFrame(rows, columns=columns)


def _record_row(record: EpochRecord) -> dict[str, Any]:
    """A record's columns; its ``z`` (the z trained during it) only where it has one."""
    row = asdict(record)
    if row["z"] is None:
        del row["z"]
    return row
