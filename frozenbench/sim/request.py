"""One replay request: everything a replay needs, checked once, then run for any replay seed.

A :class:`ReplayRequest` names the optimizer (a name with its fidelity path, a
:class:`~frozenbench.sim.methods.Method`, an HPO library's method or an optimizer object), the
workers and their memory, the stopping rule (the budget in units of the table's median
full-fidelity cost, :mod:`frozenbench.sim.budget`; seconds only through ``budget_seconds``),
the replay seeds, the cost clock, the metric, the cell seed and the incumbent rule.
:meth:`ReplayRequest.prepare` checks it against a table, every problem listed in one
:class:`~frozenbench.errors.InvalidValueError`, and returns a :class:`PreparedReplay` that holds
what every run shares (the fidelity levels, the worker capacities, the budget in seconds, the
full-fidelity scores regret is measured on), so nothing is checked or computed again per seed.
:func:`frozenbench.simulate`, :func:`~frozenbench.analysis.hpo.compare`,
:func:`~frozenbench.analysis.suite.run_suite`, the report and the command lines all replay
through it.

>>> from frozenbench.synthetic import make_benchmark
>>> bench = make_benchmark(n_configs=30, n_z=4, n_epochs=9)
>>> prepared = ReplayRequest("asha", "z+epoch-geometric", n_workers=2, budget=5,
...                          seeds=(0, 1)).prepare(bench)
>>> prepared.levels, [len(t) > 0 for t in prepared.run_all()]
(((1, 3), (4, 9)), [True, True])
>>> ReplayRequest("asha", "zz", n_workers=0, budget=-1).prepare(bench)
Traceback (most recent call last):
...
frozenbench.errors.InvalidValueError: 3 problems with the arguments of simulate:
  - budget=-1 must be positive and finite
  - n_workers=0 must be a positive integer
  - fidelity='zz' is not known; valid: [...] or a list of (z, epoch) pairs
"""

from __future__ import annotations

import contextlib
import inspect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

import numpy as np
import pandas as pd

from frozenbench.errors import (
    FrozenbenchError,
    InvalidValueError,
    format_choices,
    raise_problems,
    unknown_name,
)
from frozenbench.optimizers.fidelity import Level, path_levels
from frozenbench.optimizers.stopping import Stopping, StoppingOptimizer, is_stopping
from frozenbench.sim.budget import budget_unit
from frozenbench.sim.engine import Engine
from frozenbench.sim.methods import LIBRARY_METHODS, Method, method_names
from frozenbench.sim.trajectory import DEFAULT_INCUMBENT, INCUMBENT_RULES, regret_metric
from frozenbench.sim.workers import capacities, check_fit
from frozenbench.table import Benchmark, cost_column

Problems = list[str | FrozenbenchError]


@dataclass(frozen=True)
class ReplayRequest:
    """Everything a replay needs (see the module docstring); checked by :meth:`prepare`.

    ``optimizer``: a name of :data:`~frozenbench.optimizers.OPTIMIZERS` (with ``fidelity``),
    a method label or :class:`~frozenbench.sim.methods.Method`, an HPO library's method name,
    or an object in the promotion style (``ask``/``tell``) or the stopping style
    (``suggest``/``report``). ``budget``: simulated time in budget units;
    ``budget_seconds``: the same in the cost's own unit (seconds; FLOPs with a FLOPs cost).
    ``seeds``: the replay seeds :meth:`PreparedReplay.run_all` runs.
    """

    optimizer: Any = "asha"
    fidelity: Any = "z+epoch-geometric"
    n_workers: int = 4
    memory: Any = None
    budget: float | None = None
    budget_seconds: float | None = None
    cost_budget: float | None = None
    max_evaluations: int | None = None
    seeds: tuple[int, ...] = (0,)
    eta: float = 3.0
    metric: str | None = None
    cost: str | None = None
    cell_seed: str | int = "draw"
    incumbent: str = DEFAULT_INCUMBENT

    @property
    def method(self) -> Method | None:
        """The named method this request runs (None: an optimizer object)."""
        if isinstance(self.optimizer, Method):
            return self.optimizer
        if isinstance(self.optimizer, str):
            if self.optimizer in LIBRARY_METHODS:
                return Method(self.optimizer, None)
            fidelity = self.fidelity
            if isinstance(fidelity, list):
                fidelity = tuple(tuple(level) for level in fidelity)
            return Method(self.optimizer, fidelity)
        return None

    def problems(self, bench: Benchmark) -> Problems:
        """Every problem with this request on ``bench``; empty when it can run."""
        return self.settings_problems(bench) + self.optimizer_problems(bench)

    def settings(self) -> ReplayRequest:
        """This request without its optimizer: what requests that differ only in their method
        share (their problems are found once, :func:`requests_problems`)."""
        return replace(self, optimizer=None, fidelity=None)

    def settings_problems(self, bench: Benchmark) -> Problems:
        """Every problem with the request's settings (all but the optimizer) on ``bench``."""
        problems: Problems = []
        if isinstance(self.eta, bool) or not isinstance(self.eta, (int, float)) \
                or not self.eta > 1:
            problems.append(f"eta={self.eta!r:.80} must be a number > 1")
        _number(problems, "budget", self.budget)
        _number(problems, "budget_seconds", self.budget_seconds)
        _number(problems, "cost_budget", self.cost_budget)
        _number(problems, "max_evaluations", self.max_evaluations, integer=True)
        if self.budget is not None and self.budget_seconds is not None:
            problems.append(f"give budget= (units of the median full-fidelity cost) or "
                            f"budget_seconds=, not both (got {self.budget!r} and "
                            f"{self.budget_seconds!r})")
        if all(v is None for v in (self.budget, self.budget_seconds, self.cost_budget,
                                   self.max_evaluations)):
            problems.append("give a stopping rule: budget= (simulated time in units of the "
                            "median full-fidelity cost), budget_seconds=, cost_budget= (total "
                            "cost) or max_evaluations=")
        if not isinstance(self.seeds, (tuple, list)) or not self.seeds or any(
                isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0
                for s in self.seeds):
            shown = self.seeds[0] if isinstance(self.seeds, (tuple, list)) and \
                len(self.seeds) == 1 else self.seeds
            problems.append(f"seed={shown!r:.80} must be a non-negative integer")
        if self.incumbent not in INCUMBENT_RULES:
            problems.append(unknown_name("incumbent", self.incumbent, INCUMBENT_RULES))
        _attempt(problems, lambda: _fitting_capacities(self, bench))
        _attempt(problems, lambda: cost_column(self.cost or bench.default_cost))
        _attempt(problems, lambda: _cell_seed(self.cell_seed, bench))
        metric = _attempt(problems, lambda: bench.metric_name(self.metric))
        if metric is not None and not metric_measured(bench, metric):
            problems.append(_no_finite_metric(bench, metric))
        return problems

    def optimizer_problems(self, bench: Benchmark, label: str | None = None) -> Problems:
        """Every problem with the request's optimizer and fidelity path on ``bench`` (each
        message starting with ``label`` where one is given)."""
        if not (isinstance(self.eta, (int, float)) and not isinstance(self.eta, bool)
                and self.eta > 1):
            return []  # the settings say so; no path can be built
        method = self.method
        if method is not None:
            return method.problems([bench], self.eta, label=label)
        problems: Problems = []
        _attempt(problems, lambda: path_levels(bench, self.fidelity, self.eta))
        opt = self.optimizer
        if callable(getattr(opt, "ask", None)) and callable(getattr(opt, "tell", None)):
            _attempt(problems, lambda: _check_signature(opt, ("ask", "rng"),
                                                        ("tell", "observation")))
        elif is_stopping(opt):
            _attempt(problems, lambda: _check_signature(opt, ("suggest", "rng"),
                                                        ("report", "observation")))
        else:
            problems.append(
                f"optimizer must be one of {format_choices(method_names())}, an object with "
                f"ask(rng) and tell(observation) (promotion style) or one with suggest(rng) and "
                f"report(observation) (stopping style), got {opt!r:.80}")
        return problems

    def prepare(self, bench: Benchmark, owner: str = "simulate", *, checked: bool = False
                ) -> PreparedReplay:
        """Check this request on ``bench`` (every problem in one error naming ``owner``;
        ``checked``: already done, by :func:`requests_problems`) and compute once what every run
        shares."""
        if not checked:
            raise_problems(owner, self.problems(bench))
        method = self.method
        fidelity: Any = "full" if method is not None and method.is_library else (
            method.fidelity if method is not None else self.fidelity)
        levels = tuple(method.levels(bench, self.eta) if method is not None
                       else path_levels(bench, fidelity, self.eta))
        metric = bench.metric_name(self.metric)
        cost = cost_column(self.cost or bench.default_cost)
        budget_time = self.budget_seconds
        unit = budget_unit(bench, cost) if self.budget is not None or \
            self.budget_seconds is None else math.nan
        if self.budget is not None:
            if not (math.isfinite(unit) and unit > 0):
                raise InvalidValueError(
                    f"{bench.name} has no finite full-fidelity {cost} to measure budget units "
                    f"by; give budget_seconds= instead of budget={self.budget!r}")
            budget_time = float(self.budget) * unit
        scored_on = regret_metric(bench, metric)
        full = bench.full_fidelity_scores(scored_on)
        finite = full[np.isfinite(full)]
        return PreparedReplay(
            bench, self, method, levels, _fitting_capacities(self, bench), metric, cost,
            _cell_seed(self.cell_seed, bench), budget_time, unit, scored_on, full,
            float(finite.min()) if finite.size else math.nan)


@dataclass(frozen=True, eq=False)
class PreparedReplay:
    """A :class:`ReplayRequest` checked on one table, with what every run shares; :meth:`run`
    replays one seed, :meth:`run_all` every seed of the request."""

    bench: Benchmark
    request: ReplayRequest
    method: Method | None
    levels: tuple[Level, ...]
    capacities: Any = field(repr=False)
    metric: str
    cost: str
    cell_seed: str | int
    budget_time: float | None
    unit: float
    regret_metric: str
    full: np.ndarray = field(repr=False)
    best_full: float

    def optimizer(self, seed: int) -> Any:
        """The optimizer of replay seed ``seed``: a fresh one for a named method."""
        req = self.request
        opt = req.optimizer if self.method is None else \
            self.method.build(self.bench, seed=seed, eta=req.eta, levels=self.levels)
        if is_stopping(opt) and not callable(getattr(opt, "ask", None)):
            return Stopping(cast(StoppingOptimizer, opt), self.bench.fidelities["epoch"])
        return opt

    def run(self, seed: int) -> pd.DataFrame:
        """The trajectory of replay seed ``seed`` (:mod:`frozenbench.sim.trajectory`)."""
        from frozenbench.interop.methods import quiet_libraries

        req, bench = self.request, self.bench
        with quiet_libraries() if self.method is not None and self.method.is_library \
                else contextlib.nullcontext():
            opt = self.optimizer(seed)
            engine = Engine(bench, opt, capacities=self.capacities,
                            rng=np.random.default_rng(int(seed)), metric=self.metric,
                            cost=self.cost, cell_seed=self.cell_seed, budget=self.budget_time,
                            cost_budget=req.cost_budget, max_evaluations=req.max_evaluations,
                            best_full=self.best_full, full=self.full, incumbent=req.incumbent)
            recorder = engine.run()
        fidelity = req.fidelity if self.method is None else (
            self.method.fidelity if self.method.fidelity is not None else "full")
        attrs = {
            "benchmark": bench.name, "optimizer": engine.name,
            "fidelity": fidelity if isinstance(fidelity, str) else [list(x) for x in fidelity],
            "levels": [list(x) for x in getattr(opt, "levels", self.levels)],
            "seed": int(seed), "n_workers": int(req.n_workers), "metric": self.metric,
            "cost": self.cost, "cell_seed": self.cell_seed, "best_full": self.best_full,
            "eta": req.eta, "incumbent": req.incumbent, "regret_metric": self.regret_metric,
            "budget_units": req.budget, "budget_time": self.budget_time,
            "n_trials": len(engine.trials), "config_ids_in_table": len(bench.config_ids),
            "stop_reason": engine.stop_reason,
        }
        return recorder.frame(bench.space, attrs)

    def run_all(self) -> list[pd.DataFrame]:
        """One trajectory per replay seed of the request, in its order."""
        return [self.run(int(s)) for s in self.request.seeds]


def _attempt(problems: Problems, fn: Any) -> Any:
    """``fn()``, or None with its error added to ``problems``."""
    try:
        return fn()
    except FrozenbenchError as exc:
        problems.append(exc)
        return None


def _number(problems: Problems, name: str, value: object, *, integer: bool = False) -> None:
    """Add a problem unless ``value`` is None or a positive finite number (integer)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        problems.append(f"{name}={value!r:.80} must be a positive number or None")
    elif integer and not isinstance(value, (int, np.integer)):
        problems.append(f"{name}={value!r} must be a positive integer or None")
    elif not (math.isfinite(float(value)) and float(value) > 0):
        problems.append(f"{name}={value!r} must be positive and finite")


def _fitting_capacities(request: ReplayRequest, bench: Benchmark) -> Any:
    """The workers' memory capacities, checked to fit the table's smallest z."""
    n = int(request.n_workers) if isinstance(request.n_workers, np.integer) \
        else request.n_workers
    caps = capacities(n, request.memory)
    check_fit(caps, bench.peak_memory(), bench.fidelities["z"])
    return caps


def _cell_seed(cell_seed: object, bench: Benchmark) -> str | int:
    """``"draw"``, ``"mean"`` or a seed of the table."""
    valid = f"valid: 'draw', 'mean' or one of the seeds {list(bench.seeds)}"
    if isinstance(cell_seed, str):
        if cell_seed not in ("draw", "mean"):
            raise InvalidValueError(f"cell_seed={cell_seed!r}; {valid}")
        return cell_seed
    if isinstance(cell_seed, bool) or not isinstance(cell_seed, (int, np.integer)):
        raise InvalidValueError(f"cell_seed={cell_seed!r:.80}; {valid}")
    if int(cell_seed) not in bench.seeds:
        raise InvalidValueError(f"cell_seed={int(cell_seed)}; {valid}")
    return int(cell_seed)


def _check_signature(optimizer: Any, *methods: tuple[str, str]) -> None:
    """Each of an external optimizer's ``methods`` takes its one argument."""
    bad = []
    for method, arg in methods:
        try:
            inspect.signature(getattr(optimizer, method)).bind(None)
        except TypeError:
            bad.append(f"{method}({arg})")
        except ValueError:  # no signature (a builtin): trust it
            pass
    if bad:
        name = getattr(optimizer, "name", type(optimizer).__name__)
        wanted = " and ".join(f"{m}({a})" for m, a in methods)
        raise InvalidValueError(
            f"optimizer {name!r} must have {wanted}; its {' and '.join(bad)} does not take "
            f"exactly that one argument")


def metric_measured(bench: Benchmark, metric: str) -> bool:
    """Whether ``metric`` has a finite value anywhere at the last epoch (a metric the task does
    not measure, such as val_error of a language model, is NaN everywhere).

    >>> from frozenbench.synthetic import make_benchmark
    >>> metric_measured(make_benchmark(n_configs=4, n_z=2, n_epochs=2), "val_error")
    True
    """
    ci, zi = np.nonzero(bench.seed_mask().any(axis=2))  # cells present at the last epoch
    if not len(ci):
        return True  # nothing to judge by; the replay reports the missing cells itself
    ids = np.asarray(bench.config_ids)[ci]
    zs = np.asarray(bench.fidelities["z"])[zi]
    values = bench.query_many(ids, zs, quantities=[metric])[metric]
    return bool(np.isfinite(values).any())


def _no_finite_metric(bench: Benchmark, metric: str) -> InvalidValueError:
    from frozenbench.schema import METRICS

    valid = [m for m in METRICS if metric_measured(bench, m)]
    return InvalidValueError(
        f"metric {metric!r} has no finite value in {bench.name} (it is not measured for this "
        f"task); valid metrics of this table: {format_choices(valid)}")


def requests_problems(requests: Mapping[str, ReplayRequest] | Sequence[ReplayRequest],
                      bench: Benchmark) -> list[str]:
    """The problems of several requests on one table, each once: the settings requests share
    (all but the method) are checked once. Requests given by label (a mapping) name it in their
    method's problems.

    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=6, n_z=2, n_epochs=2)
    >>> requests_problems([ReplayRequest(m, n_workers=0, budget=1) for m in ("asha", "sh")],
    ...                   bench)
    ['n_workers=0 must be a positive integer']
    """
    labelled = list(requests.items()) if isinstance(requests, Mapping) \
        else [(None, r) for r in requests]
    problems: list[str] = []
    seen: list[ReplayRequest] = []
    for label, request in labelled:
        if request.settings() not in seen:
            seen.append(request.settings())
            problems += [str(p) for p in request.settings_problems(bench)]
        problems += [str(p) for p in request.optimizer_problems(bench, label)]
    return list(dict.fromkeys(problems))


__all__ = ["PreparedReplay", "ReplayRequest", "metric_measured", "requests_problems"]
