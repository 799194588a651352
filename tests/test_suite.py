"""The suite: ``fb.benchmarks()`` / ``frozenbench list`` describe every table, and
``run_suite`` / ``frozenbench suite`` compare optimizers over tasks (numbers checked by hand)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata, studentized_range, trim_mean

import frozenbench as fb
from frozenbench import registry
from frozenbench.analysis.seeds import reference_scores
from frozenbench.analysis.suite import run_suite
from frozenbench.cli import main
from frozenbench.errors import InvalidValueError
from frozenbench.manifest import Manifest
from frozenbench.synthetic import write_benchmark
from frozenbench.tasks import get_task

METHODS = {"random:full": ("random", "full"), "hyperband:z": ("hyperband", "z"),
           "asha:z+epoch-linear": ("asha", "z+epoch-linear")}
RUNS = 4


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    root = tmp_path_factory.mktemp("suite")
    return [write_benchmark(root / "ta", name="ta", n_configs=24, n_z=3, n_epochs=6, seed=1),
            write_benchmark(root / "tb", name="tb", n_configs=18, n_z=4, n_epochs=6, seed=2,
                            metric="val_loss")]


@pytest.fixture(scope="module")
def benches(tables):
    return [fb.load(t) for t in tables]


@pytest.fixture(scope="module")
def result(benches):
    return run_suite(benches, METHODS, runs=RUNS, budget_units=4, n_workers=2, n_boot=200)


# ---------------------------------------------------------------------- the numbers
def test_normalised_regret_is_regret_over_median_minus_best(result, tables):
    f = result.finals
    assert len(f) == 2 * len(METHODS) * RUNS * 2  # budgets 1x and 4x
    assert sorted(set(f["budget"])) == [1.0, 4.0]
    for path in tables:
        bench = fb.load(path)
        ref = reference_scores(bench)
        scale = np.median(ref) - ref.min()
        mine = f[f["table"] == bench.name]
        assert np.allclose(mine["scale_median_minus_best"], scale)
        np.testing.assert_allclose(mine["normalized_regret"], mine["regret"] / scale)
        assert (mine["normalized_regret"].dropna() >= 0).all()
        assert set(mine["regret_metric"]) == {bench.metric}  # no test split: validation


def test_aggregate_is_over_per_task_means_with_n_equal_to_tasks(result):
    f, per, agg = result.finals, result.per_task, result.aggregate
    by_hand = f.groupby(["budget", "table", "label"])["normalized_regret"].mean()
    for r in per.itertuples():
        assert r.normalized_regret_mean == pytest.approx(by_hand[(r.budget, r.table, r.label)])
        assert r.runs == RUNS
    for r in agg.itertuples():
        means = by_hand[r.budget].xs(r.label, level="label").to_numpy()
        assert r.normalized_regret_mean == pytest.approx(means.mean())
        assert r.normalized_regret_iqm == pytest.approx(trim_mean(means, 0.25))
        assert r.tasks == 2 and r.n_test == 2  # the task is the unit of every test


def test_ranks_are_over_tasks_of_the_per_task_means(result):
    f, agg = result.finals, result.aggregate
    m = len(METHODS)
    for budget, at in agg.groupby("budget"):
        sub = f[f["budget"] == budget]
        worst = sub.groupby("table")["regret"].transform("max") + 1.0
        wide = sub.assign(regret=sub["regret"].fillna(worst)).pivot_table(
            index="table", columns="label", values="regret", aggfunc="mean")
        by_hand = pd.Series(rankdata(wide.to_numpy(), axis=1).mean(axis=0), index=wide.columns)
        for r in at.itertuples():
            assert r.average_rank == pytest.approx(by_hand[r.label])
        cd = studentized_range.ppf(0.95, m, np.inf) / np.sqrt(2) * np.sqrt(m * (m + 1) / 12)
        assert at["critical_difference"].to_numpy() == pytest.approx(cd)  # N = 2 tasks
        assert at["average_rank"].mean() == pytest.approx((m + 1) / 2)
        assert list(at["average_rank"]) == sorted(at["average_rank"])  # best first
    for _, g in result.per_task.groupby(["table", "budget"]):
        assert g["average_rank"].between(1, m).all()
        assert g["average_rank"].mean() == pytest.approx((m + 1) / 2)


def test_intervals_hold_the_estimates(result):
    p, a = result.per_task, result.aggregate
    assert (p["normalized_regret_low"] <= p["normalized_regret_mean"]).all()
    assert (p["normalized_regret_mean"] <= p["normalized_regret_high"]).all()
    for name in ("iqm", "mean"):
        col = f"normalized_regret_{name}"
        assert (a[f"{col}_low"] <= a[col]).all() and (a[col] <= a[f"{col}_high"]).all()
    for frame in (p, a):
        assert (frame["rank_low"] <= frame["average_rank"]).all()
        assert (frame["average_rank"] <= frame["rank_high"]).all()


def test_anytime_curves_per_task_and_over_tasks(result):
    any_ = result.anytime
    assert set(any_["table"]) == {"ta", "tb", "all tasks"}
    budgets = np.sort(any_["budget"].unique())
    assert budgets[0] == pytest.approx(0.1) and budgets[-1] == pytest.approx(4.0)
    ok = any_.dropna(subset=["estimate"])
    assert (ok["low"] <= ok["estimate"] + 1e-12).all()
    assert (ok["estimate"] <= ok["high"] + 1e-12).all()


def test_library_errors_name_the_valid_values(benches):
    with pytest.raises(InvalidValueError) as err:
        run_suite(benches, {"x": ("bohb", "z"), "y": ("sh", [(9, 6)])}, runs=0)
    text = str(err.value)
    assert "runs=0 must be a positive integer" in text
    assert "x: unknown optimizer 'bohb'; valid: ['random', 'sh', 'hyperband', 'asha', " \
        "'freezethaw', 'optuna:tpe+hyperband'" in text
    assert "y on ta: z=9 is out of range for ta (z in 1..3)" in text
    with pytest.raises(InvalidValueError, match="benchmarks named twice: \\['ta'\\]"):
        run_suite([benches[0], benches[0]], METHODS)
    # names are resolved at the API edge (fb.load, the CLI), not by the analysis
    with pytest.raises(InvalidValueError, match=re.escape(
            "each benchmark must be a loaded Benchmark, got 'nope'; load it with "
            "fb.load('nope')")):
        run_suite(["nope"], METHODS)


# ---------------------------------------------------------------------- the CLI
def test_suite_cli_end_to_end(tables, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["suite", "--benchmarks", *map(str, tables), "--optimizers", "random:full",
               "hyperband:z", "sh:1@2,3@6", "--runs", "3", "--workers", "2", "--budget", "4",
               "--bootstrap", "100", "--out", str(out), "--no-progress"])
    assert rc == 0
    text = capsys.readouterr().out
    for word in ("ta", "tb", "random:full", "hyperband:z", "sh:1@2,3@6", "normalised regret",
                 "average rank", "over 2 tasks at 1x", "over 2 tasks at 4x", "N = 2 tasks",
                 "Nemenyi", "Friedman p", "regret / (median - best)"):
        assert word in text
    agg = pd.read_csv(out / "aggregate.csv")
    assert sorted(set(agg["label"])) == ["hyperband:z", "random:full", "sh:1@2,3@6"]
    assert (agg["n_test"] == 2).all() and len(agg) == 6
    assert len(pd.read_csv(out / "per_task.csv")) == 12
    finals = pd.read_csv(out / "finals.csv")
    assert len(finals) == 36 and {"regret_metric", "scale_median_minus_best"} <= set(finals)
    assert set(pd.read_csv(out / "anytime.csv")["table"]) == {"ta", "tb", "all tasks"}
    assert (out / "anytime.png").stat().st_size > 1000
    traj = pd.read_parquet(out / "trajectories.parquet")
    assert set(traj["table"]) == {"ta", "tb"} and set(traj["run_seed"]) == {0, 1, 2}
    assert (out / "suite.png").stat().st_size > 1000


def test_suite_cli_reports_every_bad_input_at_once(tables, capsys):
    rc = main(["suite", "--benchmarks", str(tables[0]), "nope", "--optimizers", "bohb:z",
               "random", "--runs", "0", "--no-progress"])
    assert rc == 1
    err = capsys.readouterr().err
    assert "--runs 0 must be positive" in err
    assert "unknown benchmark 'nope'; valid: [" in err and "mnist-resnet" in err
    assert "--optimizers bohb:z: unknown optimizer 'bohb'; valid: ['random', 'sh', " in err
    rc = main(["suite", "--benchmarks", str(tables[0]), "--optimizers", "sh:1@2,7@6",
               "--no-progress"])
    assert rc == 1
    assert "z=7 is out of range for ta (z in 1..3)" in capsys.readouterr().err


# ---------------------------------------------------------------------- listing
def test_benchmarks_describe_the_shipped_tables():
    infos = {b.name: b for b in fb.benchmarks()}
    assert [b for b in fb.benchmark_names() if b in infos] == list(infos)
    shipped = registry.shipped()
    assert {"mnist-resnet", "kjv-gpt2"} <= set(shipped)
    for name in shipped:
        b, m = infos[name], Manifest.read(registry.DATA_DIR / name)
        task = get_task(m.task)
        assert b.where == "shipped" and b.task == m.task and b.known
        assert b.n_layers == task.n_layers and b.z == tuple(m.fidelities["z"])
        assert b.n_configs == len(m.config_ids) and b.seeds == tuple(m.seeds)
        assert b.rows == m.rows and b.metric == m.metric == task.metric
        table_bytes = sum(int(meta["bytes"]) for meta in m.files.values())
        assert table_bytes < b.size_bytes < table_bytes + 100_000
    assert infos["mnist-resnet"].family == "ResNet" and infos["kjv-gpt2"].family == "GPT-2"
    assert (infos["mnist-resnet"].n_configs, infos["mnist-resnet"].grid_size) == (144, 216)


def test_list_prints_family_n_configs_seeds_and_size(tables, monkeypatch, capsys):
    from frozenbench import hub

    monkeypatch.setitem(hub.PUBLISHED, "not-downloaded", hub.HubRef("ns/x", "0" * 40))
    assert main(["list", str(tables[1]), "./nowhere"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "where", "family", "n", "configs", "seeds", "epochs",
                                "z", "metric", "size"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["mnist-resnet"][1:6] == ["shipped", "ResNet", "10", "144/216", "0..2"]
    assert rows["mnist-resnet"][-1] == "KiB"
    assert rows["kjv-gpt2"][1:5] == ["shipped", "GPT-2", "5", "36"]
    assert rows[str(tables[1])][1:9] == ["directory", "?", "4", "18/216", "0..2", "1..6",
                                         "1..4", "val_loss"]
    assert rows["not-downloaded"][1:] == ["hub"] + ["?"] * 8
    assert "./nowhere: unreadable: no manifest.json" in "\n".join(lines)


def test_hpo_library_optimizers_are_spelt_as_for_simulate(tmp_path, capsys):
    pytest.importorskip("optuna")
    d = write_benchmark(tmp_path / "full", name="full", n_z=3, n_epochs=6,
                        grid={"lr": [1e-4, 1e-3, 1e-2, 1e-1], "wd": [0.0, 0.1, 0.2]})
    rc = main(["suite", "--benchmarks", str(d), "--optimizers", "optuna:tpe+median",
               "random:full", "--runs", "2", "--bootstrap", "50", "--no-progress"])
    assert rc == 0
    assert "optuna:tpe+median" in capsys.readouterr().out
    with pytest.raises(InvalidValueError, match=re.escape("optuna:tpe+median takes no fidelity")):
        run_suite([fb.load(d)], {"x": ("optuna:tpe+median", "z")})


def test_eleven_methods_keep_their_critical_difference(benches):
    """The old hard-coded Nemenyi table stopped at 10 methods: the 11th made it NaN."""
    methods = {f"{o}:{f}": (o, f) for o in ("sh", "hyperband", "asha")
               for f in ("z", "epoch", "z+epoch-geometric")}
    methods |= {"random:full": ("random", "full"), "asha:z+epoch-linear":
                ("asha", "z+epoch-linear")}
    assert len(methods) == 11
    result = run_suite(benches, methods, runs=2, budget_units=2, n_workers=2, n_boot=50)
    agg = result.aggregate
    assert np.isfinite(agg["critical_difference"]).all()
    assert (agg["n_test"] == len(benches)).all()
    k, n = 11, len(benches)
    cd = studentized_range.ppf(0.95, k, np.inf) / np.sqrt(2) * np.sqrt(k * (k + 1) / (6 * n))
    assert agg["critical_difference"].to_numpy() == pytest.approx(cd)


def test_suite_figures_fit_their_canvas(result, tmp_path, monkeypatch):
    from frozenbench import plot

    seen = {}
    save = plot.save_figure

    def checked(fig, path):
        out = save(fig, path)
        seen[out.name] = plot.overflow(fig)
        return out

    monkeypatch.setattr(plot, "save_figure", checked)
    full = result.aggregate["budget"] == result.budget_units
    plot.plot_suite(result.aggregate[full], tmp_path / "suite.png", per_task=result.per_task)
    plot.plot_anytime(result.anytime, tmp_path / "anytime.png", title="two tasks")
    plot.plot_incumbents(result.comparisons[0].runs, tmp_path / "incumbent.png")
    assert seen == {"suite.png": {}, "anytime.png": {}, "incumbent.png": {}}
