"""NePS and CARP-S adapters, run against the real libraries: the values and costs each saw
are the table's."""

from __future__ import annotations

import subprocess
import sys

import pytest
from carps.optimizers.dehb import DEHBOptimizer
from carps.optimizers.random_search import RandomSearchOptimizer
from carps.optimizers.smac20 import SMAC3Optimizer
from carps.utils.running import make_optimizer
from carps.utils.trials import StatusType, TrialInfo
from interop_tables import GRID, full_table, subset_table
from omegaconf import OmegaConf

import frozenbench as fb
from frozenbench.errors import InvalidValueError, MissingExtraError, UnknownNameError
from frozenbench.interop.budget import BudgetAxis
from frozenbench.interop.carps import FrozenbenchObjectiveFunction
from frozenbench.interop.neps import NePSOptimizer, pipeline_space
from frozenbench.priors import priors
from frozenbench.registry import shipped

#: The shipped tables (grids). The library adapters do not yet read a sampled suite table at
#: its nearest config (the first, fb-dna-mlp, fails them): see the stop's note.
SHIPPED = shipped()


@pytest.fixture(scope="module")
def bench():
    return full_table()


@pytest.fixture(scope="module")
def subset():
    return subset_table()


def _conf(config):
    return {k: config[k] for k in GRID}


# ---------------------------------------------------------------------- NePS
def test_neps_hyperband_sees_the_table_and_promotions_resume(bench):
    opt = NePSOptimizer(bench, "hyperband", eta=3)
    traj = fb.simulate(bench, opt, n_workers=4, max_evaluations=50, seed=1, cell_seed=0)
    assert len(traj) == 50 and opt.name == "neps:hyperband(epoch)"
    reported = [t for t in opt.neps.trials.values() if t.report is not None]
    assert len(reported) == 50
    for t in reported:
        cid = bench.config_id(_conf(t.config))
        r = bench.query(cid, 4, t.config["epoch"], seed=0)
        assert t.report.objective_to_minimize == r.val_error
    # a promoted config continues its run: a trial pays exactly the epochs it reached
    resumed = 0
    for _, rows in traj.groupby("trial"):
        cid, last = int(rows["config_id"].iloc[0]), int(rows["epoch"].max())
        resumed += len(rows) > 1
        assert rows["cost"].sum() == pytest.approx(bench.query(cid, 4, last, seed=0).train_cost_s)
    assert resumed > 0
    costs = sorted(t.report.cost for t in reported)
    assert costs == pytest.approx(sorted(traj["cost"]))
    assert set(traj["epoch"]) == {1, 3, 9}
    again = fb.simulate(bench, NePSOptimizer(bench, "hyperband", eta=3), n_workers=4,
                        max_evaluations=50, seed=1, cell_seed=0)
    assert again[["config_id", "epoch", "trial", "score"]].equals(
        traj[["config_id", "epoch", "trial", "score"]])


def test_neps_priorband_searching_z_on_a_subset_table(subset):
    opt = NePSOptimizer(subset, "priorband", z="search", prior=priors(subset)["good"])
    traj = fb.simulate(subset, opt, n_workers=3, max_evaluations=50, seed=0, cell_seed="mean")
    assert set(traj["config_id"]) <= {int(i) for i in subset.config_ids}
    assert traj["z"].nunique() > 1
    for t in opt.neps.trials.values():  # configs the table lacks were withdrawn, never told
        assert subset.space.index(_conf(t.config)) in set(subset.config_ids.tolist())
        if t.report is not None:
            r = subset.query(_conf(t.config), t.config["z"], t.config["epoch"])
            assert t.report.objective_to_minimize == pytest.approx(r.val_error)


@pytest.mark.parametrize("fidelity", ["z", "z+epoch-linear"])
def test_neps_fidelity_z_starts_a_new_run_per_rung(bench, fidelity):
    opt = NePSOptimizer(bench, "successive_halving", fidelity=fidelity, eta=2)
    traj = fb.simulate(bench, opt, n_workers=2, max_evaluations=30, seed=0, cell_seed=0)
    levels = set(BudgetAxis.of(bench, fidelity).levels)
    assert set(zip(traj["z"], traj["epoch"])) <= levels and traj["z"].nunique() > 1
    assert traj["trial"].is_unique  # frozen layers cannot thaw: no run is continued
    for row in traj.itertuples():
        assert row.cost == bench.query(row.config_id, row.z, row.epoch, seed=0).train_cost_s
    told = {t.id: t for t in opt.neps.trials.values() if t.report is not None}
    assert len(told) == 30


def test_neps_errors(bench, monkeypatch):
    with pytest.raises(UnknownNameError,
                       match=r"unknown NePS optimizer 'hyperbnd'; valid: .*'hyperband'"):
        NePSOptimizer(bench, "hyperbnd")
    with pytest.raises(UnknownNameError,
                       match=r"unknown fidelity 'seed'; valid: \['epoch', 'z', "
                             r"'z\+epoch-linear', 'thaw'\]"):
        NePSOptimizer(bench, fidelity="seed")
    with pytest.raises(InvalidValueError, match="z=2 with fidelity='z': its levels fix z"):
        NePSOptimizer(bench, fidelity="z", z=2)
    with pytest.raises(fb.errors.FidelityError, match="z=12 is out of range"):
        NePSOptimizer(bench, z=12)
    monkeypatch.setitem(sys.modules, "neps", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'frozenbench\[neps\]'"):
        NePSOptimizer(bench)


# ---------------------------------------------------------------------- CARP-S
class Recorder:
    """A CARP-S logger that keeps every evaluation."""

    def __init__(self):
        self.trials = []
        self.incumbents = []

    def log_trial(self, n_trials, n_function_calls, trial_info, trial_value):
        self.trials.append((trial_info, trial_value))

    def log_incumbent(self, n_trials, incumbent, n_function_calls=None):
        self.incumbents.append(incumbent)


def _check(bench, recorded, *, z=None, fidelity="epoch", seed=None):
    """Each value CARP-S saw is the table's at the level nearest the budget."""
    zs = bench.fidelities["z"]
    for info, value in recorded:
        config = dict(info.config)
        zz, epoch = max(zs), max(bench.fidelities["epoch"])
        if fidelity is not None and info.budget is not None:
            axis = BudgetAxis.of(bench, fidelity)
            zz, epoch = axis.levels[axis.rung(info.budget)]
        if fidelity in ("epoch", None):
            zz = z or config.get("z") or max(zs)
        r = bench.query(_conf(config), zz, epoch, seed=seed)
        assert value.status == StatusType.SUCCESS
        assert value.cost == pytest.approx(r.val_error, rel=1e-12)
        assert value.virtual_time == pytest.approx(r.train_cost_s, rel=1e-12)
        assert value.additional_info["epoch"] == epoch and value.additional_info["z"] == zz


def test_carps_dehb_reads_budgets_as_epochs(bench, tmp_path):
    log = Recorder()
    f = FrozenbenchObjectiveFunction(bench, z=2, seed=0, loggers=[log])
    task = f.task(n_trials=6, seed=0)
    assert task.input_space.fidelity_space.max_fidelity == 9
    cfg = OmegaConf.create({"mutation_factor": 0.5, "crossover_prob": 0.5,
                            "strategy": "rand1_bin", "seed": 0, "eta": 3,
                            "output_path": str(tmp_path / "dehb")})
    DEHBOptimizer(task, cfg, expects_fidelities=True).run()
    assert len(log.trials) > 10
    assert {info.budget for info, _ in log.trials} >= {1.0, 3.0, 9.0}
    _check(bench, log.trials, z=2, seed=0)


def test_carps_dehb_with_z_as_the_fidelity(bench, tmp_path):
    log = Recorder()
    f = FrozenbenchObjectiveFunction(bench, fidelity="z", cost="flops", loggers=[log])
    cfg = OmegaConf.create({"mutation_factor": 0.5, "crossover_prob": 0.5,
                            "strategy": "rand1_bin", "seed": 1, "eta": 2,
                            "output_path": str(tmp_path / "dehb")})
    DEHBOptimizer(f.task(n_trials=4), cfg, expects_fidelities=True).run()
    assert len({v.additional_info["z"] for _, v in log.trials}) > 1
    for info, value in log.trials:
        r = bench.query(_conf(info.config), round(info.budget), 9)  # budgets 1, 2, 4 = z
        assert value.cost == pytest.approx(r.val_error) and value.virtual_time == r.train_flops


def test_carps_random_search_full_fidelity_searching_z(bench, subset):
    log = Recorder()
    f = FrozenbenchObjectiveFunction(bench, fidelity=None, z="search", loggers=[log])
    assert "z" in f.configspace and not f.fidelity_space.is_multifidelity
    RandomSearchOptimizer(f.task(n_trials=15)).run()
    assert len(log.trials) == 15
    _check(bench, log.trials, fidelity=None)
    # on a subset table the forbidden clauses keep configs the table lacks out of the sample
    log = Recorder()
    g = FrozenbenchObjectiveFunction(subset, loggers=[log])
    assert len(g.configspace.forbidden_clauses) == 24 - 10
    RandomSearchOptimizer(g.task(n_trials=30)).run()
    held = {int(i) for i in subset.config_ids}
    assert {v.additional_info["config_id"] for _, v in log.trials} <= held
    _check(subset, log.trials)
    # a config the table lacks reads as a missing cell: the worst value, no cost, CRASHED
    lacking = next(c for c in range(24) if c not in held)
    value = g._evaluate(TrialInfo(config=subset.space.config(lacking), budget=9))
    assert value.status == StatusType.CRASHED and value.virtual_time == 0.0
    assert value.cost == g.worst


def test_carps_checks_and_missing_extra(bench):
    with pytest.raises(UnknownNameError, match=r"unknown fidelity 'seed'; valid: .*None\]"):
        FrozenbenchObjectiveFunction(bench, fidelity="seed")
    with pytest.raises(InvalidValueError, match="z='search' with fidelity='z'"):
        FrozenbenchObjectiveFunction(bench, fidelity="z", z="search")
    with pytest.raises(fb.errors.FidelityError, match="z=9 is out of range"):
        FrozenbenchObjectiveFunction(bench, z=9)
    with pytest.raises(InvalidValueError, match=r"seed=7 is not in synthetic; seeds: \[0, 1, 2\]"):
        FrozenbenchObjectiveFunction(bench, seed=7)
    code = ("import sys; sys.modules['carps'] = None\n"
            "from frozenbench.interop.carps import FrozenbenchObjectiveFunction")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode != 0
    assert "MissingExtraError" in out.stderr and "pip install 'frozenbench[carps]'" in out.stderr


def test_priorband_starts_from_the_given_prior_and_refuses_to_run_without_one(subset):
    with pytest.raises(InvalidValueError, match="priorband needs a prior"):
        NePSOptimizer(subset, "priorband")
    for p in priors(subset).values():
        space = pipeline_space(subset, prior=p)
        for h in subset.space.hyperparameters:
            if len(h.values) > 1:
                assert space[h.name].prior == p.config[h.name]
                assert space[h.name].prior_confidence == p.confidence
    opt = NePSOptimizer(subset, "priorband", prior=priors(subset)["bad"])
    traj = fb.simulate(subset, opt, n_workers=2, max_evaluations=20, seed=0, cell_seed="mean")
    assert len(traj) == 20


# ---------------------------------------------------------------------- CARP-S, shipped tables
def _check_shipped(f, recorded):
    """Each value and virtual time CARP-S saw is the table's metric and cost at the cell the
    trial's budget stands for (the level nearest it), read from a Configuration as given."""
    bench, fid = f.bench, f.bench.fidelities
    for info, value in recorded:
        config = dict(info.config)
        z, epoch = max(fid["z"]), max(fid["epoch"])
        if f.axis is not None:
            z, epoch = f.axis.levels[f.axis.rung(float(info.budget))]
        z = config.pop("z", z) if f.search_z else (f.z or z)
        r = bench.query(config, z, epoch)
        assert value.status == StatusType.SUCCESS
        assert value.cost == getattr(r, f.metric) and value.cost == value.cost  # not NaN
        assert value.virtual_time == getattr(r, f.cost) > 0
        assert (value.additional_info["z"], value.additional_info["epoch"]) == (z, epoch)
        assert value.additional_info["config_id"] == bench.config_id(config)


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("fidelity", ["epoch", "z"])
def test_carps_dehb_runs_on_every_shipped_table(name, fidelity, tmp_path):
    """Before the fix DEHB crashed on mnist-resnet with ForbiddenValueError for both fidelities:
    the CARP-S space forbade the 72 SGD configs whose inactive beta2 is not its fill value."""
    bench, log = fb.load(name), Recorder()
    f = FrozenbenchObjectiveFunction(bench, fidelity=fidelity, loggers=[log])
    assert not f.configspace.forbidden_clauses
    assert [(c.child.name, c.parent.name) for c in f.configspace.conditions] == \
        [(c.child, c.parent) for c in bench.space.conditions]
    cfg = OmegaConf.create({"mutation_factor": 0.5, "crossover_prob": 0.5,
                            "strategy": "rand1_bin", "seed": 0, "eta": 3,
                            "output_path": str(tmp_path / "dehb")})
    DEHBOptimizer(f.task(n_trials=6, seed=0), cfg, expects_fidelities=True).run()
    assert len(log.trials) > 10 and len({info.budget for info, _ in log.trials}) > 1
    _check_shipped(f, log.trials)


@pytest.mark.parametrize("name", SHIPPED)
def test_carps_random_search_and_smac_multi_fidelity_run_on_every_shipped_table(name,
                                                                                tmp_path):
    bench, log = fb.load(name), Recorder()
    f = FrozenbenchObjectiveFunction(bench, fidelity=None, z="search", loggers=[log])
    RandomSearchOptimizer(f.task(n_trials=40, seed=0)).run()
    assert len(log.trials) == 40
    _check_shipped(f, log.trials)
    log = Recorder()
    g = FrozenbenchObjectiveFunction(bench, fidelity="z+epoch-linear", loggers=[log])
    task = g.task(n_trials=8, seed=0)
    space = task.input_space.fidelity_space
    # CARP-S's own optimizer config (configs/optimizer/smac20/base.yaml + multifidelity.yaml)
    smac_cfg = {
        "smac_class": "smac.facade.multi_fidelity_facade.MultiFidelityFacade",
        "scenario": {"seed": 0, "n_trials": 60, "objectives": [g.metric], "deterministic": True,
                     "n_workers": 1, "output_directory": str(tmp_path / "smac"),
                     "min_budget": space.min_fidelity, "max_budget": space.max_fidelity},
        "smac_kwargs": {"dask_client": None, "overwrite": True, "intensifier": {
            "_target_": "smac.intensifier.hyperband.Hyperband", "_partial_": True, "eta": 3}}}
    cfg = OmegaConf.create({"optimizer": {
        "_target_": "carps.optimizers.smac20.SMAC3Optimizer", "_partial_": True,
        "smac_cfg": smac_cfg, "expects_multiple_objectives": False,
        "expects_fidelities": True}})
    optimizer = make_optimizer(cfg, task)
    assert isinstance(optimizer, SMAC3Optimizer)
    optimizer.run()
    assert len(log.trials) > 10 and len({info.budget for info, _ in log.trials}) > 1
    _check_shipped(g, log.trials)


def test_carps_random_search_on_a_sampled_design_reads_the_nearest_config():
    """A design sampled from declared ranges: CARP-S samples the ranges, and each trial reads
    the nearest table config, whose value and cost CARP-S sees."""
    from frozenbench.synthetic import make_benchmark, sampled_space

    bench = make_benchmark(space=sampled_space(64, seed=7), n_configs=30, n_z=2, n_epochs=3,
                           diverge_frac=0.0)
    log = Recorder()
    f = FrozenbenchObjectiveFunction(bench, fidelity=None, loggers=[log])
    assert not f.configspace.forbidden_clauses and f.configspace.conditions
    RandomSearchOptimizer(f.task(n_trials=25, seed=0)).run()
    assert len(log.trials) == 25
    for info, value in log.trials:
        near = bench.config_id(dict(info.config), nearest=True)
        r = bench.query(near, 2, 3)
        assert value.additional_info["config_id"] == near and value.status == StatusType.SUCCESS
        assert value.cost == r.val_error and value.virtual_time == r.train_cost_s
