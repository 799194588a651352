"""The synthetic tables the interop tests replay on: every config of a 4 x 3 x 2 grid, and a
table holding 10 of its 24 configs (as shipped tables may hold a subset)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import frozenbench as fb
from frozenbench.synthetic import make_benchmark

GRID = {"lr": [1e-4, 1e-3, 1e-2, 1e-1], "wd": [0.0, 1e-4, 1e-3], "opt": ["adam", "sgd"]}


def full_table(grid: Mapping[str, Sequence[Any]] = GRID) -> fb.Benchmark:
    """Every config of ``grid``, z 1..4, 9 epochs, no diverged cells."""
    return make_benchmark(n_configs=None, grid=grid, n_z=4, n_epochs=9, diverge_frac=0.0,
                          seed=2)


def subset_table(grid: Mapping[str, Sequence[Any]] = GRID) -> fb.Benchmark:
    """10 of the configs of ``grid``, z 1..3, 9 epochs, no diverged cells."""
    return make_benchmark(n_configs=10, grid=grid, n_z=3, n_epochs=9, diverge_frac=0.0, seed=4)
