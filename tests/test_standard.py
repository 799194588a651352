"""The suite's standard (frozenbench.analysis.standard): the per-table figures are what they
claim, each miss is reported, and the suite-level tests use the tasks as the unit."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import wilcoxon

from frozenbench.analysis.standard import (
    MAX_RANDOM_SHARE,
    RANDOM_LABEL,
    SUITE_BUDGETS,
    paired_wilcoxon,
    random_share,
    suite_standard,
    table_standard,
)
from frozenbench.sim.methods import Method
from frozenbench.synthetic import make_benchmark, sampled_space


def _table(n_configs, *, n_z=6, n_epochs=9, seed=0, test_split=True, **kw):
    kw.setdefault("multi_seed_configs", n_configs)
    return make_benchmark(name=f"t{seed}-{n_configs}", space=sampled_space(n_configs),
                          n_z=n_z, n_epochs=n_epochs, multi_seeds=2, full_z_seeds=2,
                          diverge_frac=0.0, seed=seed, test_split=test_split, **kw)


def test_random_share_counts_the_configs_random_search_trains():
    small, large = _table(100), _table(600)
    # About 4 workers x 10 median-cost evaluations: 40 configs.
    assert 0.25 <= random_share(small, runs=3) <= 0.6
    assert random_share(large, runs=3) <= MAX_RANDOM_SHARE


def test_a_table_that_meets_the_shape_and_one_that_misses_it():
    good = table_standard(_table(600), runs=2)
    assert (good.configs, good.n_layers, good.records) == (600, 6, 9)
    assert good.seeds_everywhere and good.test_metric == "test_error"
    assert not [p for p in good.problems() if not p.startswith("ceiling")]
    bad = table_standard(_table(40, n_z=4, n_epochs=6, test_split=False,
                                multi_seed_configs=3), runs=2)
    kinds = {p.split(":")[0] for p in bad.problems()}
    assert {"configs", "n", "records", "seeds", "test", "random share"} <= kinds


def test_the_one_sided_wilcoxon_is_scipys_over_the_tasks():
    rng = np.random.default_rng(0)
    better, worse = rng.random(12), rng.random(12) + 0.3
    assert paired_wilcoxon(better, worse) == pytest.approx(
        wilcoxon(better - worse, alternative="less").pvalue)
    assert paired_wilcoxon([0.1, 0.2], [0.1, 0.2]) == 1.0


def test_the_suite_tests_take_the_tasks_as_the_unit():
    tables = [_table(60, n_z=3, n_epochs=9, seed=i) for i in range(5)]
    methods = {RANDOM_LABEL: Method("random", "full"), "hb (epoch)": Method("hyperband", "epoch")}
    s = suite_standard(tables, runs=3, methods=methods, n_boot=20)
    assert s.tasks == 5 and set(s.result.aggregate["n_test"]) == {5}
    for budget in SUITE_BUDGETS:
        at = s.result.per_task[np.isclose(s.result.per_task["budget"], budget)]
        means = at.pivot(index="table", columns="label", values="normalized_regret_mean")
        assert s.best[budget] == "hb (epoch)"
        assert s.wilcoxon_p[budget] == paired_wilcoxon(means["hb (epoch)"], means[RANDOM_LABEL])
        # Five tasks cannot reach p < 0.01 one-sided (the smallest p is 1/32): reported.
        assert s.wilcoxon_p[budget] >= 1 / 32
    assert any("does not beat" in p for p in s.problems())
