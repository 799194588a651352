"""The generation pipeline without SLURM: specs, shards, resumability, merge, manifest, packing.

Bookkeeping tests use the torch-free fake task (frozenbench.generation.fake) with the in-process debug
executor; the local executor and the real runner (debug-mnist) are exercised at the end.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from frozenbench.cell import Cell, CellJob
from frozenbench.generation.launch import chunk_cells, run, status
from frozenbench.generation.merge import MergeError, merge
from frozenbench.generation.one_cell import RunContext
from frozenbench.generation.spec import GridSpec, SpecError, available_specs, load_spec
from frozenbench.generation.store import CELL_METADATA, ROWS_SHA256, ShardStore
from frozenbench.generation.worker import CellChunk
from frozenbench.manifest import Manifest
from frozenbench.schema import KEY_COLUMNS
from frozenbench.table import Benchmark

REPO = Path(__file__).resolve().parent.parent
FAKE = {"task": "fake", "task_module": "frozenbench.generation.fake"}


# ------------------------------------------------------------------------------------ specs
def test_invalid_spec_reports_every_problem_with_valid_names(write_spec):
    path = write_spec(task="debug-mnist", sedes=[0], configs={"subset": 0, "sed": 1},
                      seeds={"base": [0, 0], "full": [1]}, packing={"concurent": 2},
                      resources={"gpus": -1, "queue": "x"})
    with pytest.raises(SpecError) as err:
        load_spec(path)
    msg = str(err.value)
    for needle in ["unknown key 'sedes'", "'task_module'", "unknown key 'configs.sed'",
                   "configs.subset must be int", "seeds.base must be a list of distinct",
                   "unknown key 'seeds.full'", "'full_z'", "unknown key 'packing.concurent'",
                   "'concurrent'", "resources.gpus must be int", "unknown key 'resources.queue'",
                   "'partition'"]:
        assert needle in msg, (needle, msg)
    assert isinstance(err.value, ValueError)


def test_spec_needs_task_and_checks_it_against_the_task(write_spec):
    with pytest.raises(SpecError, match="missing required key 'task'"):
        GridSpec.from_dict({"z": "all"})
    spec = load_spec(write_spec(task="debug-mnist", z=[1, 9], configs={"subset": 5, "seed": 0}))
    with pytest.raises(SpecError) as err:
        spec.plan()
    assert "z values [9] are out of range" in str(err.value)
    assert "configs.subset=5 exceeds the grid of debug-mnist (4 configs)" in str(err.value)
    with pytest.raises(SpecError, match="shipped specs"):
        load_spec("no-such-spec")


def _seed_structure(name):
    spec = load_spec(name)
    plan = spec.plan()
    task = plan.task
    cells = {(c.config_id, c.z, c.seed) for c in plan.cells}
    full = max(task.fidelities.z)
    per_config_z = {(c, z): {s for (cc, zz, s) in cells if (cc, zz) == (c, z)}
                    for c in plan.config_ids for z in task.fidelities.z}
    return spec, plan, cells, full, per_config_z


@pytest.mark.parametrize("name", ["mnist-resnet", "kjv-gpt2"])
def test_shipped_cpu_specs_cover_the_required_cells(name):
    spec, plan, _, full, per = _seed_structure(name)
    # The whole grid minus the configs that are duplicates by construction (SGD has no beta2).
    assert plan.config_ids == plan.task.distinct_config_ids() and len(plan.config_ids) >= 36
    assert plan.z == list(plan.task.fidelities.z)  # every z
    assert all(len(per[(c, z)]) >= 1 for c in plan.config_ids for z in plan.z)
    assert all(len(per[(c, full)]) >= 2 for c in plan.config_ids)  # second seed at full z
    many = [c for c in plan.config_ids if all(len(per[(c, z)]) >= 3 for z in plan.z)]
    assert len(many) >= 0.1 * len(plan.config_ids)
    assert spec.resources.gpus == 0


@pytest.mark.parametrize("name", ["resnet18-cifar100", "gpt2-14m-slimpajama"])
def test_shipped_paper_specs_are_full_grids_on_gpus(name):
    spec, plan, *_ = _seed_structure(name)
    assert plan.config_ids == list(range(len(plan.task.space)))
    assert plan.z == list(plan.task.fidelities.z)
    # one cell per GPU: the recorded cost is measured without interference
    assert spec.resources.gpus >= 1 and spec.packing.concurrent == 1


def test_every_shipped_spec_loads():
    assert {"debug-mnist", "mnist-resnet", "kjv-gpt2", "resnet18-cifar100",
            "gpt2-14m-slimpajama"} <= set(available_specs())
    for name in available_specs():
        assert load_spec(name).plan().cells


# ------------------------------------------------------------------------ run, status, merge
def fake_spec(write_spec, **over):
    data = {**FAKE, "z": "all", "seeds": {"base": [0], "full_z": [1]},
            "packing": {"cells_per_job": 5}, **over}
    return load_spec(write_spec(**data))


def shards_of(out):
    return sorted(p.name for p in (Path(out) / "shards").iterdir())


def test_failed_cells_are_recorded_reported_and_retried(write_spec, tmp_path, monkeypatch):
    spec = fake_spec(write_spec)
    n = len(spec.plan().cells)  # 6 configs x 3 z + 6 second seeds at z=3
    assert n == 24
    monkeypatch.setenv("FROZENBENCH_FAKE_FAIL", "1")
    res = run(spec, "debug")
    # configs 2 and 5 have mode "fail": 4 cells each
    assert res.counts == {"ok": 8, "diverged": 8, "failed": 8, "pending": 0}
    assert not res.complete
    record = json.loads(next((tmp_path / "out" / "failed").iterdir()).read_text())
    assert "RuntimeError: scripted failure" in record["error"]
    assert "Traceback" in record["traceback"] and record["attempts"] == 1
    st = status(spec)
    assert st.counts == {"ok": 8, "diverged": 8, "failed": 8, "pending": 0}
    assert len(st.failures) == 8 and st.failures[0].cell == Cell(2, 1, 0)
    assert st.failures[0].attempts == 1 and "scripted failure" in st.failures[0].error
    with pytest.raises(MergeError) as err:
        merge(spec, dest=tmp_path / "dest")
    assert "8 failed" in str(err.value) and "c00002-z01-s0" in str(err.value)

    # --allow-missing: merged, and the failed cells are listed in the manifest
    man = merge(spec, dest=tmp_path / "partial", allow_missing=True)
    assert man.cells == {"ok": 8, "diverged": 8, "failed": 8, "missing": 0}
    assert len(man.failed_cells) == 8 and man.failed_cells[0]["status"] == "failed"

    # a rerun retries only the failed cells; the others are not run again
    before = {p: os.stat(tmp_path / "out" / "shards" / p).st_mtime_ns
              for p in shards_of(tmp_path / "out")}
    monkeypatch.delenv("FROZENBENCH_FAKE_FAIL")
    res = run(spec, "debug")
    assert res.submitted_cells == 8 and res.complete
    assert res.counts == {"ok": 16, "diverged": 8, "failed": 0, "pending": 0}
    assert not list((tmp_path / "out" / "failed").iterdir())
    for p, t in before.items():
        assert os.stat(tmp_path / "out" / "shards" / p).st_mtime_ns == t
    # idempotent: nothing left to do
    assert run(spec, "debug").submitted_cells == 0


def test_merge_writes_a_sorted_validated_table_and_manifest(write_spec, tmp_path):
    spec = fake_spec(write_spec)
    run(spec, "debug")
    dest = tmp_path / "dest"
    man = merge(spec, dest=dest)
    man.verify(dest)
    assert Manifest.read(dest) == man
    meta = pq.ParquetFile(dest / "table.parquet").metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"
    df = pd.read_parquet(dest / "table.parquet")
    assert not df.duplicated(list(KEY_COLUMNS)).any()
    assert list(df.sort_values(["config_id", "z", "seed", "epoch"]).index) == list(df.index)
    assert man.rows == len(df) and man.cells == {"ok": 16, "diverged": 8, "failed": 0,
                                                  "missing": 0}
    # diverged cells keep the epochs they finished, ok cells have all of them
    epochs = df.groupby(["config_id", "z", "seed"])["epoch"].count()
    status_of = df.groupby(["config_id", "z", "seed"])["status"].first()
    assert set(epochs[status_of == "ok"]) == {3} and set(epochs[status_of == "diverged"]) == {1}
    assert man.task == "fake" and man.seeds == [0, 1] and man.config_ids == list(range(6))
    assert man.spec["task_module"] == "frozenbench.generation.fake" and man.code_version
    assert "cpu" in man.hardware and man.fidelities == {"z": [1, 2, 3], "epoch": [1, 2, 3]}
    # schema v3: every row a fixed-z row, the test metrics carried through to queries
    assert man.schema_version == 3 and set(df["schedule"]) == {"fixed"}
    ok = df[df.status == "ok"]
    assert np.allclose(ok.test_loss, ok.val_loss * 1.1)
    bench = Benchmark.from_directory(dest)
    r = bench.query(0, 3, seed=0)
    assert r.test_loss == pytest.approx(r.val_loss * 1.1) and len(bench.schedule_rows) == 0


def test_merge_refuses_missing_cells_and_bad_shards(write_spec, tmp_path):
    spec = fake_spec(write_spec)
    run(spec, "debug")
    shards = tmp_path / "out" / "shards"
    victim = shards / "c00000-z02-s0.ok.parquet"
    own = pq.read_table(victim)
    victim.unlink()
    with pytest.raises(MergeError, match="1 never ran"):
        merge(spec, dest=tmp_path / "d")
    # a shard that lost an epoch (e.g. edited by hand) is caught
    pq.write_table(own.slice(0, 2), victim)
    with pytest.raises(MergeError, match=r"epochs \[1, 2\], expected all of \[1, 2, 3\]"):
        merge(spec, dest=tmp_path / "d")
    # a shard holding another cell's rows is caught too (no silent duplicates)
    pq.write_table(pq.read_table(shards / "c00000-z01-s0.ok.parquet"), victim)
    with pytest.raises(MergeError, match="holds rows of cells"):
        merge(spec, dest=tmp_path / "d")


def test_shard_writes_are_atomic(write_spec, tmp_path, monkeypatch):
    spec = fake_spec(write_spec, seeds={"base": [0]}, z=[1])
    def crash(table, where, **kw):
        where.write(b"PAR1 half a file")  # the open temporary file (frozenbench.atomic)
        raise KeyboardInterrupt  # a kill in the middle of the write

    monkeypatch.setattr("pyarrow.parquet.write_table", crash)
    store = ShardStore(tmp_path / "out")
    store.init({"task": "fake", "benchmark": "fake"})
    chunk = _chunk(spec, store.root, [Cell(0, 1, 0)])
    with pytest.raises(KeyboardInterrupt):
        chunk()
    assert list(store.shards.iterdir()) == []  # no partial shard, no temporary left behind
    assert store.scan().done == {}


def test_checkpoint_resubmits_only_the_remaining_cells(write_spec, tmp_path):
    spec = fake_spec(write_spec)
    run(spec, "debug")
    store = ShardStore(tmp_path / "out")
    cells = [Cell(0, 1, 0), Cell(0, 2, 0), Cell(3, 3, 0)]
    (store.shards / "c00000-z02-s0.ok.parquet").unlink()
    chunk = _chunk(spec, store.root, cells)
    delayed = chunk.checkpoint()
    assert delayed.function.jobs == [CellJob("fake", 0, 2, 0)]
    assert delayed.function() == {"ok": 1, "diverged": 0, "failed": 0, "skipped": 0}
    assert chunk() == {"ok": 0, "diverged": 0, "failed": 0, "skipped": 3}


def test_other_benchmark_in_output_dir_is_refused(write_spec, tmp_path):
    run(fake_spec(write_spec, seeds={"base": [0]}, z=[1]), "debug")
    other = load_spec(write_spec(name="other", task="debug-mnist"))
    with pytest.raises(ValueError, match="holds shards of task 'fake'"):
        run(other, "debug")


def test_chunks_put_costly_cells_first():
    chunks = chunk_cells([Cell(c, z, 0) for c in range(3) for z in (1, 2)], 4)
    assert [len(c) for c in chunks] == [4, 2]
    assert [c.z for c in chunks[0][:3]] == [2, 2, 2]


# ------------------------------------------------------------------- local executor, packing
def test_local_executor_packs_concurrent_cells_in_one_job(write_spec, tmp_path, monkeypatch):
    """``concurrent = 2``: one job trains two cells at a time in two worker processes."""
    monkeypatch.setenv("FROZENBENCH_FAKE_SLEEP_S", "1.0")
    spec = fake_spec(write_spec, configs="all", z=[1], seeds={"base": [0]},
                     packing={"cells_per_job": 4, "concurrent": 2})
    assert len(spec.plan().cells) == 6  # 2 jobs: 4 cells and 2 cells
    res = run(spec, "local", poll_s=0.2)
    assert res.job_errors == () and res.complete and len(res.jobs) == 2
    store = ShardStore(tmp_path / "out")
    spans = {}
    for path in store.shards.iterdir():
        meta = json.loads(pq.read_schema(path).metadata[CELL_METADATA])
        spans.setdefault(meta["pid"], []).append((meta["started"],
                                                  meta["started"] + meta["wall_s"]))
    assert len(spans) >= 3  # cells ran in separate worker processes
    intervals = sorted(iv for ivs in spans.values() for iv in ivs)
    overlaps = sum(1 for a, b in itertools.pairwise(intervals) if b[0] < a[1])
    assert overlaps >= 1  # and at the same time


def test_cli_run_status_merge_with_the_local_executor(write_spec, tmp_path):
    spec = write_spec(**FAKE, z=[1, 3], seeds={"base": [0]}, packing={"cells_per_job": 6})
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "frozenbench", "generate", *args], capture_output=True,
                              text=True, env=env, cwd=REPO, timeout=600)

    proc = cli("run", str(spec), "--executor", "local", "--max-jobs", "1", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "ok 8, diverged 4, failed 0, pending 0" in proc.stdout
    proc = cli("status", str(spec))
    assert proc.returncode == 0 and "12 cells: ok 8, diverged 4" in proc.stdout
    proc = cli("merge", str(spec), "--dest", str(tmp_path / "dest"), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert Manifest.read(tmp_path / "dest").rows == 8 * 3 + 4
    proc = cli("run", str(tmp_path / "nope.toml"), "--executor", "local")
    assert proc.returncode == 1 and "no grid spec" in proc.stderr


@pytest.mark.slow
def test_local_executor_trains_real_debug_mnist_cells(write_spec, tmp_path):
    """The real runner (torch) in a local submitit job: shards in the table schema, merged."""
    spec = load_spec(write_spec(task="debug-mnist", z=[1, 6], configs={"subset": 2, "seed": 0},
                                packing={"cells_per_job": 4}))
    res = run(spec, "local", poll_s=0.5)
    assert res.job_errors == () and res.complete and res.counts["ok"] == 4
    man = merge(spec, dest=tmp_path / "dest")
    df = pd.read_parquet(tmp_path / "dest" / "table.parquet")
    assert man.rows == len(df) == 4 * 2 and set(df["z"]) == {1, 6}
    assert (df.groupby("z")["trainable_params"].first().diff().dropna() > 0).all()


@pytest.mark.slow
def test_jobs_that_train_stacks_write_the_table_of_cells_trained_one_at_a_time(
        write_spec, tmp_path, monkeypatch):
    """packing.stack > 1: a job trains its cells of one (z, seed) as one stacked model; every
    number of the merged table equals the one-at-a-time run's (cost and memory columns aside)."""
    from frozenbench.generation import one_cell

    sizes: dict[int, list[int]] = {1: [], 3: []}

    def spy(*args):
        sizes[stack].append(len(args[1]))
        return real(*args)

    real = one_cell.run_stack
    monkeypatch.setattr(one_cell, "run_stack", spy)  # the debug executor runs jobs in-process
    frames = {}
    for stack in (1, 3):
        spec = load_spec(write_spec(name=f"stack{stack}", task="debug-mnist", z=[1, 6],
                                    configs={"subset": 3, "seed": 0}, seeds={"base": [0, 1]},
                                    output=str(tmp_path / f"out{stack}"),
                                    packing={"cells_per_job": 6, "stack": stack}))
        res = run(spec, "debug", poll_s=0.2)
        assert res.job_errors == () and res.complete and res.counts["ok"] == 12
        merge(spec, dest=tmp_path / f"dest{stack}")
        frames[stack] = pd.read_parquet(tmp_path / f"dest{stack}" / "table.parquet")
    assert sizes == {1: [1] * 12, 3: [3] * 4}  # 2 z x 2 seeds, 3 configs each
    keys = ["config_id", "z", "seed", "epoch"]
    one, stacked = (frames[k].sort_values(keys, ignore_index=True) for k in (1, 3))
    for col in ("train_loss", "val_loss", "val_error", "trainable_params", "train_flops"):
        assert one[col].equals(stacked[col]), col


@pytest.mark.slow
def test_thaw_cells_are_generated_merged_and_leave_the_fixed_rows_alone(write_spec, tmp_path,
                                                                       monkeypatch):
    """schedules = ["thaw"] adds one linear-thaw cell per (config, seed), trained as stacks of
    thaw cells: its rows carry z rising from 1 to n over the epochs and schedule "thaw", cost
    the fixed-z clock's increments at their z, and load as the table's schedule rows; the
    fixed-z rows are those of the same spec without thaw cells."""
    from frozenbench.generation import one_cell

    stacks = []

    def spy(*args):
        stacks.append([*sorted({c.schedule for c in args[1]}), len(args[1])])
        return real(*args)

    real = one_cell.run_stack
    monkeypatch.setattr(one_cell, "run_stack", spy)  # the debug executor runs jobs in-process
    frames = {}
    for name, extra in (("fixed", {}), ("thaw", {"schedules": ["thaw"]})):
        spec = load_spec(write_spec(name=name, task="debug-mnist", z=[1, 6],
                                    configs={"subset": 3, "seed": 0}, seeds={"base": [0]},
                                    output=str(tmp_path / f"out-{name}"),
                                    packing={"cells_per_job": 6, "stack": 3}, **extra))
        res = run(spec, "debug", poll_s=0.2)
        assert res.job_errors == () and res.complete
        merge(spec, dest=tmp_path / name)
        frames[name] = pd.read_parquet(tmp_path / name / "table.parquet")
    assert sorted(p.name for p in (tmp_path / "out-thaw" / "shards").iterdir()
                  if "thaw" in p.name) == [f"c{c:05d}-thaw-z06-s0.ok.parquet" for c in
                                           sorted(set(frames["fixed"]["config_id"]))]
    assert stacks.count(["thaw", 3]) == 1 and stacks.count(["fixed", 3]) == 4
    both = frames["thaw"]
    thaw, fixed = both[both["schedule"] == "thaw"], both[both["schedule"] == "fixed"]
    assert len(thaw) == 3 * 2 and set(frames["fixed"]["schedule"]) == {"fixed"}
    for _, cell in thaw.groupby("config_id"):
        assert cell["epoch"].tolist() == [1, 2] and cell["z"].tolist() == [1, 6]
    keys = ["config_id", "z", "seed", "epoch"]
    before = frames["fixed"].sort_values(keys, ignore_index=True)
    after = fixed.sort_values(keys, ignore_index=True)
    for col in ("train_loss", "val_loss", "val_error", "test_loss", "test_error",
                "trainable_params", "train_flops", "samples_seen"):
        assert before[col].equals(after[col]), col
    # Epoch 1 of a thaw cell is the fixed z = 1 cell's epoch 1 (nothing thawed yet); its cost
    # is the z = 1 clock there, plus the z = 6 clock's epoch-2 increment after the thaw.
    cost = fixed.groupby(["z", "epoch"])["train_cost_s"].first()
    first = thaw[thaw["epoch"] == 1].merge(fixed[fixed["z"] == 1], on=["config_id", "epoch"])
    assert (first["val_loss_x"] == first["val_loss_y"]).all()
    assert thaw.loc[thaw["epoch"] == 1, "train_cost_s"].eq(cost[1, 1]).all()
    assert thaw.loc[thaw["epoch"] == 2, "train_cost_s"].sub(
        cost[1, 1] + cost[6, 2] - cost[6, 1]).abs().max() < 1e-12


def test_a_spec_trains_stacks_or_runs_cells_side_by_side_not_both():
    with pytest.raises(SpecError, match=r"packing\.stack = 4 and packing\.concurrent = 2"):
        GridSpec.from_dict({"task": "debug-mnist", "packing": {"stack": 4, "concurrent": 2}})


# ------------------------------------------------- integrity: corrupt shards, destinations, locks
def _rewrite(path, table):
    """Write ``table`` over ``path`` keeping the file's metadata (a change the format hides)."""
    meta = pq.read_schema(path).metadata
    pq.write_table(table.replace_schema_metadata(meta), path)


def test_a_changed_value_in_a_shard_is_caught_by_its_checksum(write_spec, tmp_path):
    spec = fake_spec(write_spec, seeds={"base": [0]}, z=[1, 2])
    run(spec, "debug")
    victim = tmp_path / "out" / "shards" / "c00000-z02-s0.ok.parquet"
    table = pq.read_table(victim)
    loss = table["val_loss"].to_pylist()
    loss[1] = loss[1] * (1 + 1e-12)  # a plausible value: only the checksum can tell
    _rewrite(victim, table.set_column(table.schema.get_field_index("val_loss"), "val_loss",
                                      pa.array(loss)))
    with pytest.raises(MergeError, match=r"c00000-z02-s0: .*checksum"):
        merge(spec, dest=tmp_path / "d")
    assert not (tmp_path / "d" / "table.parquet").exists()
    st = status(spec)  # not done: counted pending and listed as corrupt
    assert st.counts["pending"] == 1 and [b.cell for b in st.corrupt] == [Cell(0, 2, 0)]
    res = run(spec, "debug")  # quarantined and trained again
    assert res.submitted_cells == 1 and res.complete
    (moved,) = (tmp_path / "out" / "quarantine").iterdir()
    assert moved.name.startswith("c00000-z02-s0.ok.parquet")
    merge(spec, dest=tmp_path / "d")


def test_a_flipped_bit_or_a_truncated_shard_never_merges_and_is_retrained(write_spec, tmp_path):
    spec = fake_spec(write_spec, seeds={"base": [0]}, z=[1, 2])
    run(spec, "debug")
    shards = tmp_path / "out" / "shards"
    flipped, truncated = shards / "c00000-z01-s0.ok.parquet", shards / "c00003-z01-s0.ok.parquet"
    data = bytearray(flipped.read_bytes())
    # a bit of the stored rows (the middle of the val_loss column), not of the page indexes
    # between the columns and the footer, which no read decodes
    meta = pq.ParquetFile(flipped).metadata.row_group(0)
    column = next(meta.column(i) for i in range(meta.num_columns)
                  if meta.column(i).path_in_schema == "val_loss")
    start = column.dictionary_page_offset or column.data_page_offset
    data[start + column.total_compressed_size // 2] ^= 0x10
    flipped.write_bytes(bytes(data))
    truncated.write_bytes(truncated.read_bytes()[: truncated.stat().st_size // 2])
    with pytest.raises(MergeError) as err:  # never a raw ArrowInvalid
        merge(spec, dest=tmp_path / "d")
    assert "c00000-z01-s0" in str(err.value) and "c00003-z01-s0" in str(err.value)
    assert "frozenbench generate run" in str(err.value)
    assert status(spec).counts["pending"] == 2
    res = run(spec, "debug")
    assert res.submitted_cells == 2 and res.complete
    merge(spec, dest=tmp_path / "d")


def test_shards_without_a_checksum_are_checked_by_value(write_spec, tmp_path):
    """Shards written before checksums (commit b62ba5c) merge; their values are still checked."""
    spec = fake_spec(write_spec, seeds={"base": [0]}, z=[1, 2])
    run(spec, "debug")
    shards = tmp_path / "out" / "shards"
    for path in shards.iterdir():  # as the older pipeline wrote them
        table = pq.read_table(path)
        meta = {k: v for k, v in table.schema.metadata.items() if k != ROWS_SHA256}
        pq.write_table(table.replace_schema_metadata(meta), path)
    merge(spec, dest=tmp_path / "d")

    def corrupt(name, column, values):
        path = shards / name
        table = pq.read_table(path)
        i = table.schema.get_field_index(column)
        pq.write_table(table.set_column(i, column, pa.array(values)), path)

    corrupt("c00000-z01-s0.ok.parquet", "val_error", [0.5, float("nan"), 0.4])
    corrupt("c00000-z02-s0.ok.parquet", "train_cpu_s", [0.3, 0.2, 0.4])
    corrupt("c00002-z01-s0.ok.parquet", "val_error", [7.0, 0.5, -5.0])
    corrupt("c00003-z01-s0.ok.parquet", "epoch", pa.array([1, 3, 3], pa.int16()))
    with pytest.raises(MergeError) as err:
        merge(spec, dest=tmp_path / "d2")
    msg = str(err.value)
    assert "4 corrupt shards" in msg
    assert "c00000-z01-s0: val_error is NaN in some rows" in msg
    assert "c00000-z02-s0: train_cpu_s decreases" in msg
    assert "c00002-z01-s0: val_error outside [0.0, 1.0]: [7.0, -5.0]" in msg
    assert "c00003-z01-s0: epochs [1, 3, 3], expected all of [1, 2, 3]" in msg


def test_merge_refuses_another_benchmarks_table_and_non_plain_names(write_spec, tmp_path):
    spec = fake_spec(write_spec, seeds={"base": [0]}, z=[1])
    run(spec, "debug")
    dest = tmp_path / "dest"
    merge(spec, dest=dest)
    merge(spec, dest=dest)  # the same benchmark again: replaced
    other = fake_spec(write_spec, name="other", benchmark="fake-other", seeds={"base": [0]},
                      z=[1], output=str(tmp_path / "out2"))
    run(other, "debug")
    before = (dest / "table.parquet").read_bytes()
    with pytest.raises(MergeError, match=r"holds the table of benchmark 'fake'.*not 'fake-other'"):
        merge(other, dest=dest)
    assert (dest / "table.parquet").read_bytes() == before
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "notes.txt").write_text("mine")
    with pytest.raises(MergeError, match="is not empty and holds no frozenbench table"):
        merge(spec, dest=stray)
    # the shards of one benchmark cannot be merged as another's
    with pytest.raises(MergeError, match="holds shards of benchmark 'fake'"):
        merge(other, out=tmp_path / "out", dest=tmp_path / "d3")
    for bad in ["../../evil", "a/b", "..", ".hidden", "x y"]:
        with pytest.raises(SpecError, match="not a plain name"):
            GridSpec.from_dict({**FAKE, "benchmark": bad})


def _chunk(spec, out, cells):
    context = RunContext(str(out), "frozenbench.generation.fake",
                         spec.plan().task.space.to_dict(), "cpu", "")
    return CellChunk(context=context, jobs=[CellJob.of("fake", c) for c in cells],
                     progress=False)


def test_two_concurrent_runs_never_train_a_cell_twice(write_spec, tmp_path, monkeypatch):
    monkeypatch.setenv("FROZENBENCH_FAKE_SLEEP_S", "0.3")
    spec = fake_spec(write_spec, seeds={"base": [0]}, z=[1])
    store = ShardStore(tmp_path / "out")
    store.init({"task": "fake", "benchmark": "spec"})
    cells = spec.plan().cells
    chunk = _chunk(spec, store.root, cells)
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        a, b = pool.submit(chunk), pool.submit(chunk)
        counts = [a.result(), b.result()]
    trained = sum(c["ok"] + c["diverged"] + c["failed"] for c in counts)
    assert trained == len(cells) == 6
    assert sum(c["skipped"] for c in counts) == len(cells)
    assert not list((store.root / "locks").iterdir())  # every lock released


def test_stale_locks_are_taken_over_and_live_ones_respected(write_spec, tmp_path):
    spec = fake_spec(write_spec, seeds={"base": [0]}, z=[1])
    store = ShardStore(tmp_path / "out")
    store.init({"task": "fake", "benchmark": "spec"})
    locks = store.root / "locks"
    locks.mkdir(exist_ok=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    host = socket.gethostname()
    (locks / "c00000-z01-s0.lock").write_text(json.dumps({"host": host, "pid": int(dead)}))
    far = locks / "c00001-z01-s0.lock"
    far.write_text(json.dumps({"host": "elsewhere", "pid": 1}))
    old = time.time() - 3600
    os.utime(far, (old, old))
    (locks / "c00003-z01-s0.lock").write_text(json.dumps({"host": "elsewhere", "pid": 1}))
    counts = _chunk(spec, store.root, [Cell(0, 1, 0), Cell(1, 1, 0), Cell(3, 1, 0)])()
    assert counts == {"ok": 1, "diverged": 1, "failed": 0, "skipped": 1}  # config 1 diverges
    assert store.shard_path(Cell(3, 1, 0)) is None  # a live lock elsewhere: left alone
    assert [p.name for p in locks.iterdir()] == ["c00003-z01-s0.lock"]
