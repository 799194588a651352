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
from frozenbench.table.diverged import fill_diverged
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


@dataclass(frozen=True, slots=True, eq=False)
class ScheduleArrays:
    """The rows of one schedule (e.g. ``"thaw"``) as dense arrays, aligned with the fixed-z
    table's rows (configs), epochs and seeds, so the replay engine reads a schedule cell like a
    fixed one: ``values[row, epoch, seed, quantity]`` (:data:`QUANTITIES` order, costs
    cumulative along the schedule), ``present[row, epoch, seed]``, ``diverged[row, seed]`` and
    ``z[epoch]``, the z the schedule trains during each epoch (-1 where no row has that epoch).
    A diverged cell's epochs after its last row read NaN metrics and the cost paid until then,
    as in the fixed-z arrays. Read-only; built by :meth:`build` from :class:`ScheduleRows`.

    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=4, n_z=3, n_epochs=5, diverge_frac=0.0,
    ...                        thaw_configs=2)
    >>> thaw = bench.schedule_arrays("thaw")
    >>> thaw.z.tolist(), thaw.seed_mask()[:, 0].tolist()
    ([1, 1, 2, 2, 3], [True, True, False, False])
    """

    name: str
    z: np.ndarray
    values: np.ndarray
    present: np.ndarray
    diverged: np.ndarray

    @classmethod
    def build(cls, rows: ScheduleRows, schedule: str, *, id_pos: dict[int, int],
              epoch_pos: dict[int, int], seed_pos: dict[int, int], table: str
              ) -> ScheduleArrays:
        """The dense arrays of ``schedule``'s rows (``*_pos``: the fixed-z table's positions
        of config ids, epochs and seeds); a row off those positions, or two rows that give one
        epoch different z, is a :class:`SchemaError` naming ``table``."""
        mask = rows.schedule == schedule
        keys = {k: getattr(rows, k)[mask] for k in KEYS}
        positions = []
        for key, pos in (("config_id", id_pos), ("epoch", epoch_pos), ("seed", seed_pos)):
            at = np.array([pos.get(int(v), -1) for v in keys[key]], dtype=np.int64)
            if (at < 0).any():
                bad = int(keys[key][int(np.argmax(at < 0))])
                raise SchemaError(f"{table}: a {schedule} row has {key}={bad}, which the "
                                  f"fixed-z rows do not have; valid: {sorted(pos)}")
            positions.append(at)
        c, e, s = positions
        n_c, n_e, n_s = len(id_pos), len(epoch_pos), len(seed_pos)
        z = np.full(n_e, -1, dtype=np.int64)
        z[e] = keys["z"]
        if (z[e] != keys["z"]).any():
            ep = int(keys["epoch"][int(np.argmax(z[e] != keys["z"]))])
            raise SchemaError(f"{table}: the {schedule} rows of epoch {ep} train different z "
                              f"({sorted(set(keys['z'][keys['epoch'] == ep].tolist()))}); a "
                              f"schedule gives every cell the same z at an epoch")
        values = np.full((n_c, n_e, n_s, len(QUANTITIES)), np.nan)
        values[c, e, s] = rows.values[mask]
        present = np.zeros((n_c, n_e, n_s), dtype=bool)
        present[c, e, s] = True
        diverged = np.zeros((n_c, n_s), dtype=bool)
        diverged[c, s] = rows.status[mask] == "diverged"
        fill_diverged(values[:, None], present[:, None], diverged[:, None])
        return cls(schedule, *(_frozen(a) for a in (z, values, present, diverged)))

    def seed_mask(self) -> np.ndarray:
        """Which seeds exist per ``[row, seed]`` at the last epoch (for drawing seeds)."""
        return self.present[:, -1, :]

    def quantity(self, name: str, *, per_seed: bool = False) -> np.ndarray:
        """One quantity per ``[row, epoch(, seed)]``: the mean over the seeds present (NaN
        where none is) or, with ``per_seed``, each seed's (NaN where absent)."""
        raw = np.where(self.present, self.values[..., QUANTITIES.index(name)], np.nan)
        if per_seed:
            return raw
        n = self.present.sum(axis=2)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.present, raw, 0.0).sum(axis=2) / n

    def objective(self, metric: str, *, per_seed: bool = False) -> np.ndarray:
        """``metric`` as the replay minimises it, per ``[row, epoch(, seed)]``: non-finite
        values (a diverged cell) at the worst finite value of the schedule's rows, absent cells
        NaN (the rule of :meth:`Benchmark.objective <frozenbench.table.Benchmark.objective>`)."""
        raw = self.values[..., QUANTITIES.index(metric)]
        finite = raw[self.present & np.isfinite(raw)]
        worst = float(finite.max()) if finite.size else np.nan
        vals = np.where(np.isfinite(raw), raw, worst)
        vals[~self.present] = np.nan
        if per_seed:
            return vals
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.present, vals, 0.0).sum(axis=2) / self.present.sum(axis=2)
