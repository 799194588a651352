"""Rank correlations of every (z, epoch) with full fidelity, with bootstrap intervals.

Two variants, side by side (see :mod:`frozenbench.analysis.seeds` for the seed design):

- ``shared``: the low fidelity (mean over its common seeds) against the reference (mean over
  the common seeds at full fidelity). Low and full fidelity share seed 0, so the correlation is
  optimistic near full fidelity (it is 1 at full fidelity by construction); this is how the
  paper, with one seed per cell, measured it.
- ``cross``: the low fidelity from one seed against full fidelity from *another* seed, averaged
  over such seed pairs. At full fidelity it equals the seed-noise ceiling; it is the variant to
  compare with the ceiling.

The seed-noise ceiling is the correlation between two seeds at full fidelity: no fidelity can
rank configs better than a rerun with another seed. Intervals are percentile bootstrap
intervals over configs (the same resamples for every cell, so differences between cells are
paired). Besides Spearman and Kendall's tau-b: the overlap of the top-k configs and the regret
of taking the top k at the low fidelity and keeping the best of them at full fidelity.

>>> from frozenbench.synthetic import make_benchmark
>>> bench = make_benchmark(n_configs=40, n_z=4, n_epochs=5, diverge_frac=0.0)
>>> grid = correlation_grid(bench, n_boot=200)
>>> row = grid.at(4, 5, "shared")
>>> float(row["spearman"]), float(row["regret_at_1"])
(1.0, 0.0)
>>> bool(grid.at(4, 5, "cross")["spearman"] == grid.ceiling.spearman.value)
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd

from frozenbench.analysis.seeds import common_mean, seed_scores
from frozenbench.errors import InvalidValueError
from frozenbench.table import Benchmark

#: The k of top-k overlap and of the regret of the top k at a low fidelity.
TOP_K: tuple[int, ...] = (1, 5, 10)
VARIANTS: tuple[str, ...] = ("shared", "cross")
#: Bootstrap resamples over configs, by default.
N_BOOT = 1000


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation over the entries finite in both (NaN if fewer than 3).

    >>> round(spearman(np.array([1.0, 2, 3, 4]), np.array([10.0, 20, 30, 5])), 6)
    -0.2
    """
    from scipy.stats import rankdata

    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        return math.nan
    ra, rb = rankdata(a[ok]), rankdata(b[ok])
    if ra.std() == 0 or rb.std() == 0:
        return math.nan
    return float(np.corrcoef(ra, rb)[0, 1])


@dataclass(frozen=True)
class Estimate:
    """A point estimate with a 95% bootstrap interval (NaN where undefined).

    >>> str(Estimate(0.8512, 0.79, 0.9))
    '0.851 [0.790, 0.900]'
    """

    value: float
    low: float
    high: float

    def __str__(self) -> str:
        if not math.isfinite(self.value):
            return "n/a"
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"


def _row_spearman(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman per row of two ``(B, n)`` arrays (average ranks for ties)."""
    from scipy.stats import rankdata

    rx, ry = rankdata(x, axis=1), rankdata(y, axis=1)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: np.ndarray = (rx * ry).sum(axis=1) / np.sqrt((rx**2).sum(axis=1) * (ry**2).sum(axis=1))
    return out


def _signs(x: np.ndarray) -> np.ndarray:
    return np.sign(x[:, None] - x[None, :])


def _counts(idx: np.ndarray) -> np.ndarray:
    """``(B, n)`` how often each config occurs in each resample."""
    w = np.zeros(idx.shape)
    np.add.at(w, (np.arange(len(idx))[:, None], idx), 1.0)
    return w


def _row_kendall(sa: np.ndarray, sb: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Kendall's tau-b per resample, from the pairwise sign matrices of the two score vectors
    and the resamples' config counts ``w``: a pair of draws of configs i and j contributes
    ``sa[i, j] * sb[i, j]``, so sums over the resample's pairs are ``w @ M @ w`` (a repeated
    config is a tie, as in scipy)."""
    def quad(m: np.ndarray) -> np.ndarray:
        out: np.ndarray = ((w @ m) * w).sum(axis=1)
        return out

    with np.errstate(invalid="ignore", divide="ignore"):
        out: np.ndarray = quad(sa * sb) / np.sqrt(quad(np.abs(sa)) * quad(np.abs(sb)))
    return out


def _interval(draws: np.ndarray) -> tuple[float, float]:
    ok = draws[np.isfinite(draws)]
    if not ok.size:
        return math.nan, math.nan
    lo, hi = np.percentile(ok, [2.5, 97.5])
    return float(lo), float(hi)


def _top_k(low: np.ndarray, ref: np.ndarray, k: int) -> tuple[float, float]:
    """(overlap of the top k of ``low`` and of ``ref`` as a share of k, regret at full fidelity
    of the best of ``low``'s top k). Ties are broken by table order."""
    k = min(k, len(low))
    top_low = np.argsort(low, kind="stable")[:k]
    top_ref = np.argsort(ref, kind="stable")[:k]
    overlap = len(np.intersect1d(top_low, top_ref)) / k
    return overlap, float(ref[top_low].min() - ref.min())


@dataclass(frozen=True)
class PairStats:
    """Statistics of one low-fidelity/reference pairing, averaged over seed pairs, with the
    bootstrap draws kept (for paired comparisons between cells)."""

    n_pairs: int
    spearman: Estimate
    kendall: Estimate
    spearman_draws: np.ndarray = field(repr=False)
    top_k: dict[int, tuple[float, float]] = field(default_factory=dict)


def pair_stats(pairs: Sequence[tuple[np.ndarray, np.ndarray]], idx: np.ndarray,
               top_k: Sequence[int] = TOP_K) -> PairStats:
    """Spearman and Kendall (point, 95% bootstrap interval over the resamples ``idx``) and
    top-k statistics of ``(low, reference)`` score pairs, each averaged over the pairs."""
    nan = Estimate(math.nan, math.nan, math.nan)
    if not pairs:
        return PairStats(0, nan, nan, np.full(len(idx), math.nan),
                         {k: (math.nan, math.nan) for k in top_k})
    rho, tau, rho_b, tau_b = [], [], [], []
    tops: dict[int, list[tuple[float, float]]] = {k: [] for k in top_k}
    everything = np.ones((1, len(pairs[0][0])))
    counts = _counts(idx)
    for low, ref in pairs:
        sa, sb = _signs(low), _signs(ref)
        rho.append(_row_spearman(low[None], ref[None])[0])
        tau.append(_row_kendall(sa, sb, everything)[0])
        rho_b.append(_row_spearman(low[idx], ref[idx]))
        tau_b.append(_row_kendall(sa, sb, counts))
        for k in top_k:
            tops[k].append(_top_k(low, ref, k))
    rd, td = np.mean(rho_b, axis=0), np.mean(tau_b, axis=0)
    return PairStats(
        len(pairs),
        Estimate(float(np.mean(rho)), *_interval(rd)),
        Estimate(float(np.mean(tau)), *_interval(td)),
        rd,
        {k: (float(np.mean([t[0] for t in v])), float(np.mean([t[1] for t in v])))
         for k, v in tops.items()},
    )


@dataclass(frozen=True)
class Ceiling:
    """The seed-noise ceiling: two seeds at full fidelity against each other."""

    spearman: Estimate
    kendall: Estimate
    n_configs: int
    seeds: tuple[int, ...]


@dataclass(frozen=True)
class CorrelationGrid:
    """Every (z, epoch) against full fidelity in both variants, and the seed ceiling.

    ``frame``: one row per (z, epoch, variant) with ``spearman``, ``spearman_low``,
    ``spearman_high``, the same for ``kendall``, ``top_k_overlap_at_K`` and ``regret_at_K`` for
    K in :data:`TOP_K`, ``n_configs`` and ``n_seed_pairs``.
    """

    benchmark: str
    metric: str
    frame: pd.DataFrame
    ceiling: Ceiling
    n_boot: int
    #: Spearman bootstrap draws per (variant, z, epoch): the same resamples for every cell.
    draws: dict[tuple[str, int, int], np.ndarray] = field(repr=False)

    def at(self, z: int, epoch: int, variant: str = "shared") -> pd.Series:
        """The row of one cell and variant."""
        f = self.frame
        hit = f[(f["z"] == z) & (f["epoch"] == epoch) & (f["variant"] == variant)]
        if hit.empty:
            raise InvalidValueError(
                f"no row for z={z}, epoch={epoch}, variant={variant!r}; z in "
                f"{sorted(f['z'].unique())}, epoch in {sorted(f['epoch'].unique())}, variant "
                f"in {list(VARIANTS)}")
        return hit.iloc[0]

    def pivot(self, value: str = "spearman", variant: str = "shared") -> pd.DataFrame:
        """``value`` as a z x epoch table."""
        f = self.frame[self.frame["variant"] == variant]
        return f.pivot(index="z", columns="epoch", values=value)


def bootstrap_indices(n: int, n_boot: int = N_BOOT, seed: int = 0) -> np.ndarray:
    """``(n_boot, n)`` config positions drawn with replacement (one fixed set per analysis)."""
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 10:
        raise InvalidValueError(f"n_boot={n_boot!r} must be an integer >= 10")
    return np.random.default_rng(seed).integers(0, n, size=(int(n_boot), n))


def cell_pairs(bench: Benchmark, z: int, epoch: int, variant: str,
               metric: str | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (low fidelity, reference) score vectors a variant averages over."""
    if variant == "shared":
        return [(common_mean(bench, z, epoch, metric), common_mean(bench, metric=metric))]
    if variant == "cross":
        low = seed_scores(bench, z, epoch, metric)
        full = seed_scores(bench, metric=metric)
        return [(lo, full[t]) for s, lo in low.items() for t in full if t != s]
    raise InvalidValueError(f"variant={variant!r}; valid: {list(VARIANTS)}")


def ceiling(bench: Benchmark, metric: str | None = None, *, n_boot: int = N_BOOT,
            seed: int = 0, idx: np.ndarray | None = None) -> Ceiling:
    """The seed-noise ceiling with its interval: Spearman and Kendall between every two common
    seeds at full fidelity, averaged; NaN with fewer than two common seeds."""
    full = seed_scores(bench, metric=metric)
    idx = bootstrap_indices(len(bench), n_boot, seed) if idx is None else idx
    stats = pair_stats([(full[a], full[b]) for a, b in combinations(sorted(full), 2)], idx, ())
    return Ceiling(stats.spearman, stats.kendall, len(bench) if stats.n_pairs else 0,
                   tuple(sorted(full)))


def seed_ceiling(bench: Benchmark, metric: str | None = None) -> tuple[float, int]:
    """The seed-noise ceiling's Spearman and the number of configs it is computed over (the
    common seeds at full fidelity; NaN and 0 with fewer than two). See :func:`ceiling` for
    the interval.

    >>> from frozenbench.synthetic import make_benchmark
    >>> rho, n = seed_ceiling(make_benchmark(n_configs=30, n_z=3, n_epochs=4))
    >>> n, 0.5 < rho < 1.0
    (30, True)
    """
    full = seed_scores(bench, metric=metric)
    rhos = [spearman(full[a], full[b]) for a, b in combinations(sorted(full), 2)]
    if not rhos:
        return math.nan, 0
    return float(np.mean(rhos)), len(bench)


def correlation_grid(bench: Benchmark, metric: str | None = None, *, n_boot: int = N_BOOT,
                     seed: int = 0, top_k: Sequence[int] = TOP_K) -> CorrelationGrid:
    """Spearman and Kendall of every (z, epoch) with full fidelity, both variants, with 95%
    bootstrap intervals over configs; top-k overlap and regret; the seed ceiling."""
    metric = bench.metric_name(metric)
    idx = bootstrap_indices(len(bench), n_boot, seed)
    rows, draws = [], {}
    for z in bench.fidelities["z"]:
        for e in bench.fidelities["epoch"]:
            for variant in VARIANTS:
                st = pair_stats(cell_pairs(bench, z, e, variant, metric), idx, top_k)
                draws[(variant, z, e)] = st.spearman_draws
                row = {"z": z, "epoch": e, "variant": variant, "n_configs": len(bench),
                       "n_seed_pairs": st.n_pairs}
                for name, est in (("spearman", st.spearman), ("kendall", st.kendall)):
                    row.update({name: est.value, f"{name}_low": est.low,
                                f"{name}_high": est.high})
                for k, (overlap, regret) in st.top_k.items():
                    row[f"top_k_overlap_at_{k}"] = overlap
                    row[f"regret_at_{k}"] = regret
                rows.append(row)
    return CorrelationGrid(bench.name, metric, pd.DataFrame(rows),
                           ceiling(bench, metric, idx=idx), int(n_boot), draws)


def rank_correlations(bench: Benchmark, metric: str | None = None) -> pd.DataFrame:
    """Spearman (no intervals; fast) of every (z, epoch) with full fidelity, shared-seed variant:
    the low fidelity's common-seed mean against the full-fidelity common-seed mean. One row per
    (z, epoch). :func:`correlation_grid` adds intervals, Kendall, the cross-seed variant and
    top-k statistics.

    >>> from frozenbench.synthetic import make_benchmark
    >>> corr = rank_correlations(make_benchmark(n_configs=40, n_z=4, n_epochs=5))
    >>> list(corr.columns)
    ['z', 'epoch', 'spearman', 'n_configs']
    >>> bool(corr.set_index(["z", "epoch"]).loc[(4, 5), "spearman"] == 1.0)
    True
    """
    metric = bench.metric_name(metric)
    ref = common_mean(bench, metric=metric)
    rows = [(z, e, spearman(common_mean(bench, z, e, metric), ref), len(bench))
            for z in bench.fidelities["z"] for e in bench.fidelities["epoch"]]
    return pd.DataFrame(rows, columns=["z", "epoch", "spearman", "n_configs"])
