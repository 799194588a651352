"""Issue 25 point 3: the adapters that continue trials (SMAC, DEHB, Syne Tune's stopping-type
schedulers) take the ``thaw`` axis on a table with thaw rows: a higher budget continues the
config's run along the thaw schedule and pays only the new epochs, each at its own z."""

from __future__ import annotations

import numpy as np
import pytest

import frozenbench as fb
from frozenbench.errors import InvalidValueError
from frozenbench.interop.budget import CONTINUED_BUDGETS, BudgetAxis
from frozenbench.interop.configspace import config_id
from frozenbench.interop.dehb import DEHBOptimizer
from frozenbench.interop.smac import SMACOptimizer
from frozenbench.schedules import ZSchedule
from frozenbench.synthetic import make_benchmark

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # DEHB on ConfigSpace 1.x

GRID = {"lr": [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0], "wd": [0.0, 1e-5, 1e-4, 1e-3],
        "bs": [32, 64, 128], "opt": ["adam", "sgd"]}
SEED = 0  # the only seed with thaw cells in a synthetic table
N_Z, N_E = 4, 9


@pytest.fixture(scope="module")
def bench():
    return make_benchmark(n_configs=None, grid=GRID, n_z=N_Z, n_epochs=N_E, diverge_frac=0.0,
                          thaw_configs=10**6, seed=2)


def _check_thaw_replay(bench, traj, told):
    """Every value told is the thaw cell's at the budget's epoch; every trial is one run along
    the schedule, charged the schedule's cumulative cost once."""
    z_of = dict(enumerate(ZSchedule.thaw_linear(N_Z, N_E).z, start=1))
    assert len(told) == len(traj) > 0
    for cid, epoch, score in told:
        assert score == bench.query(cid, schedule="thaw", epoch=epoch, seed=SEED).val_error
    assert (traj.z == traj.epoch.map(z_of)).all()
    continued = 0
    for _, rows in traj.sort_values("time").groupby("trial"):
        cid, epochs = int(rows.config_id.iloc[0]), rows.epoch.tolist()
        assert epochs == sorted(set(epochs))
        paid = [bench.query(cid, schedule="thaw", epoch=e, seed=SEED).train_cost_s
                for e in epochs]
        assert rows.cost.tolist() == pytest.approx(np.diff([0.0, *paid]))
        continued += len(epochs) > 1
    return continued


def test_dehb_over_the_thaw_axis_continues_runs(bench):
    opt = DEHBOptimizer(bench, budget="thaw", seed=1)
    assert opt.axis.schedule == "thaw" and opt.axis.levels[-1] == (N_Z, N_E)
    traj = fb.simulate(bench, opt, n_workers=3, max_evaluations=80, seed=3, cell_seed=SEED)
    told = [(config_id(bench, opt.dehb.vector_to_configspace(np.asarray(v))),
             opt.axis.levels[opt.axis.rung(fid)][1], fit)
            for _, v, fit, _, fid, _ in opt.dehb.history]
    assert _check_thaw_replay(bench, traj, told) > 0


def test_smac_hyperband_over_the_thaw_axis_continues_runs(bench):
    opt = SMACOptimizer(bench, budget="thaw", facade="hyperband", seed=1)
    traj = fb.simulate(bench, opt, n_workers=2, max_evaluations=60, seed=3, cell_seed=SEED)
    rh = opt.smac.runhistory
    told = [(config_id(bench, rh.get_config(k.config_id)),
             opt.axis.levels[opt.axis.rung(k.budget)][1], v.cost)
            for k, v in rh.items() if v.status.name != "RUNNING"]
    assert _check_thaw_replay(bench, traj, told) > 0


def test_the_thaw_axis_needs_thaw_rows_and_an_adapter_that_continues():
    plain = make_benchmark(n_configs=None, grid=GRID, n_z=3, n_epochs=4, diverge_frac=0.0)
    with pytest.raises(InvalidValueError, match=r"no 'thaw' rows; it has only fixed-z rows"):
        DEHBOptimizer(plain, budget="thaw")
    assert "thaw" in CONTINUED_BUDGETS
    with pytest.raises(fb.UnknownNameError, match=r"unknown budget 'thaw'"):
        BudgetAxis.of(plain, "thaw")  # the axes of an adapter that does not continue runs


def test_syne_tune_asha_over_the_thaw_resource_continues_runs(bench):
    from syne_tune.optimizer.baselines import ASHA

    from frozenbench.interop.synetune import SyneTuneOptimizer, config_space

    seen = []

    class Spy(ASHA):
        def on_trial_result(self, trial, result):
            seen.append((dict(trial.config), dict(result)))
            return super().on_trial_result(trial, result)

    spy = Spy(config_space(bench), metric="val_error", time_attr="epoch", max_t=N_E,
              random_seed=0)
    opt = SyneTuneOptimizer(spy, bench, resource="thaw", seed=0)
    traj = fb.simulate(bench, opt, n_workers=3, max_evaluations=120, seed=1, cell_seed=SEED)
    told = [(bench.config_id({k: c[k] for k in GRID}), r["epoch"], r["val_error"])
            for c, r in seen]
    for (cid, epoch, _), (_, result) in zip(told, seen):  # elapsed: the run's cost so far
        assert result["elapsed_time"] == pytest.approx(
            bench.query(cid, schedule="thaw", epoch=epoch, seed=SEED).train_cost_s)
    assert _check_thaw_replay(bench, traj, told) > 0
    lengths = traj.groupby("trial").epoch.max()
    assert (lengths < N_E).any() and (lengths == N_E).any()  # ASHA stopped some, not all
    with pytest.raises(InvalidValueError, match=r"z=2 with resource='thaw'"):
        SyneTuneOptimizer(spy, bench, resource="thaw", z=2)


def test_neps_hyperband_over_the_thaw_fidelity_continues_runs(bench):
    from frozenbench.interop.neps import NePSOptimizer

    opt = NePSOptimizer(bench, "hyperband", fidelity="thaw", eta=3)
    traj = fb.simulate(bench, opt, n_workers=2, max_evaluations=40, seed=1, cell_seed=SEED)
    told = [(bench.config_id({k: t.config[k] for k in GRID}), t.config["epoch"],
             t.report.objective_to_minimize)
            for t in opt.neps.trials.values() if t.report is not None]
    assert _check_thaw_replay(bench, traj, told) > 0
    assert set(traj.epoch) == {1, 3, 9}
