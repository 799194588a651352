"""The trajectory of a replay: one row per finished job; :class:`Recorder` alone knows its columns.

Columns: ``time`` (simulated finish time), ``start``, ``worker``, ``trial``, ``config_id``,
the hyperparameters, ``z``, ``epoch``, ``seed`` (table seed read, -1 = seed mean), ``rung``,
``bracket``, ``score`` (the observed metric, lower is better), ``cost`` (paid for this job),
``total_cost`` (paid so far, all workers), ``incumbent`` (config_id with the best score so far),
``incumbent_score``, ``incumbent_full`` (the incumbent's objective at full fidelity, seed mean)
and ``regret`` (``incumbent_full`` minus the best full-fidelity objective in the table).
The columns are the same whatever optimizer drove the replay.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from frozenbench.space import SearchSpace

COLUMNS = ("time", "start", "worker", "trial", "config_id", "z", "epoch", "seed", "rung",
           "bracket", "score", "cost", "total_cost", "incumbent", "incumbent_score",
           "incumbent_full", "regret")

_INT = frozenset(("worker", "trial", "config_id", "z", "epoch", "seed", "rung", "bracket",
                  "incumbent"))


class Recorder:
    """Collects one row per finished job and tracks the incumbent; :meth:`frame` builds the
    DataFrame once at the end.

    >>> rec = Recorder(best_full=0.1)
    >>> rec.add(2.0, 0.0, 0, 0, 7, 1, 3, 0, 0, 0, 0.4, 2.0, 0.2)  # ..., score, cost, full
    >>> rec.add(3.0, 0.0, 1, 1, 8, 1, 3, 0, 0, 0, 0.5, 3.0, 0.1)
    >>> len(rec), rec.incumbent, rec.total_cost
    (2, 7, 5.0)
    """

    __slots__ = ("best_full", "incumbent", "incumbent_full", "incumbent_score", "rows",
                 "total_cost")

    def __init__(self, best_full: float = math.nan) -> None:
        self.rows: list[tuple[Any, ...]] = []
        self.best_full = best_full
        self.total_cost = 0.0
        self.incumbent = -1
        self.incumbent_score = math.inf
        self.incumbent_full = math.nan

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, time: float, start: float, worker: int, trial: int, config_id: int, z: int,
            epoch: int, seed: int, rung: int, bracket: int, score: float, cost: float,
            full: float) -> None:
        """One finished job; ``full`` is its config's full-fidelity objective."""
        self.total_cost += cost
        if score < self.incumbent_score:
            self.incumbent, self.incumbent_score, self.incumbent_full = config_id, score, full
        self.rows.append((time, start, worker, trial, config_id, z, epoch, seed, rung, bracket,
                          score, cost, self.total_cost, self.incumbent, self.incumbent_score,
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
