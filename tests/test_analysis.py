"""Rank correlations, seed ceiling, summaries, and the correlate CLI."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import spearmanr

import frozenbench as fb
from frozenbench.analysis import (
    aggregate,
    rank_correlations,
    seed_ceiling,
    spearman,
    summarize,
    time_to_target,
)
from frozenbench.synthetic import make_benchmark


@pytest.fixture(scope="module")
def bench():
    return make_benchmark(n_configs=60, n_z=5, n_epochs=6, diverge_frac=0.0, seed=2)


def test_spearman_matches_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=30), rng.normal(size=30)
    assert spearman(a, b) == pytest.approx(spearmanr(a, b).statistic)
    a[3] = np.nan
    assert spearman(a, b) == pytest.approx(spearmanr(a[np.isfinite(a)], b[np.isfinite(a)]).statistic)
    assert math.isnan(spearman(np.ones(5), b[:5]))


def test_rank_correlations_against_long_table(bench):
    corr = rank_correlations(bench).set_index(["z", "epoch"])
    assert corr.loc[(5, 6), "spearman"] == pytest.approx(1.0)
    ids = bench.config_ids
    # One seed design: seed 0 is the only seed every config has at z=2; at full fidelity seeds 0
    # and 1 are; the third seed, on a few configs only, never enters a ranking.
    low = np.array([bench.query(int(c), 2, 3, seed=0).val_error for c in ids])
    full = np.array([np.mean([bench.query(int(c), 5, 6, seed=s).val_error for s in (0, 1)])
                     for c in ids])
    assert corr.loc[(2, 3), "spearman"] == pytest.approx(spearmanr(low, full).statistic)
    varying = np.array([bench.query(int(c), 5, 6).val_error for c in ids])
    assert not np.allclose(varying, full)  # the mean over each config's own seeds differs
    # the synthetic table is built so that correlation rises with z at the last epoch
    last = corr.xs(6, level="epoch")["spearman"]
    assert last.iloc[-2] > last.iloc[0]


def test_seed_ceiling(bench):
    rho, n = seed_ceiling(bench)
    a = [bench.query(int(c), 5, 6, seed=0).val_error for c in bench.config_ids]
    b = [bench.query(int(c), 5, 6, seed=1).val_error for c in bench.config_ids]
    assert n == 60 and 0.5 < rho <= 1.0
    # Only the widest pair (seeds 0 and 1 on all 60 configs) counts; the third seed exists on a
    # few configs only and would inflate the ceiling.
    assert rho == pytest.approx(spearmanr(a, b).statistic)
    one = make_benchmark(n_configs=5, n_z=2, n_epochs=2, full_z_seeds=1, multi_seed_configs=0)
    assert math.isnan(seed_ceiling(one)[0])


def test_summaries_and_aggregate(bench):
    runs = {"asha": [fb.simulate(bench, "asha", "z", max_evaluations=60, seed=s) for s in range(3)]}
    target = float(np.nanquantile(bench.full_fidelity_scores(), 0.2))
    s = summarize(runs, target).iloc[0]
    assert s["runs"] == 3
    finals = [t["regret"].iloc[-1] for t in runs["asha"]]
    assert s["final_regret_median"] == pytest.approx(np.median(finals))
    t0 = runs["asha"][0]
    hit = time_to_target(t0, target)
    assert math.isinf(hit) or t0.loc[t0.time <= hit, "incumbent_full"].min() <= target
    times = np.linspace(0, t0["time"].max(), 7)
    agg = aggregate(runs["asha"], times)
    assert list(agg.columns) == ["time", "q25", "median", "q75"]
    ok = agg.dropna()
    assert len(ok) and (ok["q25"] <= ok["median"] + 1e-12).all()


def test_kendall_interval_matches_scipy_on_a_resample(bench):
    from scipy.stats import kendalltau

    from frozenbench.analysis.correlation import _counts, _row_kendall, _signs

    rng = np.random.default_rng(1)
    a, b = rng.normal(size=40), rng.normal(size=40)
    idx = rng.integers(0, 40, size=(4, 40))  # repeated configs are ties, as in scipy
    got = _row_kendall(_signs(a), _signs(b), _counts(idx))
    assert got == pytest.approx([kendalltau(a[i], b[i]).statistic for i in idx])


def test_grid_variants_and_ceiling(bench):
    from frozenbench.analysis import correlation_grid

    grid = correlation_grid(bench, n_boot=200)
    full = grid.at(5, 6, "shared")
    assert full["spearman"] == pytest.approx(1.0) and full["regret_at_1"] == 0.0
    # cross seed at full fidelity is seed 0 against seed 1: the ceiling itself
    assert grid.at(5, 6, "cross")["spearman"] == pytest.approx(grid.ceiling.spearman.value)
    c = grid.ceiling.spearman
    assert c.low <= c.value <= c.high and c.high - c.low > 0
    low = grid.at(1, 2, "cross")
    assert low["spearman_low"] < low["spearman"] < low["spearman_high"]
    assert low["n_seed_pairs"] == 1  # z=1: seed 0 only; full: seeds 0 and 1 -> pair (0, 1)


def test_effects_from_scores_separates_a_real_effect_from_a_null_one():
    from frozenbench.analysis.effects import MEASURABLE, effects_from_scores

    rng = np.random.default_rng(0)
    configs = [{"lr": lr, "wd": wd} for lr in (1e-3, 1e-2, 1e-1) for wd in (0.0, 0.1)]
    truth = np.array([1.0 if c["lr"] == 1e-3 else 0.5 if c["lr"] == 1e-2 else 0.2
                      for c in configs])  # lr matters, wd does not
    a, b = truth + rng.normal(0, 0.01, 6), truth + rng.normal(0, 0.01, 6)
    out = effects_from_scores(configs, a, b, names=["lr", "wd"]).set_index("hyperparameter")
    assert out.loc["lr", "effect_over_noise"] > 10 * MEASURABLE
    assert out.loc["wd", "effect_over_noise"] < MEASURABLE
    with pytest.raises(fb.InvalidValueError, match="6 configs but 5 and 6 scores"):
        effects_from_scores(configs, a[:5], b, names=["lr", "wd"])


def test_discrimination_separates_methods_on_a_table_with_an_informative_low_fidelity():
    from frozenbench.analysis.discrimination import discrimination

    bench = make_benchmark(n_configs=60, n_z=4, n_epochs=4, seed=1)
    out = discrimination(bench, runs=30, methods=("random:full", "hyperband:z"),
                         budgets=(1.0, 10.0))
    assert [b.multiple for b in out.budgets] == [1.0, 10.0]
    for b in out.budgets:
        rnd, mf = b.regret["random:full"], b.regret["hyperband:z"]
        assert b.separate == (mf.high < rnd.low or rnd.high < mf.low)
    with pytest.raises(fb.InvalidValueError, match="random:full"):
        discrimination(bench, runs=2, methods=("hyperband:z",))
