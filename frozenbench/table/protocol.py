"""The seam between a table and what reads it: :class:`Table`, one protocol.

The replay engine, :mod:`frozenbench.analysis` and the adapters in :mod:`frozenbench.interop`
read a benchmark through this protocol only: its coordinates (the configs it answers, by
config id in its :class:`~frozenbench.space.SearchSpace`; the fidelities z and epoch; the
seeds), and per (config, z, epoch[, seed]) the metrics, the cumulative costs and, per
(config, z), the peak memory; and the cells trained on a schedule (a linear thaw: z grows during
the run), per (config, epoch[, seed]) with the z of each epoch (:meth:`Table.schedule_arrays`).
:class:`~frozenbench.table.Benchmark`, the dense table, implements it; a model that answers
configs off the table (a surrogate, Syne Tune's ``BlackboxSurrogate`` next to its
``BlackboxTabular``) can implement it too and stand in for the table in a replay.

Configs travel as *config ids* (positions in the space's design, the table's ``config_id``
column); hyperparameter values are read through :attr:`Table.space`
(:meth:`~frozenbench.space.SearchSpace.config`, :meth:`~frozenbench.space.SearchSpace.columns`),
never computed from a grid. Arrays are indexed by *rows*: :meth:`Table.row` gives a config id's
row (``index.config`` a config's), ``index.z_pos`` / ``index.epoch_pos`` a fidelity's position.

>>> from frozenbench.synthetic import make_benchmark
>>> bench = make_benchmark(n_configs=4, n_z=2, n_epochs=3, diverge_frac=0.0)
>>> isinstance(bench, Table)
True
>>> cid = int(bench.config_ids[2])
>>> bench.row(cid), bench.row(-5)
(2, -1)
>>> bool(bench.objective()[bench.row(cid), 1, 2] == bench.query(cid, z=2, epoch=3).val_error)
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol, overload, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from frozenbench.errors import InvalidValueError
    from frozenbench.space import Fidelities, SearchSpace
    from frozenbench.table.index import CellIndex
    from frozenbench.table.result import Result, ScheduleResult
    from frozenbench.table.schedules import ScheduleArrays


@runtime_checkable
class Table(Protocol):
    """What the engine, the analysis and the adapters read from a benchmark.

    Arrays are indexed ``[row, z position, epoch position]`` (``[..., seed position]`` with
    ``per_seed``); NaN marks a cell the table does not hold.
    """

    @property
    def name(self) -> str:
        """The benchmark's name (messages, trajectories)."""
        ...

    @property
    def space(self) -> SearchSpace:
        """The declared hyperparameters and the design the config ids index."""
        ...

    @property
    def config_ids(self) -> np.ndarray:
        """The config ids the table answers, in row order."""
        ...

    @property
    def seeds(self) -> tuple[int, ...]:
        """The seeds, in the order of the seed axis."""
        ...

    @property
    def index(self) -> CellIndex:
        """The coordinates: config, z, epoch and seed positions (checked lookups, errors)."""
        ...

    @property
    def metric(self) -> str:
        """The metric optimised by default (minimised)."""
        ...

    @property
    def fidelities(self) -> dict[str, list[int]]:
        """``{"z": [...], "epoch": [...]}``: the fidelity values."""
        ...

    @property
    def fidelity_values(self) -> Fidelities:
        """The z and epoch values, with range checks."""
        ...

    @property
    def default_cost(self) -> str:
        """The cost column a replay charges unless told otherwise."""
        ...

    def row(self, config_id: int) -> int:
        """The row of a config id in the arrays; -1 where the table does not answer it."""
        ...

    def config_id(self, config: Mapping[str, Any] | int | Any, *,
                  nearest: bool = False) -> int:
        """The config id of a config (a dict, a ConfigSpace ``Configuration`` or an id)."""
        ...

    def metric_name(self, metric: str | None = None) -> str:
        """The metric ``metric`` names (None: :attr:`metric`), or an error listing them."""
        ...

    def objective(self, metric: str | None = None, *, per_seed: bool = False) -> np.ndarray:
        """The metric, minimised, per ``[row, z, epoch(, seed)]``; non-finite values at the
        worst finite one."""
        ...

    def cost_array(self, cost: str | None = None, *, per_seed: bool = False) -> np.ndarray:
        """A cumulative cost per ``[row, z, epoch(, seed)]``."""
        ...

    def peak_memory(self) -> np.ndarray:
        """Peak memory in bytes per ``[row, z]``."""
        ...

    def seed_mask(self) -> np.ndarray:
        """Which seeds exist per ``[row, z, seed]`` at the last epoch."""
        ...

    def full_fidelity_scores(self, metric: str | None = None) -> np.ndarray:
        """The objective of every row at the largest z and the last epoch."""
        ...

    @overload
    def query(self, config: Mapping[str, Any] | int | Any, z: int, epoch: int | None = None,
              *, seed: int | None = None, nearest: bool = False,
              schedule: Literal["fixed"] = "fixed") -> Result: ...

    @overload
    def query(self, config: Mapping[str, Any] | int | Any, z: int | None = None,
              epoch: int | None = None, *, seed: int | None = None, nearest: bool = False,
              schedule: str) -> Result | ScheduleResult: ...

    def query(self, config: Mapping[str, Any] | int | Any, z: int | None = None,
              epoch: int | None = None, *, seed: int | None = None, nearest: bool = False,
              schedule: str = "fixed") -> Result | ScheduleResult:
        """The metrics of one cell; with ``schedule`` (e.g. ``"thaw"``), of the cell that
        followed that schedule, at ``epoch`` (a :class:`ScheduleResult`, with its z)."""
        ...

    @property
    def schedules(self) -> tuple[str, ...]:
        """The schedules other than fixed z with rows in the table (e.g. ``("thaw",)``)."""
        ...

    def schedule_arrays(self, schedule: str) -> ScheduleArrays:
        """One schedule's cells as arrays ``[row, epoch(, seed)]`` with the z per epoch, read
        by the engine like the fixed-z arrays; an error naming :attr:`schedules` if absent."""
        ...

    def query_many(self, configs: Any, z: Any, epoch: Any = None, *, seed: Any = None,
                   quantities: Sequence[str] | None = None,
                   nearest: bool = False) -> dict[str, np.ndarray]:
        """Many cells at once: arrays in, ``{quantity: array}`` out."""
        ...

    def absent(self, c: int, zi: int, ei: int, si: int | None) -> InvalidValueError:
        """The error for a cell (at positions) that the table does not hold."""
        ...
