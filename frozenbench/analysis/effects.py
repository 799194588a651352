"""Does each hyperparameter of a table measurably matter? Its effect against seed noise.

For every hyperparameter h: the mean absolute difference of the full-fidelity score between
configs that differ in h only, beside the mean absolute difference between two common seeds of
the same config. An effect near the seed noise means h does not matter at this scale: configs
that differ only in it are duplicates in effect, and the table discriminates less than its
config count suggests.
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
    return effects_from_scores(bench.configs, a, b, names=bench.space.names)


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
