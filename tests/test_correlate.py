"""``frozenbench correlate``: every (z, epoch), both seed variants, intervals, the heatmap."""

from __future__ import annotations

import pandas as pd

from frozenbench.cli import main
from frozenbench.optimizers.fidelity import fidelity_levels
from frozenbench.synthetic import make_benchmark, write_benchmark


def test_correlate_cli(tmp_path, capsys):
    d = write_benchmark(tmp_path / "b", n_configs=20, n_z=3, n_epochs=4)
    assert main(["correlate", str(d), "--bootstrap", "50", "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    for text in ("shared seed", "cross seed", "seed-noise ceiling", "Kendall", "epoch 4",
                 "cost monotone in z", "correlation rises with z", "linear diagonal"):
        assert text in out, text
    csv = pd.read_csv(tmp_path / "o" / "correlations.csv")
    assert len(csv) == 3 * 4 * 2  # every (z, epoch) in both variants
    assert (csv["spearman_low"] <= csv["spearman_high"]).all()
    assert {"kendall", "top_k_overlap_at_5", "regret_at_10"} <= set(csv.columns)
    for name in ("heatmap.png", "correlations.png", "diagonal.png", "formalism.csv",
                 "diagonal.csv"):
        assert (tmp_path / "o" / name).stat().st_size > 0, name


def test_bad_arguments_are_reported_together(tmp_path, capsys):
    d = write_benchmark(tmp_path / "b", n_configs=6, n_z=2, n_epochs=2)
    assert main(["correlate", str(d), "--bootstrap", "3", "--metric", "nope"]) == 1
    err = capsys.readouterr().err
    assert "--bootstrap 3" in err and "nope" in err


def test_diagonal_paths_by_name():
    bench = make_benchmark(n_configs=6, n_z=6, n_epochs=6)
    f = bench.fidelity_values
    assert fidelity_levels(f, "z+epoch-linear") == [(z, z) for z in range(1, 7)]
    assert fidelity_levels(f, "z+epoch-geometric") == [(2, 2), (6, 6)]  # eta 3: 6, 2
    assert fidelity_levels(f, "z+epoch") == fidelity_levels(f, "z+epoch-geometric")
