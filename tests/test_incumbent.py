"""The incumbent a replay reports: chosen at the highest fidelity reached (by default), at full
fidelity only, or at any fidelity (the old rule), and what a budget too small for one result
gives (an empty trajectory, never an error)."""

from __future__ import annotations

import numpy as np
import pytest

import frozenbench as fb
from frozenbench.analysis.hpo import DEFAULT_METHODS, budget_unit
from frozenbench.cli import main
from frozenbench.errors import UnknownNameError
from frozenbench.registry import shipped
from frozenbench.sim.trajectory import COLUMNS
from frozenbench.synthetic import make_benchmark


@pytest.fixture(scope="module")
def bench():
    return make_benchmark(n_configs=40, n_z=5, n_epochs=9, diverge_frac=0.05, seed=1)


@pytest.fixture(scope="module")
def one_seed():
    """One seed everywhere: the score a replay observes at full fidelity is the score its
    regret is measured on."""
    return make_benchmark(n_configs=40, n_z=5, n_epochs=9, diverge_frac=0.0, seed=2,
                          full_z_seeds=1, multi_seed_configs=0)


def _order(z, epoch):
    return z * epoch, z


def test_tiny_budget_gives_a_trajectory_without_incumbent(bench):
    traj = fb.simulate(bench, "asha", "z+epoch", budget=1e-9)
    assert len(traj) == 0 and set(COLUMNS) <= set(traj.columns)


@pytest.mark.parametrize("optimizer,fidelity", list(DEFAULT_METHODS.values()))
def test_default_incumbent_never_falls_back_to_a_lower_fidelity(bench, optimizer, fidelity):
    for seed in range(8):
        t = fb.simulate(bench, optimizer, fidelity, n_workers=3, max_evaluations=150,
                        seed=seed)
        level = [_order(z, e) for z, e in zip(t["incumbent_z"], t["incumbent_epoch"])]
        assert level == sorted(level)  # the incumbent's fidelity never decreases
        seen = np.maximum.accumulate([_order(z, e)[0] * 100 + z for z, e in zip(t.z, t.epoch)])
        mine = [a * 100 + z for (a, z) in level]
        assert mine == list(seen)  # it is at the highest fidelity reached so far
        same = np.r_[False, np.diff(mine) == 0]
        assert (np.diff(t["incumbent_score"])[same[1:]] <= 0).all()  # better at that level


@pytest.mark.parametrize("optimizer,fidelity", list(DEFAULT_METHODS.values()))
def test_full_fidelity_incumbent_has_non_increasing_regret(one_seed, optimizer, fidelity):
    full = (one_seed.fidelities["z"][-1], one_seed.fidelities["epoch"][-1])
    for seed in range(10):
        t = fb.simulate(one_seed, optimizer, fidelity, n_workers=3, max_evaluations=150,
                        seed=seed, incumbent="full")
        has = t["incumbent"] >= 0
        assert has.any()
        assert (t.loc[has, ["incumbent_z", "incumbent_epoch"]] == full).all(axis=None)
        assert (np.diff(t.loc[has, "regret"]) <= 1e-12).all()
        assert (t.loc[~has, "regret"].isna()).all()  # no incumbent, no regret


def test_any_fidelity_incumbent_is_the_lowest_score_so_far(bench):
    t = fb.simulate(bench, "hyperband", "epoch", n_workers=2, max_evaluations=200, seed=3,
                    incumbent="any")
    np.testing.assert_allclose(t["incumbent_score"], t["score"].cummin())
    assert t.attrs["incumbent"] == "any" and t.attrs["regret_metric"] == bench.metric


def test_an_unknown_incumbent_rule_names_the_valid_ones(bench):
    with pytest.raises(UnknownNameError, match=r"'best'.*'highest', 'full', 'any'"):
        fb.simulate(bench, "asha", max_evaluations=5, incumbent="best")


def test_simulate_cli_with_a_budget_before_the_first_result(capsys):
    assert main(["simulate", "mnist-resnet", "--budget-seconds", "2", "--runs", "2",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "random:full" in out and "no incumbent yet" in out  # 2 s: no result at full cost


def test_suite_cli_with_a_budget_before_the_first_result(capsys):
    assert main(["suite", "--benchmarks", "mnist-resnet", "vit-mnist", "--optimizers",
                 "random:full", "hyperband:z", "--budget", "0.1", "--runs", "2", "--bootstrap",
                 "50", "--no-progress"]) == 0
    assert "over 2 tasks" in capsys.readouterr().out


def test_shipped_tables_have_a_budget_unit():
    for name in shipped():
        assert budget_unit(fb.load(name)) > 0


@pytest.mark.parametrize("name", shipped())
def test_every_default_method_reaches_full_fidelity_within_10x(name):
    bench = fb.load(name)
    full = (bench.fidelities["z"][-1], bench.fidelities["epoch"][-1])
    for label, (optimizer, fidelity) in DEFAULT_METHODS.items():
        for seed in range(5):
            t = fb.simulate(bench, optimizer, fidelity, budget=10, seed=seed)
            at_full = (t["z"] == full[0]) & (t["epoch"] == full[1])
            assert at_full.any(), f"{label} seed {seed} on {name} never reached {full}"


def test_a_path_longer_than_the_configs_allow_is_thinned():
    from frozenbench.optimizers import make_optimizer

    bench = fb.load("mnist-resnet")  # 144 configs, z 1..10: 1 + log_3(144) = 5 rungs
    asha = make_optimizer("asha", bench, "z+epoch-linear")
    assert len(asha.levels) == 5 and asha.levels[-1] == (10, 6)
    t = fb.simulate(bench, "asha", "z+epoch-linear", budget_seconds=1.0, seed=0)
    assert t.attrs["levels"] == [list(level) for level in asha.levels]


class _TestSplit:
    """A table stand-in whose full-fidelity test scores are ``test`` (None: no such column)."""

    def __init__(self, test):
        self.test = test

    def metric_name(self, metric=None):
        return metric or "val_error"

    def full_fidelity_scores(self, metric):
        from frozenbench.errors import UnknownNameError

        if metric == "test_error" and self.test is not None:
            return np.asarray(self.test)
        raise UnknownNameError(f"unknown metric {metric!r}")


def test_regret_is_on_the_test_metric_where_the_table_has_one():
    from frozenbench.sim.trajectory import regret_metric

    assert regret_metric(_TestSplit([0.1, 0.2])) == "test_error"
    assert regret_metric(_TestSplit([np.nan, np.nan])) == "val_error"  # column, no values
    assert regret_metric(_TestSplit(None)) == "val_error"  # no column in this table
    assert regret_metric(_TestSplit([0.1]), "train_loss") == "train_loss"
