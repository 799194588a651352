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
- Stopping: ``budget`` (simulated time in units of the table's median full-fidelity cost,
  :mod:`frozenbench.sim.budget`; ``budget_seconds`` gives it in the cost's own unit instead:
  no job starts at or after it, results after it are not seen), ``cost_budget``
  (total cost charged: a job that would exceed it is not started and
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

from collections.abc import Sequence
from typing import Any

import pandas as pd

from frozenbench.errors import not_loaded
from frozenbench.optimizers import Optimizer
from frozenbench.optimizers.fidelity import Level
from frozenbench.optimizers.stopping import StoppingOptimizer
from frozenbench.sim.budget import DEFAULT_BUDGET_UNITS, budget_unit, default_budget
from frozenbench.sim.methods import DEFAULT_FIDELITY
from frozenbench.sim.request import ReplayRequest
from frozenbench.sim.trajectory import DEFAULT_INCUMBENT
from frozenbench.table import Benchmark

__all__ = ["DEFAULT_BUDGET_UNITS", "budget_unit", "default_budget", "simulate"]


def simulate(
    bench: Benchmark,
    optimizer: str | Optimizer | StoppingOptimizer = "asha",
    fidelity: str | Sequence[Level] = DEFAULT_FIDELITY,
    *,
    n_workers: int = 4,
    budget: float | None = None,
    budget_seconds: float | None = None,
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
    The arguments make one :class:`~frozenbench.sim.request.ReplayRequest` (run for the one
    replay ``seed``); build one directly to replay many seeds with one check.

    ``optimizer`` is a name (``"random"``, ``"sh"``, ``"hyperband"``, ``"asha"``, or an HPO
    library's method such as ``"optuna:tpe+hyperband"``, :mod:`frozenbench.sim.methods`), an
    object in the *promotion* style (``ask(rng) -> Job | None`` and ``tell(observation)``: the
    optimizer hands out the next job, :class:`~frozenbench.optimizers.Optimizer`) or one in the
    *stopping* style (``suggest(rng) -> Start | None`` and ``report(observation) -> bool``: a
    trial reports after each epoch and goes on while ``report`` says so,
    :class:`~frozenbench.optimizers.StoppingOptimizer`). Results reach the optimizer in
    simulated-time order across the workers; the trajectory has the same columns whatever
    drove it. Every argument is checked first and all problems are reported at once.
    ``fidelity`` is ``"epoch"``, ``"z"``, ``"z+epoch-geometric"``, ``"z+epoch-linear"``,
    ``"full"`` or a list of ``(z, epoch)`` levels. ``budget`` is simulated time in units of the
    table's median full-fidelity cost (:func:`~frozenbench.sim.budget.budget_unit`);
    ``budget_seconds`` the same in the cost's own unit. ``memory`` is one capacity for all
    workers or one per worker (bytes or strings like ``"8GB"``). ``incumbent`` picks the rule of
    the incumbent: ``"highest"`` (default: the best config among those at the highest fidelity
    reached so far), ``"full"`` (full fidelity only) or ``"any"`` (the lowest score at any
    fidelity, the old rule); regret is the incumbent's full-fidelity score on the table's test
    metric where it has one, else on ``metric`` (``attrs["regret_metric"]`` says which). A
    budget that ends before the first result gives an empty trajectory (no incumbent yet), not
    an error. See the module docstring for the semantics and :mod:`frozenbench.sim.trajectory`
    for the columns.

    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=30, n_z=4, n_epochs=9)
    >>> traj = simulate(bench, "asha", n_workers=2, max_evaluations=40, seed=1)
    >>> len(traj), traj["time"].is_monotonic_increasing, bool((traj["regret"] >= 0).all())
    (40, True, True)
    >>> simulate(bench, "asha", max_evaluations=40, seed=1).equals(
    ...     simulate(bench, "asha", max_evaluations=40, seed=1))
    True
    >>> len(simulate(bench, "asha", budget=1e-9))  # no result yet: no incumbent
    0
    >>> traj = simulate(bench, "asha", budget=2)
    >>> bool(traj["time"].max() < 2 * budget_unit(bench))
    True
    """
    if not isinstance(bench, Benchmark):  # names are resolved at the API edge: fb.simulate
        raise not_loaded("bench", bench)
    request = ReplayRequest(
        optimizer, fidelity, n_workers=n_workers, memory=memory, budget=budget,
        budget_seconds=budget_seconds, cost_budget=cost_budget,
        max_evaluations=max_evaluations, seeds=(seed,), eta=eta, metric=metric, cost=cost,
        cell_seed=cell_seed, incumbent=incumbent)
    return request.prepare(bench).run(int(seed))
