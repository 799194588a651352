"""The hpoglue/hposuite adapter and the mf-prior-bench-style benchmark, on every shipped table:
every value and cost the library (or the mfpbench-style user) sees is the table's."""

from __future__ import annotations

import sys

import hpoglue
import numpy as np
import pandas as pd
import pytest
from hposuite.optimizers.dehb import DEHB_Optimizer
from hposuite.optimizers.random_search import RandomSearch, RandomSearchWithPriors
from hposuite.optimizers.smac import SMAC_Hyperband

import frozenbench as fb
from frozenbench.errors import InvalidValueError, MissingExtraError, UnknownNameError
from frozenbench.interop.configspace import config_id
from frozenbench.interop.hpoglue import PAID, description
from frozenbench.priors import priors

NAMES = fb.benchmark_names()


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    # hpoglue's runner writes ./Optimizers_cache, hposuite looks for ./data
    monkeypatch.chdir(tmp_path)


# ---------------------------------------------------------------------- hpoglue / hposuite
def _level(bench, fidelity):
    """(epoch, z) of an hpoglue fidelity, written out independently of the adapter."""
    epoch, z = max(bench.fidelities["epoch"]), max(bench.fidelities["z"])
    if isinstance(fidelity, tuple):
        fidelity = {fidelity[0]: fidelity[1]}
    fidelity = fidelity or {}
    return int(fidelity.get("epoch", epoch)), int(fidelity.get("z", z))


def _check_run(bench, frame, *, seed=None):
    """Every value of every result is the table's; per training run (config, z), the costs
    paid add up to the cumulative cost of the highest epoch it reached."""
    cost = bench.default_cost
    reached: dict = {}
    paid: dict = {}
    for row in frame.itertuples():
        values = dict(row.config)
        epoch, z = _level(bench, row.fidelity)
        cell = bench.query(config_id(bench, values), z, epoch, seed=seed)
        assert row.results[bench.metric] == getattr(cell, bench.metric)
        assert row.results[cost] == getattr(cell, cost)
        run = (tuple(sorted((k, str(v)) for k, v in values.items())), z)
        paid.setdefault((run, epoch), row.results[PAID + cost])
        if epoch >= reached.get(run, (0, 0.0))[0]:
            reached[run] = (epoch, getattr(cell, cost))
    total = {}
    for (run, _), p in paid.items():
        total[run] = total.get(run, 0.0) + p
    for run, (_, cumulative) in reached.items():
        assert total[run] == pytest.approx(cumulative, rel=1e-12)
    return len(frame)


@pytest.mark.parametrize("name", NAMES)
def test_hposuite_random_search_sees_the_full_fidelity_table(name):
    bench = fb.load(name)
    frame = hpoglue.run(RandomSearch, description(bench), budget=10, seed=0)
    assert _check_run(bench, frame) == 10
    assert all(f is None for f in frame["fidelity"])


@pytest.mark.parametrize("name", NAMES)
def test_hposuite_dehb_over_epochs_continues_and_pays_the_difference(name):
    bench = fb.load(name)
    frame = hpoglue.run(DEHB_Optimizer, description(bench), fidelities="epoch", budget=4, seed=0)
    assert _check_run(bench, frame) >= 4
    epochs = {f[1] for f in frame["fidelity"]}
    assert len(epochs) > 1 and all(f[0] == "epoch" for f in frame["fidelity"])
    cost = bench.default_cost
    assert any(0 < r[PAID + cost] < r[cost] for r in frame["results"])  # a promotion


@pytest.mark.parametrize("name", NAMES)
def test_hposuite_smac_hyperband_over_z_pays_each_z_from_scratch(name):
    bench = fb.load(name)
    frame = hpoglue.run(SMAC_Hyperband, description(bench), fidelities="z", budget=3, seed=0)
    assert _check_run(bench, frame) >= 3
    assert len({f[1] for f in frame["fidelity"]}) > 1
    # a z is a new run: each result at its own z paid that z's whole cumulative cost once
    first = frame.drop_duplicates(subset=["fidelity"]).iloc[0]
    assert first.results[PAID + bench.default_cost] == first.results[bench.default_cost]


def test_a_training_seed_answers_from_that_seed():
    bench = fb.load("mnist1d-cnn")
    frame = hpoglue.run(RandomSearch, description(bench, seed=1), budget=5, seed=3)
    assert _check_run(bench, frame, seed=1) == 5
    means = [bench.query(config_id(bench, dict(c)), max(bench.fidelities["z"])).val_error
             for c in frame["config"]]
    assert [r["val_error"] for r in frame["results"]] != means


def test_many_fidelity_problem_and_queries():
    bench = fb.load("mnist-resnet")
    desc = description(bench)
    assert list(desc.fidelities) == ["epoch", "z"]
    assert desc.fidelities["epoch"].supports_continuation
    assert not desc.fidelities["z"].supports_continuation
    objective = (bench.metric, desc.metrics[bench.metric])
    problem = hpoglue.Problem(optimizer=RandomSearch, benchmark=desc, objectives=objective,
                              fidelities=desc.fidelities, costs=None,
                              budget=hpoglue.Problem.TrialBudget(5))
    assert problem.is_manyfidelity and not problem.is_multifidelity
    loaded = desc.load(desc)
    config = hpoglue.Config(config_id="a", values=dict(desc.config_space.get_default_configuration()))
    cid = config_id(bench, config.values)
    cost = bench.default_cost
    expected_paid = []
    before = {}
    for z, epoch in [(2, 1), (2, 4), (2, 3), (5, 2), (2, 6)]:
        result = loaded.query(hpoglue.Query(config=config, fidelity={"z": z, "epoch": epoch}))
        cell = bench.query(cid, z, epoch)
        assert result.fidelity == {"epoch": epoch, "z": z}
        assert result.values[bench.metric] == getattr(cell, bench.metric)
        assert result.values[cost] == getattr(cell, cost)
        was = before.get(z, 0.0)
        expected_paid.append(max(getattr(cell, cost) - was, 0.0))
        before[z] = max(was, getattr(cell, cost))
        assert result.values[PAID + cost] == pytest.approx(expected_paid[-1])
    assert expected_paid[2] == 0.0  # epoch 3 after epoch 4 at the same z: already trained
    assert expected_paid[3] == bench.query(cid, 5, 2).train_cost_s  # a new z: from scratch
    # only z given: the last epoch; a trajectory over epochs is the table's learning curve
    one = loaded.query(hpoglue.Query(config=config, fidelity=("z", 3)))
    assert one.values[bench.metric] == getattr(bench.query(cid, 3), bench.metric)
    curve = loaded.trajectory(query=hpoglue.Query(config=config, fidelity=("epoch", 4)), frm=2)
    table = bench.curve(cid, max(bench.fidelities["z"]))
    assert list(curve.index) == [2, 3, 4]
    assert np.array_equal(curve[bench.metric].to_numpy(), table.loc[2:4, bench.metric].to_numpy())


def test_priors_are_predefined_points_and_drive_random_search_with_priors():
    bench = fb.load("vit-mnist")
    desc = description(bench)
    good = desc.predefined_points["good"]
    assert good.values == dict(priors(bench)["good"].config)
    frame = hpoglue.run(RandomSearchWithPriors, desc, budget=5, seed=0,
                        priors=("good", {bench.metric: good}))
    assert _check_run(bench, frame) == 5


def test_an_hposuite_study_runs_a_table_as_hpoglue_does():
    import hposuite

    bench = fb.load("kjv-gpt2")
    study = hposuite.create_study(output_dir="studies", name="fb", optimizers=RandomSearch,
                                  benchmarks=(description(bench), {"costs": 1}), budget=6,
                                  seeds=0)
    study.optimize()
    frame = pd.read_parquet(study.experiments[0].df_path)
    direct = hpoglue.run(RandomSearch, description(bench), budget=6, seed=0)
    _check_run(bench, direct)
    # hposuite stores its results as float32
    assert frame["result.objective.1.value"].tolist() == pytest.approx(
        [r[bench.metric] for r in direct["results"]], rel=1e-6)
    assert frame["result.cost.1.value"].tolist() == pytest.approx(
        [r[bench.default_cost] for r in direct["results"]], rel=1e-6)


def test_hpoglue_arguments_are_checked():
    bench = fb.load("vit-mnist")
    with pytest.raises(UnknownNameError, match=r"seed 7.*\[0, 1, 2\]"):
        description(bench, seed=7)
    with pytest.raises(UnknownNameError, match="cost 'money'"):
        description(bench, cost="money")
    desc = description(bench)
    loaded = desc.load(desc)
    config = hpoglue.Config(config_id="a", values=dict(desc.config_space.get_default_configuration()))
    with pytest.raises(UnknownNameError, match=r"fidelity 'steps'; valid: \['epoch', 'z'\]"):
        loaded.query(hpoglue.Query(config=config, fidelity=("steps", 2)))
    with pytest.raises(InvalidValueError, match=r"epoch=2.5 is not a whole number"):
        loaded.query(hpoglue.Query(config=config, fidelity=("epoch", 2.5)))
    with pytest.raises(InvalidValueError, match="z=99"):
        loaded.query(hpoglue.Query(config=config, fidelity=("z", 99)))


def test_missing_hpoglue_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "hpoglue", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'frozenbench\[hpoglue\]'"):
        description("vit-mnist")
