"""The one seed design every ranking uses.

A table has seed 0 everywhere, a second seed at full fidelity for every config and extra seeds on
a few configs. A mean over "whatever seeds a config has" would average three seeds for some
configs and one or two for others, so configs would be ranked on scores of different noise
(on kjv-gpt2 that moved the Spearman of z=1 from 0.85 to 0.75). Instead, every ranking here
(references, ceilings, correlations, regrets) uses the *common seeds* of a cell: the seeds
present for every config there.

>>> from frozenbench.synthetic import make_benchmark
>>> bench = make_benchmark(n_configs=10, n_z=3, n_epochs=4)
>>> common_seeds(bench), common_seeds(bench, z=1)   # full fidelity; z=1 at the last epoch
((0, 1), (0,))
>>> ref = reference_scores(bench)
>>> ref.shape, bool(np.isfinite(ref).all())
((10,), True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from frozenbench.errors import InvalidValueError
from frozenbench.sim.budget import common_cost
from frozenbench.table import Benchmark

__all__ = ["common_cost", "common_mean", "common_seeds", "reference_scores", "seed_scores"]


def _positions(bench: Benchmark, z: Any, epoch: Any) -> tuple[int, int]:
    zi = -1 if z is None else bench.index.z(z)
    ei = -1 if epoch is None else bench.index.epoch(epoch)
    return zi, ei


def common_seeds(bench: Benchmark, z: int | None = None, epoch: int | None = None,
                 metric: str | None = None) -> tuple[int, ...]:
    """The seeds present for every config at ``(z, epoch)`` (default: full fidelity)."""
    zi, ei = _positions(bench, z, epoch)
    obj = bench.objective(metric, per_seed=True)[:, zi, ei, :]
    every = np.isfinite(obj).all(axis=0)
    return tuple(int(s) for s, ok in zip(bench.seeds, every) if ok)


def seed_scores(bench: Benchmark, z: int | None = None, epoch: int | None = None,
                metric: str | None = None) -> dict[int, np.ndarray]:
    """``{seed: scores over configs}`` at ``(z, epoch)`` for each common seed (diverged cells
    score as the worst finite value, as in :meth:`Benchmark.objective`)."""
    zi, ei = _positions(bench, z, epoch)
    obj = bench.objective(metric, per_seed=True)[:, zi, ei, :]
    pos = {s: i for i, s in enumerate(bench.seeds)}
    return {s: obj[:, pos[s]] for s in common_seeds(bench, z, epoch, metric)}


def common_mean(bench: Benchmark, z: int | None = None, epoch: int | None = None,
                metric: str | None = None) -> np.ndarray:
    """Mean over the common seeds of ``(z, epoch)``: every config averaged over the same seeds.
    Raises when no seed is present for every config."""
    scores = seed_scores(bench, z, epoch, metric)
    if not scores:
        zi, ei = _positions(bench, z, epoch)
        obj = bench.objective(metric, per_seed=True)[:, zi, ei, :]
        counts = {s: int(n) for s, n in zip(bench.seeds, np.isfinite(obj).sum(axis=0))}
        raise InvalidValueError(
            f"{bench.name}: no seed is present for all {len(bench)} configs at "
            f"z={bench.fidelities['z'][zi]}, epoch={bench.fidelities['epoch'][ei]} "
            f"(configs per seed: {counts}); a ranking needs one")
    return np.mean(np.vstack(list(scores.values())), axis=0)


def reference_scores(bench: Benchmark, metric: str | None = None) -> np.ndarray:
    """Full-fidelity scores over the common seeds: the reference every analysis ranks and
    measures regret against."""
    return common_mean(bench, metric=metric)
