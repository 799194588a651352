"""The trajectory of a replay: one row per finished job, collected in lists, built once.

Columns: ``time`` (simulated finish time), ``start``, ``worker``, ``trial``, ``config_id``,
the hyperparameters, ``z``, ``epoch``, ``seed`` (table seed read, -1 = seed mean), ``rung``,
``bracket``, ``score`` (the observed metric, lower is better), ``cost`` (paid for this job),
``total_cost`` (paid so far, all workers), ``incumbent`` (config_id with the best score so far),
``incumbent_score``, ``incumbent_full`` (the incumbent's objective at full fidelity, seed mean)
and ``regret`` (``incumbent_full`` minus the best full-fidelity objective in the table).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from frozenbench.space import SearchSpace

COLUMNS = ("time", "start", "worker", "trial", "config_id", "z", "epoch", "seed", "rung",
           "bracket", "score", "cost", "total_cost", "incumbent", "incumbent_score",
           "incumbent_full", "regret")


class Recorder:
    """Appends rows column-wise; :meth:`frame` builds the DataFrame once at the end."""

    def __init__(self) -> None:
        self.columns: dict[str, list[Any]] = {c: [] for c in COLUMNS}

    def __len__(self) -> int:
        return len(self.columns["time"])

    def frame(self, space: SearchSpace, attrs: dict[str, Any]) -> pd.DataFrame:
        cols = self.columns
        data: dict[str, Any] = {}
        ids = np.asarray(cols["config_id"], dtype=np.int64)
        for name in ("time", "start"):
            data[name] = np.asarray(cols[name], dtype=np.float64)
        for name in ("worker", "trial"):
            data[name] = np.asarray(cols[name], dtype=np.int64)
        data["config_id"] = ids
        hp_idx = np.unravel_index(ids, space.shape) if len(ids) else [
            np.zeros(0, dtype=np.int64)] * len(space.names)
        for k, h in enumerate(space.hyperparameters):
            values = np.asarray(h.values, dtype=object if isinstance(h.values[0], str) else None)
            data[h.name] = values[hp_idx[k]]
        for name in ("z", "epoch", "seed", "rung", "bracket", "incumbent"):
            data[name] = np.asarray(cols[name], dtype=np.int64)
        for name in ("score", "cost", "total_cost", "incumbent_score", "incumbent_full",
                     "regret"):
            data[name] = np.asarray(cols[name], dtype=np.float64)
        order = ["time", "start", "worker", "trial", "config_id", *space.names,
                 *COLUMNS[5:]]
        frame = pd.DataFrame({c: data[c] for c in order})
        frame.attrs.update(attrs)
        return frame
