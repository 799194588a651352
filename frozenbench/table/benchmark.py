"""The :class:`Benchmark`: a table in memory and fast queries on it.

In memory a table is a dense float64 array indexed ``[config, z, epoch, seed, quantity]`` with
a mask for cells that are absent (not every seed was run at every z), plus a second array
holding the mean over the available seeds. A query is a handful of dict and array lookups
(:class:`~frozenbench.table.index.CellIndex`), never pandas.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np
import pandas as pd
import pyarrow as pa

from frozenbench.errors import InvalidValueError, SchemaError, unknown_name
from frozenbench.manifest import Manifest
from frozenbench.schema import FIXED, METRICS
from frozenbench.space import Fidelities, SearchSpace, Value
from frozenbench.table import load
from frozenbench.table.index import CellIndex
from frozenbench.table.result import (
    DEFAULT_COST,
    FALLBACK_COST,
    QUANTITIES,
    Result,
    ScheduleResult,
    cost_column,
)
from frozenbench.table.schedules import ScheduleArrays, ScheduleRows

_Q = {q: i for i, q in enumerate(QUANTITIES)}
#: A config as the queries take it: a dict, a ConfigSpace ``Configuration`` (or anything with
#: ``get_dictionary()``), or a config id.
Config = Mapping[str, Any] | int | Any
#: Columns of the mean array after the quantities.
_N_SEEDS, _N_DIVERGED = len(QUANTITIES), len(QUANTITIES) + 1


def _result(quantities: list[float], n_seeds: int, n_diverged: int) -> Result:
    """A :class:`Result` from the quantities in :data:`QUANTITIES` order and the seed counts
    (``tuple.__new__`` skips NamedTuple's argument parsing: queries build one per call).
    Every NaN becomes the one object :data:`math.nan`, so that two answers of the same cell
    compare equal as tuples (which compare items by identity first) where a metric is not
    measured (no test split, a language model's error)."""
    return tuple.__new__(Result, (*[q if q == q else math.nan for q in quantities], n_seeds,
                                  n_diverged))


def _read_verified(root: Path, manifest: Manifest) -> pa.Table:
    """The table's columns, read while the files' sha256 are checked in a second thread
    (both release the GIL); a checksum that fails is the error, whatever the read did."""
    with ThreadPoolExecutor(1) as pool:
        check = pool.submit(manifest.verify, root)
        try:
            table = load.read_directory(root, manifest, load.query_columns(manifest))
        except SchemaError:
            check.result()  # a corrupt file: its checksum error comes first
            raise
        check.result()
    return table


def _mean_holding(cells: np.ndarray) -> np.ndarray:
    """The mean-over-seeds array of a one-seed table: the array ``cells`` is a view of where
    :func:`~frozenbench.table.load.cell_arrays` made it, else a copy with room for the counts."""
    n_c, n_z, n_e, _, k = cells.shape
    base = cells.base
    if isinstance(base, np.ndarray) and base.shape == (n_c, n_z, n_e, k + load.MEAN_EXTRA) \
            and base.dtype == np.float64 and np.shares_memory(base, cells):
        return base
    mean = np.empty((n_c, n_z, n_e, k + load.MEAN_EXTRA))
    mean[..., :k] = cells[:, :, :, 0, :]
    return mean


class Benchmark:
    """One benchmark table with fast queries. Build it with :func:`frozenbench.load`.

    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=6, n_z=3, n_epochs=4, test_split=True)
    >>> cfg = bench.configs[0]
    >>> r = bench.query(cfg, z=3)            # last epoch, mean over seeds
    >>> r.n_seeds, 0.0 < r.val_error < 1.0, 0.0 < r.test_error < 1.0
    (3, True, True)
    >>> bench.query(cfg, z=3, epoch=2, seed=1).n_seeds
    1
    >>> bench.query({**cfg, "lr": 0.5}, z=3)
    Traceback (most recent call last):
    ...
    frozenbench.errors.InvalidValueError: lr=0.5 is not on the grid; valid: [0.0001, 0.001, \
0.01]; the nearest config in the synthetic table is ... at distance ...
    >>> near, distance = bench.nearest({**cfg, "lr": 0.5})
    >>> bench.query({**cfg, "lr": 0.5}, z=3, nearest=True) == bench.query(near, z=3)
    True
    """

    def __init__(
        self,
        manifest: Manifest,
        cells: np.ndarray,
        present: np.ndarray,
        diverged: np.ndarray,
        *,
        directory: Path | None = None,
        source: pa.Table | None = None,
        index: CellIndex | None = None,
        schedule_rows: ScheduleRows | None = None,
    ) -> None:
        self.manifest = manifest
        #: The rows of schedule cells (e.g. linear thaw), which have no slot in the dense
        #: fixed-z arrays: one frozen value (empty for tables without them).
        self.schedule_rows = schedule_rows if schedule_rows is not None else \
            ScheduleRows.empty()
        self.directory = directory
        self.space: SearchSpace = manifest.space
        #: The positions of (config, z, epoch, seed) in the dense arrays.
        self.index: CellIndex = index if index is not None else load.index_of(manifest)
        self.config_ids = self.index.config_ids
        self.seeds: tuple[int, ...] = self.index.seeds
        self._fid: Fidelities = self.index.fidelities
        self._source = source
        n_c, n_z, n_e, n_s = self.index.shape
        if cells.shape != (*self.index.shape, len(QUANTITIES)) or \
                present.shape != cells.shape[:4] or diverged.shape != (n_c, n_z, n_s):
            raise SchemaError(f"{manifest.benchmark}: array shapes do not match the manifest")
        self._present = present
        self._diverged = diverged
        self._n_seeds = present.sum(axis=3).astype(np.int16)
        self._n_div = (present & diverged[:, :, None, :]).sum(axis=3).astype(np.int16)
        # The mean over seeds, with n_seeds and n_diverged as two extra columns, so that a
        # query reads one row. A one-seed table keeps only this array (cells is a view of it).
        k = len(QUANTITIES)
        if n_s == 1:
            mean = _mean_holding(cells)
            del cells
            self._cells = mean[:, :, :, None, :k]
        else:
            mean = np.empty((n_c, n_z, n_e, k + load.MEAN_EXTRA))
            with np.errstate(invalid="ignore", divide="ignore"):
                total = np.where(present[..., None], cells, 0.0).sum(axis=3)
                mean[..., :k] = total / self._n_seeds[..., None]
            self._cells = cells
        mean[..., _N_SEEDS] = self._n_seeds
        mean[..., _N_DIVERGED] = self._n_div
        mean[self._n_seeds == 0, :k] = np.nan
        self._mean = mean
        self._objective_cache: dict[tuple[str, bool], np.ndarray] = {}
        self._schedule_cache: dict[str, ScheduleArrays] = {}

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_directory(
        cls, directory: str | os.PathLike[str], *, verify: bool = True
    ) -> Benchmark:
        """Read ``manifest.json`` and the Parquet file(s) it lists from a benchmark directory.

        ``verify`` checks every file's sha256 against the manifest first.
        """
        root = Path(directory)
        manifest = Manifest.read(root)
        table = _read_verified(root, manifest) if verify else \
            load.read_directory(root, manifest, load.query_columns(manifest))
        arrays = load.dense(table, manifest)
        return cls(manifest, arrays.cells, arrays.present, arrays.diverged, directory=root,
                   index=arrays.index, schedule_rows=arrays.schedule_rows)

    @classmethod
    def from_arrow(
        cls,
        table: pa.Table,
        manifest: Manifest,
        *,
        directory: Path | None = None,
        check_schema: bool = True,
        check_values: bool = True,
    ) -> Benchmark:
        """Build the dense arrays from a long Arrow table; raise :class:`SchemaError` if bad.

        Without ``directory`` the benchmark keeps ``table`` for :meth:`to_frame`.
        ``check_values=False`` accepts a table that breaks the value invariants of
        :func:`frozenbench.table.load.value_problems` (holes, fidelities without rows...), for
        tests of code that must cope with one.
        """
        if check_schema:
            load.check_schema(table.schema, manifest, "table")
        arrays = load.dense(table, manifest, check_values=check_values)
        return cls(manifest, arrays.cells, arrays.present, arrays.diverged, directory=directory,
                   source=None if directory is not None else table, index=arrays.index,
                   schedule_rows=arrays.schedule_rows)

    # ------------------------------------------------------------------ description
    @property
    def name(self) -> str:
        """The benchmark's name (from its manifest)."""
        return self.manifest.benchmark

    @cached_property
    def official(self) -> bool:
        """Whether this is an official table: its manifest is the one pinned under its name in
        :mod:`frozenbench.official` and its files match it (hashed once, on first use). A
        table built in memory is never official."""
        from frozenbench.official import is_official

        return self.directory is not None and is_official(self.manifest, self.directory)

    @property
    def metric(self) -> str:
        """The score this benchmark is optimised for (minimised), e.g. ``"val_error"``."""
        return self.manifest.metric

    @property
    def fidelities(self) -> dict[str, list[int]]:
        """``{"z": [...], "epoch": [...]}``: the fidelity values the table covers."""
        return self._fid.to_dict()

    @property
    def fidelity_values(self) -> Fidelities:
        """The fidelities as a :class:`~frozenbench.space.Fidelities` (with range checks)."""
        return self._fid

    @cached_property
    def configs(self) -> list[dict[str, Value]]:
        """The configs the table covers, in table order (a subset of the space's design)."""
        return [self.space.config(int(i)) for i in self.config_ids]

    def __len__(self) -> int:
        return len(self.config_ids)

    def __repr__(self) -> str:
        f = self._fid
        return (f"Benchmark({self.name!r}: {len(self)} configs of {len(self.space)}, "
                f"z in {min(f.z)}..{max(f.z)}, epochs {min(f.epoch)}..{max(f.epoch)}, "
                f"seeds {list(self.seeds)}, metric {self.metric!r})")

    # ------------------------------------------------------------------ the long table
    def to_frame(self) -> pd.DataFrame:
        """The long table: one row per (config, z, epoch, seed, schedule) with every column of
        the schema (the rows of schedule cells included, see :attr:`schedule_rows`).

        Read again from the benchmark directory (all columns, not only those held in memory),
        or the Arrow table the benchmark was built from.

        >>> from frozenbench.synthetic import make_benchmark
        >>> bench = make_benchmark(n_configs=4, n_z=2, n_epochs=3)
        >>> frame = bench.to_frame()
        >>> list(frame.columns[:3]), len(frame) == bench.manifest.rows
        (['lr', 'weight_decay', 'optimizer'], True)
        """
        if self.directory is not None:
            table = load.read_directory(self.directory, self.manifest)
            try:
                return table.to_pandas()
            except (KeyError, ValueError, pa.ArrowException) as exc:  # ValueError: bad UTF-8
                raise SchemaError(
                    f"{self.name}: its Parquet file(s) cannot be read as a frame: corrupt pandas "
                    f"metadata or text that is not UTF-8 ({type(exc).__name__}: "
                    f"{str(exc)[:120]}); download or merge the table again") from None
        if self._source is not None:
            return self._source.to_pandas()
        raise InvalidValueError(
            f"{self.name} was built from arrays, not from a long table; use from_directory() "
            f"or from_arrow() to keep one")

    # ------------------------------------------------------------------ config positions
    def config_id(self, config: Config, *, nearest: bool = False) -> int:
        """The id of a config (a dict, a ConfigSpace ``Configuration``, or already an id)
        covered by the table; ``nearest=True``: of the nearest table config.

        >>> from frozenbench.synthetic import make_benchmark
        >>> bench = make_benchmark(n_configs=4, n_z=2, n_epochs=2)
        >>> bench.config_id(bench.configs[1]) == int(bench.config_ids[1])
        True
        """
        return int(self.config_ids[self.index.config(config, nearest=nearest)])

    def row(self, config_id: int) -> int:
        """The row of a config id in the dense arrays; -1 where the table does not hold it
        (:class:`~frozenbench.table.protocol.Table`: what the replay engine reads).

        >>> from frozenbench.synthetic import make_benchmark
        >>> bench = make_benchmark(n_configs=4, n_z=2, n_epochs=2)
        >>> bench.row(int(bench.config_ids[3])), bench.row(10**9)
        (3, -1)
        """
        return self.index.id_pos.get(config_id, -1)

    def nearest(self, config: Config) -> tuple[int, float]:
        """``(config_id, distance)`` of the table config nearest to ``config`` (each number
        scaled to [0, 1] over its declared range, on a log scale where declared; a
        categorical counts 1 where it differs); distance 0 for a config of the table.

        >>> from frozenbench.synthetic import make_benchmark
        >>> bench = make_benchmark(n_configs=4, n_z=2, n_epochs=2)
        >>> bench.nearest(bench.configs[2]) == (int(bench.config_ids[2]), 0.0)
        True
        """
        row, distance = self.index.nearest(config)
        return int(self.config_ids[row]), distance

    # ------------------------------------------------------------------ queries
    @overload
    def query(self, config: Config, z: int, epoch: int | None = None, *,
              seed: int | None = None, nearest: bool = False,
              schedule: Literal["fixed"] = "fixed") -> Result: ...

    @overload
    def query(self, config: Config, z: int | None = None, epoch: int | None = None, *,
              seed: int | None = None, nearest: bool = False,
              schedule: str) -> Result | ScheduleResult: ...

    def query(
        self,
        config: Config,
        z: int | None = None,
        epoch: int | None = None,
        *,
        seed: int | None = None,
        nearest: bool = False,
        schedule: str = FIXED,
    ) -> Result | ScheduleResult:
        """The metrics of one cell: ``config`` trained with the last ``z`` layers to ``epoch``.

        ``epoch=None`` is the last epoch; ``seed=None`` is the mean over the seeds available
        there (``Result.n_seeds`` of them). ``config`` is a dict or a ConfigSpace
        ``Configuration`` (numbers match robustly; inactive hyperparameters may be left out)
        or a config id. A config the table does not hold is an error naming the nearest table
        config; ``nearest=True`` queries that one. Every bad argument raises a frozenbench
        error that lists the valid values.

        ``schedule="thaw"`` (a schedule with rows in the table, :attr:`schedules`) reads the
        cell that followed that schedule instead, at ``epoch``: a :class:`ScheduleResult`,
        whose ``z`` is the z trained during that epoch and whose costs are cumulative along the
        schedule (``z`` may be left out; given, it must be the schedule's z at that epoch).

        >>> from frozenbench.synthetic import make_benchmark
        >>> bench = make_benchmark(n_configs=4, n_z=3, n_epochs=5, thaw_configs=2,
        ...                        diverge_frac=0.0)
        >>> cid = int(bench.config_ids[0])
        >>> r = bench.query(cid, schedule="thaw", epoch=3, seed=0)
        >>> r.z, r.schedule, bool(r.train_cost_s < bench.query(cid, 3, 3, seed=0).train_cost_s)
        (2, 'thaw', True)
        """
        if schedule != FIXED:
            return self._schedule_query(config, schedule, z, epoch, seed, nearest)
        # The fast path reads the index's dicts directly (a query is about 1 us); anything
        # unusual goes to the index's checked methods, which raise the errors.
        index = self.index
        if type(config) is int:
            c = index.id_pos.get(config)
            if c is None:
                c = index.config(config)
        else:
            try:
                c = index._cache[tuple(config.items())]  # type: ignore[union-attr]
            except (KeyError, TypeError, AttributeError):
                c = index.config(config, nearest=nearest)
        zi = index.z_pos.get(z) if type(z) is int else None
        if zi is None:
            zi = index.z(z)
        ei = index.epoch_pos.get(epoch) if type(epoch) is int else None
        if ei is None:
            ei = index.epoch(epoch)
        if seed is None:
            *values, n_seeds, n_diverged = self._mean[c, zi, ei].tolist()
            if not n_seeds:
                raise self.absent(c, zi, ei, None)
            return _result(values, int(n_seeds), int(n_diverged))
        si = index.seed_pos.get(seed) if type(seed) is int else None
        if si is None:
            si = index.seed(seed)
        if not self._present[c, zi, ei, si]:
            raise self.absent(c, zi, ei, si)
        return _result(self._cells[c, zi, ei, si].tolist(), 1, int(self._diverged[c, zi, si]))

    def _schedule_query(self, config: Config, schedule: str, z: int | None,
                        epoch: int | None, seed: int | None, nearest: bool) -> ScheduleResult:
        """:meth:`query` of a schedule cell (checked lookups; see there)."""
        arrays = self.schedule_arrays(schedule)
        index = self.index
        c, ei = index.config(config, nearest=nearest), index.epoch(epoch)
        e_value, z_there = self._fid.epoch[ei], int(arrays.z[ei])
        if z is not None and z != z_there:
            raise InvalidValueError(
                f"z={z!r}: the {schedule} schedule of {self.name} trains z={z_there} at "
                f"epoch {e_value} (leave z out to read it)")
        where = f"config {int(self.config_ids[c])}, epoch {e_value}"
        there = [self.seeds[k] for k in np.flatnonzero(arrays.present[c, ei])]
        if seed is None:
            if not there:
                raise InvalidValueError(f"{self.name} has no {schedule} result for {where}")
            means = arrays.values[c, ei][arrays.present[c, ei]].mean(axis=0).tolist()
            n_div = int((arrays.present[c, ei] & arrays.diverged[c]).sum())
            return ScheduleResult(*_result(means, len(there), n_div), z_there, schedule)
        si = index.seed(seed)
        if not arrays.present[c, ei, si]:
            raise InvalidValueError(
                f"{self.name} has no {schedule} result for {where} at seed {seed}; seeds "
                f"there: {there}" + (" (seed=None averages them)" if there else ""))
        row = arrays.values[c, ei, si].tolist()
        return ScheduleResult(*_result(row, 1, int(arrays.diverged[c, si])), z_there, schedule)

    @property
    def schedules(self) -> tuple[str, ...]:
        """The schedules (other than fixed z) the table has rows of, e.g. ``("thaw",)``."""
        return self.schedule_rows.schedules

    def schedule_arrays(self, schedule: str) -> ScheduleArrays:
        """The rows of ``schedule`` as dense arrays aligned with the fixed-z ones (built once);
        an error naming the schedules the table has rows of when it has none of ``schedule``.

        >>> from frozenbench.synthetic import make_benchmark
        >>> make_benchmark(n_configs=4, n_z=2, n_epochs=2).schedule_arrays("thaw")
        Traceback (most recent call last):
        ...
        frozenbench.errors.InvalidValueError: synthetic has no 'thaw' rows; it has only \
fixed-z rows (schedules with rows: none)
        """
        hit = self._schedule_cache.get(schedule)
        if hit is not None:
            return hit
        if schedule not in self.schedules:
            have = self.schedules
            raise InvalidValueError(
                f"{self.name} has no {schedule!r} rows; " + (
                    f"schedules with rows: {list(have)} (and the fixed-z rows)" if have else
                    "it has only fixed-z rows (schedules with rows: none)"))
        index = self.index
        arrays = ScheduleArrays.build(self.schedule_rows, schedule, id_pos=index.id_pos,
                                      epoch_pos=index.epoch_pos, seed_pos=index.seed_pos,
                                      table=self.name)
        self._schedule_cache[schedule] = arrays
        return arrays

    def absent(self, c: int, zi: int, ei: int, si: int | None) -> InvalidValueError:
        """The error for a cell at positions ``(c, zi, ei)`` (seed position ``si``, or None for
        the mean) that the table does not hold; it names the seeds that are there."""
        return self.index.absent(c, zi, ei, si, self._present[c, zi, ei])

    def curve(
        self, config: Config, z: int, *, seed: int | None = None, nearest: bool = False
    ) -> pd.DataFrame:
        """The learning curve of ``config`` at ``z``: one row per epoch, indexed by epoch.

        >>> from frozenbench.synthetic import make_benchmark
        >>> bench = make_benchmark(n_configs=4, n_z=2, n_epochs=3, diverge_frac=0.0)
        >>> bench.curve(bench.configs[0], z=1)[["val_error", "n_seeds"]].shape
        (3, 2)
        """
        c = self.index.config(config, nearest=nearest)
        zi = self.index.z(z)
        si = None if seed is None else self.index.seed(seed)
        if si is None:
            vals, n = self._mean[c, zi, :, :len(QUANTITIES)], self._n_seeds[c, zi]
            ndiv = self._n_div[c, zi]
        else:
            vals, n = self._cells[c, zi, :, si], self._present[c, zi, :, si].astype(np.int16)
            ndiv = n * int(self._diverged[c, zi, si])
        keep = n > 0
        if not keep.any():
            raise self.absent(c, zi, self.index.last_epoch, si)
        frame = pd.DataFrame(vals[keep], columns=list(QUANTITIES),
                             index=pd.Index(np.asarray(self._fid.epoch)[keep], name="epoch"))
        frame["n_seeds"] = n[keep].astype(np.int64)
        frame["n_diverged"] = ndiv[keep].astype(np.int64)
        return frame

    def query_many(
        self,
        configs: Sequence[Mapping[str, Any]] | np.ndarray | Sequence[int],
        z: int | np.ndarray | Sequence[int],
        epoch: int | np.ndarray | Sequence[int] | None = None,
        *,
        seed: int | np.ndarray | Sequence[int] | None = None,
        quantities: Sequence[str] | None = None,
        nearest: bool = False,
    ) -> dict[str, np.ndarray]:
        """Batch query: arrays in, arrays out (``{quantity: array}``), broadcast like numpy.

        ``configs`` are config ids (fast) or a list of configs (dicts or ConfigSpace
        ``Configuration`` objects; ``nearest`` as in :meth:`query`). ``epoch=None`` is the last
        epoch, ``seed=None`` the mean over seeds (``"n_seeds"`` is returned too).

        >>> from frozenbench.synthetic import make_benchmark
        >>> bench = make_benchmark(n_configs=4, n_z=3, n_epochs=3, multi_seed_configs=0)
        >>> out = bench.query_many(bench.config_ids, z=[1, 2, 3, 3], quantities=["val_error"])
        >>> out["val_error"].shape, out["n_seeds"].tolist()
        ((4,), [1, 1, 2, 2])
        """
        if isinstance(quantities, str):
            raise InvalidValueError(
                f"quantities is a list of names, got the string {quantities!r}; write "
                f"quantities=[{quantities!r}] (valid names: {list(QUANTITIES)})")
        names = list(QUANTITIES if quantities is None else quantities)
        bad = [q for q in names if not isinstance(q, str) or q not in _Q]
        if bad:
            raise unknown_name("quantity", bad[0] if len(bad) == 1 else bad, QUANTITIES)
        index = self.index
        c = index.configs(configs, nearest=nearest)
        zi = index.zs(z)
        ei = np.int64(index.last_epoch) if epoch is None else index.epochs(epoch)
        n_c, n_z, n_e, n_s = index.shape
        try:
            ci, zi, ei = np.broadcast_arrays(c, zi, ei)
        except ValueError as exc:
            raise InvalidValueError(f"configs, z and epoch do not broadcast: {exc}") from None
        cell = (ci * n_z + zi) * n_e + ei
        if seed is None:
            n = self._n_seeds.reshape(-1)[cell]
            if (n == 0).any():
                i = np.unravel_index(int(np.argmax(n == 0)), n.shape)
                raise self.absent(int(ci[i]), int(zi[i]), int(ei[i]), None)
            rows = self._mean.reshape(-1, len(QUANTITIES) + 2)[cell]
            out = {q: np.ascontiguousarray(rows[..., _Q[q]]) for q in names}
            out["n_seeds"] = n.astype(np.int64)
            return out
        si = index.seed_positions(seed)
        try:
            cell, si = np.broadcast_arrays(cell, si)
        except ValueError as exc:
            raise InvalidValueError(f"seed does not broadcast with configs/z/epoch: {exc}") \
                from None
        full = cell * n_s + si
        ok = self._present.reshape(-1)[full]
        if not ok.all():
            first = int(np.argmax(~ok.reshape(-1)))
            at = np.unravel_index(int(cell.reshape(-1)[first]), (n_c, n_z, n_e))
            raise self.absent(int(at[0]), int(at[1]), int(at[2]), int(si.reshape(-1)[first]))
        where = np.unravel_index(cell, (n_c, n_z, n_e))
        out = {q: self._cells[where[0], where[1], where[2], si, _Q[q]] for q in names}
        out["n_seeds"] = np.ones(full.shape, dtype=np.int64)
        return out

    # ------------------------------------------------------------------ for optimisation
    def objective(self, metric: str | None = None, *, per_seed: bool = False) -> np.ndarray:
        """The metric as minimised by the simulator: ``[config, z, epoch]`` (mean over seeds)
        or ``[config, z, epoch, seed]`` with ``per_seed``; absent cells are NaN.

        Non-finite values (diverged cells) are replaced by the worst finite value of the metric
        in the whole table, so that a diverged trial loses every comparison but regret stays
        finite; a metric the table does not measure (NaN everywhere: a test metric without a
        test split, val_error of a language model) stays NaN. Cached per metric.
        """
        metric = self.metric_name(metric)
        key = (metric, per_seed)
        hit = self._objective_cache.get(key)
        if hit is not None:
            return hit
        k = _Q[metric]
        raw = self._cells[..., k]
        finite = raw[self._present & np.isfinite(raw)]
        worst = float(finite.max()) if finite.size else np.nan  # not measured: NaN throughout
        vals = np.where(np.isfinite(raw), raw, worst)
        vals[~self._present] = np.nan
        if not per_seed:
            with np.errstate(invalid="ignore", divide="ignore"):
                vals = np.where(self._present, vals, 0.0).sum(axis=3) / self._n_seeds
        self._objective_cache[key] = vals
        return vals

    def metric_name(self, metric: str | None = None) -> str:
        """The metric ``metric`` names (``None``: the benchmark's); an error listing the valid
        metrics otherwise."""
        metric = self.metric if metric is None else metric
        if metric not in METRICS:
            raise unknown_name("metric", metric, METRICS)
        return metric

    def common_seeds(self) -> tuple[int, ...]:
        """The seeds every config of the table has at full fidelity (largest z, last epoch):
        the one seed set that every ranking of configs uses.

        >>> from frozenbench.synthetic import make_benchmark
        >>> make_benchmark(n_configs=4, n_z=2, n_epochs=2).common_seeds()
        (0, 1)
        """
        full = self._present[:, -1, -1, :]
        return tuple(int(s) for k, s in enumerate(self.index.seeds) if bool(full[:, k].all()))

    def full_fidelity_scores(self, metric: str | None = None) -> np.ndarray:
        """Objective of every table config at the largest z and the last epoch: the mean over
        :meth:`common_seeds` (the same seeds for every config, never a mean over a seed count
        that varies between configs)."""
        common = [self.index.seeds.index(s) for s in self.common_seeds()]
        if not common:
            raise InvalidValueError(f"{self.name}: no seed is present for every config at full "
                                    "fidelity; a ranking of configs needs one")
        return self.objective(metric, per_seed=True)[:, -1, -1, common].mean(axis=1)

    @property
    def default_cost(self) -> str:
        """The cost column a replay charges unless told otherwise: the contention-robust
        ``train_cost_s``; wall time for tables of schema version 1, which lack it."""
        return DEFAULT_COST if self.manifest.schema_version >= 2 else FALLBACK_COST

    def cost_array(self, cost: str | None = None, *, per_seed: bool = False) -> np.ndarray:
        """Cumulative cost ``[config, z, epoch]`` (seed mean) or ``[..., seed]``; NaN = absent.
        ``cost``: a cost column or alias (default :attr:`default_cost`)."""
        k = _Q[cost_column(cost or self.default_cost)]
        return self._cells[..., k] if per_seed else self._mean[..., k]

    def peak_memory(self) -> np.ndarray:
        """Peak memory in bytes per ``[config, z]``: the most any seed or epoch needed."""
        mem = np.where(self._present, self._cells[..., _Q["peak_memory_bytes"]], -np.inf)
        out = mem.max(axis=(2, 3))
        out[~np.isfinite(out)] = np.nan
        return out

    def seed_mask(self) -> np.ndarray:
        """Which seeds exist per ``[config, z, seed]`` at the last epoch (for drawing seeds)."""
        return self._present[:, :, -1, :]

    @property
    def nbytes(self) -> int:
        """Memory held by the dense arrays."""
        own_cells = self._cells.base is not self._mean
        return int((self._cells.nbytes if own_cells else 0) + self._present.nbytes
                   + self._n_seeds.nbytes + self._n_div.nbytes + self._mean.nbytes)



if TYPE_CHECKING:  # the dense table implements the protocol (checked by mypy)
    from frozenbench.table.protocol import Table

    def _implements(bench: Benchmark) -> Table:
        return bench
