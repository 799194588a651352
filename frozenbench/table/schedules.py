"""Rows of cells trained on a schedule (``schedule != "fixed"``, e.g. a linear thaw), kept
apart from the dense fixed-z arrays.

A fixed-z row sits at one (config, z, epoch, seed) slot of the dense table; a thaw cell's rows
change z from epoch to epoch, so they have no slot there. Loading splits them off
(:func:`split`) into one frozen :class:`ScheduleRows`, :attr:`Benchmark.schedule_rows
<frozenbench.table.Benchmark.schedule_rows>`, which a schedule-aware replay reads.

>>> from frozenbench.synthetic import make_benchmark
>>> rows = make_benchmark(n_configs=4, n_z=3, n_epochs=3, diverge_frac=0.0,
...                       thaw_configs=1).schedule_rows
>>> len(rows), rows.schedules
(3, ('thaw',))
>>> rows.curve(int(rows.config_id[0]), "thaw", seed=0)["z"].tolist()
[1, 2, 3]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from frozenbench.errors import InvalidValueError, SchemaError
from frozenbench.schema import FIXED, SCHEDULES
from frozenbench.table.result import QUANTITIES

#: The integer columns of a schedule row, next to its :data:`QUANTITIES`.
KEYS = ("config_id", "seed", "epoch", "z")


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, slots=True, eq=False)
class ScheduleRows:
    """The rows of a table's schedule cells, sorted by (schedule, config_id, seed, epoch):
    per row its ``schedule`` name, keys (``z`` is the z trained during that epoch), ``status``
    and ``values[row, quantity]`` in :data:`~frozenbench.table.result.QUANTITIES` order. All
    arrays are read-only."""

    schedule: np.ndarray
    config_id: np.ndarray
    seed: np.ndarray
    epoch: np.ndarray
    z: np.ndarray
    status: np.ndarray
    values: np.ndarray

    @classmethod
    def empty(cls) -> ScheduleRows:
        """No schedule rows (every table before schema version 3, most after)."""
        ints = np.zeros(0, dtype=np.int64)
        return cls(np.zeros(0, dtype=object), ints, ints, ints, ints, np.zeros(0, dtype=object),
                   np.zeros((0, len(QUANTITIES))))

    @classmethod
    def from_arrow(cls, table: pa.Table) -> ScheduleRows:
        """The rows of ``table`` (every one a schedule row), sorted; absent quantities NaN."""
        if not table.num_rows:
            return cls.empty()
        table = table.sort_by([("schedule", "ascending"), ("config_id", "ascending"),
                               ("seed", "ascending"), ("epoch", "ascending")])
        values = np.full((table.num_rows, len(QUANTITIES)), np.nan)
        for k, q in enumerate(QUANTITIES):
            if q in table.column_names:
                values[:, k] = table.column(q).to_numpy(zero_copy_only=False)
        strings = [np.asarray(table.column(n).to_pylist(), dtype=object)
                   for n in ("schedule", "status")]
        ints = [table.column(n).to_numpy().astype(np.int64) for n in KEYS]
        return cls(*(_frozen(a) for a in (strings[0], *ints, strings[1], values)))

    def __len__(self) -> int:
        return len(self.schedule)

    @property
    def schedules(self) -> tuple[str, ...]:
        """The schedules with rows, sorted."""
        return tuple(sorted({str(s) for s in self.schedule}))

    def to_frame(self) -> pd.DataFrame:
        """One row per schedule row: keys, status and every quantity."""
        frame = pd.DataFrame({"schedule": self.schedule, **{k: getattr(self, k) for k in KEYS},
                              "status": self.status})
        return pd.concat([frame, pd.DataFrame(self.values, columns=list(QUANTITIES))], axis=1)

    def curve(self, config_id: int, schedule: str, *, seed: int) -> pd.DataFrame:
        """The learning curve of one schedule cell: one row per epoch (indexed by epoch) with
        the z trained in that epoch and every quantity (costs cumulative along the schedule)."""
        mask = (self.config_id == config_id) & (self.schedule == schedule) & (self.seed == seed)
        if not mask.any():
            raise InvalidValueError(
                f"no {schedule} rows for config_id={config_id}, seed={seed}; schedules with "
                f"rows: {list(self.schedules)}")
        frame = pd.DataFrame(self.values[mask], columns=list(QUANTITIES),
                             index=pd.Index(self.epoch[mask], name="epoch"))
        frame.insert(0, "z", self.z[mask])
        return frame


def split(table: pa.Table, name: str) -> tuple[pa.Table, pa.Table]:
    """``(fixed-z rows, schedule rows)`` of a long table; a table without a ``schedule``
    column (schema version < 3) is all fixed-z rows. An unknown schedule is an error."""
    if "schedule" not in table.column_names:
        return table, table.slice(0, 0)
    column = table.column("schedule")
    if column.null_count:
        raise SchemaError(f"{name}: column schedule has {column.null_count} nulls")
    unknown = sorted(set(pc.unique(column).to_pylist()) - set(SCHEDULES))
    if unknown:
        raise SchemaError(f"{name}: unknown schedule values {unknown}; valid: {list(SCHEDULES)}")
    fixed = pc.equal(column, FIXED)
    if pc.all(fixed).as_py():
        return table, table.slice(0, 0)
    return table.filter(fixed), table.filter(pc.invert(fixed))
