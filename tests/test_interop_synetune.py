"""Syne Tune adapter, run against the real library: the export, Syne Tune's own simulator on
it, and Syne Tune schedulers on frozenbench's clock."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from interop_tables import GRID as INTEROP_GRID
from interop_tables import full_table, subset_table
from syne_tune.blackbox_repository.blackbox_tabular import deserialize
from syne_tune.optimizer.baselines import ASHA
from syne_tune.optimizer.scheduler import TrialSuggestion

import frozenbench as fb
from frozenbench.errors import InvalidValueError, MissingExtraError, UnknownNameError
from frozenbench.interop.synetune import (
    SyneTuneOptimizer,
    config_space,
    export_blackbox,
    simulate_asha,
)
from frozenbench.synthetic import make_benchmark

#: wd mixes an int and floats: Syne Tune's domain must hold floats throughout
GRID = {**INTEROP_GRID, "wd": [0, 1e-4, 1e-3]}


@pytest.fixture(scope="module")
def bench():
    return full_table(GRID)


@pytest.fixture(scope="module")
def subset():
    return subset_table(GRID)


def test_export_holds_the_table_values_per_seed_and_mean(bench):
    bb = export_blackbox(bench, z=4)  # the seeds run at every config at z=4: 0 and 1
    assert bb.objectives_names == ["val_error", "train_cost_s"]
    assert bb.objectives_evaluations.shape == (24, 2, 9, 2)
    assert list(bb.fidelity_values) == list(range(1, 10))
    for row, cid in enumerate(bench.config_ids):
        conf = bb.hyperparameters.iloc[row].to_dict()
        assert bench.config_id(conf) == int(cid)
        for s in (0, 1):
            for e in (1, 5, 9):
                r = bench.query(int(cid), 4, e, seed=s)
                assert bb.objectives_evaluations[row, s, e - 1, 0] == r.val_error
                assert bb.objectives_evaluations[row, s, e - 1, 1] == r.train_cost_s
    mean = export_blackbox(bench, z="search", seeds="mean", cost="flops")
    assert mean.objectives_names == ["val_error", "train_flops"]
    assert mean.objectives_evaluations.shape == (96, 1, 9, 2)
    rows = mean.hyperparameters.to_dict("records")
    for row in (0, 7, 50, 95):
        conf = rows[row]
        r = bench.query({k: conf[k] for k in GRID}, conf["z"], 3)
        assert mean.objectives_evaluations[row, 0, 2].tolist() == [r.val_error, r.train_flops]
    # wd mixes an int and floats in the grid: Syne Tune's domain holds floats throughout
    assert config_space(bench)["wd"].categories == [0.0, 1e-4, 1e-3]


def test_export_reads_diverged_runs_as_the_simulator_does():
    """After a run diverges the table holds NaN metrics and the cost paid so far; the export,
    like the simulator, reads the metric as the table's worst value."""
    bench = make_benchmark(n_configs=None, grid=GRID, n_z=2, n_epochs=6, diverge_frac=0.4,
                           seed=3)
    bb = export_blackbox(bench, z=2, seeds=[0])
    worst = float(np.nanmax(bench.objective(per_seed=True)))
    diverged = 0
    for row, cid in enumerate(bench.config_ids):
        curve = bench.curve(int(cid), 2, seed=0)
        vals = bb.objectives_evaluations[row, 0]
        ok = np.isfinite(curve["val_error"].to_numpy())
        diverged += int(not ok.all())
        assert (vals[ok, 0] == curve["val_error"].to_numpy()[ok]).all()
        assert (vals[~ok, 0] == worst).all()
        assert (vals[:, 1] == curve["train_cost_s"].to_numpy()).all()
    assert diverged > 3
    traj = fb.simulate(bench, "asha", "epoch", n_workers=1, max_evaluations=50, cell_seed=0)
    for r in traj.itertuples():
        assert r.score == bb.objectives_evaluations[list(bench.config_ids).index(r.config_id),
                                                    0, r.epoch - 1, 0]


def test_export_checks_its_arguments(bench):
    with pytest.raises(UnknownNameError, match=r"unknown seed 5; valid: \[0, 1, 2\]"):
        export_blackbox(bench, seeds=[5])
    with pytest.raises(InvalidValueError, match=r"seed 1 was not run .* everywhere: \[0\]"):
        export_blackbox(bench, z=2, seeds=[1])
    with pytest.raises(fb.errors.FidelityError, match="z=7 is out of range"):
        export_blackbox(bench, z=7)
    with pytest.raises(InvalidValueError, match=r"'best'.*'search'"):
        export_blackbox(bench, z="best")
    with pytest.raises(InvalidValueError, match="seeds='all'; valid: 'mean'"):
        export_blackbox(bench, seeds="all")
    with pytest.raises(UnknownNameError, match="unknown cost 'gpu'"):
        export_blackbox(bench, cost="gpu")


def test_export_writes_syne_tunes_on_disk_format(bench, tmp_path):
    bb = export_blackbox(bench, z=3, seeds=[0], path=tmp_path / "bb", task="fb-task")
    back = deserialize(str(tmp_path / "bb"))["fb-task"]
    # Syne Tune stores objectives as float32
    np.testing.assert_allclose(back.objectives_evaluations, bb.objectives_evaluations,
                               rtol=1e-6)
    assert back.objectives_names == bb.objectives_names
    assert back.hyperparameters.equals(bb.hyperparameters)
    import json

    meta = json.loads((tmp_path / "bb" / "metadata.json").read_text())["frozenbench"]
    assert meta["z"] == 3 and meta["seeds"] == [0]
    assert meta["config_ids"] == [int(i) for i in bench.config_ids]


def _check_seen(bench, res, seed=None):
    """Every result Syne Tune saw is the table's value, its elapsed time the cumulative cost."""
    for row in res.itertuples(index=False):
        r = bench.query(int(row.config_id), int(row.z), int(row.epoch), seed=seed)
        assert row.val_error == pytest.approx(r.val_error, rel=1e-12)
        assert row.train_cost_s == pytest.approx(r.train_cost_s, rel=1e-12)


def test_syne_tune_simulator_sees_the_table(bench):
    res = simulate_asha(bench, seeds="mean", n_workers=4, max_trials=60, seed=1)
    # 60 trials started; those started last may not have reported when the run stops
    assert res["trial_id"].max() <= 59 and res["trial_id"].nunique() > 50
    _check_seen(bench, res)
    decisions = res.groupby("trial_id")["epoch"].max()
    assert (decisions < 9).any() and (decisions == 9).any()  # ASHA stopped some, not all
    # a trial reports its epochs in order; simulated time grows along it
    for _, rows in res.groupby("trial_id"):
        assert rows["epoch"].tolist() == list(range(1, len(rows) + 1))
        assert rows["st_tuner_time"].is_monotonic_increasing
    # the same seed draws the same configs; Syne Tune adds the real time its tuner spends to
    # the simulated clock, so st_tuner_time itself varies a little between runs
    again = simulate_asha(bench, seeds="mean", n_workers=4, max_trials=60, seed=1)
    first = again.groupby("trial_id")["config_id"].first()
    assert first.equals(res.groupby("trial_id")["config_id"].first())


def test_syne_tune_simulator_one_seed_searched_z_and_a_subset_table(bench, subset):
    res = simulate_asha(bench, z=2, seeds=[0], n_workers=2, max_trials=20, seed=0)
    assert set(res["z"]) == {2}
    _check_seen(bench, res, seed=0)
    res = simulate_asha(bench, z="search", seeds="mean", n_workers=3, max_trials=40)
    assert len(set(res["z"])) > 1
    _check_seen(bench, res)
    # Syne Tune's domains span the whole grid; configs the table lacks are never run
    res = simulate_asha(subset, seeds="mean", n_workers=2, max_trials=30)
    assert set(res["config_id"]) <= {int(i) for i in subset.config_ids}
    _check_seen(subset, res)


class Spy:
    """A Syne Tune scheduler that records every result it hears."""

    def __init__(self, inner):
        self.inner = inner
        self.seen = []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def on_trial_result(self, trial, result):
        self.seen.append((dict(trial.config), dict(result)))
        return self.inner.on_trial_result(trial, result)


@pytest.mark.parametrize("table", ["bench", "subset"])
def test_scheduler_on_frozenbench_clock(table, request):
    bench = request.getfixturevalue(table)
    last_z = max(bench.fidelities["z"])
    spy = Spy(ASHA(config_space(bench), metric="val_error", time_attr="epoch", max_t=9,
                   random_seed=0))
    traj = fb.simulate(bench, SyneTuneOptimizer(spy, bench), n_workers=4,
                       max_evaluations=300, seed=1, cell_seed=0)
    assert len(traj) == 300 and traj["time"].is_monotonic_increasing
    assert len(spy.seen) == 300
    for config, result in spy.seen:
        cid = bench.config_id({k: config[k] for k in GRID})
        r = bench.query(cid, last_z, result["epoch"], seed=0)
        assert result["val_error"] == r.val_error
        assert result["elapsed_time"] == pytest.approx(r.train_cost_s)  # no resume: all paid
    lengths = traj.groupby("trial")["epoch"].max()
    assert (lengths < 9).any() and (lengths == 9).any()
    # a stopped trial paid only the epochs it trained
    for _, rows in traj.groupby("trial"):
        cid, last = int(rows["config_id"].iloc[0]), int(rows["epoch"].max())
        assert rows["cost"].sum() == pytest.approx(
            bench.query(cid, last_z, last, seed=0).train_cost_s)


def test_scheduler_searching_z_and_capped(bench):
    opt = SyneTuneOptimizer(ASHA(config_space(bench, z="search"), metric="val_error",
                                 time_attr="epoch", max_t=9, random_seed=3),
                            bench, z="search", max_trials=25)
    traj = fb.simulate(bench, opt, n_workers=2, max_evaluations=10_000, seed=0)
    assert traj["trial"].nunique() == 25 and traj["z"].nunique() > 1


def test_scheduler_errors(bench):
    class Resumes:
        metric = "val_error"

        def suggest(self):
            return TrialSuggestion.resume_suggestion(trial_id=0)

    with pytest.raises(InvalidValueError, match=r"resumes paused trial 0.*stopping style"):
        fb.simulate(bench, SyneTuneOptimizer(Resumes(), bench), max_evaluations=5)
    asha = ASHA(config_space(bench), metric="val_error", time_attr="epoch", max_t=9)
    with pytest.raises(InvalidValueError, match=r"max_epoch=10 .* valid: \[1, 2"):
        SyneTuneOptimizer(asha, bench, max_epoch=10)
    with pytest.raises(InvalidValueError, match="give a stopping rule"):
        simulate_asha(bench, seeds="mean")


def test_missing_syne_tune_names_the_extra(bench, monkeypatch):
    for name in [m for m in sys.modules if m == "syne_tune" or m.startswith("syne_tune.")]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(MissingExtraError, match=r"pip install 'frozenbench\[syne-tune\]'"):
        export_blackbox(bench)
    with pytest.raises(MissingExtraError, match=r"pip install 'frozenbench\[syne-tune\]'"):
        SyneTuneOptimizer(object(), bench, metric="val_error")
