"""A table as a CARP-S objective function (extra ``carps``), so any CARP-S optimizer (its
random search, SMAC, DEHB, Optuna, Syne Tune, Nevergrad ... wrappers) runs on it.

:class:`FrozenbenchObjectiveFunction` subclasses CARP-S's ``ObjectiveFunction``: its
``configspace`` is the table's ConfigSpace space
(:func:`frozenbench.interop.configspace.search_space`, plus ``"z"`` with ``z="search"``),
with a forbidden clause for every grid config the table lacks, and :meth:`task` builds a
CARP-S ``Task`` whose ``FidelitySpace`` is one budget axis, as for SMAC and DEHB
(:class:`~frozenbench.interop.smac.BudgetAxis`, a budget between levels read at the nearest):
``"epoch"`` (z fixed, default all layers, or ``z="search"``), ``"z"`` (trained to the last
epoch), ``"z+epoch"`` (the paper's linear diagonal), or None (every trial at full fidelity).

``_evaluate`` answers a ``TrialValue`` whose ``cost`` (in CARP-S, the objective minimised) is
the table's metric as :func:`frozenbench.simulate` reads it (diverged runs at the table's worst
value) and whose ``virtual_time`` is the table's cumulative training cost up to that epoch
(the cost column of ``cost``, default :attr:`~frozenbench.table.Benchmark.default_cost`): a
CARP-S evaluation is a new run from scratch, there is no resuming. ``time`` is the real
seconds of the lookup, as CARP-S's other tabular benchmarks report it. ``additional_info``
names the cell read (``config_id``, ``z``, ``epoch``, ``seed``) and its cost. A config the
table lacks (only an optimizer that ignores forbidden clauses proposes one), or a seed absent
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
    """The table's ConfigSpace space for CARP-S: :func:`search_space`, ``"z"`` as one more
    ordinal with ``z="search"``, and one forbidden clause per grid config the table lacks."""
    cs = require("ConfigSpace")
    grid = search_space(bench)
    # defaults at a config the table holds: ConfigSpace checks the default against forbiddens
    default = bench.configs[0]
    space = cs.ConfigurationSpace(name=grid.name, seed=seed)
    for name, h in grid.items():
        if isinstance(h, cs.OrdinalHyperparameter):
            space.add(cs.OrdinalHyperparameter(name, list(h.sequence),
                                               default_value=default[name], meta=h.meta))
        else:
            space.add(cs.CategoricalHyperparameter(name, list(h.choices),
                                                   default_value=default[name], meta=h.meta))
    if z == "search":
        space.add(cs.OrdinalHyperparameter("z", [int(v) for v in bench.fidelities["z"]]))
    held = {int(i) for i in bench.config_ids}
    forbidden = []
    for gid in range(len(bench.space)):
        if gid in held:
            continue
        clauses = [cs.ForbiddenEqualsClause(space[n], v)
                   for n, v in bench.space.config(gid).items()]
        forbidden.append(clauses[0] if len(clauses) == 1 else
                         cs.ForbiddenAndConjunction(*clauses))
    if forbidden:
        space.add(forbidden)
    return space


@functools.cache
def _objective_function_class() -> type:
    base = require("carps.objective_functions.objective_function").ObjectiveFunction
    trials = require("carps.utils.trials")
    task_mod = require("carps.utils.task")

    class FrozenbenchObjectiveFunction(base):  # type: ignore[misc, valid-type]
        """A frozenbench table as a CARP-S objective function (see the module docstring).

        ``benchmark``: a loaded :class:`~frozenbench.table.Benchmark` (``fb.load``).
        ``fidelity``: one of :data:`FIDELITIES`. ``z``: the trained
        layers with ``fidelity="epoch"`` or None (default: all), or ``"search"`` (a
        hyperparameter). ``seed``: a table seed, or None for the mean over seeds.
        """

        def __init__(self, benchmark: Benchmark, *,
                     metric: str | None = None, cost: str | None = None,
                     fidelity: str | None = "epoch", z: int | str | None = None,
                     seed: int | None = None, loggers: list[Any] | None = None) -> None:
            super().__init__(loggers)
            if not hasattr(benchmark, "query"):
                raise not_loaded("benchmark", benchmark)
            bench = benchmark
            self.bench = bench
            self.metric = bench.metric_name(metric)
            self.cost = cost_column(cost or bench.default_cost)
            if fidelity not in FIDELITIES:
                raise unknown_name("fidelity", fidelity, FIDELITIES)
            self.fidelity = fidelity
            #: z of every trial with fidelity "epoch" or None; None: searched, or the level's
            self.z = fixed_z(bench, fidelity or "epoch", z)
            self.search_z = z == "search"
            self.axis = None if fidelity is None else BudgetAxis.of(bench, fidelity)
            self.seed = None if seed is None else bench.seeds[bench.index.seed(seed)]
            self._configspace = configspace(bench, z="search" if self.search_z else None)
            self._objective = bench.objective(self.metric, per_seed=seed is not None)
            self._costs = bench.cost_array(self.cost, per_seed=seed is not None)
            finite = self._objective[np.isfinite(self._objective)]
            self.worst = float(finite.max()) if finite.size else 0.0

        @property
        def configspace(self) -> Any:
            return self._configspace

        @property
        def fidelity_space(self) -> Any:
            """CARP-S's ``FidelitySpace`` of this objective function."""
            if self.axis is None:
                return task_mod.FidelitySpace()
            return task_mod.FidelitySpace(is_multifidelity=True, fidelity_type=self.fidelity,
                                          min_fidelity=self.axis.min_budget,
                                          max_fidelity=self.axis.max_budget)

        def task(self, *, n_trials: int | None = None, time_budget: float | None = None,
                 n_workers: int = 1, seed: int | None = None, name: str | None = None) -> Any:
            """A CARP-S ``Task`` of this objective function: ``n_trials`` (full-fidelity
            equivalents) or ``time_budget`` (minutes of real plus virtual time)."""
            with warnings.catch_warnings():  # CARP-S calls ConfigSpace's deprecated getters
                warnings.simplefilter("ignore", DeprecationWarning)
                info = task_mod.get_search_space_info(self._configspace)
            return task_mod.Task(
                name=name or f"frozenbench/{self.bench.name}",
                objective_function=self,
                input_space=task_mod.InputSpace(configuration_space=self._configspace,
                                                fidelity_space=self.fidelity_space),
                output_space=task_mod.OutputSpace(n_objectives=1, objectives=(self.metric,)),
                optimization_resources=task_mod.OptimizationResources(
                    n_trials=n_trials, time_budget=time_budget, n_workers=n_workers),
                metadata=task_mod.TaskMetadata(
                    domain="ML", objective_function_approximation="tabular",
                    has_virtual_time=True, deterministic=True, **info),
                seed=seed)

        def cell(self, trial_info: Any) -> tuple[int, int, int]:
            """``(config_id, z, epoch)`` a trial reads (its budget at the nearest level)."""
            config = dict(trial_info.config)
            fid = self.bench.fidelities
            z, epoch = max(int(v) for v in fid["z"]), max(int(e) for e in fid["epoch"])
            if self.axis is not None and trial_info.budget is not None:
                z, epoch = self.axis.levels[self.axis.rung(float(trial_info.budget))]
            if self.search_z:
                z = int(config["z"])
            elif self.z is not None:
                z = self.z
            cid = self.bench.space.index({n: config[n] for n in self.bench.space.names})
            return cid, int(z), int(epoch)

        def _evaluate(self, trial_info: Any) -> Any:
            start = time.time()
            cid, z, epoch = self.cell(trial_info)
            index = self.bench.index
            info = {"config_id": cid, "z": z, "epoch": epoch,
                    "seed": -1 if self.seed is None else self.seed}
            score = cost = float("nan")
            if index.pos_of_id[cid] >= 0:
                at: tuple[int, ...] = (index.config(cid), index.z(z), index.epoch(epoch))
                if self.seed is not None:
                    at = (*at, index.seed(self.seed))
                score, cost = float(self._objective[at]), float(self._costs[at])
            status = trials.StatusType.SUCCESS
            if score != score:  # no such cell: read as the simulator reads a missing one
                score, cost, status = self.worst, 0.0, trials.StatusType.CRASHED
            end = time.time()
            return trials.TrialValue(cost=score, time=end - start, virtual_time=cost,
                                     status=status, starttime=start, endtime=end,
                                     additional_info={**info, self.cost: cost})

    return FrozenbenchObjectiveFunction


def __getattr__(name: str) -> Any:
    if name == "FrozenbenchObjectiveFunction":
        return _objective_function_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
