"""Does each hyperparameter of a table measurably matter? Its effect against seed noise.

On a grid, for every hyperparameter h: the mean absolute difference of the full-fidelity score
between configs that differ in h only, beside the mean absolute difference between two common
seeds of the same config. An effect near the seed noise means h does not matter at this scale:
configs that differ only in it are duplicates in effect, and the table discriminates less than
its config count suggests.

A sampled design has no such pairs. There the effect of h is the range of the mean score over
bins of h (a bin per value of a choice, tertiles of a range), over the same seed noise, beside
the same figure for h's values shuffled across the configs (what the other hyperparameters and
the noise give a bin range by chance): an effect that stands clearly above its shuffled figure
is real (:func:`sampled_effects_from_scores`; the suite's pilots, ``scripts/pilot_suite.py``,
use it too).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from frozenbench.errors import InvalidValueError
from frozenbench.table import Benchmark

#: An effect at least this many times the seed noise is "measurable" (the suite's standard).
MEASURABLE = 2.0


def hyperparameter_effects(bench: Benchmark, metric: str | None = None) -> pd.DataFrame:
    """One row per hyperparameter: ``pairs`` compared, ``mean_abs_effect``, ``seed_noise`` and
    ``effect_over_noise``, at full fidelity on the first two common seeds.

    >>> from frozenbench.synthetic import make_benchmark
    >>> out = hyperparameter_effects(make_benchmark(n_configs=24, n_z=2, n_epochs=2))
    >>> list(out.columns)
    ['hyperparameter', 'pairs', 'mean_abs_effect', 'seed_noise', 'effect_over_noise']
    """
    common = bench.common_seeds()
    if len(common) < 2:
        raise InvalidValueError(f"{bench.name}: hyperparameter effects need two seeds common to "
                                f"every config at full fidelity; it has {list(common)}")
    per_seed = bench.objective(metric, per_seed=True)[:, -1, -1, :]
    a, b = (per_seed[:, bench.seeds.index(s)] for s in common[:2])
    if not bench.space.is_grid:
        return sampled_effects_from_scores(bench.configs, a, b, names=bench.space.names)
    return effects_from_scores(bench.configs, a, b, names=bench.space.names)


def bin_range(values: Sequence[object], means: np.ndarray) -> float:
    """Range of the mean of ``means`` over bins of ``values``: a bin per value of a choice,
    tertiles of a numeric range (more than 4 distinct values).

    >>> bin_range(["a", "a", "b", "b"], np.array([1.0, 1.0, 3.0, 3.0]))
    2.0
    """
    arr = np.asarray(values)
    if arr.dtype.kind in "fi" and len(set(arr.tolist())) > 4:
        bins = np.searchsorted(np.quantile(arr, [1 / 3, 2 / 3]), arr)
    else:
        bins = np.unique(arr.astype(str), return_inverse=True)[1]
    return float(np.ptp([means[bins == k].mean() for k in np.unique(bins)]))


def sampled_effects_from_scores(configs: Sequence[Mapping[str, Any]], a: np.ndarray,
                                b: np.ndarray, names: Sequence[str], *,
                                permutations: int = 200, seed: int = 0) -> pd.DataFrame:
    """The effects of a sampled design (see the module docstring): one row per
    hyperparameter with ``effect_over_noise`` (bin range of the seed-mean score over the seed
    noise), ``shuffled_over_noise`` (the mean of the same over ``permutations`` shufflings of
    its values) and ``seed_noise`` (mean absolute difference of the two seeds)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if not len(configs) == len(a) == len(b):
        raise InvalidValueError(f"{len(configs)} configs but {len(a)} and {len(b)} scores")
    noise = max(float(np.nanmean(np.abs(a - b))), 1e-12)
    means = (a + b) / 2
    rng = np.random.default_rng(seed)
    rows = []
    for h in names:
        values = np.asarray([c[h] for c in configs], dtype=object)
        chance = np.mean([bin_range(list(rng.permutation(values)), means)
                          for _ in range(permutations)])
        rows.append({"hyperparameter": h, "effect_over_noise": bin_range(list(values), means)
                     / noise, "shuffled_over_noise": float(chance) / noise,
                     "seed_noise": noise})
    return pd.DataFrame(rows)


def effects_from_scores(configs: Sequence[Mapping[str, Any]], a: np.ndarray, b: np.ndarray,
                        names: Sequence[str]) -> pd.DataFrame:
    """:func:`hyperparameter_effects` from raw scores: ``configs`` (a grid, one mapping per
    config) with the score of each under two seeds, ``a`` and ``b`` (used by the task pilots).

    >>> configs = [{"lr": lr, "wd": wd} for lr in (1, 2) for wd in (0, 1)]
    >>> out = effects_from_scores(configs, np.array([1.0, 1.1, 2.0, 2.1]),
    ...                           np.array([1.1, 1.0, 2.1, 2.0]), names=["lr", "wd"])
    >>> out[["hyperparameter", "pairs"]].values.tolist()
    [['lr', 2], ['wd', 2]]
    >>> round(float(out["effect_over_noise"].iloc[0]), 6)
    10.0
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if not len(configs) == len(a) == len(b):
        raise InvalidValueError(f"{len(configs)} configs but {len(a)} and {len(b)} scores")
    names = list(names)
    noise = float(np.nanmean(np.abs(a - b)))
    frame = pd.DataFrame([{k: c[k] for k in names} for c in configs], columns=names)
    frame["score"] = (a + b) / 2
    rows = []
    for h in names:
        others = [k for k in names if k != h]
        groups = frame.groupby(others, sort=False)["score"] if others else [(None,
                                                                             frame["score"])]
        diffs = [abs(x - y) for _, g in groups
                 for x, y in itertools.combinations(g.to_numpy(), 2)]
        effect = float(np.mean(diffs)) if diffs else float("nan")
        rows.append({"hyperparameter": h, "pairs": len(diffs), "mean_abs_effect": effect,
                     "seed_noise": noise,
                     "effect_over_noise": effect / noise if noise > 0 else float("inf")})
    return pd.DataFrame(rows)
