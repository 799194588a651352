"""A benchmark in memory: the long table turned into dense arrays, and fast queries on them.

On disk a table is long (one row per config x z x epoch x seed, see :mod:`frozenbench.schema`);
in memory it is a dense float64 array indexed ``[config, z, epoch, seed, quantity]`` with a mask
for cells that are absent (not every seed was run at every z), plus a second array holding the
mean over the available seeds. A query is a handful of dict and array lookups, never pandas.

Seeds. ``seed=None`` (the default everywhere) is the mean over the seeds available for that
cell; ``Result.n_seeds`` says how many there were. ``seed=k`` reads one seed and is an error
where seed ``k`` was not run. The simulator can also draw one seed per trial
(:func:`frozenbench.simulate`, ``cell_seed="draw"``).

Diverged cells (``status == "diverged"``) keep the rows they finished; their last row has NaN
or inf losses and the generation pipeline writes no rows after it. Queries report them as they
are: NaN/inf metrics and ``Result.n_diverged > 0``; later epochs read NaN metrics and the cost
paid until the divergence (training stopped there). A mean over seeds that includes a diverged
seed is NaN. For optimisation (the simulator and :mod:`frozenbench.analysis`) a non-finite
metric counts as the *worst finite value of that metric anywhere in the table*, a finite
stand-in that keeps regret and plots finite; see :meth:`Benchmark.objective`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from frozenbench.errors import FidelityError, InvalidValueError, SchemaError, format_choices
from frozenbench.manifest import Manifest
from frozenbench.schema import METRICS, SCHEMA_VERSION, arrow_schema
from frozenbench.space import Fidelities, SearchSpace, Value

#: Quantities stored per cell, in the order of :class:`Result`'s first fields.
QUANTITIES: tuple[str, ...] = (
    "val_error", "val_loss", "train_loss", "train_time_s", "train_flops", "peak_memory_bytes",
)
#: Cumulative cost columns a simulation can charge.
COSTS: tuple[str, ...] = ("train_time_s", "train_flops")
_Q = {q: i for i, q in enumerate(QUANTITIES)}
_METRIC_Q = [_Q[m] for m in METRICS]
_COST_Q = [_Q[c] for c in COSTS]
_CACHE_LIMIT = 1 << 16


class Result(NamedTuple):
    """The metrics of one cell (config, z, epoch), for one seed or the mean over seeds.

    Costs are cumulative up to this epoch. A NamedTuple rather than a dataclass because it is
    built on every query (about 1 microsecond in all); it is immutable all the same.
    """

    val_error: float
    val_loss: float
    train_loss: float
    train_time_s: float
    train_flops: float
    peak_memory_bytes: float
    n_seeds: int
    n_diverged: int


def _ints(values: Any, what: str) -> np.ndarray:
    """An int64 array from user input, or a clear error (no float/bool/str silently cast)."""
    arr = np.asarray(values)
    if arr.dtype == object or arr.dtype.kind not in "iu":
        raise InvalidValueError(
            f"{what} must be integers (a scalar or an array), got dtype {arr.dtype}"
            if arr.dtype != object else f"{what} must be integers, got {values!r:.80}"
        )
    return arr.astype(np.int64, copy=False)


class Benchmark:
    """One benchmark table with fast queries. Build it with :func:`frozenbench.load`.

    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=6, n_z=3, n_epochs=4)
    >>> cfg = bench.configs[0]
    >>> r = bench.query(cfg, z=3)            # last epoch, mean over seeds
    >>> r.n_seeds, 0.0 < r.val_error < 1.0
    (3, True)
    >>> bench.query(cfg, z=3, epoch=2, seed=1).n_seeds
    1
    >>> bench.query({**cfg, "lr": 0.5}, z=3)
    Traceback (most recent call last):
    ...
    frozenbench.errors.InvalidValueError: lr=0.5 is not on the grid; valid: [0.0001, 0.001, 0.01]
    """

    def __init__(
        self,
        manifest: Manifest,
        cells: np.ndarray,
        present: np.ndarray,
        diverged: np.ndarray,
        *,
        directory: Path | None = None,
    ) -> None:
        self.manifest = manifest
        self.directory = directory
        self.space: SearchSpace = manifest.space
        self._fid: Fidelities = manifest.fidelity_values()
        self.config_ids = np.asarray(manifest.config_ids, dtype=np.int64)
        self.seeds: tuple[int, ...] = tuple(int(s) for s in manifest.seeds)
        n_c, n_z, n_e, n_s = len(self.config_ids), len(self._fid.z), len(self._fid.epoch), \
            len(self.seeds)
        if cells.shape != (n_c, n_z, n_e, n_s, len(QUANTITIES)) or present.shape != cells.shape[
                :4] or diverged.shape != (n_c, n_z, n_s):
            raise SchemaError(f"{manifest.benchmark}: array shapes do not match the manifest")
        self._present = present
        self._diverged = diverged
        self._n_seeds = present.sum(axis=3).astype(np.int16)
        self._n_div = (present & diverged[:, :, None, :]).sum(axis=3).astype(np.int16)
        # The mean over seeds, with n_seeds and n_diverged as two extra columns, so that a
        # query reads one row. A one-seed table keeps only this array (cells is a view of it).
        k = len(QUANTITIES)
        mean = np.empty((n_c, n_z, n_e, k + 2))
        if n_s == 1:
            mean[..., :k] = cells[:, :, :, 0, :]
            del cells
            self._cells = mean[:, :, :, None, :k]
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                total = np.where(present[..., None], cells, 0.0).sum(axis=3)
                mean[..., :k] = total / self._n_seeds[..., None]
            self._cells = cells
        mean[..., k] = self._n_seeds
        mean[..., k + 1] = self._n_div
        mean[self._n_seeds == 0, :k] = np.nan
        self._mean = mean
        # Lookups for the fast path.
        self._pos_of_id = np.full(len(self.space), -1, dtype=np.int64)
        self._pos_of_id[self.config_ids] = np.arange(n_c)
        self._z_pos = {z: i for i, z in enumerate(self._fid.z)}
        self._e_pos = {e: i for i, e in enumerate(self._fid.epoch)}
        self._s_pos = {s: i for i, s in enumerate(self.seeds)}
        self._z_arr = np.full(max(self._fid.z) + 2, -1, dtype=np.int64)
        self._z_arr[list(self._fid.z)] = np.arange(n_z)
        self._e_arr = np.full(max(self._fid.epoch) + 2, -1, dtype=np.int64)
        self._e_arr[list(self._fid.epoch)] = np.arange(n_e)
        self._last_e = n_e - 1
        self._cache: dict[Any, int] = {}
        self._objective_cache: dict[tuple[str, bool], np.ndarray] = {}

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
        if verify:
            manifest.verify(root)
        parquet = [f for f in manifest.files if str(f).endswith(".parquet")]
        if not parquet:
            raise SchemaError(f"{manifest.benchmark}: the manifest lists no .parquet file")
        columns = [*manifest.grid, "config_id", "z", "epoch", "seed", "status", *QUANTITIES]
        try:
            tables = [pq.read_table(root / f, columns=columns) for f in sorted(parquet)]
        except (pa.ArrowInvalid, KeyError) as exc:
            raise SchemaError(f"{manifest.benchmark}: cannot read the table: {exc}") from exc
        for f in sorted(parquet):
            _check_schema(pq.read_schema(root / f), manifest, str(f))
        table = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
        return cls.from_arrow(table, manifest, directory=root, check_schema=False)

    @classmethod
    def from_arrow(
        cls,
        table: pa.Table,
        manifest: Manifest,
        *,
        directory: Path | None = None,
        check_schema: bool = True,
    ) -> Benchmark:
        """Build the dense arrays from a long Arrow table; raise :class:`SchemaError` if bad."""
        name = manifest.benchmark
        if check_schema:
            _check_schema(table.schema, manifest, "table")
        space = manifest.space
        fid = manifest.fidelity_values()
        ids = np.asarray(manifest.config_ids, dtype=np.int64)
        if len(ids) == 0 or ids.min() < 0 or ids.max() >= len(space) or len(np.unique(ids)) != \
                len(ids):
            raise SchemaError(f"{name}: manifest config_ids must be distinct grid indices "
                              f"in 0..{len(space) - 1}")
        seeds = np.asarray(manifest.seeds, dtype=np.int64)
        if len(seeds) == 0 or len(np.unique(seeds)) != len(seeds):
            raise SchemaError(f"{name}: manifest seeds must be distinct, got {list(seeds)}")

        def col(n: str) -> np.ndarray:
            c = table.column(n)
            if c.null_count and n in ("config_id", "z", "epoch", "seed"):
                raise SchemaError(f"{name}: column {n} has {c.null_count} nulls")
            return c.to_numpy()

        cid, z, ep, sd = col("config_id"), col("z"), col("epoch"), col("seed")
        pos_of_id = np.full(len(space), -1, dtype=np.int64)
        pos_of_id[ids] = np.arange(len(ids))
        ci = _positions(cid, pos_of_id, name, "config_id", ids)
        zi = _positions(z, _lookup(fid.z), name, "z", fid.z)
        ei = _positions(ep, _lookup(fid.epoch), name, "epoch", fid.epoch)
        order = np.argsort(seeds)
        si_sorted = np.searchsorted(seeds[order], sd)
        si_sorted = np.clip(si_sorted, 0, len(seeds) - 1)
        if not np.array_equal(seeds[order][si_sorted], sd):
            bad = sd[seeds[order][si_sorted] != sd][0]
            raise SchemaError(f"{name}: seed {bad} is not among the manifest seeds {list(seeds)}")
        si = order[si_sorted]
        n_c, n_z, n_e, n_s = len(ids), len(fid.z), len(fid.epoch), len(seeds)
        flat = ((ci * n_z + zi) * n_e + ei) * n_s + si
        counts = np.bincount(flat, minlength=n_c * n_z * n_e * n_s)
        if counts.max(initial=0) > 1:
            dup = int(np.argmax(counts > 1))
            c, zz, e, s = np.unravel_index(dup, (n_c, n_z, n_e, n_s))
            raise SchemaError(
                f"{name}: duplicate rows for config_id={ids[c]}, z={fid.z[zz]}, "
                f"epoch={fid.epoch[e]}, seed={seeds[s]}"
            )
        _check_hyperparameters(table, space, cid, name)
        status = table.column("status")
        bad_status = pc.unique(status).to_pylist()
        if set(bad_status) - {"ok", "diverged"}:
            raise SchemaError(f"{name}: unknown status values {sorted(map(str, bad_status))}; "
                              f"valid: ['ok', 'diverged']")
        div_row = pc.equal(status, "diverged").to_numpy(zero_copy_only=False)

        cells = np.full((n_c, n_z, n_e, n_s, len(QUANTITIES)), np.nan)
        flat_cells = cells.reshape(-1, len(QUANTITIES))
        for k, q in enumerate(QUANTITIES):
            flat_cells[flat, k] = table.column(q).to_numpy(zero_copy_only=False).astype(
                np.float64, copy=False)
        present = np.zeros((n_c, n_z, n_e, n_s), dtype=bool)
        present.reshape(-1)[flat] = True
        diverged = np.zeros((n_c, n_z, n_s), dtype=bool)
        diverged.reshape(-1)[((ci * n_z + zi) * n_s + si)[div_row]] = True
        _fill_diverged(cells, present, diverged)
        for k in _COST_Q:
            vals = cells[..., k][present]
            if not np.isfinite(vals).all() or (vals < 0).any():
                raise SchemaError(f"{name}: {QUANTITIES[k]} must be finite and >= 0")
        return cls(manifest, cells, present, diverged, directory=directory)

    # ------------------------------------------------------------------ description
    @property
    def name(self) -> str:
        """The benchmark's name (from its manifest)."""
        return self.manifest.benchmark

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
        """The configs the table covers, in table order (a subset of the grid)."""
        return [self.space.config(int(i)) for i in self.config_ids]

    def __len__(self) -> int:
        return len(self.config_ids)

    def __repr__(self) -> str:
        f = self._fid
        return (f"Benchmark({self.name!r}: {len(self)} configs of {len(self.space)}, "
                f"z in {min(f.z)}..{max(f.z)}, epochs {min(f.epoch)}..{max(f.epoch)}, "
                f"seeds {list(self.seeds)}, metric {self.metric!r})")

    # ------------------------------------------------------------------ config positions
    def config_id(self, config: Mapping[str, Any] | int) -> int:
        """The grid index of a config (a dict, or already a grid index) covered by the table.

        >>> from frozenbench.synthetic import make_benchmark
        >>> bench = make_benchmark(n_configs=4, n_z=2, n_epochs=2)
        >>> bench.config_id(bench.configs[1]) == int(bench.config_ids[1])
        True
        """
        return int(self.config_ids[self._pos(config)])

    def _pos(self, config: Any) -> int:
        """Row of a config in the dense arrays (cached per dict contents)."""
        try:
            return self._cache[tuple(config.items())]
        except (KeyError, TypeError, AttributeError):
            return self._pos_slow(config)

    def _pos_slow(self, config: Any) -> int:
        if isinstance(config, (int, np.integer)) and not isinstance(config, (bool, np.bool_)):
            gid = int(config)
            if not 0 <= gid < len(self.space):
                raise InvalidValueError(
                    f"config id {gid} is out of range for {self.name} (0..{len(self.space) - 1})")
        elif isinstance(config, Mapping):
            gid = self.space.index(config)
        else:
            raise InvalidValueError(
                f"a config is a dict of {list(self.space.names)} (or a grid index), "
                f"got {type(config).__name__}: {config!r:.80}")
        pos = int(self._pos_of_id[gid])
        if pos < 0:
            raise InvalidValueError(
                f"config {self.space.config(gid)} (grid index {gid}) is on the grid but not in "
                f"the {self.name} table, which covers {len(self)} of {len(self.space)} configs; "
                f"covered grid indices: {format_choices(self.config_ids.tolist())} "
                f"(see Benchmark.configs)")
        if isinstance(config, Mapping):
            try:
                if len(self._cache) >= _CACHE_LIMIT:
                    self._cache.clear()
                self._cache[tuple(config.items())] = pos
            except TypeError:  # unhashable values that still matched the grid
                pass
        return pos

    def _zi(self, z: Any) -> int:
        if type(z) is int:
            zi = self._z_pos.get(z)
            if zi is not None:
                return zi
        return self._z_pos[self._fid.check_z(z)]

    def _ei(self, epoch: Any) -> int:
        if epoch is None:
            return self._last_e
        if type(epoch) is int:
            ei = self._e_pos.get(epoch)
            if ei is not None:
                return ei
        return self._e_pos[self._fid.check_epoch(epoch)]

    def _si(self, seed: Any) -> int:
        if type(seed) is int:
            si = self._s_pos.get(seed)
            if si is not None:
                return si
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, (bool, np.bool_)) and \
                int(seed) in self._s_pos:
            return self._s_pos[int(seed)]
        raise InvalidValueError(
            f"seed={seed!r} is not in {self.name}; seeds: {list(self.seeds)} "
            f"(or seed=None for the mean over the available seeds)")

    # ------------------------------------------------------------------ queries
    def query(
        self,
        config: Mapping[str, Any] | int,
        z: int,
        epoch: int | None = None,
        *,
        seed: int | None = None,
    ) -> Result:
        """The metrics of one cell: ``config`` trained with the last ``z`` layers to ``epoch``.

        ``epoch=None`` is the last epoch; ``seed=None`` is the mean over the seeds available
        there (``Result.n_seeds`` of them). ``config`` is a dict (numbers match the grid
        robustly) or a grid index. Every bad argument raises a frozenbench error that lists the
        valid values.
        """
        # The fast path is inlined (about 1 us); anything unusual goes to the checked paths.
        try:
            c = self._cache[tuple(config.items())]  # type: ignore[union-attr]
        except (KeyError, TypeError, AttributeError):
            c = self._pos_slow(config)
        zi = self._z_pos.get(z) if type(z) is int else None
        if zi is None:
            zi = self._zi(z)
        if epoch is None:
            ei = self._last_e
        else:
            ei = self._e_pos.get(epoch) if type(epoch) is int else None  # type: ignore[assignment]
            if ei is None:
                ei = self._ei(epoch)
        if seed is None:
            v = self._mean[c, zi, ei].tolist()
            if v[6] == 0:
                raise self._absent(c, zi, ei, None)
            v[6] = int(v[6])
            v[7] = int(v[7])
            return tuple.__new__(Result, v)
        si = self._si(seed)
        if not self._present[c, zi, ei, si]:
            raise self._absent(c, zi, ei, si)
        v = self._cells[c, zi, ei, si].tolist()
        return Result(v[0], v[1], v[2], v[3], v[4], v[5], 1, int(self._diverged[c, zi, si]))

    def _absent(self, c: int, zi: int, ei: int, si: int | None) -> InvalidValueError:
        z, e = self._fid.z[zi], self._fid.epoch[ei]
        where = f"config {int(self.config_ids[c])} at z={z}, epoch={e}"
        there = [self.seeds[s] for s in np.nonzero(self._present[c, zi, ei])[0]]
        if si is None or not there:
            return InvalidValueError(f"{self.name} has no result for {where} (a failed cell?)")
        return InvalidValueError(
            f"{self.name} has no seed {self.seeds[si]} for {where}; seeds there: {there} "
            f"(seed=None averages them)")

    def curve(
        self, config: Mapping[str, Any] | int, z: int, *, seed: int | None = None
    ) -> pd.DataFrame:
        """The learning curve of ``config`` at ``z``: one row per epoch, indexed by epoch.

        >>> from frozenbench.synthetic import make_benchmark
        >>> bench = make_benchmark(n_configs=4, n_z=2, n_epochs=3, diverge_frac=0.0)
        >>> bench.curve(bench.configs[0], z=1)[["val_error", "n_seeds"]].shape
        (3, 2)
        """
        c = self._pos(config)
        zi = self._zi(z)
        if seed is None:
            vals, n = self._mean[c, zi, :, :len(QUANTITIES)], self._n_seeds[c, zi]
            ndiv = self._n_div[c, zi]
        else:
            si = self._si(seed)
            vals, n = self._cells[c, zi, :, si], self._present[c, zi, :, si].astype(np.int16)
            ndiv = n * int(self._diverged[c, zi, si])
        keep = n > 0
        if not keep.any():
            raise self._absent(c, zi, self._last_e, None if seed is None else self._si(seed))
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
    ) -> dict[str, np.ndarray]:
        """Batch query: arrays in, arrays out (``{quantity: array}``), broadcast like numpy.

        ``configs`` are grid indices (fast) or a list of config dicts. ``epoch=None`` is the
        last epoch, ``seed=None`` the mean over seeds (``"n_seeds"`` is returned too).

        >>> from frozenbench.synthetic import make_benchmark
        >>> bench = make_benchmark(n_configs=4, n_z=3, n_epochs=3, multi_seed_configs=0)
        >>> out = bench.query_many(bench.config_ids, z=[1, 2, 3, 3], quantities=["val_error"])
        >>> out["val_error"].shape, out["n_seeds"].tolist()
        ((4,), [1, 1, 2, 2])
        """
        names = list(QUANTITIES if quantities is None else quantities)
        bad = [q for q in names if q not in _Q]
        if bad or isinstance(quantities, str):
            from frozenbench.errors import unknown_name
            raise unknown_name("quantity", bad[0] if bad else quantities, QUANTITIES)
        c = self._positions(configs)
        zi = self._index_array(z, self._z_arr, "z", self._fid.z)
        ei = np.int64(self._last_e) if epoch is None else self._index_array(
            epoch, self._e_arr, "epoch", self._fid.epoch)
        n_z, n_e = len(self._fid.z), len(self._fid.epoch)
        try:
            ci, zi, ei = np.broadcast_arrays(c, zi, ei)
        except ValueError as exc:
            raise InvalidValueError(f"configs, z and epoch do not broadcast: {exc}") from None
        cell = (ci * n_z + zi) * n_e + ei
        if seed is None:
            n = self._n_seeds.reshape(-1)[cell]
            if (n == 0).any():
                i = np.unravel_index(int(np.argmax(n == 0)), n.shape)
                raise self._absent(int(ci[i]), int(zi[i]), int(ei[i]), None)
            rows = self._mean.reshape(-1, len(QUANTITIES) + 2)[cell]
            out = {q: np.ascontiguousarray(rows[..., _Q[q]]) for q in names}
            out["n_seeds"] = n.astype(np.int64)
            return out
        s = _ints(seed, "seed")
        si = np.searchsorted(np.asarray(self.seeds), s)
        si = np.clip(si, 0, len(self.seeds) - 1)
        if not np.array_equal(np.asarray(self.seeds)[si], s):
            bad_seed = s[np.asarray(self.seeds)[si] != s]
            raise InvalidValueError(f"seed={int(np.ravel(bad_seed)[0])} is not in {self.name}; "
                                    f"seeds: {list(self.seeds)}")
        try:
            cell, si = np.broadcast_arrays(cell, si)
        except ValueError as exc:
            raise InvalidValueError(f"seed does not broadcast with configs/z/epoch: {exc}") \
                from None
        n_s = len(self.seeds)
        full = cell * n_s + si
        ok = self._present.reshape(-1)[full]
        if not ok.all():
            first = int(np.argmax(~ok.reshape(-1)))
            at = np.unravel_index(int(cell.reshape(-1)[first]), (len(self), n_z, n_e))
            raise self._absent(int(at[0]), int(at[1]), int(at[2]), int(si.reshape(-1)[first]))
        where = np.unravel_index(cell, (len(self), n_z, n_e))
        out = {q: self._cells[where[0], where[1], where[2], si, _Q[q]] for q in names}
        out["n_seeds"] = np.ones(full.shape, dtype=np.int64)
        return out

    def _positions(self, configs: Any) -> np.ndarray:
        if isinstance(configs, Mapping):
            return np.int64(self._pos(configs))  # type: ignore[return-value]
        if isinstance(configs, (list, tuple)) and configs and isinstance(configs[0], Mapping):
            return np.array([self._pos(c) for c in configs], dtype=np.int64)
        ids = _ints(configs, "configs (grid indices)")
        if ids.size and (ids.min() < 0 or ids.max() >= len(self.space)):
            bad = ids[(ids < 0) | (ids >= len(self.space))].reshape(-1)[0]
            raise InvalidValueError(
                f"config id {int(bad)} is out of range for {self.name} (0..{len(self.space) - 1})")
        pos = self._pos_of_id[ids]
        if (pos < 0).any():
            self._pos_slow(int(ids[pos < 0].reshape(-1)[0]))  # raises the standard message
        return pos

    def _index_array(self, values: Any, table: np.ndarray, what: str,
                     valid: Sequence[int]) -> np.ndarray:
        arr = _ints(values, what)
        bad = (arr < 0) | (arr >= len(table))
        idx = table[np.where(bad, 0, arr)]
        bad |= idx < 0
        if bad.any():
            v = int(arr[bad].reshape(-1)[0])
            check = self._fid.check_z if what == "z" else self._fid.check_epoch
            check(v)  # raises FidelityError with the valid range
            raise FidelityError(f"{what}={v} is out of range")  # pragma: no cover
        return idx

    # ------------------------------------------------------------------ for optimisation
    def objective(self, metric: str | None = None, *, per_seed: bool = False) -> np.ndarray:
        """The metric as minimised by the simulator: ``[config, z, epoch]`` (mean over seeds)
        or ``[config, z, epoch, seed]`` with ``per_seed``; absent cells are NaN.

        Non-finite values (diverged cells) are replaced by the worst finite value of the metric
        in the whole table, so that a diverged trial loses every comparison but regret stays
        finite. Cached per metric.
        """
        metric = self._metric(metric)
        key = (metric, per_seed)
        hit = self._objective_cache.get(key)
        if hit is not None:
            return hit
        k = _Q[metric]
        raw = self._cells[..., k]
        finite = raw[self._present & np.isfinite(raw)]
        worst = float(finite.max()) if finite.size else 0.0
        vals = np.where(np.isfinite(raw), raw, worst)
        vals[~self._present] = np.nan
        if not per_seed:
            with np.errstate(invalid="ignore", divide="ignore"):
                vals = np.where(self._present, vals, 0.0).sum(axis=3) / self._n_seeds
        self._objective_cache[key] = vals
        return vals

    def _metric(self, metric: str | None) -> str:
        metric = self.metric if metric is None else metric
        if metric not in METRICS:
            from frozenbench.errors import unknown_name
            raise unknown_name("metric", metric, METRICS)
        return metric

    def full_fidelity_scores(self, metric: str | None = None) -> np.ndarray:
        """Objective of every table config at the largest z and the last epoch (seed mean)."""
        return self.objective(metric)[:, -1, -1]

    def cost_array(self, cost: str = "train_time_s", *, per_seed: bool = False) -> np.ndarray:
        """Cumulative cost ``[config, z, epoch]`` (seed mean) or ``[..., seed]``; NaN = absent."""
        if cost not in COSTS:
            from frozenbench.errors import unknown_name
            raise unknown_name("cost", cost, COSTS)
        k = _Q[cost]
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


def _lookup(values: Sequence[int]) -> np.ndarray:
    arr = np.full(max(values) + 1, -1, dtype=np.int64)
    arr[list(values)] = np.arange(len(values))
    return arr


def _positions(col: np.ndarray, lookup: np.ndarray, name: str, what: str,
               valid: Sequence[int] | np.ndarray) -> np.ndarray:
    col = col.astype(np.int64, copy=False)
    out_of = (col < 0) | (col >= len(lookup))
    pos = lookup[np.where(out_of, 0, col)]
    bad = out_of | (pos < 0)
    if bad.any():
        raise SchemaError(f"{name}: {what}={int(col[bad][0])} is not in the manifest "
                          f"({what} values: {format_choices(list(valid))})")
    return pos


def _check_schema(schema: pa.Schema, manifest: Manifest, where: str) -> None:
    expected = arrow_schema(manifest.grid)
    version = (schema.metadata or {}).get(b"frozenbench_schema_version")
    if version is not None and version.decode() != str(SCHEMA_VERSION):
        raise SchemaError(f"{manifest.benchmark}: {where} has schema version {version.decode()}, "
                          f"this frozenbench reads {SCHEMA_VERSION}")
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


def _check_hyperparameters(table: pa.Table, space: SearchSpace, cid: np.ndarray,
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


def _fill_diverged(cells: np.ndarray, present: np.ndarray, diverged: np.ndarray) -> None:
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
    for k in range(cells.shape[-1]):
        if k in _METRIC_Q:
            cells[c[d], z[d], e, s[d], k] = np.nan
        else:
            cells[c[d], z[d], e, s[d], k] = cells[c[d], z[d], src, s[d], k]
    present[c[d], z[d], e, s[d]] = True
