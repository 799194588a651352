"""Replay an HPO optimizer on a table: asynchronous workers on a simulated clock.

Semantics (see DESIGN.md, "Simulation semantics"):

- A trial is (config, z); it advances in epochs. A job that continues a trial is charged the
  cumulative cost at its target epoch minus what the trial already paid (nothing if it reached
  that epoch already); a new trial, including any change of z, pays from scratch.
- The clock advances by the cost: by default the table's contention-robust ``train_cost_s``
  (CPU seconds of training; wall ``train_time_s`` for schema-1 tables), with
  ``cost="train_flops"`` in FLOPs (the "time" axis is then cumulative compute).
- Each worker has a memory capacity; a job starts only on a worker where the peak memory of
  its (config, z) fits, waiting for one if needed. A job that fits on no worker is an error.
- ``cell_seed``: ``"draw"`` (default) draws one table seed per trial from the seeds available at
  that (config, z), so a trial sees one real training run; ``"mean"`` reads the mean over seeds;
  an int reads that seed (an error where it is absent).
- Scores are the objective of :meth:`Benchmark.objective`: diverged cells count as the worst
  finite value in the table; a cell missing from the table scores the same and costs nothing.
- Stopping: ``budget`` (simulated time: no job starts at or after it, results after it are
  not seen), ``cost_budget`` (total cost charged: a job that would exceed it is not started and
  ends the run), ``max_evaluations`` (results recorded). At least one is required. A budget
  that ends before the first result gives an empty trajectory: no incumbent yet, not an error
  (anytime curves start at small budgets).
- The incumbent and its regret: :mod:`frozenbench.sim.trajectory` (by default the best config
  at the highest fidelity reached so far, scored at full fidelity on the test metric where the
  table has one).
- The run is deterministic for a given ``seed``: all randomness comes from one
  ``numpy.random.Generator``; simultaneous events are ordered by a counter.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd

from frozenbench.errors import (
    FrozenbenchError,
    InvalidValueError,
    format_choices,
    not_loaded,
    raise_problems,
    unknown_name,
)
from frozenbench.optimizers import OPTIMIZERS, Optimizer, make_optimizer
from frozenbench.optimizers.fidelity import Level, fidelity_levels
from frozenbench.optimizers.stopping import Stopping, StoppingOptimizer, is_stopping
from frozenbench.sim.engine import Engine
from frozenbench.sim.trajectory import DEFAULT_INCUMBENT, INCUMBENT_RULES, regret_metric
from frozenbench.sim.workers import capacities, check_fit
from frozenbench.table import Benchmark, cost_column


def _positive(problems: list[str | FrozenbenchError], name: str, value: object, *,
              integer: bool = False) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        problems.append(f"{name}={value!r:.80} must be a positive number or None")
    elif integer and not isinstance(value, (int, np.integer)):
        problems.append(f"{name}={value!r} must be a positive integer or None")
    elif not (math.isfinite(float(value)) and float(value) > 0):
        problems.append(f"{name}={value!r} must be positive and finite")


#: With no stopping rule given, the CLI runs for this many times the median cost of training a
#: config at full fidelity (:func:`default_budget`).
DEFAULT_BUDGET_FACTOR = 10.0


def default_budget(bench: Benchmark, cost: str | None = None) -> float:
    """The default simulated-time budget: :data:`DEFAULT_BUDGET_FACTOR` x the median
    full-fidelity cost (``cost``: a cost column or its alias) of the table's configs.

    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=6, n_z=2, n_epochs=2)
    >>> default_budget(bench) > 0, default_budget(bench, "flops") > default_budget(bench)
    (True, True)
    """
    full = bench.cost_array(cost)[:, -1, -1]
    return DEFAULT_BUDGET_FACTOR * float(np.nanmedian(full))


def simulate(
    bench: Benchmark,
    optimizer: str | Optimizer | StoppingOptimizer = "asha",
    fidelity: str | Sequence[Level] = "z+epoch",
    *,
    n_workers: int = 4,
    budget: float | None = None,
    cost_budget: float | None = None,
    max_evaluations: int | None = None,
    seed: int = 0,
    eta: float = 3.0,
    metric: str | None = None,
    cost: str | None = None,
    cell_seed: str | int = "draw",
    memory: Any = None,
    incumbent: str = DEFAULT_INCUMBENT,
) -> pd.DataFrame:
    """Replay ``optimizer`` over ``fidelity`` on ``bench``; returns the trajectory.

    ``bench`` is a loaded :class:`~frozenbench.table.Benchmark`; ``fb.simulate`` (the API
    edge, :func:`frozenbench.registry.simulate`) also takes a name or a path and loads it.

    ``optimizer`` is a name (``"random"``, ``"sh"``, ``"hyperband"``, ``"asha"``), an object
    in the *promotion* style (``ask(rng) -> Job | None`` and ``tell(observation)``: the
    optimizer hands out the next job, :class:`~frozenbench.optimizers.Optimizer`) or one in the
    *stopping* style (``suggest(rng) -> Start | None`` and ``report(observation) -> bool``: a
    trial reports after each epoch and goes on while ``report`` says so,
    :class:`~frozenbench.optimizers.StoppingOptimizer`). Results reach the optimizer in
    simulated-time order across the workers; the trajectory has the same columns whatever
    drove it. Every argument is checked first and all problems are reported at once.
    ``fidelity`` is ``"epoch"``, ``"z"``, ``"z+epoch"``, ``"full"`` or
    a list of ``(z, epoch)`` levels. ``memory`` is one capacity for all workers or one per worker
    (bytes or strings like ``"8GB"``). ``incumbent`` picks the rule of the incumbent:
    ``"highest"`` (default: the best config among those at the highest fidelity reached so
    far), ``"full"`` (full fidelity only) or ``"any"`` (the lowest score at any fidelity, the
    old rule); regret is the incumbent's full-fidelity score on the table's test metric where
    it has one, else on ``metric`` (``attrs["regret_metric"]`` says which). A budget that ends
    before the first result gives an empty trajectory (no incumbent yet), not an error. See
    the module docstring for the semantics and :mod:`frozenbench.sim.trajectory` for the
    columns.

    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=30, n_z=4, n_epochs=9)
    >>> traj = simulate(bench, "asha", "z+epoch", n_workers=2, max_evaluations=40, seed=1)
    >>> len(traj), traj["time"].is_monotonic_increasing, bool((traj["regret"] >= 0).all())
    (40, True, True)
    >>> simulate(bench, "asha", "z+epoch", max_evaluations=40, seed=1).equals(
    ...     simulate(bench, "asha", "z+epoch", max_evaluations=40, seed=1))
    True
    >>> len(simulate(bench, "asha", "z+epoch", budget=1e-9))  # no result yet: no incumbent
    0
    """
    if not isinstance(bench, Benchmark):  # names are resolved at the API edge: fb.simulate
        raise not_loaded("bench", bench)
    problems: list[str | FrozenbenchError] = []

    def attempt(fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except FrozenbenchError as exc:
            problems.append(exc)
            return None

    _positive(problems, "budget", budget)
    _positive(problems, "cost_budget", cost_budget)
    _positive(problems, "max_evaluations", max_evaluations, integer=True)
    if budget is None and cost_budget is None and max_evaluations is None:
        problems.append("give a stopping rule: budget= (simulated time), cost_budget= (total "
                        "cost) or max_evaluations=")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        problems.append(f"seed={seed!r:.80} must be a non-negative integer")
    if isinstance(n_workers, np.integer):
        n_workers = int(n_workers)
    if incumbent not in INCUMBENT_RULES:
        problems.append(unknown_name("incumbent", incumbent, INCUMBENT_RULES))
    caps = attempt(lambda: capacities(n_workers, memory))
    if caps is not None:
        attempt(lambda: check_fit(caps, bench.peak_memory(), bench.fidelities["z"]))
    metric_name = attempt(lambda: bench.metric_name(metric))
    if metric_name is not None and not _measured(bench, metric_name):
        problems.append(_no_finite_metric(bench, metric_name))
    cost_name = attempt(lambda: cost_column(cost or bench.default_cost))
    if isinstance(cell_seed, str):
        if cell_seed not in ("draw", "mean"):
            problems.append(f"cell_seed={cell_seed!r}; valid: 'draw', 'mean' or one of the "
                            f"seeds {list(bench.seeds)}")
    elif isinstance(cell_seed, bool) or not isinstance(cell_seed, (int, np.integer)):
        problems.append(f"cell_seed={cell_seed!r:.80}; valid: 'draw', 'mean' or one of the "
                        f"seeds {list(bench.seeds)}")
    else:
        cell_seed = int(cell_seed)
        attempt(lambda: bench.index.seed(cell_seed))
    levels = attempt(lambda: fidelity_levels(bench.fidelity_values, fidelity, eta))
    opt: Any = None
    if isinstance(optimizer, str):
        if optimizer not in OPTIMIZERS:
            problems.append(unknown_name("optimizer", optimizer, OPTIMIZERS))
        elif levels is not None:
            opt = make_optimizer(optimizer, bench, levels, eta=eta)
    elif callable(getattr(optimizer, "ask", None)) and callable(getattr(optimizer, "tell", None)):
        opt = optimizer
        attempt(lambda: _check_signature(optimizer, ("ask", "rng"), ("tell", "observation")))
    elif is_stopping(optimizer):
        opt = Stopping(cast(StoppingOptimizer, optimizer), bench.fidelities["epoch"])
        attempt(lambda: _check_signature(optimizer, ("suggest", "rng"),
                                         ("report", "observation")))
    else:
        problems.append(
            f"optimizer must be one of {format_choices(OPTIMIZERS)}, an object with ask(rng) "
            f"and tell(observation) (promotion style) or one with suggest(rng) and "
            f"report(observation) (stopping style), got {optimizer!r:.80}")
    raise_problems("simulate", problems)

    scored_on = regret_metric(bench, metric_name)
    full = bench.full_fidelity_scores(scored_on)
    full_ok = full[np.isfinite(full)]
    best_full = float(full_ok.min()) if full_ok.size else math.nan
    engine = Engine(bench, opt, capacities=caps, rng=np.random.default_rng(int(seed)),
                    metric=metric_name, cost=cost_name, cell_seed=cell_seed, budget=budget,
                    cost_budget=cost_budget, max_evaluations=max_evaluations,
                    best_full=best_full, full=full, incumbent=incumbent)
    recorder = engine.run()
    attrs = {
        "benchmark": bench.name, "optimizer": engine.name,
        "fidelity": fidelity if isinstance(fidelity, str) else [list(x) for x in fidelity],
        "levels": [list(x) for x in getattr(opt, "levels", levels)], "seed": int(seed),
        "n_workers": n_workers,
        "metric": metric_name, "cost": cost_name, "cell_seed": cell_seed,
        "best_full": best_full, "eta": eta, "incumbent": incumbent,
        "regret_metric": scored_on, "n_trials": len(engine.trials),
        "config_ids_in_table": len(bench.config_ids), "stop_reason": engine.stop_reason,
    }
    return recorder.frame(bench.space, attrs)


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


def _measured(bench: Benchmark, metric: str) -> bool:
    """Whether ``metric`` has a finite value anywhere at the last epoch (a metric the task does
    not measure, such as val_error of a language model, is NaN everywhere)."""
    ci, zi = np.nonzero(bench.seed_mask().any(axis=2))  # cells present at the last epoch
    if not len(ci):
        return True  # nothing to judge by; the replay reports the missing cells itself
    ids = np.asarray(bench.config_ids)[ci]
    zs = np.asarray(bench.fidelities["z"])[zi]
    values = bench.query_many(ids, zs, quantities=[metric])[metric]
    return bool(np.isfinite(values).any())


def _no_finite_metric(bench: Benchmark, metric: str) -> InvalidValueError:
    from frozenbench.schema import METRICS

    valid = [m for m in METRICS if _measured(bench, m)]
    return InvalidValueError(
        f"metric {metric!r} has no finite value in {bench.name} (it is not measured for this "
        f"task); valid metrics of this table: {format_choices(valid)}")
