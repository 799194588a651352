"""Issue 25 point 4, the code: per-epoch rank correlations of the thaw run with full training
(next to all layers at the same epoch and the best fixed z at the same cost), the cost to reach
each rung of a path, and the methods of the regret comparison."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from frozenbench.analysis.hpo import compare, final_regret
from frozenbench.analysis.thaw import THAW_METHODS, rung_costs, thaw_correlations
from frozenbench.errors import InvalidValueError
from frozenbench.schedules import ZSchedule
from frozenbench.sim.budget import budget_unit
from frozenbench.synthetic import make_benchmark

N_Z, N_E = 4, 9


@pytest.fixture(scope="module")
def bench():
    return make_benchmark(n_configs=50, n_z=N_Z, n_epochs=N_E, diverge_frac=0.0,
                          thaw_configs=50, seed=7)


def test_thaw_correlations_per_epoch_checked_by_hand(bench):
    t = thaw_correlations(bench, n_boot=100)
    assert t.epoch.tolist() == list(range(1, N_E + 1))
    assert t.z.tolist() == list(ZSchedule.thaw_linear(N_Z, N_E).z)
    # thaw cells exist at seed 0 only: "shared" compares seed 0 with seed 0 at full fidelity
    full = np.array([bench.query(int(c), N_Z, N_E, seed=0).val_error for c in bench.config_ids])
    for e in (1, 5, 9):
        thaw = [bench.query(int(c), schedule="thaw", epoch=e, seed=0).val_error
                for c in bench.config_ids]
        expected = spearmanr(thaw, full).statistic
        assert t.loc[t.epoch == e, "spearman_thaw"].item() == pytest.approx(expected)
    assert t.spearman_thaw.iloc[-1] == pytest.approx(1.0)  # the last epoch is full training
    row = t.iloc[3]
    assert row.spearman_thaw_low <= row.spearman_thaw <= row.spearman_thaw_high
    # the same-cost comparator costs no more than the thaw run and is a cell of the table
    ok = t.same_cost_z > 0
    assert (t.cost_same_cost[ok] <= t.cost_thaw[ok] * (1 + 1e-9)).all()
    assert (t.cost_thaw < t.cost_all_layers).iloc[:-1].all()


def test_rung_costs_continue_along_thaw_and_restart_along_z(bench):
    r = rung_costs(bench, ("thaw", "z", "epoch"))
    unit = budget_unit(bench)
    thaw = r[r.fidelity == "thaw"]
    median_thaw = np.median([bench.query(int(c), schedule="thaw", epoch=N_E,
                                         seed=0).train_cost_s for c in bench.config_ids])
    assert thaw.cost.iloc[-1] == pytest.approx(median_thaw / unit)
    assert thaw.cost.is_monotonic_increasing and r[r.fidelity == "z"].cost.is_monotonic_increasing
    z_path = r[r.fidelity == "z"]
    full = r[r.fidelity == "epoch"].cost.iloc[-1]
    assert z_path.cost.iloc[-1] > full  # restarts pay the lower z runs on top of full training
    assert thaw.cost.iloc[-1] < full


def test_the_comparison_methods_run_and_errors_name_the_schedule(bench):
    cmp = compare(bench, THAW_METHODS, runs=2, budget_units=4, n_workers=2)
    final = final_regret(cmp)
    assert set(final.label) == set(THAW_METHODS) and final.regret.notna().any()
    plain = make_benchmark(n_configs=10, n_z=3, n_epochs=4)
    with pytest.raises(InvalidValueError, match="no 'thaw' rows"):
        thaw_correlations(plain, n_boot=50)
