"""How a diverged cell reads after its last row: NaN metrics, the cost frozen at what was paid
(training stopped there). One rule for the fixed-z arrays (:mod:`frozenbench.table.load`) and
the arrays of schedule cells (:mod:`frozenbench.table.schedules`).

>>> import numpy as np
>>> cells = np.array([1.0, 2.0, 0.0]).reshape(1, 1, 3, 1, 1).repeat(len(QUANTITIES), axis=4)
>>> present = np.array([True, True, False]).reshape(1, 1, 3, 1)
>>> fill_diverged(cells, present, np.ones((1, 1, 1), dtype=bool))
>>> k = QUANTITIES.index("train_cost_s")
>>> cells[0, 0, :, 0, k].tolist(), bool(np.isnan(cells[0, 0, 2, 0, 0])), bool(present.all())
([1.0, 2.0, 2.0], True, True)
"""

from __future__ import annotations

import numpy as np

from frozenbench.schema import METRICS
from frozenbench.table.result import QUANTITIES


def fill_diverged(cells: np.ndarray, present: np.ndarray, diverged: np.ndarray) -> None:
    """After a diverged cell's last row: NaN metrics, cost frozen at what was paid."""
    c, z, s = np.nonzero(diverged)
    if len(c) == 0:
        return
    pres = present[c, z, :, s]  # (D, E)
    n_e = pres.shape[1]
    last = np.where(pres, np.arange(n_e)[None, :], -1)
    last = np.maximum.accumulate(last, axis=1)
    fill = ~pres & (last >= 0)
    if not fill.any():
        return
    d, e = np.nonzero(fill)
    src = last[d, e]
    metric_q = {QUANTITIES.index(m) for m in METRICS}
    for k in range(cells.shape[-1]):
        if k in metric_q:
            cells[c[d], z[d], e, s[d], k] = np.nan
        else:
            cells[c[d], z[d], e, s[d], k] = cells[c[d], z[d], src, s[d], k]
    present[c[d], z[d], e, s[d]] = True
