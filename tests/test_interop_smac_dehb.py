"""SMAC3 and DEHB adapters, run against the real libraries on a synthetic table."""

from __future__ import annotations

import sys
from collections import Counter

import numpy as np
import pytest
from interop_tables import full_table

import frozenbench as fb
from frozenbench.errors import InvalidValueError, MissingExtraError, UnknownNameError
from frozenbench.interop.budget import BudgetAxis
from frozenbench.interop.configspace import config_id
from frozenbench.interop.dehb import DEHBOptimizer
from frozenbench.interop.smac import SMACOptimizer
from frozenbench.synthetic import make_benchmark

# DEHB 0.1.2 calls ConfigSpace methods that ConfigSpace 1.x deprecates
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

GRID = {"lr": [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2], "wd": [0.0, 1e-5, 1e-4, 1e-3],
        "bs": [32, 64, 128], "opt": ["adam", "sgd"]}
SEED = 0  # the table seed every replay here reads (cell_seed=SEED), so values are exact


@pytest.fixture(scope="module")
def bench():
    return full_table(GRID)


def cumulative(bench, cid, z, epoch):
    return bench.query(cid, z, epoch, seed=SEED)._asdict()[bench.default_cost]


def check_replay(bench, axis, traj, told):
    """``told``: (config_id, budget, score, cost, info) of every result the library was told.

    Each value told is the table's at the level its budget maps to, each is one trajectory
    row, and a trial pays exactly the table's cumulative cost, continued or not."""
    assert len(told) == len(traj)
    for cid, budget, score, cost, info in told:
        z, epoch = axis.levels[axis.rung(budget)]
        assert (info["config_id"], info["z"], info["epoch"]) == (cid, z, epoch)
        assert score == bench.query(cid, z, epoch, seed=SEED).val_error
        row = traj[(traj["trial"] == info["trial"]) & (traj["epoch"] == epoch)]
        assert len(row) == 1 and row["cost"].iloc[0] == cost
    assert Counter((c, i["z"], i["epoch"], i["trial"]) for c, _, _, _, i in told) == Counter(
        zip(traj["config_id"], traj["z"], traj["epoch"], traj["trial"]))
    continued = 0
    for _, rows in traj.sort_values("time").groupby("trial"):
        cid, z = int(rows["config_id"].iloc[0]), int(rows["z"].iloc[0])
        epochs = rows["epoch"].tolist()
        assert epochs == sorted(set(epochs)), "a trial is continued upwards only"
        paid = [cumulative(bench, cid, z, e) for e in epochs]
        assert rows["cost"].tolist() == pytest.approx(np.diff([0.0, *paid]))
        continued += len(epochs) > 1
    return continued


def smac_told(bench, opt):
    rh = opt.smac.runhistory
    out = []
    for key, value in rh.items():
        if value.status.name == "RUNNING":  # asked, still running when the replay stopped
            continue
        cid = config_id(bench, rh.get_config(key.config_id))
        out.append((cid, key.budget, value.cost, value.time, value.additional_info))
        assert value.endtime - value.starttime == pytest.approx(value.time)
    return out


def dehb_told(bench, opt):
    out = []
    for _, vector, fitness, cost, fidelity, info in opt.dehb.history:
        cid = config_id(bench, opt.dehb.vector_to_configspace(np.asarray(vector)))
        out.append((cid, fidelity, fitness, cost, info))
    return out


@pytest.mark.parametrize(("facade", "budget", "n"), [("hyperband", "epoch", 120),
                                                     ("multifidelity", "z+epoch-linear", 40)])
def test_smac_is_told_the_table_and_pays_the_simulated_cost(bench, facade, budget, n):
    opt = SMACOptimizer(bench, budget=budget, facade=facade, seed=1)
    traj = fb.simulate(bench, opt, n_workers=4, max_evaluations=n, seed=3, cell_seed=SEED)
    assert len(traj) == n and traj.attrs["optimizer"] == f"smac:{facade}({budget})"
    continued = check_replay(bench, opt.axis, traj, smac_told(bench, opt))
    if budget == "epoch":
        assert continued > 0  # promotions continued a trial
    assert traj["worker"].nunique() == 4 and (traj["start"] == 0).sum() == 4


@pytest.mark.parametrize("budget", ["epoch", "z"])
def test_dehb_is_told_the_table_and_pays_the_simulated_cost(bench, budget):
    opt = DEHBOptimizer(bench, budget=budget, seed=1)
    traj = fb.simulate(bench, opt, n_workers=4, max_evaluations=120, seed=3, cell_seed=SEED)
    continued = check_replay(bench, opt.axis, traj, dehb_told(bench, opt))
    assert (continued > 0) == (budget == "epoch")  # a new z is always a new trial
    assert (traj["start"] == 0).sum() == 4 and traj["bracket"].nunique() > 1
    assert set(zip(traj["z"], traj["epoch"])) <= set(opt.axis.levels)


@pytest.mark.parametrize("make", [
    lambda bench, seed: SMACOptimizer(bench, budget="epoch", seed=seed),
    lambda bench, seed: DEHBOptimizer(bench, budget="z+epoch-linear", seed=seed)],
    ids=["smac", "dehb"])
def test_same_seed_same_replay(bench, make):
    def run(seed):
        return fb.simulate(bench, make(bench, seed), n_workers=4, max_evaluations=60, seed=5)

    first = run(7)
    assert first.equals(run(7))
    assert not first.equals(run(8))


def test_n_trials_caps_what_smac_is_asked(bench):
    opt = SMACOptimizer(bench, budget="z", seed=0, n_trials=10)
    traj = fb.simulate(bench, opt, n_workers=4, max_evaluations=100)
    assert len(traj) == 10 and opt.asked == 10 and traj.attrs["stop_reason"] == "optimizer"


def test_budget_axis_levels(bench):
    assert BudgetAxis.of(bench, "epoch").levels == tuple((4, e) for e in range(1, 10))
    assert BudgetAxis.of(bench, "z").levels == ((1, 9), (2, 9), (3, 9), (4, 9))
    diagonal = BudgetAxis.of(bench, "z+epoch-linear")
    assert diagonal.levels == ((1, 2), (2, 4), (3, 7), (4, 9))
    assert (diagonal.min_budget, diagonal.max_budget) == (1, 4)
    # the geometric budgets of eta=3 land on table levels
    assert [BudgetAxis.of(bench, "epoch").rung(9 / 3**k) for k in range(3)] == [8, 2, 0]


def test_bad_arguments_name_the_value_and_the_valid_set(bench):
    with pytest.raises(UnknownNameError, match=r"budget 'epochs'.*'epoch', 'z', 'z\+epoch-linear'"):
        SMACOptimizer(bench, budget="epochs")
    with pytest.raises(UnknownNameError, match=r"budget 'layers'.*'epoch', 'z', 'z\+epoch-linear'"):
        DEHBOptimizer(bench, budget="layers")
    with pytest.raises(UnknownNameError, match=r"facade 'bohb'.*'hyperband', 'multifidelity'"):
        SMACOptimizer(bench, facade="bohb")
    with pytest.raises(InvalidValueError, match=r"(?s)2 problems.*eta=2\.5 must be an integer.*"
                                                r"n_trials=0") as err:
        SMACOptimizer(bench, eta=2.5, n_trials=0)
    assert "seed" not in str(err.value)
    with pytest.raises(InvalidValueError, match="eta=1 must be a number > 1"):
        DEHBOptimizer(bench, eta=1)
    one_z = make_benchmark(n_configs=4, n_z=1, n_epochs=3)
    with pytest.raises(InvalidValueError, match=r"budget='z' needs at least two z values.*\[1\]"):
        DEHBOptimizer(one_z, budget="z")


@pytest.mark.parametrize(("module", "make", "pip"), [
    ("smac", lambda b: SMACOptimizer(b), "pip install 'frozenbench[smac]'"),
    ("dehb", lambda b: DEHBOptimizer(b), "pip install 'frozenbench[dehb]' && pip install "
                                         "--no-deps 'dehb>=0.1.2'")])
def test_missing_library_names_the_pip_command(bench, monkeypatch, module, make, pip):
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingExtraError) as err:
        make(bench)
    assert pip in str(err.value)
