"""A benchmark in memory: the long table turned into dense arrays, and fast queries on them.

On disk a table is long (one row per config x z x epoch x seed, see :mod:`frozenbench.schema`);
in memory it is dense. The package has three parts:

- :mod:`~frozenbench.table.load`: reading and validating the long table (Parquet or Arrow);
- :mod:`~frozenbench.table.index`: :class:`CellIndex`, the one map from (config, z, epoch,
  seed) to positions in the dense arrays, and the errors for cells the table does not hold;
- :mod:`~frozenbench.table.protocol`: :class:`Table`, the protocol the replay engine, the
  analysis and the adapters read (the dense Benchmark implements it; a surrogate can);
- :mod:`~frozenbench.table.benchmark`: :class:`Benchmark`, its queries (``query``, ``curve``,
  ``query_many``), ``to_frame()`` (the long table as a DataFrame) and the arrays the simulator
  and :mod:`frozenbench.analysis` read (``objective``, ``cost_array``, ``peak_memory``,
  ``seed_mask``, ``index``).

Seeds. ``seed=None`` (the default everywhere) is the mean over the seeds available for that
cell; ``Result.n_seeds`` says how many there were. ``seed=k`` reads one seed and is an error
where seed ``k`` was not run. The simulator can also draw one seed per trial
(:func:`frozenbench.simulate`, ``cell_seed="draw"``).

Diverged cells (``status == "diverged"``) keep the rows they finished; their last row has NaN
or inf losses and the generation pipeline writes no rows after it. Queries report them as they
are: NaN/inf metrics and ``Result.n_diverged > 0``; later epochs read NaN metrics and the cost
paid until the divergence (training stopped there). A mean over seeds that includes a diverged
seed is NaN. For optimisation (the simulator and :mod:`frozenbench.analysis`) a non-finite
metric counts as the *worst finite value of that metric anywhere in the table*, a finite
stand-in that keeps regret and plots finite; see :meth:`Benchmark.objective`.
"""

from __future__ import annotations

from frozenbench.table.benchmark import Benchmark
from frozenbench.table.index import CellIndex
from frozenbench.table.protocol import Table
from frozenbench.table.result import COST_ALIASES, COSTS, QUANTITIES, Result, cost_column

__all__ = ["COSTS", "COST_ALIASES", "QUANTITIES", "Benchmark", "CellIndex", "Result",
           "Table", "cost_column"]
