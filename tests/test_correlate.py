"""``frozenbench correlate``: every (z, epoch), both seed variants, intervals, the heatmap."""

from __future__ import annotations

import pandas as pd
import pytest

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


# ------------------------------------------------- the paper's analyses as one table
def _without_extra_seeds(drop_extra: bool):
    """A synthetic table, or the same table without the seeds only some configs have."""
    import pyarrow.compute as pc

    from frozenbench.synthetic import RESNET_GRID, _manifest, make_table
    from frozenbench.table import Benchmark

    shape = {"n_configs": 24, "n_z": 3, "n_epochs": 4, "diverge_frac": 0.0}
    table, ids, seeds = make_table(**shape)
    if drop_extra:  # seed 2 (three configs) and seed 1 below full z (the same three)
        extra = pc.or_(pc.equal(table.column("seed"), 2),
                       pc.and_(pc.equal(table.column("seed"), 1),
                               pc.less(table.column("z"), shape["n_z"])))
        table = table.filter(pc.invert(extra))
    manifest = _manifest("seeds", "val_error", RESNET_GRID, table, ids, seeds, shape,
                         files={}, cells={})
    return Benchmark.from_arrow(table, manifest)


def test_one_table_per_benchmark_uses_only_the_seeds_every_config_has():
    from frozenbench.analysis.correlation import correlation_grid
    from frozenbench.analysis.fidelity_table import fidelity_table

    full, common = _without_extra_seeds(False), _without_extra_seeds(True)
    assert len(full.to_frame()) > len(common.to_frame())
    a = fidelity_table(full, correlation_grid(full, n_boot=100))
    b = fidelity_table(common, correlation_grid(common, n_boot=100))
    numeric = a.select_dtypes("number").columns.drop("cost_relative")  # costs: every seed
    pd.testing.assert_frame_equal(a[numeric], b[numeric])
    assert len(a) == 3 * 4 and set(a["diagonal_rung"]) == {-1, 0, 1, 2}
    for v in ("cross", "shared"):
        for stat in ("spearman", "kendall"):
            ok = a.dropna(subset=[f"{stat}_{v}"])
            assert (ok[f"{stat}_{v}_low"] <= ok[f"{stat}_{v}"] + 1e-12).all()
            assert (ok[f"{stat}_{v}"] <= ok[f"{stat}_{v}_high"] + 1e-12).all()
    last = a.iloc[-1]
    assert last["spearman_cross"] == pytest.approx(last["ceiling_spearman"])


def test_correlate_cli_prints_and_writes_the_one_table(tmp_path, capsys):
    d = write_benchmark(tmp_path / "b", n_configs=20, n_z=3, n_epochs=4)
    assert main(["correlate", str(d), "--bootstrap", "50", "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    for text in ("in one table", "Spearman cross", "Kendall cross", "vs ceiling",
                 "diagonal - all layers", "rung 2", "cost vs z-1", "corr. vs z-1"):
        assert text in out, text
    table = pd.read_csv(tmp_path / "o" / "fidelity_table.csv")
    assert len(table) == 3 * 4 and "below_ceiling" in table
