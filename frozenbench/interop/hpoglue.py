"""A table as an hpoglue benchmark, for hposuite's optimizers and studies (extra ``hpoglue``).

hpoglue (the interface under hposuite) describes a benchmark once, as a
``BenchmarkDescription``, and loads it when a run starts. :func:`description` describes a
table so:

- **fidelities** ``epoch`` (supports continuation: training goes on from the last epoch) and
  ``z`` (trained layers; no continuation: a new z is a new run), each the table's values as an
  hpoglue ``ListFidelity``, epoch first (``fidelities=1`` picks it). Asking for both makes
  the problem *many-fidelity* (hpoglue's ``is_manyfidelity``: frozenbench's z x epoch). A
  fidelity the query leaves out is at its largest value: ``("epoch", 3)`` is all layers
  trained for 3 epochs, ``("z", 2)`` two layers trained to the last epoch, no fidelity the
  full-fidelity cell;
- **objective** the table's metric (:attr:`~frozenbench.table.Benchmark.metric`, minimised;
  bounds ``(0, 1)`` for ``val_error``, ``(0, inf)`` for a loss);
- **costs** the table's cost column (:attr:`~frozenbench.table.Benchmark.default_cost`
  unless ``cost`` names another) as the table holds it, cumulative up to the cell, and
  ``paid_<cost>``: what frozenbench's replay charges for the query within the run. A query at
  a higher epoch of a config and z asked before continues that training run and pays the
  difference of the cumulative costs; a lower or equal epoch pays nothing (the run passed it);
  a new z pays from scratch (frozen layers cannot thaw). Runs are told apart by the config's
  values, as hpoglue's continuations are; every load starts with nothing paid;
- **config space** :func:`frozenbench.interop.configspace.search_space` (conditions
  included), and a query answers for the table config
  :func:`frozenbench.interop.configspace.config_id` maps a configuration to;
- **predefined points** the table's priors (:mod:`frozenbench.priors`: ``good``, ``medium``,
  ``bad``), as hpoglue ``Config`` objects to pass as a problem's ``priors``.

Values come from :meth:`~frozenbench.table.Benchmark.query` (the mean over the seeds, or one
training ``seed``); a diverged cell answers the table's non-finite value. hpoglue 0.2.5's
runner still refuses many-fidelity queries ("Manyfidelity not yet implemented") and no
hposuite 0.1.3 optimizer supports them, so a run picks one fidelity (``fidelities="epoch"`` or
``"z"``) or none; the loaded benchmark answers many-fidelity queries (a mapping
``{"z": ..., "epoch": ...}``) all the same.

>>> import hpoglue
>>> import frozenbench as fb
>>> from hposuite.optimizers.random_search import RandomSearch
>>> desc = description(fb.load("mnist-resnet"))
>>> desc.name, list(desc.fidelities), list(desc.costs)
('frozenbench-mnist-resnet', ['epoch', 'z'], ['train_cost_s', 'paid_train_cost_s'])
>>> problem = hpoglue.Problem.problem(optimizer=RandomSearch, benchmark=desc, budget=5,
...                                   fidelities=None)
>>> many = hpoglue.Problem(optimizer=RandomSearch, benchmark=desc, budget=problem.budget,
...                        objectives=problem.objectives, fidelities=desc.fidelities, costs=None)
>>> many.is_manyfidelity
True
>>> import os, tempfile
>>> here = os.getcwd(); os.chdir(tempfile.mkdtemp())  # the runner writes ./Optimizers_cache
>>> frame = hpoglue.run(RandomSearch, desc, budget=3, seed=0)
>>> os.chdir(here)
>>> len(frame), sorted(frame["results"][0])
(3, ['paid_train_cost_s', 'train_cost_s', 'val_error'])
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from frozenbench.errors import InvalidValueError, not_loaded, unknown_name
from frozenbench.extras import require
from frozenbench.interop.configspace import conditions, config_id, search_space
from frozenbench.priors import priors
from frozenbench.table import Benchmark
from frozenbench.table.result import cost_column

#: The fidelities of a table in hpoglue, in the order hpoglue's ``fidelities=1`` reads them.
FIDELITIES = ("epoch", "z")
#: A metric's bounds in hpoglue (``Measure.metric``); metrics not named here are in [0, inf).
METRIC_BOUNDS: Mapping[str, tuple[float, float]] = {"val_error": (0.0, 1.0)}
#: The prefix of the cost a query is charged within a run (see the module docstring).
PAID = "paid_"


def description(bench: Benchmark, *, cost: str | None = None, seed: int | None = None,
                name: str | None = None) -> Any:
    """The hpoglue ``BenchmarkDescription`` of ``bench`` (a loaded benchmark: ``fb.load``).

    ``cost`` is a cost column or alias (default: the table's
    :attr:`~frozenbench.table.Benchmark.default_cost`); ``seed`` the training seed whose cells
    answer (default: the mean over the seeds each cell has); ``name`` the benchmark's name in
    hpoglue (default ``frozenbench-<table>``). See the module docstring for what is declared.
    """
    glue = require("hpoglue")
    fidelity = require("hpoglue.fidelity")
    if not isinstance(bench, Benchmark):
        raise not_loaded("bench", bench)
    cost = cost_column(cost or bench.default_cost)
    if seed is not None and seed not in bench.seeds:
        raise unknown_name("seed", seed, [int(s) for s in bench.seeds])
    metric = bench.metric
    fid = bench.fidelities
    measure = glue.Measure
    return glue.BenchmarkDescription(
        name=name or f"frozenbench-{bench.name}",
        config_space=search_space(bench),
        load=partial(_load_benchmark, bench=bench, cost=cost, seed=seed),
        metrics={metric: measure.metric(METRIC_BOUNDS.get(metric, (0.0, np.inf)),
                                        minimize=True)},
        costs={cost: measure.cost((0.0, np.inf)), PAID + cost: measure.cost((0.0, np.inf))},
        fidelities={
            "epoch": fidelity.ListFidelity.from_seq([int(e) for e in fid["epoch"]],
                                                    supports_continuation=True),
            "z": fidelity.ListFidelity.from_seq([int(z) for z in fid["z"]],
                                                supports_continuation=False)},
        has_conditionals=bool(conditions(bench)),
        # hpoglue's "tabular" means a space given as a list of Configs; this one is a
        # ConfigurationSpace whose every configuration maps to a table config
        is_tabular=False,
        predefined_points=prior_points(bench),
        extra={"frozenbench": bench.name, "metric": metric, "cost": cost, "seed": seed},
    )


def prior_points(bench: Benchmark) -> dict[str, Any]:
    """The table's priors (:func:`frozenbench.priors.priors`) as hpoglue ``Config`` objects by
    name, for a problem's ``priors=(name, {metric: config})``.

    >>> import frozenbench as fb
    >>> points = prior_points(fb.load("mnist1d-cnn"))
    >>> sorted(points), points["good"].config_id
    (['bad', 'good', 'medium'], 'prior-good')
    """
    glue = require("hpoglue")
    return {name: glue.Config(
        config_id=f"prior-{name}", values=dict(p.config),
        description=(f"frozenbench prior {name!r}: the config at the {p.quantile} quantile of "
                     f"the full-fidelity ranking by {p.metric} (score {p.score:.6g})"))
        for name, p in priors(bench).items()}


def _load_benchmark(desc: Any, *, bench: Benchmark, cost: str, seed: int | None) -> Any:
    """hpoglue's ``load``: a benchmark that answers from the table, with nothing paid yet."""
    glue = require("hpoglue")
    queries = TableQueries(bench, cost=cost, seed=seed)
    return glue.SurrogateBenchmark(desc=desc, benchmark=bench, config_space=desc.config_space,
                                   query=queries, trajectory_f=queries.trajectory)


class TableQueries:
    """hpoglue's query function on a table, charging as frozenbench's replay does.

    Called with an hpoglue ``Query``, it returns an hpoglue ``Result`` whose values are the
    metric, the cumulative cost and the cost paid (see the module docstring); ``paid`` maps
    each training run (config values, z) to the cumulative cost it has paid.
    """

    def __init__(self, bench: Benchmark, *, cost: str, seed: int | None = None) -> None:
        self.bench = bench
        self.cost = cost
        self.seed = seed
        self.paid: dict[tuple[Any, int], float] = {}
        self._top = (max(bench.fidelities["epoch"]), max(bench.fidelities["z"]))

    def level(self, fidelity: Any) -> tuple[int, int]:
        """The ``(epoch, z)`` an hpoglue fidelity (None, ``(name, value)`` or a mapping) means;
        a fidelity left out is at its largest value."""
        given: Mapping[str, Any]
        if fidelity is None:
            given = {}
        elif isinstance(fidelity, tuple) and len(fidelity) == 2:
            given = {fidelity[0]: fidelity[1]}
        elif isinstance(fidelity, Mapping):
            given = fidelity
        else:
            raise InvalidValueError(f"fidelity={fidelity!r} is none of None, a (name, value) "
                                    "pair or a mapping of names to values")
        for key in given:
            if key not in FIDELITIES:
                raise unknown_name("fidelity", key, FIDELITIES)
        epoch, z = (given.get(k, top) for k, top in zip(FIDELITIES, self._top, strict=True))
        return _integer("epoch", epoch), _integer("z", z)

    def values(self, config: Mapping[str, Any], epoch: int, z: int) -> dict[str, float]:
        """The metric and the cumulative cost of ``config`` at ``(epoch, z)``."""
        r = self.bench.query(config_id(self.bench, config), z, epoch, seed=self.seed)
        return {self.bench.metric: float(getattr(r, self.bench.metric)),
                self.cost: float(getattr(r, self.cost))}

    def __call__(self, query: Any) -> Any:
        glue = require("hpoglue")
        config = dict(query.config.values)
        epoch, z = self.level(query.fidelity)
        values = self.values(config, epoch, z)
        run = (tuple(sorted((k, str(v)) for k, v in config.items())), z)
        before = self.paid.get(run, 0.0)
        cumulative = values[self.cost]
        values[PAID + self.cost] = max(cumulative - before, 0.0)
        self.paid[run] = max(cumulative, before)
        fidelity = query.fidelity
        if isinstance(fidelity, Mapping):
            fidelity = {"epoch": epoch, "z": z}
        return glue.Result(query=query, values=values, fidelity=fidelity)

    def trajectory(self, *, query: Any, frm: float | None = None,
                   to: float | None = None) -> pd.DataFrame:
        """The learning curve of a query's config over its one fidelity, ``frm`` to ``to``
        (default: the smallest value to the query's), read without charging anything."""
        if not (isinstance(query.fidelity, tuple) and len(query.fidelity) == 2):
            raise InvalidValueError(f"a trajectory follows one fidelity, a (name, value) pair; "
                                    f"got fidelity={query.fidelity!r}")
        name, value = query.fidelity
        epoch, z = self.level(query.fidelity)
        lo = frm if frm is not None else min(self.bench.fidelities[name])
        hi = to if to is not None else value
        steps = [v for v in self.bench.fidelities[name] if lo <= v <= hi]
        rows = [self.values(query.config.values, *((v, z) if name == "epoch" else (epoch, v)))
                for v in steps]
        return pd.DataFrame.from_records(rows, index=pd.Index(steps, name=name))


def _integer(name: str, value: Any) -> int:
    """A fidelity value as an int (hpoglue optimizers may hand over floats like 3.0)."""
    if isinstance(value, (int, np.integer)) or (isinstance(value, (float, np.floating))
                                                 and float(value).is_integer()):
        return int(value)
    raise InvalidValueError(f"{name}={value!r} is not a whole number; {name} takes the table's "
                            "values")
