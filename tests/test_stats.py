"""Statistics over tasks, checked against scikit-posthocs, scipy and hand calculations: the
task is the unit (N = tasks), any number of methods works."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import friedmanchisquare

from frozenbench.analysis.hpo import average_ranks
from frozenbench.analysis.stats import (
    bootstrap_ci,
    iqm,
    nemenyi_critical_difference,
    rank_test,
)
from frozenbench.errors import InvalidValueError


def _scores(n_tasks: int, k: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    effect = np.linspace(0, 1, k)  # method j is worse by j / (k - 1) on average
    return pd.DataFrame(rng.normal(effect, 0.7, size=(n_tasks, k)),
                        index=[f"task{i}" for i in range(n_tasks)],
                        columns=[f"m{j}" for j in range(k)])


@pytest.mark.parametrize("k", [3, 5, 11, 14])  # the old hard-coded table stopped at 10
def test_rank_test_matches_scikit_posthocs_and_scipy(k):
    sp = pytest.importorskip("scikit_posthocs")
    scores = _scores(12, k)
    test = rank_test(scores)
    assert test.n_tasks == 12
    expected = sp.posthoc_nemenyi_friedman(scores.to_numpy())
    np.testing.assert_allclose(test.pairwise_p.to_numpy(), expected.to_numpy(), atol=1e-9)
    stat, p = friedmanchisquare(*scores.to_numpy().T)
    assert test.friedman_statistic == pytest.approx(stat)
    assert test.friedman_p == pytest.approx(p)
    assert math.isfinite(test.critical_difference)


def test_critical_difference_by_hand():
    # Demsar (2006), table 5a: q_0.05 = 2.343 for k = 3, 3.164 for k = 10
    assert nemenyi_critical_difference(3, 5) == pytest.approx(2.343 * math.sqrt(12 / 30),
                                                              abs=1e-3)
    assert nemenyi_critical_difference(10, 5) == pytest.approx(3.164 * math.sqrt(110 / 30),
                                                               abs=1e-3)
    assert nemenyi_critical_difference(11, 5) > nemenyi_critical_difference(10, 5)
    with pytest.raises(InvalidValueError, match="k=1"):
        nemenyi_critical_difference(1, 5)


def test_iqm_by_hand():
    # 8 values: cut the 2 lowest and the 2 highest, mean of the middle 4
    x = np.array([9.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 100.0])
    assert iqm(x) == pytest.approx((2 + 3 + 4 + 5) / 4)
    assert iqm(np.array([np.nan, 1.0])) == 1.0 and math.isnan(iqm(np.array([np.nan])))


def test_bootstrap_resamples_the_values_given():
    est, lo, hi = bootstrap_ci(np.array([0.0, 1.0, 2.0, 3.0]), iqm, n_boot=500)
    assert est == pytest.approx(1.5) and 0.0 <= lo <= est <= hi <= 3.0
    assert bootstrap_ci(np.array([2.0, 2.0])) == (2.0, 2.0, 2.0)


def test_average_ranks_count_tasks_not_task_seed_pairs():
    """Five tasks of 50 replay seeds each: N is 5, not 250 (pseudo-replication)."""
    rng = np.random.default_rng(1)
    rows = [{"table": f"t{t}", "run": r, "label": f"m{j}", "regret": rng.random() + 0.1 * j}
            for t in range(5) for r in range(50) for j in range(6)]
    ranks = average_ranks(pd.DataFrame(rows), n_boot=100)
    assert set(ranks["n"]) == {5} and set(ranks["unit"]) == {"tasks"}
    assert ranks["critical_difference"].iloc[0] == pytest.approx(
        nemenyi_critical_difference(6, 5))
    within = average_ranks(pd.DataFrame(rows).query("table == 't0'"), by="run", n_boot=50)
    assert set(within["n"]) == {50} and within["critical_difference"].isna().all()


def test_rank_test_needs_two_methods():
    with pytest.raises(InvalidValueError, match="at least two methods"):
        rank_test(_scores(4, 1))
