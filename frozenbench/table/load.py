"""Loading and validation: a long table (Parquet files or an Arrow table) into dense arrays.

Every check raises :class:`~frozenbench.errors.SchemaError` naming the benchmark and the bad
value: the schema version and columns, key values the manifest does not list, duplicate rows,
hyperparameter columns that disagree with ``config_id``, unknown statuses, and every value
against the schema's ranges and invariants (:func:`value_problems`): metrics and costs in range,
losses finite in ok cells, cumulative costs never falling, one status per cell, no hole in a
cell's epochs, a row for every fidelity the manifest lists, row and cell counts as the manifest
says. A diverged cell's missing epochs are filled here (:func:`fill_diverged`).

Rows of schedule cells (``schedule != "fixed"``, schema version 3) have no slot in the dense
arrays: they are split off into a :class:`~frozenbench.table.schedules.ScheduleRows`, their keys,
hyperparameters and values checked like the others. The manifest's ``rows`` and cell counts
count them too (a schedule cell is one cell).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from frozenbench.errors import SchemaError
from frozenbench.manifest import Manifest
from frozenbench.schema import (
    ALL_OR_NONE,
    CUMULATIVE_COLUMNS,
    FINITE_WHEN_OK,
    KEY_COLUMNS,
    READABLE_VERSIONS,
    RESOURCES,
    SCHEDULES,
    STATUSES,
    TEST_METRICS,
    VALUE_RANGES,
    arrow_schema,
)
from frozenbench.table import schedules
from frozenbench.table.diverged import fill_diverged
from frozenbench.table.index import CellIndex
from frozenbench.table.result import COSTS, QUANTITIES
from frozenbench.table.schedules import ScheduleRows

#: The key columns of the long table, in the order of the dense arrays' axes (the schedule,
#: the last key column, is not an axis: the dense arrays hold fixed-z rows only).
KEYS: tuple[str, ...] = tuple(k for k in KEY_COLUMNS if k != "schedule")
#: Columns finite in every row of an ok cell: the losses (:data:`FINITE_WHEN_OK`), the costs
#: and the peak memory a query returns.
FINITE_IN_OK_ROWS: frozenset[str] = frozenset((*FINITE_WHEN_OK, *RESOURCES))
#: Columns a Benchmark's mean over seeds holds after the quantities (n_seeds, n_diverged).
MEAN_EXTRA = 2


@dataclass(frozen=True, slots=True, eq=False)
class DenseTable:
    """The dense arrays of a table: ``cells[config, z, epoch, seed, quantity]`` (NaN where
    absent), ``present[config, z, epoch, seed]`` and ``diverged[config, z, seed]``; the rows
    of schedule cells, which have no slot there, apart."""

    index: CellIndex
    cells: np.ndarray
    present: np.ndarray
    diverged: np.ndarray
    schedule_rows: ScheduleRows = field(default_factory=ScheduleRows.empty)


def index_of(manifest: Manifest) -> CellIndex:
    """The cell index a manifest describes."""
    return CellIndex(manifest.benchmark, manifest.space, np.asarray(manifest.config_ids),
                     manifest.fidelity_values(), tuple(manifest.seeds))


def table_files(root: Path, manifest: Manifest) -> list[Path]:
    """The Parquet files of a benchmark directory, as its manifest lists them (sorted)."""
    parquet = sorted(f for f in manifest.files if str(f).endswith(".parquet"))
    if not parquet:
        raise SchemaError(f"{manifest.benchmark}: the manifest lists no .parquet file")
    return [root / f for f in parquet]


def read_directory(root: Path, manifest: Manifest,
                   columns: list[str] | None = None) -> pa.Table:
    """The long table of a benchmark directory (``columns``: a subset), schema-checked.

    Nothing is read past the files' footers before their row counts agree with the manifest
    and bound what the manifest asks for (:func:`check_sizes`)."""
    files = [ParquetPart(root, f, manifest) for f in table_files(root, manifest)]
    n_rows = sum(part.rows for part in files)
    if n_rows != manifest.rows:
        raise SchemaError(f"{manifest.benchmark}: the manifest says {manifest.rows} rows, the "
                          f"table's Parquet footers {n_rows}")
    check_sizes(manifest, n_rows)
    tables = [part.read(columns) for part in files]
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables)


class ParquetPart:
    """One Parquet file of a table, opened at its footer: its schema checked, its row count
    checked against its size (:data:`MIN_BYTES_PER_ROW`), nothing decoded yet."""

    def __init__(self, root: Path, path: Path, manifest: Manifest) -> None:
        self.path, self.manifest = path, manifest
        self.where = str(path.relative_to(root))
        with self._clear_errors():
            self.file = pq.ParquetFile(path)
            check_schema(self.file.schema_arrow, manifest, self.where)
            self.rows = int(self.file.metadata.num_rows)
            size = path.stat().st_size
        if self.rows * MIN_BYTES_PER_ROW > size:
            raise SchemaError(
                f"{manifest.benchmark}: {self.where} says it holds {self.rows} rows in {size} "
                f"bytes; a table's rows take at least {MIN_BYTES_PER_ROW} bytes each (real "
                "tables: about 50), so this one would decode to far more than it is (a "
                "decompression bomb, or a corrupt footer)")

    def read(self, columns: list[str] | None) -> pa.Table:
        """The rows (``columns``: a subset)."""
        with self._clear_errors():
            return self.file.read(columns=columns)

    @contextlib.contextmanager
    def _clear_errors(self) -> Iterator[None]:
        try:  # a corrupt file raises ArrowInvalid, OSError ("Couldn't deserialize thrift"), ...
            yield
        except (pa.ArrowException, OSError, KeyError, ValueError) as exc:
            if isinstance(exc, SchemaError):
                raise
            raise SchemaError(f"{self.manifest.benchmark}: cannot read {self.where} "
                              f"({type(exc).__name__}: {str(exc)[:200]}); the file is corrupt "
                              "or not Parquet") from None


#: The dense arrays hold a slot per (config, z, epoch, seed) the manifest lists; a table has
#: at most this many slots per row present (the shipped tables: 2.1-2.3, as not every seed
#: ran at every z), so that a manifest cannot size arrays far beyond the rows there are.
SLOTS_PER_ROW = 8
#: ... unless it has fewer slots than this (a table of a few rows, a sparse test table).
MIN_SLOTS = 1 << 12
#: The config lookup holds a position per grid config (8 bytes each): a grid has at most this
#: many configs per row present, or :data:`MIN_GRID` (the shipped grids: 36 to 216).
GRID_PER_ROW = 64
MIN_GRID = 1 << 16
#: A Parquet file takes at least this many bytes per row (the shipped tables: about 50; a row
#: holds measured losses and times, which do not compress away).
MIN_BYTES_PER_ROW = 4


def check_sizes(manifest: Manifest, n_rows: int) -> None:
    """Refuse a manifest that would size the in-memory arrays far beyond the ``n_rows`` rows
    present (every allocation of a load is bounded by the rows): more rows than (config, z,
    epoch, seed) combinations (plus, in a schema-3 table, one per (config, epoch, seed) for
    each schedule other than fixed), more slots than :data:`SLOTS_PER_ROW` per row, a grid larger
    than :data:`GRID_PER_ROW` per row. Checked before anything is allocated.

    >>> from frozenbench.synthetic import make_benchmark
    >>> m = make_benchmark(n_configs=4, n_z=2, n_epochs=2).manifest
    >>> check_sizes(m, m.rows)
    >>> check_sizes(m, 100)
    Traceback (most recent call last):
    ...
    frozenbench.errors.SchemaError: synthetic: the manifest lists 4 configs x 2 z x 2 epochs ...\
 = 48 (config, z, epoch, seed) slots plus 24 schedule rows, and the table has 100 rows: rows \
repeat or lie outside ...
    """
    f = manifest.fidelities
    dims = (len(manifest.config_ids), len(f["z"]), len(f["epoch"]), len(manifest.seeds))
    slots = math.prod(dims)
    what = (f"the manifest lists {dims[0]} configs x {dims[1]} z x {dims[2]} epochs x "
            f"{dims[3]} seeds = {slots} (config, z, epoch, seed) slots")
    name = manifest.benchmark
    # Schedule rows (schema 3) come on top: one per (config, epoch, seed) and schedule.
    scheduled = dims[0] * dims[2] * dims[3] * (len(SCHEDULES) - 1) \
        if manifest.schema_version >= 3 else 0
    if n_rows > slots + scheduled:
        raise SchemaError(f"{name}: {what}" + (f" plus {scheduled} schedule rows" if scheduled
                                               else "")
                          + f", and the table has {n_rows} rows: rows repeat or lie outside "
                          "the manifest's lists")
    if slots > max(MIN_SLOTS, SLOTS_PER_ROW * n_rows):
        raise SchemaError(f"{name}: {what} for {n_rows} rows; the in-memory arrays hold a "
                          f"slot for each, and a table has at most {SLOTS_PER_ROW} per row (or "
                          f"{MIN_SLOTS} in all)")
    size = len(manifest.space)  # the configs with an id: a grid's product of value counts
    if size > max(MIN_GRID, GRID_PER_ROW * n_rows):
        raise SchemaError(f"{name}: the search space has {size} configs for {n_rows} rows; "
                          f"the config lookup holds a position for each, and a space has at "
                          f"most {GRID_PER_ROW} per row (or {MIN_GRID} in all)")


def query_columns(manifest: Manifest) -> list[str]:
    """The columns a :class:`~frozenbench.table.Benchmark` holds in memory (those its schema
    version has)."""
    have = set(arrow_schema(manifest.grid, version=manifest.schema_version).names)
    return [c for c in [*manifest.grid, *KEYS, "schedule", "status", *QUANTITIES] if c in have]


def dense(table: pa.Table, manifest: Manifest, *, check_values: bool = True) -> DenseTable:
    """Check a long Arrow table against its manifest and turn it into dense arrays.

    ``check_values=False`` skips :func:`value_problems` (for tests that build a table breaking
    the invariants on purpose); keys, duplicates, hyperparameters and statuses are always
    checked."""
    name = manifest.benchmark
    table, scheduled = schedules.split(table, name)
    check_sizes(manifest, table.num_rows)
    index = index_of(manifest)
    extra = check_schedule_rows(scheduled, index, name)

    def key(n: str) -> np.ndarray:
        c = table.column(n)
        if c.null_count:
            raise SchemaError(f"{name}: column {n} has {c.null_count} nulls")
        return c.to_numpy()

    ci, zi, ei, si = index.rows(key("config_id"), key("z"), key("epoch"), key("seed"))
    n_c, n_z, n_e, n_s = index.shape
    flat = ci.astype(np.int64)
    flat *= n_z
    flat += zi
    flat *= n_e
    flat += ei
    flat *= n_s
    flat += si
    present = np.zeros(index.shape, dtype=bool)
    present.reshape(-1)[flat] = True
    if int(np.count_nonzero(present)) != len(flat):  # some (config, z, epoch, seed) repeats
        counts = np.bincount(flat, minlength=n_c * n_z * n_e * n_s)
        c, zz, e, s = np.unravel_index(int(np.argmax(counts > 1)), index.shape)
        raise SchemaError(
            f"{name}: duplicate rows for config_id={index.config_ids[c]}, "
            f"z={index.fidelities.z[zz]}, epoch={index.fidelities.epoch[e]}, "
            f"seed={index.seeds[s]}")
    check_hyperparameters(table, index, ci, name)
    status = table.column("status")
    statuses = pc.unique(status).to_pylist()
    if set(statuses) - set(STATUSES):
        raise SchemaError(f"{name}: unknown status values {sorted(map(str, statuses))}; "
                          f"valid: {list(STATUSES)}")
    div_row = pc.equal(status, "diverged").to_numpy(zero_copy_only=False)

    cells, flat_cells = cell_arrays(index.shape)
    for k, q in enumerate(QUANTITIES):
        if q not in table.column_names:  # added in a later schema version: absent (NaN)
            flat_cells[:, k] = np.nan
            continue
        start = 0
        for chunk in table.column(q).chunks:  # chunk by chunk: no copy of the whole column
            end = start + len(chunk)
            flat_cells[flat[start:end], k] = chunk.to_numpy(zero_copy_only=False)
            start = end
    del flat
    absent = ~present.reshape(-1)
    if absent.any():
        flat_cells[absent] = np.nan
    cell_of_div = (ci[div_row].astype(np.int64) * n_z + zi[div_row]) * n_s + si[div_row]
    del ci, zi, ei, si
    n_div_rows = np.bincount(cell_of_div, minlength=n_c * n_z * n_s)
    diverged = (n_div_rows > 0).reshape(n_c, n_z, n_s)
    if check_values:
        rows = Rows(table, manifest, index, cells, present, n_div_rows.reshape(n_c, n_z, n_s),
                    div_row, extra)
        problems = value_problems(rows) + schedule_value_problems(scheduled)
        if problems:
            raise SchemaError(f"{name}: {len(problems)} problem(s) with the values of the "
                              "table:\n" + "\n".join(f"  - {p}" for p in problems))
    fill_diverged(cells, present, diverged)
    for cost in COSTS:
        if cost not in table.column_names:
            continue
        column = table.column(cost).to_numpy(zero_copy_only=False)
        if not column.size or (np.isfinite(column).all() and column.min() >= 0):
            continue  # every row is, so every cell is (a diverged cell's fill copies a row)
        vals = cells[..., QUANTITIES.index(cost)][present]
        if not np.isfinite(vals).all() or (vals < 0).any():
            raise SchemaError(f"{name}: {cost} must be finite and >= 0")
    return DenseTable(index, cells, present, diverged, ScheduleRows.from_arrow(scheduled))


def check_schedule_rows(table: pa.Table, index: CellIndex, name: str) -> dict[str, int]:
    """The keys (every config, z, epoch and seed one the manifest lists), hyperparameters and
    uniqueness of schedule rows; returns what they add to the manifest's counts (``rows``,
    and cells by status)."""
    if not table.num_rows:
        return {"rows": 0, "ok": 0, "diverged": 0}
    cols = {k: table.column(k).to_numpy() for k in ("config_id", "z", "epoch", "seed")}
    ci = index.rows(cols["config_id"], cols["z"], cols["epoch"], cols["seed"])[0]
    check_hyperparameters(table, index, ci, name)
    frame = table.select(["schedule", "config_id", "seed", "epoch", "status"]).to_pandas()
    dup = frame.duplicated(["schedule", "config_id", "seed", "epoch"])
    if dup.any():
        first = frame.loc[dup].iloc[0]
        raise SchemaError(f"{name}: duplicate {first.schedule} rows for config_id="
                          f"{first.config_id}, epoch={first.epoch}, seed={first.seed}")
    diverged = frame.groupby(["schedule", "config_id", "seed"])["status"].agg(
        lambda s: bool((s == "diverged").any()))
    return {"rows": table.num_rows, "ok": int((~diverged).sum()),
            "diverged": int(diverged.sum())}


def schedule_value_problems(table: pa.Table) -> list[str]:
    """Every value of the schedule rows outside its range in :data:`VALUE_RANGES`."""
    problems = []
    for q, (lo, hi) in VALUE_RANGES.items():
        if q not in table.column_names or not table.num_rows:
            continue
        v = table.column(q).to_numpy(zero_copy_only=False).astype(np.float64)
        with np.errstate(invalid="ignore"):
            bad = ~np.isnan(v) & ((v < lo) | (v > hi))
        if bad.any():
            row = int(np.argmax(bad))
            problems.append(f"{q}={float(v[row])!r} in {table.column('schedule')[row]} row "
                            f"{row} (config_id={table.column('config_id')[row]}, epoch="
                            f"{table.column('epoch')[row]}) is not in [{lo:g}, {hi:g}]")
    return problems


def cell_arrays(shape: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``cells[config, z, epoch, seed, quantity]`` (not initialised: :func:`dense` writes every
    row, NaN where absent) and a 2-D view of it with one row per (config, z, epoch, seed).
    A one-seed table's cells are a view of an array with :data:`MEAN_EXTRA` more columns per
    cell, which the :class:`~frozenbench.table.Benchmark` fills with its seed counts and keeps
    as its mean over seeds: one array where there would be two copies.

    >>> cells, rows = cell_arrays((2, 3, 4, 1))
    >>> cells.shape[:4], rows.shape[0], cells.base.shape[-1] == len(QUANTITIES) + MEAN_EXTRA
    ((2, 3, 4, 1), 24, True)
    """
    k = len(QUANTITIES)
    if shape[3] == 1:
        buf = np.empty((*shape[:3], k + MEAN_EXTRA))
        return buf[:, :, :, None, :k], buf.reshape(-1, k + MEAN_EXTRA)
    cells = np.empty((*shape, k))
    return cells, cells.reshape(-1, k)


@dataclass(frozen=True, slots=True, eq=False)
class Rows:
    """What :func:`value_problems` checks: the table, its manifest and the dense arrays before
    diverged cells are filled (``n_div[config, z, seed]``: rows with status diverged)."""

    table: pa.Table
    manifest: Manifest
    index: CellIndex
    cells: np.ndarray
    present: np.ndarray
    n_div: np.ndarray
    #: per row of ``table``: its status is diverged (None: unknown)
    div_row: np.ndarray | None = None
    #: what the schedule rows add to the manifest's counts (rows, cells by status)
    extra: Mapping[str, int] = field(default_factory=dict)

    def at(self, c: int, z: int, e: int | None, s: int) -> str:
        """``config_id=.., z=.., epoch=.., seed=..`` of array positions (``e=None``: a cell)."""
        f = self.index.fidelities
        epoch = "" if e is None else f", epoch={f.epoch[e]}"
        return (f"config_id={int(self.index.config_ids[c])}, z={f.z[z]}{epoch}, "
                f"seed={self.index.seeds[s]}")

    def first(self, mask: np.ndarray) -> str:
        """Where the first True of a ``[config, z, epoch, seed]`` mask is, and how many."""
        c, z, e, s = (int(v) for v in np.argwhere(mask)[0])
        n = int(mask.sum())
        return f"at {self.at(c, z, e, s)}" + (f" ({n} rows in all)" if n > 1 else "")


def value_problems(rows: Rows) -> list[str]:
    """Every value of a table against the schema's ranges and invariants; one line per problem
    (an empty list for a valid table). See the module docstring for the list."""
    problems = cell_problems(rows)
    m, cells, present = rows.manifest, rows.cells, rows.present
    n_rows = present.sum(axis=2)  # [config, z, seed]
    ok_cell = (n_rows > 0) & (rows.n_div == 0)
    ok_row = present & ok_cell[:, :, None, :]
    have = set(rows.table.column_names)
    for q, (lo, hi) in VALUE_RANGES.items():
        if q not in have or q not in QUANTITIES:
            continue
        if rows_valid(rows, q, lo, hi):
            continue
        v = cells[..., QUANTITIES.index(q)]
        with np.errstate(invalid="ignore"):
            bad = present & ~np.isnan(v) & ((v < lo) | (v > hi))
        if q in FINITE_IN_OK_ROWS:
            bad |= ok_row & ~np.isfinite(v)
        if q in ALL_OR_NONE:
            bad |= present & np.isinf(v)
        if bad.any():
            c, z, e, s = (int(i) for i in np.argwhere(bad)[0])
            valid = f"[{lo:g}, {hi:g}]" if np.isfinite(hi) else f"finite and >= {lo:g}"
            problems.append(f"{q}={float(v[c, z, e, s])!r} {rows.first(bad)} is not valid; "
                            f"{q} is {valid}"
                            + (" (NaN/inf only in a diverged cell)" if q in FINITE_WHEN_OK
                               else ""))
    if "val_error" in have:
        err = cells[..., QUANTITIES.index("val_error")]
        nan_ok = ok_row & np.isnan(err)
        if nan_ok.any() and (m.metric == "val_error" or (ok_row & ~np.isnan(err)).any()):
            problems.append(
                f"val_error is NaN {rows.first(nan_ok)}, a row of an ok cell; val_error is a "
                f"number in [0, 1] in every ok row of a classification table, or NaN in every "
                f"row of a language-model table (whose metric is not val_error; this one's is "
                f"{m.metric!r})")
    for q in TEST_METRICS.values():
        if q not in have:
            continue
        v = cells[..., QUANTITIES.index(q)]
        nan_ok = ok_row & np.isnan(v)
        if nan_ok.any() and (ok_row & ~np.isnan(v)).any():
            problems.append(
                f"{q} is NaN {rows.first(nan_ok)}, a row of an ok cell, and a number in other "
                f"ok rows; a table measures {q} in every ok row (a test split) or in none")
    for q in CUMULATIVE_COLUMNS:
        if q not in have or q not in QUANTITIES:
            continue
        v = cells[..., QUANTITIES.index(q)]
        both = present[:, :, 1:] & present[:, :, :-1]
        with np.errstate(invalid="ignore"):
            falls = both & (v[:, :, 1:] < v[:, :, :-1])
        if falls.any():
            c, z, e, s = (int(i) for i in np.argwhere(falls)[0])
            problems.append(
                f"{q} falls from {float(v[c, z, e, s])!r} to {float(v[c, z, e + 1, s])!r} "
                f"{rows.first(np.pad(falls, ((0, 0), (0, 0), (1, 0), (0, 0))))}; it is "
                "cumulative, never smaller at a later epoch")
    return problems


def rows_valid(rows: Rows, q: str, lo: float, hi: float) -> bool:
    """A quick proof on the contiguous column that no row of ``q`` breaks the checks of
    :func:`value_problems` (in range where not NaN; non-finite only in diverged rows where
    it must be finite in ok cells; no inf val_error). False means "not proven": the exact
    per-cell check then runs and names the problem."""
    if rows.div_row is None:
        return False
    a = rows.table.column(q).to_numpy(zero_copy_only=False)
    if a.dtype.kind != "f":
        return a.size == 0 or bool(a.min() >= lo and a.max() <= hi)
    finite = np.isfinite(a)
    if finite.all():
        return a.size == 0 or bool(a.min() >= lo and a.max() <= hi)
    if q in ALL_OR_NONE and np.isinf(a).any():
        return False
    if q in FINITE_IN_OK_ROWS and (~finite & ~rows.div_row).any():
        return False
    with np.errstate(invalid="ignore"):
        return bool(np.nanmin(a) >= lo and np.nanmax(a) <= hi) if (~np.isnan(a)).any() \
            else True


def cell_problems(rows: Rows) -> list[str]:
    """The structure of the cells: one status per cell, no hole in a cell's epochs (an ok
    cell has every epoch, a diverged one the epochs up to where it stopped), a row for every
    fidelity value, and the manifest's row and cell counts."""
    problems = []
    m, present, n_div = rows.manifest, rows.present, rows.n_div
    f = rows.index.fidelities
    n_rows = present.sum(axis=2)
    mixed = (n_div > 0) & (n_div < n_rows)
    if mixed.any():
        c, z, s = (int(i) for i in np.argwhere(mixed)[0])
        problems.append(f"the cell {rows.at(c, z, None, s)} has rows with status ok and rows "
                        f"with status diverged ({int(mixed.sum())} such cells); all rows of a "
                        "cell share its status")
    ok_cell = (n_rows > 0) & (n_div == 0)
    partial = ok_cell & (n_rows < len(f.epoch))
    if partial.any():
        c, z, s = (int(i) for i in np.argwhere(partial)[0])
        have = [f.epoch[e] for e in np.flatnonzero(present[c, z, :, s])]
        problems.append(f"the ok cell {rows.at(c, z, None, s)} has epochs {have}, not all of "
                        f"{list(f.epoch)} ({int(partial.sum())} such cells); an ok cell has "
                        "a row for every epoch")
    gap = present[:, :, 1:] & ~present[:, :, :-1] & (n_div > 0)[:, :, None, :]
    if gap.any():
        c, z, e, s = (int(i) for i in np.argwhere(gap)[0])
        problems.append(f"the diverged cell {rows.at(c, z, None, s)} has epoch "
                        f"{f.epoch[e + 1]} but not epoch {f.epoch[e]}; a diverged cell has "
                        "the epochs up to where it stopped, without a hole")
    epochs_there: list[bool] = np.any(present, axis=(0, 1, 3)).tolist()
    if not all(epochs_there):
        empty = [e for e, h in zip(f.epoch, epochs_there) if not h]
        problems.append(f"the manifest lists epochs {empty} that no row has; epochs with rows: "
                        f"{[e for e, h in zip(f.epoch, epochs_there) if h]}")
    recorded = {k: v for k, v in m.cells.items() if isinstance(v, int)}
    z_there: list[bool] = np.any(present, axis=(0, 2, 3)).tolist()
    if recorded and not recorded.get("failed", 0) + recorded.get("missing", 0) \
            and not all(z_there):
        problems.append(f"the manifest lists z values {[z for z, h in zip(f.z, z_there) if not h]}"
                        f" that no row has, and records no failed or missing cell; z values "
                        f"with rows: {[z for z, h in zip(f.z, z_there) if h]}")
    n_table = rows.table.num_rows + rows.extra.get("rows", 0)
    if m.rows != n_table:
        problems.append(f"the manifest says {m.rows} rows, the table has {n_table}")
    counts = {"ok": int(ok_cell.sum()) + rows.extra.get("ok", 0),
              "diverged": int((n_div > 0).sum()) + rows.extra.get("diverged", 0)}
    for status, n in counts.items():
        if status in recorded and recorded[status] != n:
            problems.append(f"the manifest counts {recorded[status]} {status} cells, the table "
                            f"has {n}")
    return problems


def check_schema(schema: pa.Schema, manifest: Manifest, where: str) -> None:
    """The columns, their types and the schema version of a table file."""
    raw = (schema.metadata or {}).get(b"frozenbench_schema_version")
    version = raw.decode() if raw is not None else str(manifest.schema_version)
    if version != str(manifest.schema_version) or \
            version not in [str(v) for v in READABLE_VERSIONS]:
        raise SchemaError(f"{manifest.benchmark}: {where} has schema version {version}, the "
                          f"manifest says {manifest.schema_version}; this frozenbench reads "
                          f"{list(READABLE_VERSIONS)}")
    expected = arrow_schema(manifest.grid, version=int(version))
    missing = [n for n in expected.names if n not in schema.names]
    extra = [n for n in schema.names if n not in expected.names]
    if missing or extra:
        raise SchemaError(f"{manifest.benchmark}: {where} columns do not match the schema: "
                          f"missing {missing}, extra {extra}")
    for f in expected:
        got = schema.field(f.name).type
        if got != f.type:
            raise SchemaError(f"{manifest.benchmark}: {where} column {f.name} has type {got}, "
                              f"expected {f.type}")


def check_hyperparameters(table: pa.Table, index: CellIndex, ci: np.ndarray,
                          name: str) -> None:
    """Every row's hyperparameter columns must spell the config of its config_id (``ci``: the
    rows' config positions), read through the space (a grid or a sampled design): each table
    config's values are looked up once, then compared row by row (numbers exactly, and
    robustly where not exactly equal)."""
    space = index.space
    for h, code in zip(space.hyperparameters, space.codes(index.config_ids)):
        if h.name not in table.column_names:
            continue
        column = table.column(h.name)
        if h.values and isinstance(h.values[0], str):
            got = pc.index_in(column, value_set=pa.array(h.values)).to_numpy(
                zero_copy_only=False)
            ok = got == code[ci]
        else:
            vals = column.to_numpy(zero_copy_only=False)
            want = (np.asarray(h.values, dtype=np.float64)[code] if h.values else code)[ci]
            ok = vals == want
            if not ok.all():
                ok[~ok] = np.isclose(vals[~ok].astype(np.float64), want[~ok], rtol=1e-6,
                                     atol=0.0)
        if not ok.all():
            row = int(np.argmin(ok))
            cid = int(index.config_ids[ci[row]])
            raise SchemaError(
                f"{name}: row {row} has {h.name}={_cell_repr(column[row])} but config_id "
                f"{cid} means {h.name}={space.config(cid)[h.name]!r}")


def _cell_repr(value: pa.Scalar) -> str:
    """A table value for an error message; a string whose bytes are not UTF-8 shown as bytes."""
    try:
        return repr(value.as_py())[:80]
    except UnicodeDecodeError:
        return f"{value.cast(pa.binary()).as_py()[:40]!r} (not UTF-8 text)"
