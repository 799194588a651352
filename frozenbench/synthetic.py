"""Synthetic tables in the real format, for tests, examples and performance benchmarks.

A synthetic benchmark is a long Parquet table with the exact schema of :mod:`frozenbench.schema`
plus a :class:`~frozenbench.manifest.Manifest`, so everything that reads a shipped table reads
it the same way. The numbers are made up but shaped like the real thing:

- each config has a latent quality; its full-fidelity error follows it, and a config x z
  distortion that shrinks as z grows makes the rank correlation with full training rise with z;
- learning curves fall exponentially with the epoch; seeds add small noise;
- cumulative training time grows with the epoch and with z (z=1 costs ~40% of full training per
  epoch), FLOPs likewise; peak memory grows with z;
- seeds follow the shipped tables' pattern: seed 0 everywhere, ``full_z_seeds`` seeds at the
  largest z, and the first ``multi_seed_configs`` configs with ``multi_seeds`` seeds at every z;
- a fraction of (config, z, seed) cells diverge: their last row has NaN/inf losses and the rows
  after it are absent, as the generation pipeline writes them;
- with ``test_split``, the held-out test metrics are the validation metrics plus small noise
  (a test split of the same distribution); without it they are NaN, as for a task without one;
- ``thaw_configs`` configs also have a linear-thaw cell (``schedule="thaw"``) at seeds
  ``0..thaw_seeds-1``: at epoch e it trains z(e) = 1 + floor((e - 1)(n - 1)/(E - 1)) and reads
  the fixed-z curve there; its costs follow the merge's rule
  (:func:`~frozenbench.generation.cost_clock.schedule_cost`, with the config as a cost
  factor, since a synthetic config's clock is its own): each epoch costs the fixed-z increment
  of the z it trains, accumulated.

The space is a grid (``grid``, the paper's ResNet grid by default) or any declared
:class:`~frozenbench.space.SearchSpace` (``space``), e.g. :func:`sampled_space`'s configs
drawn from continuous ranges, with a condition (SGD has no ``beta2``).

>>> from frozenbench.synthetic import make_benchmark
>>> bench = make_benchmark(n_configs=8, n_z=3, n_epochs=4)
>>> bench.name, len(bench.config_ids), bench.fidelities
('synthetic', 8, {'z': [1, 2, 3], 'epoch': [1, 2, 3, 4]})
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from frozenbench.atomic import atomic_file
from frozenbench.errors import InvalidValueError
from frozenbench.manifest import TABLE_NAME, Manifest, describe_files
from frozenbench.schema import COSTS, STATUSES, arrow_schema
from frozenbench.space import Condition, Hyperparameter, SearchSpace
from frozenbench.tasks.catalog import RESNET_GRID

if TYPE_CHECKING:
    from frozenbench.table import Benchmark


def _check_positive(**kwargs: int) -> None:
    for name, value in kwargs.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise InvalidValueError(f"{name} must be a positive integer, got {value!r}")


def sampled_space(n_configs: int = 64, *, seed: int = 0) -> SearchSpace:
    """A sampled space for tests: ``n_configs`` configs by scrambled Sobol from continuous
    ranges (lr and weight decay on a log scale), with ``beta2`` active only for Adam.

    >>> space = sampled_space(16)
    >>> len(space), space.is_grid, space.design.seed
    (16, False, 0)
    >>> {space.config(i)["beta2"] for i in range(16) if space.config(i)["optimizer"] == "sgd"}
    {0.9}
    """
    return SearchSpace.sample(
        [Hyperparameter("lr", low=1e-4, high=1e-1, log=True),
         Hyperparameter("weight_decay", low=1e-6, high=1e-2, log=True),
         Hyperparameter("optimizer", ("adam", "sgd")),
         Hyperparameter("beta1", low=0.8, high=0.99),
         Hyperparameter("beta2", low=0.9, high=0.999),
         Hyperparameter("batch_size", (32, 64, 128))],
        n_configs, seed=seed, conditions=[Condition("beta2", "optimizer", ("adam",))])


def _space_of(grid: Mapping[str, Sequence[Any]] | None,
              space: SearchSpace | None) -> SearchSpace:
    if grid is not None and space is not None:
        raise InvalidValueError("give a grid or a space, not both")
    return space if space is not None else SearchSpace.from_dict(
        dict(RESNET_GRID if grid is None else grid))


def make_table(
    *,
    grid: Mapping[str, Sequence[Any]] | None = None,
    space: SearchSpace | None = None,
    n_configs: int | None = None,
    n_z: int = 11,
    n_epochs: int = 20,
    full_z_seeds: int = 2,
    multi_seed_configs: int = 3,
    multi_seeds: int = 3,
    diverge_frac: float = 0.02,
    seed: int = 0,
    test_split: bool = False,
    thaw_configs: int = 0,
    thaw_seeds: int = 1,
) -> tuple[pa.Table, list[int], list[int]]:
    """Build a synthetic long table; returns ``(arrow_table, config_ids, seeds)``.

    ``n_configs`` picks a seeded subset of the space's configs (all of them when ``None``);
    ``test_split``: test metrics = validation + noise (else NaN); ``thaw_configs``: that many
    configs get a thaw cell at seeds ``0..thaw_seeds-1`` too (see the module docstring).

    >>> table, ids, seeds = make_table(n_configs=4, n_z=2, n_epochs=3, diverge_frac=0.0)
    >>> table.num_rows  # 3 epochs x (z=1: 3 configs x 3 seeds + 1 x 1; z=2: 3 x 3 + 1 x 2)
    63
    """
    space = _space_of(grid, space)
    _check_positive(n_z=n_z, n_epochs=n_epochs, full_z_seeds=full_z_seeds,
                    multi_seeds=multi_seeds)
    if not 0.0 <= diverge_frac <= 1.0:
        raise InvalidValueError(f"diverge_frac={diverge_frac!r} must be in [0, 1]")
    rng = np.random.default_rng(seed)
    if n_configs is None:
        ids = np.arange(len(space))
    else:
        _check_positive(n_configs=n_configs)
        ids = np.array(space.subset(n_configs, seed=seed))
    n_c = len(ids)
    n_seeds = max(full_z_seeds, multi_seeds if multi_seed_configs > 0 else 1)
    zs = np.arange(1, n_z + 1)
    epochs = np.arange(1, n_epochs + 1)

    # Which (config, z, seed) cells exist.
    has = np.zeros((n_c, n_z, n_seeds), dtype=bool)
    has[:, :, 0] = True
    has[:, -1, :full_z_seeds] = True
    has[: min(multi_seed_configs, n_c), :, :multi_seeds] = True

    # Latent config quality, a z-dependent distortion, per-seed noise.
    quality = rng.normal(size=n_c)
    frac = zs / n_z  # 1/n .. 1
    distort = rng.normal(size=(n_c, n_z)) * (1.0 - frac)[None, :] * 1.2
    final = 0.12 + 0.05 * (quality[:, None] + distort) + 0.08 * (1.0 - frac)[None, :]
    final = np.clip(final, 0.02, 0.85)
    rate = rng.uniform(0.15, 0.5, size=n_c)
    curve = final[:, :, None] + (0.9 - final[:, :, None]) * np.exp(
        -rate[:, None, None] * epochs[None, None, :]
    )  # (c, z, e)
    noise = rng.normal(scale=0.006, size=(n_c, n_z, n_epochs, n_seeds))
    err = np.clip(curve[..., None] + noise, 0.0, 1.0)  # (c, z, e, s)
    val_loss = -np.log(np.clip(1.0 - err, 1e-6, None)) * 2.5
    test_err = np.full_like(err, np.nan)
    if test_split:
        test_err = np.clip(err + rng.normal(scale=0.01, size=err.shape), 0.0, 1.0)
    test_loss = -np.log(np.clip(1.0 - test_err, 1e-6, None)) * 2.5
    train_loss = val_loss * rng.uniform(0.7, 0.95, size=(n_c, 1, 1, 1))

    speed = rng.uniform(0.85, 1.15, size=n_c)
    per_epoch = 10.0 * speed[:, None] * (0.4 + 0.6 * (zs - 1) / max(n_z - 1, 1))[None, :]
    jitter = rng.uniform(0.97, 1.03, size=(n_c, n_z, n_epochs, n_seeds))
    time_cum = np.cumsum(per_epoch[:, :, None, None] * jitter, axis=2)
    flops_cum = np.cumsum(
        np.broadcast_to(1e12 * (1.0 + 2.0 * frac)[None, :, None, None],
                        (n_c, n_z, n_epochs, n_seeds)), axis=2)
    memory = (2**30 * (0.3 + 0.7 * frac)[None, :] * rng.uniform(0.9, 1.1, size=n_c)[:, None])
    trainable = (1e6 * frac).astype(np.int64)

    # Divergence: a cell diverges at some epoch; that row gets NaN/inf, later rows are absent.
    keep = np.broadcast_to(has[:, :, None, :], err.shape).copy()
    status_div = np.zeros((n_c, n_z, n_seeds), dtype=bool)
    if diverge_frac > 0:
        status_div = has & (rng.random(has.shape) < diverge_frac)
        at = rng.integers(0, n_epochs, size=has.shape)
        e_idx = np.arange(n_epochs)[None, None, :, None]
        div_at = at[:, :, None, :]
        dv = status_div[:, :, None, :]
        keep &= ~(dv & (e_idx > div_at))
        hit = dv & (e_idx == div_at)
        err = np.where(hit, np.nan, err)
        val_loss = np.where(hit, np.nan, val_loss)
        test_err = np.where(hit, np.nan, test_err)
        test_loss = np.where(hit, np.nan, test_loss)
        train_loss = np.where(hit, np.inf, train_loss)

    c_i, z_i, e_i, s_i = np.nonzero(keep)
    n = len(c_i)
    cid = ids[c_i]
    columns: dict[str, Any] = {}
    columns.update(space.columns(cid))
    columns["config_id"] = cid.astype(np.int32)
    columns["seed"] = s_i.astype(np.int32)
    columns["schedule"] = "fixed"
    columns["z"] = zs[z_i].astype(np.int16)
    columns["n_layers"] = np.full(n, n_z, dtype=np.int16)
    columns["epoch"] = epochs[e_i].astype(np.int16)
    columns["samples_seen"] = (epochs[e_i] * 45_000).astype(np.int64)
    columns["train_loss"] = train_loss[c_i, z_i, e_i, s_i]
    columns["val_loss"] = val_loss[c_i, z_i, e_i, s_i]
    columns["val_error"] = err[c_i, z_i, e_i, s_i]
    columns["test_loss"] = test_loss[c_i, z_i, e_i, s_i]
    columns["test_error"] = test_err[c_i, z_i, e_i, s_i]
    columns["train_time_s"] = time_cum[c_i, z_i, e_i, s_i]
    columns["train_cpu_s"] = time_cum[c_i, z_i, e_i, s_i]
    columns["train_cost_s"] = time_cum[c_i, z_i, e_i, s_i]
    columns["eval_time_s"] = np.full(n, 0.5)
    columns["eval_cpu_s"] = np.full(n, 0.5)
    columns["peak_memory_bytes"] = memory[c_i, z_i].astype(np.int64)
    columns["memory_method"] = "cpu_tensor_estimate"
    columns["peak_rss_bytes"] = np.zeros(n, dtype=np.int64)
    columns["trainable_params"] = trainable[z_i]
    columns["total_params"] = np.full(n, int(1e6), dtype=np.int64)
    columns["train_flops"] = flops_cum[c_i, z_i, e_i, s_i]
    columns["status"] = np.where(status_div[c_i, z_i, s_i], 1, 0)
    columns["device"] = "synthetic"
    columns["versions"] = json.dumps({"frozenbench": "synthetic"})
    columns["hardware"] = json.dumps({"cpu_model": "synthetic"})

    table = _to_table(columns, space, n)
    if thaw_configs:
        _check_positive(thaw_configs=thaw_configs, thaw_seeds=thaw_seeds)
        if thaw_seeds > n_seeds:
            raise InvalidValueError(f"thaw_seeds={thaw_seeds} must be at most the table's "
                                    f"{n_seeds} seeds")
        table = pa.concat_tables([table, *(
            _thaw_rows(table, min(thaw_configs, n_c), n_z, n_epochs, s)
            for s in range(thaw_seeds))])
    seeds = sorted({int(s) for s in np.nonzero(has.any(axis=(0, 1)))[0]})
    return table, [int(i) for i in ids], seeds


def _to_table(columns: Mapping[str, Any], space: SearchSpace, n: int) -> pa.Table:
    """The columns as an Arrow table of the current schema (constant strings repeated)."""
    schema = arrow_schema(space.to_dict())
    arrays = []
    for f in schema:
        v = columns[f.name]
        if f.name == "status":
            arr: pa.Array = pa.DictionaryArray.from_arrays(
                pa.array(v.astype(np.int8)), pa.array(list(STATUSES))).cast(pa.string())
        elif isinstance(v, str):
            arr = pa.DictionaryArray.from_arrays(
                pa.array(np.zeros(n, dtype=np.int8)), pa.array([v])).cast(pa.string())
        else:
            arr = pa.array(v, type=f.type)
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=schema)


def _thaw_rows(fixed: pa.Table, n_thaw: int, n_z: int, n_epochs: int, seed: int) -> pa.Table:
    """A linear-thaw cell at ``seed`` for the first ``n_thaw`` configs with ok cells at every z
    there: at epoch e the fixed-z row at (z(e), e), its cumulative columns by the merge's rule
    (:func:`~frozenbench.generation.cost_clock.schedule_cost`, the config as a cost factor)."""
    from frozenbench.generation.cost_clock import schedule_cost

    frame = fixed.to_pandas()
    cells = frame[(frame.seed == seed) & (frame.status == "ok")]
    ok_everywhere = cells.groupby("config_id")["z"].nunique() == n_z
    ids = [c for c in dict.fromkeys(cells.config_id) if ok_everywhere.get(c, False)][:n_thaw]
    if not ids:
        return fixed.slice(0, 0)
    epochs = np.arange(1, n_epochs + 1)
    zs = 1 + (epochs - 1) * (n_z - 1) // max(n_epochs - 1, 1)
    indexed = cells.set_index(["config_id", "z", "epoch"])
    keys = [(cid, int(z), int(e)) for cid in ids for z, e in zip(zs, epochs)]
    part = indexed.loc[keys].reset_index()
    for col in COSTS:
        clock = cells[["config_id", "z", "epoch", col]].rename(columns={col: "train_cost_s"})
        part[col] = schedule_cost(part, clock, factors=["config_id"]).to_numpy()
    part["schedule"] = "thaw"
    return pa.Table.from_pandas(part[fixed.schema.names], schema=fixed.schema,
                                preserve_index=False)


def write_benchmark(
    directory: str | os.PathLike[str],
    *,
    name: str = "synthetic",
    metric: str = "val_error",
    grid: Mapping[str, Sequence[Any]] | None = None,
    space: SearchSpace | None = None,
    **kwargs: Any,
) -> Path:
    """Write a synthetic benchmark directory (``table.parquet`` + ``manifest.json``).

    Keyword arguments go to :func:`make_table`. Returns the directory, ready for
    :func:`frozenbench.load`.

    >>> import tempfile, frozenbench as fb
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = write_benchmark(d, n_configs=6, n_z=3, n_epochs=3)
    ...     fb.load(path).name
    'synthetic'
    """
    space = _space_of(grid, space)
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    table, ids, seeds = make_table(space=space, **kwargs)
    with atomic_file(root / TABLE_NAME) as f:
        pq.write_table(table, f)
    _manifest(name, metric, space, table, ids, seeds, kwargs,
              files=describe_files(root, [TABLE_NAME]), cells=_cell_counts(table)).write(root)
    return root


def _cell_counts(table: pa.Table) -> dict[str, int]:
    """``{"ok": ..., "diverged": ...}``: cells by status, a thaw cell counting once."""
    frame = table.select(["config_id", "z", "seed", "schedule", "status"]).to_pandas()
    frame.loc[frame.schedule != "fixed", "z"] = 0  # a thaw cell's rows have several z
    first = frame.drop_duplicates(["config_id", "z", "seed", "schedule"])
    n_div = int((first.status == "diverged").sum())
    return {"ok": len(first) - n_div, "diverged": n_div}


def _manifest(name: str, metric: str, space: SearchSpace | Mapping[str, Sequence[Any]],
              table: pa.Table, ids: list[int], seeds: list[int], kwargs: Mapping[str, Any], *,
              files: Mapping[str, Any], cells: Mapping[str, int]) -> Manifest:
    if not isinstance(space, SearchSpace):  # a grid, as the tests that build tables pass it
        space = _space_of(space, None)
    n_z = int(kwargs.get("n_z", 11))
    n_epochs = int(kwargs.get("n_epochs", 20))
    plain_grid = space.is_grid and not space.conditions and not any(
        h.log for h in space.hyperparameters)  # a manifest as written before declarations
    return Manifest(
        benchmark=name,
        task="synthetic",
        grid=space.to_dict(),
        fidelities={"z": list(range(1, n_z + 1)), "epoch": list(range(1, n_epochs + 1))},
        metric=metric,
        config_ids=ids,
        seeds=seeds,
        files=files,
        rows=table.num_rows,
        cells=cells,
        log_scale=[h.name for h in space.hyperparameters if h.log],
        description="synthetic table for tests and benchmarks (made-up numbers)",
        space_declaration={} if plain_grid else space.declaration(),
    )


def make_benchmark(
    *,
    name: str = "synthetic",
    metric: str = "val_error",
    grid: Mapping[str, Sequence[Any]] | None = None,
    space: SearchSpace | None = None,
    **kwargs: Any,
) -> Benchmark:
    """A synthetic :class:`~frozenbench.table.Benchmark` in memory (nothing written to disk).

    >>> bench = make_benchmark(n_configs=5, n_z=2, n_epochs=3)
    >>> bench.query(bench.configs[0], z=2).n_seeds
    3
    >>> sampled = make_benchmark(space=sampled_space(32), n_configs=20, n_z=3, n_epochs=3)
    >>> len(sampled), len(sampled.space), sampled.space.is_grid
    (20, 32, False)
    """
    from frozenbench.table import Benchmark

    space = _space_of(grid, space)
    table, ids, seeds = make_table(space=space, **kwargs)
    manifest = _manifest(name, metric, space, table, ids, seeds, kwargs, files={}, cells={})
    return Benchmark.from_arrow(table, manifest)
