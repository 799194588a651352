"""``frozenbench simulate`` end to end on a synthetic table directory."""

from __future__ import annotations

import pandas as pd

from frozenbench.cli import main
from frozenbench.sim.methods import Method
from frozenbench.synthetic import write_benchmark


def test_simulate_cli_writes_summary_plot_and_trajectories(tmp_path, capsys):
    d = write_benchmark(tmp_path / "b", n_configs=30, n_z=4, n_epochs=6)
    out = tmp_path / "out"
    rc = main(["simulate", str(d), "--optimizers", "hyperband:z",
               "hyperband:epoch", "hyperband:z+epoch", "random:full", "sh:1@2,4@6",
               "--runs", "3", "--workers", "2", "--out", str(out), "--no-progress"])
    assert rc == 0
    text = capsys.readouterr().out
    for label in ("hyperband:z ", "hyperband:epoch", "hyperband:z+epoch", "random:full",
                  "sh:1@2,4@6", "final regret", "time to target"):
        assert label in text
    traj = pd.read_parquet(out / "trajectories.parquet")
    assert set(traj["run_seed"]) == {0, 1, 2} and traj["label"].nunique() == 5
    assert (out / "incumbent.png").stat().st_size > 1000
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 5


def test_simulate_cli_errors(tmp_path, capsys):
    d = write_benchmark(tmp_path / "b", n_configs=5, n_z=2, n_epochs=2)
    assert main(["simulate", str(d), "--optimizers", "bohb:z",
                 "--runs", "1", "--no-progress"]) == 1
    assert "unknown optimizer 'bohb'" in capsys.readouterr().err
    assert main(["simulate", str(d), "--optimizers", "sh:1@x",
                 "--runs", "1", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "cannot read fidelity path '1@x'" in err
    # a bare name takes the geometric diagonal by its own name, not the deprecated alias
    assert Method.parse("asha") == Method("asha", "z+epoch-geometric")


def test_simulate_cli_runs_along_the_thaw_schedule(tmp_path, capsys):
    d = write_benchmark(tmp_path / "b", n_configs=30, n_z=4, n_epochs=9, thaw_configs=30,
                        diverge_frac=0.0)
    out = tmp_path / "out"
    rc = main(["simulate", str(d), "--optimizers", "hyperband:thaw", "freezethaw:thaw",
               "asha:thaw", "freezethaw:epoch", "--runs", "2", "--workers", "2",
               "--budget", "5", "--seed", "0", "--out", str(out), "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    text = capsys.readouterr().out
    for label in ("hyperband:thaw", "freezethaw:thaw", "asha:thaw", "freezethaw:epoch"):
        assert label in text
    traj = pd.read_parquet(out / "trajectories.parquet")
    assert traj["label"].nunique() == 4
    thaw = traj[traj["label"] == "freezethaw:thaw"]
    assert ((thaw["z"] == 4) & (thaw["epoch"] == 9)).any()  # the run reaches all layers
    assert (thaw.groupby(["run_seed", "trial"]).size() > 1).any()  # runs were continued


def test_simulate_cli_names_what_a_table_without_thaw_rows_has(tmp_path, capsys):
    d = write_benchmark(tmp_path / "b", n_configs=5, n_z=2, n_epochs=3)
    assert main(["simulate", str(d), "--optimizers", "hyperband:thaw", "freezethaw:z",
                 "--runs", "1", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "no 'thaw' rows; it has only fixed-z rows" in err
    assert "fidelity='z' is not one run continued epoch by epoch" in err
