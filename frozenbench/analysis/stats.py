"""Statistics over tasks: the task is the unit, one observation per task and method.

A comparison of optimizers over tables treats every table (task) as one observation, so the N
of every test and of every interval over tasks is the number of tasks, never the number of
(task, replay seed) pairs (which would replicate one task's noise as if it were new tasks):

- :func:`rank_test`: the average rank of each method over tasks (rank 1 = lowest score within
  a task, ties averaged), the Friedman test (``scipy.stats.friedmanchisquare``, three or more
  methods) and the Nemenyi post-hoc test (Demsar 2006): the critical difference
  ``q_alpha / sqrt(2) * sqrt(k (k + 1) / (6 N))`` and the pairwise p-values, both from
  ``scipy.stats.studentized_range`` with infinite degrees of freedom, so any number of methods
  works (the same numbers as ``scikit_posthocs.posthoc_nemenyi_friedman``; a test checks it);
- :func:`iqm`: the interquartile mean (the mean of the middle 50%, ``scipy.stats.trim_mean``
  with 25% cut at each end), the robust aggregate rliable reports;
- :func:`bootstrap_ci`: a percentile interval of any aggregate of the per-task scores from
  resampling the tasks with replacement (N = tasks).

Within one task, the replay seeds are resampled for that task's own interval only (the same
:func:`bootstrap_ci` over that task's seeds).

>>> scores = pd.DataFrame({"a": [0.1, 0.2, 0.0], "b": [0.3, 0.4, 0.2], "c": [0.2, 0.1, 0.5]},
...                       index=["t1", "t2", "t3"])
>>> test = rank_test(scores)
>>> test.n_tasks, test.ranks.round(2).to_dict()
(3, {'a': 1.33, 'b': 2.67, 'c': 2.0})
>>> round(test.critical_difference, 3)  # 2.343 * sqrt(3 * 4 / (6 * 3))
1.914
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from frozenbench.errors import InvalidValueError

#: The significance level of the Friedman and Nemenyi tests.
ALPHA = 0.05


@dataclass(frozen=True)
class RankTest:
    """Average ranks over tasks with the Friedman and Nemenyi tests.

    ``ranks``: average rank per method (index: method); ``n_tasks``: N, the number of tasks
    ranked; ``friedman_statistic`` / ``friedman_p`` (NaN with fewer than three methods);
    ``critical_difference``: Nemenyi's at :data:`ALPHA` (two average ranks closer than this
    are not told apart); ``pairwise_p``: Nemenyi's p-value of every pair of methods."""

    ranks: pd.Series
    n_tasks: int
    friedman_statistic: float
    friedman_p: float
    critical_difference: float
    pairwise_p: pd.DataFrame = field(repr=False)


def nemenyi_critical_difference(k: int, n: int, alpha: float = ALPHA) -> float:
    """Nemenyi's critical difference of average ranks for ``k`` methods on ``n`` tasks.

    >>> round(nemenyi_critical_difference(5, 5), 3)  # Demsar's q_0.05 = 2.728 for k = 5
    2.728
    >>> nemenyi_critical_difference(11, 30) > nemenyi_critical_difference(10, 30)  # any k
    True
    """
    from scipy.stats import studentized_range

    if k < 2 or n < 1:
        raise InvalidValueError(f"a critical difference needs k >= 2 methods and n >= 1 "
                                f"tasks, got k={k}, n={n}")
    q = float(studentized_range.ppf(1 - alpha, k, np.inf)) / math.sqrt(2)
    return q * math.sqrt(k * (k + 1) / (6 * n))


def task_ranks(scores: pd.DataFrame) -> pd.DataFrame:
    """Rank of each method (columns) within each task (rows): 1 = lowest score, ties
    averaged; tasks with a missing score are dropped (a rank needs every method)."""
    from scipy.stats import rankdata

    complete = scores.dropna()
    return pd.DataFrame(rankdata(complete.to_numpy(float), axis=1), index=complete.index,
                        columns=complete.columns)


def rank_test(scores: pd.DataFrame, alpha: float = ALPHA) -> RankTest:
    """Average ranks, Friedman and Nemenyi of ``scores`` (one row per task, one column per
    method, lower is better; one value per task and method, e.g. the mean over replay seeds).
    Tasks without a score for every method are left out; N is the number ranked."""
    from scipy.stats import friedmanchisquare, studentized_range

    ranks = task_ranks(scores)
    n, k = ranks.shape
    if k < 2 or n < 1:
        raise InvalidValueError(
            f"ranks need at least two methods with a score on a common task; got methods "
            f"{list(scores.columns)} on {n} complete tasks of {len(scores)}")
    mean = ranks.mean(axis=0)
    stat = p = math.nan
    if k >= 3 and n >= 2 and ranks.nunique(axis=1).gt(1).any():
        stat, p = (float(v) for v in friedmanchisquare(*scores.loc[ranks.index].to_numpy(
            float).T))
    diff = np.abs(mean.to_numpy()[:, None] - mean.to_numpy()[None, :])
    q = diff / math.sqrt(k * (k + 1) / (6 * n)) * math.sqrt(2)
    p_values = np.array(studentized_range.sf(q, k, np.inf), dtype=float)  # a writable copy
    np.fill_diagonal(p_values, 1.0)
    pairwise = pd.DataFrame(p_values, index=mean.index, columns=mean.index)
    return RankTest(mean, n, stat, p, nemenyi_critical_difference(k, n, alpha), pairwise)


def iqm(values: np.ndarray, axis: int | None = None) -> Any:
    """The interquartile mean: the mean of the values left after cutting 25% at each end
    (``scipy.stats.trim_mean(values, 0.25)``). Without ``axis``, of all finite values (NaN if
    none); along ``axis``, of each row of a finite array (the bootstrap's resamples).

    >>> iqm(np.array([0.0, 1.0, 2.0, 3.0, 100.0, np.nan]))  # cuts one value at each end
    2.0
    >>> iqm(np.array([[0.0, 1.0, 2.0, 3.0, 100.0]] * 2), axis=1).tolist()
    [2.0, 2.0]
    """
    from scipy.stats import trim_mean

    x = np.asarray(values, dtype=float)
    if axis is not None:
        return trim_mean(x, 0.25, axis=axis)
    x = x[np.isfinite(x)]
    return float(trim_mean(x, 0.25)) if x.size else math.nan


def bootstrap_ci(values: np.ndarray, statistic: Callable[..., Any] = np.mean, *,
                 n_boot: int = 1000, seed: int = 0, level: float = 0.95
                 ) -> tuple[float, float, float]:
    """``statistic`` of ``values`` with a percentile-bootstrap interval that resamples the
    values with replacement (NaNs left out): over tasks, the values are one score per task (N =
    tasks); within one task, one per replay seed (that task's own interval). ``statistic``
    takes an array and ``axis=1`` (as ``np.mean`` and :func:`iqm` do): every resample at once.

    >>> est, lo, hi = bootstrap_ci(np.array([0.1, 0.2, 0.3, 0.4]), n_boot=200)
    >>> round(est, 2), lo <= est <= hi
    (0.25, True)
    >>> bootstrap_ci(np.array([1.0, 1.0, np.nan]))
    (1.0, 1.0, 1.0)
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if not x.size:
        return math.nan, math.nan, math.nan
    est = float(statistic(x))
    draws = np.random.default_rng(seed).integers(0, x.size, size=(n_boot, x.size))
    stats = np.asarray(statistic(x[draws], axis=1), dtype=float)
    tail = (1 - level) / 2 * 100
    lo, hi = (float(v) for v in np.nanpercentile(stats, [tail, 100 - tail]))
    return est, min(lo, est), max(hi, est)
