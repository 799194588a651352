"""The shipped CPU tables: made by the pipeline from the committed shards, and fit to rank.

Each shipped benchmark must (issue 4): come from ``frozenbench generate merge`` of the shards in
``generation/output/<name>`` (re-merged here and compared), cover >= 48 configs at every z and
epoch, have a second seed at full z for every config and >= 3 seeds at every z on >= 10% of the
configs, and a seed-noise ceiling of at least 0.9.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import frozenbench as fb
from frozenbench.analysis import seed_ceiling
from frozenbench.generation.merge import merge
from frozenbench.generation.spec import load_spec
from frozenbench.manifest import TABLE_NAME
from frozenbench.registry import DATA_DIR, shipped
from frozenbench.schema import SCHEMA_VERSION

REPO = Path(__file__).resolve().parent.parent
SHIPPED = shipped()


def test_the_default_table_is_shipped():
    assert "mnist-resnet" in SHIPPED


@pytest.fixture(params=SHIPPED)
def bench(request):
    return fb.load(request.param)


def test_seed_design_and_coverage(bench):
    present = bench.seed_mask()  # [config, z, seed] at the last epoch
    n_configs, n_z, _ = present.shape
    assert n_configs >= 48 and n_z == bench.manifest.fidelity_values().n_layers
    assert present[:, :, bench.seeds.index(0)].all(), "seed 0 at every (config, z)"
    assert (present[:, -1, :].sum(axis=1) >= 2).all(), "a second seed at full z everywhere"
    three_everywhere = (present.sum(axis=2) >= 3).all(axis=1)
    assert three_everywhere.mean() >= 0.10
    assert sum(bench.manifest.cells.values()) == int(present.sum())
    assert bench.manifest.cells.get("failed", 0) == 0 == bench.manifest.cells.get("missing", 0)


def test_seed_noise_ceiling_allows_ranking(bench):
    rho, n = seed_ceiling(bench)
    assert n >= 48
    assert rho >= 0.9, f"{bench.name}: seed-vs-seed Spearman {rho:.3f} < 0.9"


def test_best_and_worst_configs_are_far_apart(bench):
    full = bench.full_fidelity_scores()
    spread = np.nanmax(full) - np.nanmin(full)
    seeds = bench.objective(per_seed=True)[:, -1, -1, :2]
    noise = np.nanmean(np.abs(seeds[:, 0] - seeds[:, 1]))
    assert spread > 5 * noise


def test_table_is_the_merge_of_the_committed_shards(bench, tmp_path):
    if bench.manifest.schema_version < SCHEMA_VERSION:
        pytest.skip(f"{bench.name}: a schema-{bench.manifest.schema_version} table, made by an "
                    "earlier pipeline; the current one cannot re-merge it")
    spec = load_spec(bench.name)
    out = REPO / "generation" / "output" / bench.name
    manifest = merge(spec, out=out, dest=tmp_path, progress=False)
    assert manifest.rows == bench.manifest.rows
    shipped = pd.read_parquet(DATA_DIR / bench.name / TABLE_NAME)
    again = pd.read_parquet(tmp_path / TABLE_NAME)
    pd.testing.assert_frame_equal(shipped, again)


def test_main_job_runs_on_the_default_table(tmp_path, capsys):
    from frozenbench.cli import main as cli

    code = cli(["simulate", "mnist-resnet", "--optimizers", "hyperband:z",
                "random:full", "--runs", "2", "--workers", "4", "--budget", "20",
                "--out", str(tmp_path), "--no-progress"])
    assert code == 0
    assert "hyperband:z" in capsys.readouterr().out
    traj = pd.read_parquet(tmp_path / "trajectories.parquet")
    assert set(traj["label"]) == {"hyperband:z", "random:full"}
    assert set(traj["run_seed"]) == {0, 1}
    assert (tmp_path / "incumbent.png").stat().st_size > 10_000
