"""Loading and validation: a long table (Parquet files or an Arrow table) into dense arrays.

Every check raises :class:`~frozenbench.errors.SchemaError` naming the benchmark and the bad
value: the schema version and columns, key values the manifest does not list, duplicate rows,
hyperparameter columns that disagree with ``config_id``, unknown statuses, negative or
non-finite costs. A diverged cell's missing epochs are filled here (:func:`fill_diverged`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from frozenbench.errors import SchemaError
from frozenbench.manifest import Manifest
from frozenbench.schema import METRICS, READABLE_VERSIONS, arrow_schema
from frozenbench.space import SearchSpace
from frozenbench.table.index import CellIndex
from frozenbench.table.result import COSTS, QUANTITIES

#: The key columns of the long table, in the order of the dense arrays' axes.
KEYS: tuple[str, ...] = ("config_id", "z", "epoch", "seed")


@dataclass(frozen=True, slots=True, eq=False)
class DenseTable:
    """The dense arrays of a table: ``cells[config, z, epoch, seed, quantity]`` (NaN where
    absent), ``present[config, z, epoch, seed]`` and ``diverged[config, z, seed]``."""

    index: CellIndex
    cells: np.ndarray
    present: np.ndarray
    diverged: np.ndarray


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
    """The long table of a benchmark directory (``columns``: a subset), schema-checked."""
    files = table_files(root, manifest)
    try:
        tables = [pq.read_table(f, columns=columns) for f in files]
    except (pa.ArrowInvalid, KeyError) as exc:
        raise SchemaError(f"{manifest.benchmark}: cannot read the table: {exc}") from exc
    for f in files:
        check_schema(pq.read_schema(f), manifest, str(f.relative_to(root)))
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables)


def query_columns(manifest: Manifest) -> list[str]:
    """The columns a :class:`~frozenbench.table.Benchmark` holds in memory (those its schema
    version has)."""
    have = set(arrow_schema(manifest.grid, version=manifest.schema_version).names)
    return [c for c in [*manifest.grid, *KEYS, "status", *QUANTITIES] if c in have]


def dense(table: pa.Table, manifest: Manifest) -> DenseTable:
    """Check a long Arrow table against its manifest and turn it into dense arrays."""
    name = manifest.benchmark
    index = index_of(manifest)

    def key(n: str) -> np.ndarray:
        c = table.column(n)
        if c.null_count:
            raise SchemaError(f"{name}: column {n} has {c.null_count} nulls")
        return c.to_numpy()

    cid = key("config_id")
    ci, zi, ei, si = index.rows(cid, key("z"), key("epoch"), key("seed"))
    n_c, n_z, n_e, n_s = index.shape
    flat = ((ci * n_z + zi) * n_e + ei) * n_s + si
    counts = np.bincount(flat, minlength=n_c * n_z * n_e * n_s)
    if counts.max(initial=0) > 1:
        c, zz, e, s = np.unravel_index(int(np.argmax(counts > 1)), index.shape)
        raise SchemaError(
            f"{name}: duplicate rows for config_id={index.config_ids[c]}, "
            f"z={index.fidelities.z[zz]}, epoch={index.fidelities.epoch[e]}, "
            f"seed={index.seeds[s]}")
    check_hyperparameters(table, manifest.space, cid, name)
    status = table.column("status")
    statuses = pc.unique(status).to_pylist()
    if set(statuses) - {"ok", "diverged"}:
        raise SchemaError(f"{name}: unknown status values {sorted(map(str, statuses))}; "
                          f"valid: ['ok', 'diverged']")
    div_row = pc.equal(status, "diverged").to_numpy(zero_copy_only=False)

    cells = np.full((*index.shape, len(QUANTITIES)), np.nan)
    flat_cells = cells.reshape(-1, len(QUANTITIES))
    for k, q in enumerate(QUANTITIES):
        if q not in table.column_names:  # added in a later schema version: absent (NaN)
            continue
        flat_cells[flat, k] = table.column(q).to_numpy(zero_copy_only=False).astype(
            np.float64, copy=False)
    present = np.zeros(index.shape, dtype=bool)
    present.reshape(-1)[flat] = True
    diverged = np.zeros((n_c, n_z, n_s), dtype=bool)
    diverged.reshape(-1)[((ci * n_z + zi) * n_s + si)[div_row]] = True
    fill_diverged(cells, present, diverged)
    for cost in COSTS:
        if cost not in table.column_names:
            continue
        vals = cells[..., QUANTITIES.index(cost)][present]
        if not np.isfinite(vals).all() or (vals < 0).any():
            raise SchemaError(f"{name}: {cost} must be finite and >= 0")
    return DenseTable(index, cells, present, diverged)


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


def check_hyperparameters(table: pa.Table, space: SearchSpace, cid: np.ndarray,
                          name: str) -> None:
    """Every row's hyperparameter columns must spell the grid config of its config_id."""
    idx = np.unravel_index(cid.astype(np.int64), space.shape)
    for k, h in enumerate(space.hyperparameters):
        if h.name not in table.column_names:
            continue
        column = table.column(h.name)
        if isinstance(h.values[0], str):
            got = pc.index_in(column, value_set=pa.array(h.values)).to_numpy(
                zero_copy_only=False)
            ok = got == idx[k]
        else:
            vals = column.to_numpy(zero_copy_only=False).astype(np.float64)
            want = np.asarray(h.values, dtype=np.float64)[idx[k]]
            ok = np.isclose(vals, want, rtol=1e-6, atol=0.0)
        if not np.all(ok):
            row = int(np.argmin(ok))
            raise SchemaError(
                f"{name}: row {row} has {h.name}={column[row].as_py()!r} but config_id "
                f"{int(cid[row])} means {h.name}={h.values[idx[k][row]]!r}")


def fill_diverged(cells: np.ndarray, present: np.ndarray, diverged: np.ndarray) -> None:
    """After a diverged cell's last row: NaN metrics, cost frozen at what was paid."""
    c, z, s = np.nonzero(diverged)
    if len(c) == 0:
        return
    pres = present[c, z, :, s]  # (D, E)
    n_e = pres.shape[1]
    last = np.where(pres, np.arange(n_e)[None, :], -1)
    last = np.maximum.accumulate(last, axis=1)
    fill = ~pres & (last >= 0)
    if not fill.any():
        return
    d, e = np.nonzero(fill)
    src = last[d, e]
    metric_q = {QUANTITIES.index(m) for m in METRICS}
    for k in range(cells.shape[-1]):
        if k in metric_q:
            cells[c[d], z[d], e, s[d], k] = np.nan
        else:
            cells[c[d], z[d], e, s[d], k] = cells[c[d], z[d], src, s[d], k]
    present[c[d], z[d], e, s[d]] = True
