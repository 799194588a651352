"""A table as a CARP-S objective function (extra ``carps``), so any CARP-S optimizer (its
random search, SMAC, DEHB, Optuna, Syne Tune, Nevergrad ... wrappers) runs on it.

:class:`FrozenbenchObjectiveFunction` subclasses CARP-S's ``ObjectiveFunction``: its
``configspace`` is the table's ConfigSpace space
(:func:`frozenbench.interop.configspace.search_space`, plus ``"z"`` with ``z="search"``):
the table's design exactly, its conditions (SGD has no ``beta2``) as ConfigSpace conditions
and a forbidden clause only for a grid config the table lacks (none on a shipped table; on a
sampled design a configuration reads its nearest table config), and :meth:`task` builds a
CARP-S ``Task`` whose ``FidelitySpace`` is one budget axis, as for SMAC and DEHB
(:class:`~frozenbench.interop.smac.BudgetAxis`, a budget between levels read at the nearest):
``"epoch"`` (z fixed, default all layers, or ``z="search"``), ``"z"`` (trained to the last
epoch), ``"z+epoch-linear"`` (the paper's linear diagonal), or None (every trial at full fidelity).

``_evaluate`` answers a ``TrialValue`` whose ``cost`` (in CARP-S, the objective minimised) is
the table's metric as :func:`frozenbench.simulate` reads it (diverged runs at the table's worst
value) and whose ``virtual_time`` is the table's cumulative training cost up to that epoch
(the cost column of ``cost``, default :attr:`~frozenbench.table.Benchmark.default_cost`): a
CARP-S evaluation is a new run from scratch, there is no resuming. ``time`` is the real
seconds of the lookup, as CARP-S's other tabular benchmarks report it. ``additional_info``
names the cell read (``config_id``, ``z``, ``epoch``, ``seed``) and its cost. A config the
table lacks (only an optimizer that ignores forbidden clauses proposes one; DEHB's mutations
raise ``ForbiddenValueError`` on such a table instead), or a seed absent
at that cell, is answered like the simulator answers a missing cell: the worst value, no
cost, status ``CRASHED``. The table seed read is ``seed`` (default the mean over seeds); the
trial's own seed is an optimizer's and is not a table seed.

``FrozenbenchObjectiveFunction`` is built on first access (CARP-S is imported then), so a
Hydra config can name it as ``_target_: frozenbench.interop.carps.FrozenbenchObjectiveFunction``
with ``benchmark: {_target_: frozenbench.load, name: mnist-resnet}`` (names are resolved by
``fb.load``; the adapter takes the loaded table).

>>> from carps.optimizers.random_search import RandomSearchOptimizer
>>> from frozenbench.interop.carps import FrozenbenchObjectiveFunction
>>> from frozenbench.synthetic import make_benchmark
>>> bench = make_benchmark(n_configs=5, n_z=3, n_epochs=4, diverge_frac=0.0)
>>> f = FrozenbenchObjectiveFunction(bench)
>>> len(f.configspace.forbidden_clauses) == len(bench.space) - 5
True
>>> task = f.task(n_trials=4)
>>> incumbent, value = RandomSearchOptimizer(task).run()
>>> value.cost == bench.query(dict(incumbent.config), z=3, epoch=4).val_error
True
"""

from __future__ import annotations

import functools
import time
import warnings
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from frozenbench.errors import not_loaded, unknown_name
from frozenbench.extras import require
from frozenbench.interop.budget import BUDGETS, BudgetAxis
from frozenbench.interop.configspace import search_space
from frozenbench.interop.neps import fixed_z
from frozenbench.table.result import cost_column

if TYPE_CHECKING:
    from frozenbench.table import Benchmark

#: What a CARP-S budget can stand for (None: no fidelity, every trial at full fidelity).
FIDELITIES = (*BUDGETS, None)


def configspace(bench: Benchmark, *, z: int | str | None = None, seed: int | None = None) -> Any:
    """The table's ConfigSpace space for CARP-S: :func:`search_space` (the table's design
    exactly: conditions as conditions, a forbidden clause only for a grid config the table
    lacks, defaults at a config it holds), and ``"z"`` as one more ordinal with
    ``z="search"``.

    >>> import frozenbench as fb
    >>> space = configspace(fb.load("mnist-resnet"), z="search")
    >>> len(space.conditions), len(space.forbidden_clauses), list(space["z"].sequence)[-1]
    (1, 0, 10)
    """
    cs = require("ConfigSpace")
    space = search_space(bench, seed=seed)
    if z == "search":
        space.add(cs.OrdinalHyperparameter("z", [int(v) for v in bench.fidelities["z"]]))
    return space


@dataclass(frozen=True)
class TableReader:
    """What a CARP-S trial reads from a table: the cell its config and budget stand for
    (:meth:`cell`), and the metric and cumulative cost there (:meth:`read`).

    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=None, grid={"lr": [0.1, 0.01]}, n_z=2, n_epochs=4)
    >>> reader = TableReader.of(bench, fidelity="z")
    >>> reader.cell({"lr": 0.01}, 1.0)
    (1, 1, 4)
    """

    bench: Benchmark
    metric: str
    cost: str
    fidelity: str | None
    #: z of every trial with fidelity "epoch" or None; None: searched, or the level's
    z: int | None
    search_z: bool
    axis: BudgetAxis | None
    seed: int | None
    objective: np.ndarray
    costs: np.ndarray
    worst: float

    @classmethod
    def of(cls, bench: Benchmark, *, metric: str | None = None, cost: str | None = None,
           fidelity: str | None = "epoch", z: int | str | None = None,
           seed: int | None = None) -> TableReader:
        """The reader of ``bench``'s ``metric`` and ``cost`` (arguments as for
        ``FrozenbenchObjectiveFunction``), every argument checked."""
        metric = bench.metric_name(metric)
        cost = cost_column(cost or bench.default_cost)
        if fidelity not in FIDELITIES:
            raise unknown_name("fidelity", fidelity, FIDELITIES)
        fixed = fixed_z(bench, fidelity or "epoch", z)
        axis = None if fidelity is None else BudgetAxis.of(bench, fidelity)
        table_seed = None if seed is None else bench.seeds[bench.index.seed(seed)]
        objective = bench.objective(metric, per_seed=seed is not None)
        finite = objective[np.isfinite(objective)]
        return cls(bench, metric, cost, fidelity, fixed, z == "search", axis, table_seed,
                   objective, bench.cost_array(cost, per_seed=seed is not None),
                   float(finite.max()) if finite.size else 0.0)

    def cell(self, config: dict[str, Any], budget: float | None) -> tuple[int, int, int]:
        """``(config_id, z, epoch)`` of a trial (its budget read at the nearest level)."""
        fid = self.bench.fidelities
        z, epoch = max(int(v) for v in fid["z"]), max(int(e) for e in fid["epoch"])
        if self.axis is not None and budget is not None:
            z, epoch = self.axis.levels[self.axis.rung(float(budget))]
        config = dict(config)
        searched = config.pop("z", None)
        if self.search_z:
            z = int(searched)
        elif self.z is not None:
            z = self.z
        if not self.bench.space.is_grid:  # a sampled design: its nearest table config
            return self.bench.config_id(config, nearest=True), int(z), int(epoch)
        # a grid id (inactive hyperparameters at their fill value), held or not
        return self.bench.space.index(config), int(z), int(epoch)

    def read(self, config_id: int, z: int, epoch: int) -> tuple[float, float] | None:
        """The metric and cumulative cost of a cell; None where the table has none."""
        index = self.bench.index
        if index.pos_of_id[config_id] < 0:
            return None
        at: tuple[int, ...] = (index.config(config_id), index.z(z), index.epoch(epoch))
        if self.seed is not None:
            at = (*at, index.seed(self.seed))
        score, cost = float(self.objective[at]), float(self.costs[at])
        return None if score != score else (score, cost)


def _fidelity_space(reader: TableReader) -> Any:
    """CARP-S's ``FidelitySpace`` of a reader's budget axis."""
    task_mod = require("carps.utils.task")
    if reader.axis is None:
        return task_mod.FidelitySpace()
    return task_mod.FidelitySpace(is_multifidelity=True, fidelity_type=reader.fidelity,
                                  min_fidelity=reader.axis.min_budget,
                                  max_fidelity=reader.axis.max_budget)


def _task(function: Any, *, n_trials: int | None, time_budget: float | None, n_workers: int,
          seed: int | None, name: str | None) -> Any:
    """The CARP-S ``Task`` of an objective function (see its :meth:`task`)."""
    task_mod = require("carps.utils.task")
    with warnings.catch_warnings():  # CARP-S calls ConfigSpace's deprecated getters
        warnings.simplefilter("ignore", DeprecationWarning)
        info = task_mod.get_search_space_info(function.configspace)
    return task_mod.Task(
        name=name or f"frozenbench/{function.bench.name}",
        objective_function=function,
        input_space=task_mod.InputSpace(configuration_space=function.configspace,
                                        fidelity_space=function.fidelity_space),
        output_space=task_mod.OutputSpace(n_objectives=1, objectives=(function.metric,)),
        optimization_resources=task_mod.OptimizationResources(
            n_trials=n_trials, time_budget=time_budget, n_workers=n_workers),
        metadata=task_mod.TaskMetadata(
            domain="ML", objective_function_approximation="tabular",
            has_virtual_time=True, deterministic=True, **info),
        seed=seed)


@functools.cache
def _objective_function_class() -> type:
    base = require("carps.objective_functions.objective_function").ObjectiveFunction
    trials = require("carps.utils.trials")

    class FrozenbenchObjectiveFunction(base):  # type: ignore[misc, valid-type]
        """A frozenbench table as a CARP-S objective function (see the module docstring).

        ``benchmark``: a loaded :class:`~frozenbench.table.Benchmark` (``fb.load``).
        ``fidelity``: one of :data:`FIDELITIES`. ``z``: the trained
        layers with ``fidelity="epoch"`` or None (default: all), or ``"search"`` (a
        hyperparameter). ``seed``: a table seed, or None for the mean over seeds. The
        :class:`TableReader`'s fields are attributes (``bench``, ``metric``, ``axis`` ...).
        """

        def __init__(self, benchmark: Benchmark, *,
                     metric: str | None = None, cost: str | None = None,
                     fidelity: str | None = "epoch", z: int | str | None = None,
                     seed: int | None = None, loggers: list[Any] | None = None) -> None:
            super().__init__(loggers)
            if not hasattr(benchmark, "query"):
                raise not_loaded("benchmark", benchmark)
            self.reader = TableReader.of(benchmark, metric=metric,
                                         cost=cost, fidelity=fidelity, z=z, seed=seed)
            for f in fields(TableReader):
                if f.name not in ("objective", "costs"):
                    setattr(self, f.name, getattr(self.reader, f.name))
            self._configspace = configspace(self.reader.bench,
                                            z="search" if self.reader.search_z else None)

        @property
        def configspace(self) -> Any:
            return self._configspace

        @property
        def fidelity_space(self) -> Any:
            """CARP-S's ``FidelitySpace`` of this objective function."""
            return _fidelity_space(self.reader)

        def task(self, *, n_trials: int | None = None, time_budget: float | None = None,
                 n_workers: int = 1, seed: int | None = None, name: str | None = None) -> Any:
            """A CARP-S ``Task`` of this objective function: ``n_trials`` (full-fidelity
            equivalents) or ``time_budget`` (minutes of real plus virtual time)."""
            return _task(self, n_trials=n_trials, time_budget=time_budget,
                         n_workers=n_workers, seed=seed, name=name)

        def cell(self, trial_info: Any) -> tuple[int, int, int]:
            """``(config_id, z, epoch)`` a trial reads (its budget at the nearest level)."""
            return self.reader.cell(dict(trial_info.config), trial_info.budget)

        def _evaluate(self, trial_info: Any) -> Any:
            start = time.time()
            cid, z, epoch = self.cell(trial_info)
            info = {"config_id": cid, "z": z, "epoch": epoch,
                    "seed": -1 if self.reader.seed is None else self.reader.seed}
            got = self.reader.read(cid, z, epoch)
            status = trials.StatusType.SUCCESS
            if got is None:  # no such cell: read as the simulator reads a missing one
                got, status = (self.reader.worst, 0.0), trials.StatusType.CRASHED
            end = time.time()
            return trials.TrialValue(cost=got[0], time=end - start, virtual_time=got[1],
                                     status=status, starttime=start, endtime=end,
                                     additional_info={**info, self.reader.cost: got[1]})

    return FrozenbenchObjectiveFunction


def __getattr__(name: str) -> Any:
    if name == "FrozenbenchObjectiveFunction":
        return _objective_function_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
