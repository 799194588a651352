"""The HPO replay simulator: :func:`simulate` an optimizer on a table with a simulated clock.

Parts: :mod:`~frozenbench.sim.replay` (:func:`simulate`, the front door, and the semantics),
:mod:`~frozenbench.sim.request` (the one replay request, checked once, run for many seeds),
:mod:`~frozenbench.sim.methods` (the one method registry), :mod:`~frozenbench.sim.budget`
(budgets in units of the median full-fidelity cost),
:mod:`~frozenbench.sim.engine` (trials, worker pool, event handlers),
:mod:`~frozenbench.sim.clock` (event heap), :mod:`~frozenbench.sim.workers` (memory
capacities), :mod:`~frozenbench.sim.trajectory` (the recorder and the output columns).

The protocol for external optimizers (stable): the promotion style,
:class:`~frozenbench.optimizers.Optimizer` (``ask(rng) -> Job | None``, ``tell(Observation)``)
and the stopping style, :class:`~frozenbench.optimizers.StoppingOptimizer`
(``suggest(rng) -> Start | None``, ``report(Observation) -> bool``). A :class:`Job` starts a
trial (``trial=None``) or continues one at (config, z) up to an epoch; stopping a trial is not
asking for it again.
"""

from __future__ import annotations

from frozenbench.optimizers.base import Job, Observation, Optimizer
from frozenbench.optimizers.stopping import Start, StoppingOptimizer
from frozenbench.sim.budget import DEFAULT_BUDGET_UNITS, budget_unit, default_budget
from frozenbench.sim.engine import STALL_LIMIT, Engine, Trial, WorkerPool
from frozenbench.sim.methods import Method
from frozenbench.sim.replay import simulate
from frozenbench.sim.request import PreparedReplay, ReplayRequest

__all__ = [
           "DEFAULT_BUDGET_UNITS",
           "STALL_LIMIT",
           "Engine",
           "Job",
           "Method",
           "Observation",
           "Optimizer",
           "PreparedReplay",
           "ReplayRequest",
           "Start",
           "StoppingOptimizer",
           "Trial",
           "WorkerPool",
           "budget_unit",
           "default_budget",
           "simulate",
]
