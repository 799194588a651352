"""The cell index: which position of the dense arrays holds (config, z, epoch, seed).

One :class:`CellIndex` per benchmark maps every coordinate to its position, scalar (a query) or
vectorised (a batch query, or the rows of the long table while loading), and builds the errors
for coordinates that are not in the table ("cell absent", an unknown seed, an off-grid config).

>>> from frozenbench.synthetic import make_benchmark
>>> index = make_benchmark(n_configs=4, n_z=3, n_epochs=2).index
>>> index.shape[1:], index.z(3), index.epoch(None), index.seed(1)
((3, 2, 3), 2, 1, 1)
>>> index.seed(7)
Traceback (most recent call last):
...
frozenbench.errors.InvalidValueError: seed=7 is not in synthetic; seeds: [0, 1, 2] \
(or seed=None for the mean over the available seeds)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from frozenbench.errors import InvalidValueError, SchemaError, format_choices
from frozenbench.space import Fidelities, SearchSpace, as_mapping

_CACHE_LIMIT = 1 << 16


def ints(values: Any, what: str) -> np.ndarray:
    """An int64 array from user input, or a clear error (no float/bool/str silently cast)."""
    arr = np.asarray(values)
    if arr.size == 0 and arr.dtype != object:  # [] reads as float64: an empty query is valid
        return arr.astype(np.int64)
    if arr.dtype == object or arr.dtype.kind not in "iu":
        raise InvalidValueError(
            f"{what} must be integers (a scalar or an array), got dtype {arr.dtype}"
            if arr.dtype != object else f"{what} must be integers, got {values!r:.80}"
        )
    return arr.astype(np.int64, copy=False)


def _small_int(n: int) -> type[np.signedinteger[Any]]:
    """The smallest signed integer type that holds 0..n and -1."""
    return np.int16 if n < 1 << 15 else np.int32 if n < 1 << 31 else np.int64


def _position_table(values: Sequence[int]) -> np.ndarray:
    """``table[value] = position`` (-1 where no position), for vectorised lookups; the
    smallest integer type that holds the positions (a lookup of 10M rows stays small)."""
    table = np.full(max(values) + 1, -1, dtype=_small_int(len(values)))
    table[list(values)] = np.arange(len(values))
    return table


@dataclass(frozen=True, slots=True, eq=False)
class CellIndex:
    """Positions of the coordinates (config, z, epoch, seed) in a benchmark's dense arrays.

    ``pos_of_id[config_id]`` is a config's row (-1: in the space's design, not in the
    table), ``id_pos`` the same as a dict of the table's configs (the integer fast path);
    ``z_pos``, ``epoch_pos`` and ``seed_pos`` map a value to its position. These public lookups
    are what hot loops (the simulator) read directly; everything else goes through the checked
    methods, which raise frozenbench errors naming the valid values.
    """

    benchmark: str
    space: SearchSpace
    config_ids: np.ndarray
    fidelities: Fidelities
    seeds: tuple[int, ...]
    pos_of_id: np.ndarray = field(init=False, repr=False)
    id_pos: dict[int, int] = field(init=False, repr=False)
    z_pos: dict[int, int] = field(init=False, repr=False)
    epoch_pos: dict[int, int] = field(init=False, repr=False)
    seed_pos: dict[int, int] = field(init=False, repr=False)
    _z_table: np.ndarray = field(init=False, repr=False)
    _epoch_table: np.ndarray = field(init=False, repr=False)
    _seed_table: np.ndarray | None = field(init=False, repr=False)
    _cache: dict[Any, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        ids = np.asarray(self.config_ids, dtype=np.int64)
        name, size = self.benchmark, len(self.space)
        if len(ids) == 0 or ids.min() < 0 or ids.max() >= size or len(np.unique(ids)) != len(ids):
            raise SchemaError(f"{name}: manifest config_ids must be distinct config ids "
                              f"in 0..{size - 1}")
        seeds = tuple(int(s) for s in self.seeds)
        if not seeds or len(set(seeds)) != len(seeds):
            raise SchemaError(f"{name}: manifest seeds must be distinct, got {list(seeds)}")
        pos_of_id = np.full(size, -1, dtype=np.int64)
        pos_of_id[ids] = np.arange(len(ids))
        f = self.fidelities
        for key, value in (
            ("config_ids", ids), ("seeds", seeds), ("pos_of_id", pos_of_id),
            ("id_pos", {int(i): k for k, i in enumerate(ids.tolist())}),
            ("z_pos", {z: i for i, z in enumerate(f.z)}),
            ("epoch_pos", {e: i for i, e in enumerate(f.epoch)}),
            ("seed_pos", {s: i for i, s in enumerate(seeds)}),
            ("_z_table", _position_table(f.z)), ("_epoch_table", _position_table(f.epoch)),
            ("_seed_table", _position_table(seeds) if min(seeds) >= 0 and max(seeds) < 1 << 16
             else None),
            ("_cache", {}),
        ):
            object.__setattr__(self, key, value)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(configs, z values, epochs, seeds)``: the leading shape of the dense arrays."""
        return (len(self.config_ids), len(self.fidelities.z), len(self.fidelities.epoch),
                len(self.seeds))

    @property
    def last_epoch(self) -> int:
        """Position of the last epoch (what ``epoch=None`` means)."""
        return len(self.fidelities.epoch) - 1

    # ------------------------------------------------------------------ scalar lookups
    def config(self, config: object, *, nearest: bool = False) -> int:
        """Row of a config in the dense arrays: a dict (or a ConfigSpace ``Configuration``;
        inactive hyperparameters are ignored or filled, see
        :meth:`~frozenbench.space.SearchSpace.resolve`), or a config id. A config the table
        does not hold is an error that names the nearest table config and its distance;
        ``nearest=True`` returns that config's row instead. Cached per dict."""
        if type(config) is int:
            pos = self.id_pos.get(config)
            if pos is not None:
                return pos
        try:
            return self._cache[tuple(config.items())]  # type: ignore[attr-defined]
        except (KeyError, TypeError, AttributeError):
            pass
        if isinstance(config, (int, np.integer)) and not isinstance(config, (bool, np.bool_)):
            return self._config_by_id(int(config))
        space = self.space
        if as_mapping(config) is None:
            raise InvalidValueError(
                f"a config is a dict of {list(space.names)} (or a config id), "
                f"got {type(config).__name__}: {config!r:.80}")
        resolved = space.resolve(config)
        gid = space.find(resolved)
        pos = -1 if gid is None else int(self.pos_of_id[gid])
        if pos < 0:
            near, distance = self.nearest(resolved)
            if nearest:
                return near
            why = space.not_found(resolved) if gid is None else self._not_in_table(gid)
            raise InvalidValueError(
                f"{why}; the nearest config in the {self.benchmark} table is "
                f"{space.config(int(self.config_ids[near]))} (config id "
                f"{int(self.config_ids[near])}) at distance {distance:.3g} "
                f"(nearest=True queries it)")
        if isinstance(config, Mapping):
            try:
                if len(self._cache) >= _CACHE_LIMIT:
                    self._cache.clear()
                self._cache[tuple(config.items())] = pos
            except TypeError:  # unhashable values that still matched the design
                pass
        return pos

    def _config_by_id(self, gid: int) -> int:
        if not 0 <= gid < len(self.space):
            raise InvalidValueError(f"config id {gid} is out of range for {self.benchmark} "
                                    f"(0..{len(self.space) - 1})")
        pos = int(self.pos_of_id[gid])
        if pos < 0:
            raise InvalidValueError(self._not_in_table(gid))
        return pos

    def _not_in_table(self, gid: int) -> str:
        design = "on the grid" if self.space.is_grid else "in the design"
        return (f"config {self.space.config(gid)} (config id {gid}) is {design} but not in "
                f"the {self.benchmark} table, which covers {len(self.config_ids)} of "
                f"{len(self.space)} configs; covered config ids: "
                f"{format_choices(self.config_ids.tolist())} (see Benchmark.configs)")

    def nearest(self, config: object) -> tuple[int, float]:
        """``(row, distance)`` of the table config nearest to ``config``
        (:meth:`~frozenbench.space.SearchSpace.distances`: each number scaled to [0, 1] over
        its range, log scale where declared; a categorical counts 1 where it differs)."""
        d = self.space.distances(self.space.resolve(config), self.config_ids)
        near = int(np.argmin(d))
        return near, float(d[near])

    def z(self, z: Any) -> int:
        """Position of a z value; :class:`FidelityError` with the valid range otherwise."""
        if type(z) is int:
            zi = self.z_pos.get(z)
            if zi is not None:
                return zi
        return self.z_pos[self.fidelities.check_z(z)]

    def epoch(self, epoch: Any) -> int:
        """Position of an epoch; ``None`` is the last epoch."""
        if epoch is None:
            return self.last_epoch
        if type(epoch) is int:
            ei = self.epoch_pos.get(epoch)
            if ei is not None:
                return ei
        return self.epoch_pos[self.fidelities.check_epoch(epoch)]

    def seed(self, seed: Any) -> int:
        """Position of a seed of the table; an error listing the seeds otherwise."""
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, (bool, np.bool_)):
            si = self.seed_pos.get(int(seed))
            if si is not None:
                return si
        raise InvalidValueError(
            f"seed={seed!r} is not in {self.benchmark}; seeds: {list(self.seeds)} "
            f"(or seed=None for the mean over the available seeds)")

    # ------------------------------------------------------------------ vectorised lookups
    def configs(self, configs: Any, *, nearest: bool = False) -> np.ndarray:
        """Rows of many configs: a config, a list of configs (dicts or ConfigSpace
        ``Configuration`` objects; ``nearest`` as in :meth:`config`), or config ids (any shape)."""
        if as_mapping(configs) is not None:
            return np.int64(self.config(configs, nearest=nearest))  # type: ignore[return-value]
        if isinstance(configs, (list, tuple)) and configs \
                and as_mapping(configs[0]) is not None:
            return np.array([self.config(c, nearest=nearest) for c in configs], dtype=np.int64)
        ids = ints(configs, "configs (config ids)")
        bad = (ids < 0) | (ids >= len(self.space))
        if bad.any():
            raise InvalidValueError(
                f"config id {int(ids[bad].reshape(-1)[0])} is out of range for {self.benchmark} "
                f"(0..{len(self.space) - 1})")
        pos = self.pos_of_id[ids]
        if (pos < 0).any():
            self.config(int(ids[pos < 0].reshape(-1)[0]))  # raises the standard message
        return pos

    def zs(self, values: Any) -> np.ndarray:
        """Positions of many z values (any shape)."""
        arr = ints(values, "z")
        pos, bad = _lookup(self._z_table, arr)
        if bad.any():
            self.fidelities.check_z(int(arr[bad].reshape(-1)[0]))  # raises with the valid range
        return pos.astype(np.int64)

    def epochs(self, values: Any) -> np.ndarray:
        """Positions of many epochs (any shape)."""
        arr = ints(values, "epoch")
        pos, bad = _lookup(self._epoch_table, arr)
        if bad.any():
            self.fidelities.check_epoch(int(arr[bad].reshape(-1)[0]))
        return pos.astype(np.int64)

    def seed_positions(self, values: Any) -> np.ndarray:
        """Positions of many seeds (any shape)."""
        arr = ints(values, "seed")
        pos, bad = self._seed_lookup(arr)
        if bad.any():
            raise InvalidValueError(f"seed={int(arr[bad].reshape(-1)[0])} is not in "
                                    f"{self.benchmark}; seeds: {list(self.seeds)}")
        return pos.astype(np.int64)

    def rows(self, config_id: np.ndarray, z: np.ndarray, epoch: np.ndarray,
             seed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Positions of the long table's key columns; :class:`SchemaError` for a value that the
        manifest does not list (loading checks a file against its manifest)."""
        ci, bad_c = _lookup(self.pos_of_id.astype(_small_int(len(self.config_ids))), config_id)
        zi, bad_z = _lookup(self._z_table, z)
        ei, bad_e = _lookup(self._epoch_table, epoch)
        si, bad_s = self._seed_lookup(seed)
        for what, col, bad, valid in (("config_id", config_id, bad_c, self.config_ids.tolist()),
                                      ("z", z, bad_z, self.fidelities.z),
                                      ("epoch", epoch, bad_e, self.fidelities.epoch)):
            if bad.any():
                raise SchemaError(f"{self.benchmark}: {what}={int(col[bad][0])} is not in the "
                                  f"manifest ({what} values: {format_choices(list(valid))})")
        if bad_s.any():
            raise SchemaError(f"{self.benchmark}: seed {int(seed[bad_s][0])} is not among the "
                              f"manifest seeds {list(self.seeds)}")
        return ci, zi, ei, si

    def _seed_lookup(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(positions, bad)`` of seed values: through a position table where the seeds are
        small non-negative integers (the usual case), else by binary search."""
        if self._seed_table is not None:
            return _lookup(self._seed_table, values)
        seeds = np.asarray(self.seeds, dtype=np.int64)
        order = np.argsort(seeds)
        at = np.clip(np.searchsorted(seeds[order], values), 0, len(seeds) - 1)
        return order[at], seeds[order][at] != values

    # ------------------------------------------------------------------ absent cells
    def absent(self, c: int, zi: int, ei: int, si: int | None,
               seeds_there: np.ndarray) -> InvalidValueError:
        """The error for a cell the table does not hold. ``seeds_there`` is the mask of the
        seeds present at ``(c, zi, ei)``; ``si=None`` asked for the mean over seeds."""
        z, e = self.fidelities.z[zi], self.fidelities.epoch[ei]
        where = f"config {int(self.config_ids[c])} at z={z}, epoch={e}"
        there = [self.seeds[s] for s in np.flatnonzero(seeds_there)]
        if si is None or not there:
            return InvalidValueError(f"{self.benchmark} has no result for {where} "
                                     f"(a failed cell?)")
        return InvalidValueError(
            f"{self.benchmark} has no seed {self.seeds[si]} for {where}; seeds there: {there} "
            f"(seed=None averages them)")


def _lookup(table: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(table[values], bad)`` where ``bad`` marks values with no position (any integer
    dtype; one gather and one comparison when every value is in range)."""
    if values.size and (int(values.min()) < 0 or int(values.max()) >= len(table)):
        values = values.astype(np.int64)
        out_of = (values < 0) | (values >= len(table))
        pos = table[np.where(out_of, 0, values)]
        return pos, out_of | (pos < 0)
    pos = table.take(values)
    return pos, pos < 0
