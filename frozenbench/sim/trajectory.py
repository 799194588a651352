"""The trajectory of a replay: one row per finished job; :class:`Recorder` alone knows its columns.

Columns: ``time`` (simulated finish time), ``start``, ``worker``, ``trial``, ``config_id``,
the hyperparameters, ``z``, ``epoch``, ``seed`` (table seed read, -1 = seed mean), ``rung``,
``bracket``, ``score`` (the observed metric, lower is better), ``cost`` (paid for this job),
``total_cost`` (paid so far, all workers), ``incumbent`` (the config the run would return now,
-1 before it has one), ``incumbent_z`` / ``incumbent_epoch`` (the fidelity it was chosen at),
``incumbent_score`` (its observed score there), ``incumbent_full`` (its full-fidelity score on
the *regret metric*, seed mean) and ``regret`` (``incumbent_full`` minus the best full-fidelity
score of the table on that metric). The columns are the same whatever optimizer drove the
replay.

The incumbent (``incumbent=`` of :func:`frozenbench.simulate`, :data:`INCUMBENT_RULES`):

- ``"highest"`` (default): the best observed score among the results at the highest fidelity
  reached so far in the run. Fidelities are ordered by ``z x epoch`` (the share of the model
  and of the epochs trained; ties by z), which is the order of the levels of every fidelity
  path. A lucky low-fidelity score is never the answer once a higher fidelity has been seen.
- ``"full"``: the best observed score among the results at full fidelity (largest z, last
  epoch) only; no incumbent before the first one.
- ``"any"``: the lowest score seen at any fidelity (the old rule; a near-chance z=1 result can
  be the incumbent and its regret can go up again).

The regret metric (:func:`regret_metric`) is the table's test metric where it has one
(``test_error`` for ``val_error``, ``test_loss`` for ``val_loss``), else the validation metric
that was optimised; ``frame().attrs["regret_metric"]`` says which.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from frozenbench.errors import FrozenbenchError, unknown_name
from frozenbench.space import SearchSpace

if TYPE_CHECKING:
    from frozenbench.table import Benchmark

COLUMNS = ("time", "start", "worker", "trial", "config_id", "z", "epoch", "seed", "rung",
           "bracket", "score", "cost", "total_cost", "incumbent", "incumbent_z",
           "incumbent_epoch", "incumbent_score", "incumbent_full", "regret")

_INT = frozenset(("worker", "trial", "config_id", "z", "epoch", "seed", "rung", "bracket",
                  "incumbent", "incumbent_z", "incumbent_epoch"))

#: How the incumbent is chosen (see the module docstring).
INCUMBENT_RULES = ("highest", "full", "any")
#: The rule every replay, comparison and CLI uses unless told otherwise (DESIGN.md's). Its regret
#: is not monotone: over 500 replays (5 shipped tables x 5 default methods x 20 seeds, 10x
#: budget) it rose in 390 runs (typically by 0.70 of median - best), as the first result at each
#: newly reached fidelity becomes the incumbent whatever its score; under "full" in 115 runs
#: (typically by 0.044: the seed noise between the one seed the optimizer saw and the seed mean
#: regret is scored on), at the price of no incumbent before the first full-fidelity result.
DEFAULT_INCUMBENT = "highest"


def regret_metric(bench: Benchmark, metric: str | None = None) -> str:
    """The metric regret is measured on: the test counterpart of ``metric`` (``val_error`` ->
    ``test_error``, ``val_loss`` -> ``test_loss``) where the table measures it, else ``metric``
    itself (validation; the shipped tables have no test split yet).

    >>> from frozenbench.synthetic import make_benchmark
    >>> regret_metric(make_benchmark(n_configs=4, n_z=2, n_epochs=2))
    'val_error'
    """
    from frozenbench.schema import TEST_METRICS

    name = bench.metric_name(metric)
    test = TEST_METRICS.get(name)
    if test is None:
        return name
    try:
        scores = bench.full_fidelity_scores(test)
    except FrozenbenchError:  # not measured in this table: validation it is
        return name
    return test if np.isfinite(scores).any() else name


class Recorder:
    """Collects one row per finished job and tracks the incumbent by ``rule``
    (:data:`INCUMBENT_RULES`); :meth:`frame` builds the DataFrame once at the end.

    ``full_level`` is the table's (largest z, last epoch). Under ``"highest"``, a result at a
    higher fidelity replaces the incumbent whatever its score; at the same fidelity, a lower
    score does.

    >>> rec = Recorder(best_full=0.1, full_level=(4, 9))
    >>> rec.add(2.0, 0.0, 0, 0, 7, 1, 3, 0, 0, 0, 0.1, 2.0, 0.3)  # ..., score, cost, full
    >>> rec.add(3.0, 0.0, 1, 1, 8, 4, 9, 0, 1, 0, 0.5, 3.0, 0.2)  # higher fidelity, worse score
    >>> rec.add(4.0, 0.0, 1, 2, 9, 1, 3, 0, 0, 0, 0.0, 1.0, 0.9)  # lower fidelity: ignored
    >>> len(rec), rec.incumbent, rec.total_cost, round(rec.rows[-1][-1], 3)
    (3, 8, 6.0, 0.1)
    """

    __slots__ = ("best_full", "full_level", "incumbent", "incumbent_full", "incumbent_level",
                 "incumbent_score", "rows", "rule", "total_cost")

    def __init__(self, best_full: float = math.nan, *, rule: str = DEFAULT_INCUMBENT,
                 full_level: tuple[int, int] | None = None) -> None:
        if rule not in INCUMBENT_RULES:
            raise unknown_name("incumbent", rule, INCUMBENT_RULES)
        self.rows: list[tuple[Any, ...]] = []
        self.best_full = best_full
        self.rule = rule
        self.full_level = full_level
        self.total_cost = 0.0
        self.incumbent = -1
        self.incumbent_level = (-1, -1)
        self.incumbent_score = math.inf
        self.incumbent_full = math.nan

    def __len__(self) -> int:
        return len(self.rows)

    def _replaces(self, level: tuple[int, int], score: float) -> bool:
        """Whether a result at ``level`` with ``score`` becomes the incumbent."""
        if self.rule == "any":
            return score < self.incumbent_score
        if self.rule == "full" and level != self.full_level:
            return False
        new, old = _order(level), _order(self.incumbent_level)
        return new > old or (new == old and score < self.incumbent_score)

    def add(self, time: float, start: float, worker: int, trial: int, config_id: int, z: int,
            epoch: int, seed: int, rung: int, bracket: int, score: float, cost: float,
            full: float) -> None:
        """One finished job; ``full`` is its config's full-fidelity score (regret metric)."""
        self.total_cost += cost
        if self._replaces((z, epoch), score):
            self.incumbent, self.incumbent_score, self.incumbent_full = config_id, score, full
            self.incumbent_level = (z, epoch)
        self.rows.append((time, start, worker, trial, config_id, z, epoch, seed, rung, bracket,
                          score, cost, self.total_cost, self.incumbent, *self.incumbent_level,
                          self.incumbent_score if self.incumbent >= 0 else math.nan,
                          self.incumbent_full, self.incumbent_full - self.best_full))

    def frame(self, space: SearchSpace, attrs: dict[str, Any]) -> pd.DataFrame:
        """The trajectory, with the hyperparameters of each row's config after ``config_id``."""
        cols = list(zip(*self.rows)) if self.rows else [()] * len(COLUMNS)
        data: dict[str, Any] = {
            name: np.asarray(col, dtype=np.int64 if name in _INT else np.float64)
            for name, col in zip(COLUMNS, cols)}
        data.update(space.columns(data["config_id"]))  # read through the space, any design
        order = ["time", "start", "worker", "trial", "config_id", *space.names, *COLUMNS[5:]]
        frame = pd.DataFrame({c: data[c] for c in order})
        frame.attrs.update(attrs)
        return frame


def _order(level: tuple[int, int]) -> tuple[int, int]:
    """The order of fidelities: ``z x epoch``, ties by z (no level is (-1, -1)'s equal)."""
    z, epoch = level
    return (z * epoch, z) if z >= 0 else (-1, -1)
