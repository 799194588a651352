"""The HPO replay simulator: :func:`simulate` an optimizer on a table with a simulated clock.

Parts: :mod:`~frozenbench.sim.clock` (event heap), :mod:`~frozenbench.sim.workers` (memory
capacities), :mod:`~frozenbench.sim.replay` (the loop and its semantics),
:mod:`~frozenbench.sim.trajectory` (the output columns).
"""

from __future__ import annotations

from frozenbench.optimizers.base import Job, Observation
from frozenbench.sim.replay import DEFAULT_BUDGET_FACTOR, default_budget, simulate

__all__ = ["DEFAULT_BUDGET_FACTOR", "Job", "Observation", "default_budget", "simulate"]
