"""Live verification re-runs table cells with the one training code path and compares."""

from __future__ import annotations

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from frozenbench.cell import Cell
from frozenbench.cli import main as cli
from frozenbench.generation.launch import run
from frozenbench.generation.merge import merge
from frozenbench.generation.spec import load_spec
from frozenbench.manifest import Manifest, describe_files
from frozenbench.table import Benchmark
from frozenbench.verify import sample_cells, verify_cells


def _debug_table(root, z: str, seeds: str):
    """A real debug-mnist table made by the pipeline (every config) under ``root``."""
    spec_file = root / "spec.toml"
    spec_file.write_text(
        f'benchmark = "debug-mnist"\ntask = "debug-mnist"\nconfigs = "all"\nz = {z}\n'
        f'output = "{root / "out"}"\n[seeds]\nbase = {seeds}\n'
        "[resources]\ngpus = 0\ncpus = 1\nmem_gb = 1\ntime_min = 10\n"
        "[packing]\ncells_per_job = 8\nconcurrent = 1\n"
    )
    spec = load_spec(spec_file)
    run(spec, "debug")
    merge(spec, dest=root / "table")
    return root / "table"


@pytest.fixture(scope="module")
def table_dir(tmp_path_factory):
    """4 configs x z {1, 6} x seed 0."""
    return _debug_table(tmp_path_factory.mktemp("verify"), "[1, 6]", "[0]")


@pytest.fixture(scope="module")
def two_seed_dir(tmp_path_factory):
    """The same task with seeds 0 and 1 at z=6 only (8 cells): a table with a seed spread."""
    return _debug_table(tmp_path_factory.mktemp("verify2"), "[6]", "[0, 1]")


def test_rerun_reproduces_the_table_bit_for_bit(table_dir):
    bench = Benchmark.from_directory(table_dir)
    cells = sample_cells(bench, 2, seed=1)
    result = verify_cells(bench, cells)
    assert len(result) == 2 * len(bench.fidelities["epoch"])
    for col in ("train_loss", "val_loss", "val_error", "train_flops"):
        assert (result[f"{col}_absdiff"] == 0).all(), result
    assert (result["time_ratio"] > 0).all()


def test_a_tampered_table_is_caught(table_dir, tmp_path, capsys):
    # Shift one cell's validation loss and re-sign the manifest so that the table still loads:
    # the live re-run must expose the difference and the CLI must fail.
    bench = Benchmark.from_directory(table_dir)
    config_id = int(bench.config_ids[0])
    table = pq.read_table(table_dir / "table.parquet")
    hit = pc.and_(pc.equal(table["config_id"], config_id), pc.equal(table["z"], 1))
    shifted = pc.if_else(hit, pc.add(table["val_loss"], 0.25), table["val_loss"])
    table = table.set_column(table.schema.get_field_index("val_loss"), "val_loss", shifted)
    pq.write_table(table, tmp_path / "table.parquet")
    manifest = Manifest.read(table_dir)
    # Say the table ran other CPU kernels than this machine's: the CLI must tell.
    hardware = [{**h, "cpu_capability": "DEFAULT"} for h in manifest.provenance["hardware"]]
    data = {**manifest.__dict__, "files": describe_files(tmp_path, ["table.parquet"]),
            "provenance": {**manifest.provenance, "hardware": hardware}}
    Manifest(**data).write(tmp_path)

    code = cli(["verify", str(tmp_path), "--config-id", str(config_id),
                "--z", "1", "--seed", "0"])
    out = capsys.readouterr().out
    assert code == 1
    assert "1 cell(s) re-run: differs" in out and "0.25" in out
    assert "the table's cells ran torch's DEFAULT CPU kernels" in out
    assert "unofficial table debug-mnist (no official table has this name)" in out
    assert "yardstick comes from the table itself" in out


def test_a_rerun_on_the_tables_machine_class_is_held_to_bit_identity(table_dir):
    from frozenbench.verify import verify

    bench = Benchmark.from_directory(table_dir)
    assert not bench.official
    result = verify(bench, sample_cells(bench, 1, seed=3))
    (cell,) = result.cells
    assert cell.same_class and cell.verdict == "identical" and cell.second_seed is None


def test_a_cell_within_the_tables_noise_is_checked_with_a_live_second_seed(two_seed_dir,
                                                                          tmp_path):
    # A nudge within the table's seed noise on another machine class (the provenance says
    # DEFAULT kernels): step 2 finds it within seed noise, so the unofficial table's cell is
    # re-run with seed 1 (step 3), which an honest nudge passes and a shift does not.
    from frozenbench.verify import verify

    table_dir = two_seed_dir
    bench = Benchmark.from_directory(table_dir)
    cell = sample_cells(bench, 1, seed=3)[0]
    for nudge, expected in ((1e-6, "within seed noise"), (0.25, "differs")):
        d = tmp_path / str(nudge)
        d.mkdir()
        table = pq.read_table(table_dir / "table.parquet")
        hit = pc.and_(pc.equal(table["config_id"], cell.config_id),
                      pc.equal(table["seed"], cell.seed))
        table = table.set_column(table.schema.get_field_index("val_loss"), "val_loss",
                                 pc.if_else(hit, pc.add(table["val_loss"], nudge),
                                            table["val_loss"]))
        pq.write_table(table, d / "table.parquet")
        m = Manifest.read(table_dir)
        hardware = [{**h, "cpu_capability": "DEFAULT"} for h in m.provenance["hardware"]]
        Manifest(**{**m.__dict__, "files": describe_files(d, ["table.parquet"]),
                    "provenance": {**m.provenance, "hardware": hardware}}).write(d)
        result = verify(Benchmark.from_directory(d), [cell])
        (judged,) = result.cells
        assert not judged.same_class and judged.verdict == expected, judged
        if nudge < 1e-3:  # step 2 let it pass, so step 3 ran: the live seed 1 was far off
            assert judged.second_seed == cell.seed + 1 and judged.seed_ratio < 1e-3


def test_cells_missing_from_the_table_are_refused(table_dir):
    bench = Benchmark.from_directory(table_dir)
    with pytest.raises(ValueError, match=r"z=3 is out of range for debug-mnist \(z in \[1, 6\]\)"):
        verify_cells(bench, [Cell(int(bench.config_ids[0]), 3, 0)])
    with pytest.raises(ValueError, match="n=99 cells"):
        sample_cells(bench, 99)


def test_verdicts_judge_differences_in_seed_noise_units():
    import numpy as np
    import pandas as pd

    from frozenbench.synthetic import make_benchmark
    from frozenbench.verify import NOISE_UNITS, seed_spread, verdict

    bench = make_benchmark(n_configs=8, n_z=3, n_epochs=4)
    spread = seed_spread(bench, "val_loss")
    assert np.isfinite(spread).all() and (spread > 0).all()
    sd = float(spread[-1, -1])
    row = {"val_loss_absdiff": 0.0, "val_loss_units": 0.0, "train_flops_absdiff": 0.0}
    assert verdict(pd.DataFrame([row])) == "identical"
    noisy = {**row, "val_loss_absdiff": 0.5 * sd, "val_loss_units": 0.5}
    assert verdict(pd.DataFrame([noisy])) == "within seed noise"
    far = {**row, "val_loss_absdiff": 3 * NOISE_UNITS * sd, "val_loss_units": 3 * NOISE_UNITS}
    assert verdict(pd.DataFrame([noisy, far])) == "differs"
    flops = {**noisy, "train_flops_absdiff": 1.0}  # FLOPs do not depend on the seed
    assert verdict(pd.DataFrame([flops])) == "differs"
    from frozenbench.verify import noise_threshold

    with pytest.raises(ValueError, match=r"quantile=1.5 must lie in \(0, 1\]"):
        noise_threshold(bench, quantile=1.5)


def test_a_metric_absent_on_both_sides_agrees_and_one_missing_value_differs():
    # Bug: a language-model table has no val_error (NaN in the table and in the re-run), so
    # its difference was NaN, counted as infinitely many seed deviations, and a re-run within
    # seed noise (1e-7 off on another CPU) was judged "differs". Absent on both sides is
    # agreement; a value present on one side only is a difference.
    import numpy as np
    import pandas as pd

    from frozenbench.verify import compare_curves, verdict

    epochs = pd.Index([1, 2], name="epoch")
    table = pd.DataFrame({"train_loss": [4.6, 3.2], "val_loss": [3.5, 3.0],
                          "val_error": [np.nan, np.nan], "train_flops": [1e9, 2e9]},
                         index=epochs)
    live = table.assign(val_loss=[3.5 + 2e-7, 3.0])
    spread = {"train_loss": np.array([0.05, 0.05]), "val_loss": np.array([0.05, 0.05]),
              "val_error": np.array([np.nan, np.nan])}
    out = compare_curves(table, live, spread)
    assert out["val_error_absdiff"].tolist() == [0.0, 0.0]
    assert verdict(out) == "within seed noise"
    assert verdict(compare_curves(table, table, spread)) == "identical"

    lost = compare_curves(table, table.assign(val_loss=[3.5, np.nan]), spread)
    assert lost["val_loss_absdiff"].tolist() == [0.0, np.inf]
    assert verdict(lost) == "differs"


@pytest.mark.parametrize("name", ["mnist1d-cnn", "pystdlib-llama"])
def test_another_seed_is_within_seed_noise_and_a_shift_is_not(name):
    # Bug: on an AMD EPYC a re-run of a shipped table (made on another CPU) follows another
    # trajectory, as another seed would, and was judged "differs": the threshold (2 median
    # seed standard deviations at every epoch) was exceeded by most of the table's own seed
    # pairs. Seed 1 of a cell, compared as if it were a re-run of seed 0, must be judged
    # within seed noise for (nearly) every config; the same curve shifted by 1.0 (a visible
    # tamper) must not.
    import numpy as np

    from frozenbench.registry import load
    from frozenbench.verify import NOISY, compare_curves, noise_threshold, seed_spread, verdict

    bench = load(name)
    threshold = noise_threshold(bench)
    full = len(bench.fidelities["z"]) - 1
    spread = {m: seed_spread(bench, m)[full] for m in NOISY}  # all NaN: no val_error (LM)
    judged = []
    shifted = []
    for config_id in bench.config_ids:
        config = bench.space.config(int(config_id))
        z = int(bench.fidelities["z"][full])
        table = bench.curve(config, z, seed=0)
        other = bench.curve(config, z, seed=1)
        judged.append(verdict(compare_curves(table, other, spread), threshold))
        moved = other.assign(val_loss=other["val_loss"] + 1.0)
        shifted.append(verdict(compare_curves(table, moved, spread), threshold))
    within = np.mean([v == "within seed noise" for v in judged])
    assert within >= 0.9, (within, threshold)
    assert np.mean([v == "differs" for v in shifted]) >= 0.9, threshold


def test_the_same_machine_class_needs_the_same_training_arithmetic():
    """A table made before the batched runner (its provenance records no arithmetic) is never
    judged by the same-machine rule (bit-identical or differs): the runner's arithmetic changed
    since, so a re-run there would be 'differs' for every cell. Failed before the fix: the
    shipped tables matched on any AVX2 machine with the recorded library versions."""
    from frozenbench import provenance
    from frozenbench.registry import load
    from frozenbench.verify import same_machine_class

    arithmetic = getattr(provenance, "ARITHMETIC", "stacked-1")
    bench = load("kjv-gpt2")
    prov = bench.manifest.provenance
    made = prov["hardware"][0]
    recorded = {k: v for lib in prov["libraries"] for k, v in lib.items() if k != "cells"}
    hardware = {"cpu_capability": made["cpu_capability"], "torch_threads": made["torch_threads"]}
    assert "frozenbench-arithmetic" not in recorded
    assert not same_machine_class(bench, hardware, {**recorded, "frozenbench-arithmetic": arithmetic})
    assert provenance.library_versions()["frozenbench-arithmetic"] == arithmetic
