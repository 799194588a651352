"""The generation pipeline on a real SLURM cluster (scripts/slurm_local.sh) with real submitit
and the real cell runner on the debug-mnist task: a clean run, faults (kill -9 of a worker,
scancel of a job) followed by a rerun, and a preempted job that checkpoints and requeues itself.

Every test writes to its own tmp output directory. The ``slurm_cluster`` fixture fails (never
skips) when the daemons cannot start.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from frozenbench.generation.launch import run
from frozenbench.generation.merge import merge
from frozenbench.generation.spec import load_spec
from frozenbench.generation.store import CELL_METADATA, ShardStore
from frozenbench.schema import KEY_COLUMNS

pytestmark = [pytest.mark.slurm, pytest.mark.slow, pytest.mark.timeout(300)]

RESOURCES = {"cpus": 1, "mem_gb": 1, "time_min": 10}


def provenance(path: Path) -> dict:
    return json.loads(pq.read_schema(path).metadata[CELL_METADATA])


def shard_provenance(store: ShardStore) -> dict[str, dict]:
    out = {}
    for p in store.shards.iterdir():
        if p.name.endswith(".parquet"):  # temporaries end in .tmp; shards appear atomically
            out[p.name] = provenance(p)
    return out


def wait_until(predicate, timeout: float, what: str, poll: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def settled(count, quiet_s: float = 3.0, timeout: float = 60.0) -> int:
    """``count()`` once it has not changed for ``quiet_s``: a killed or cancelled job's pool
    worker may still be writing the cell it had in flight when SLURM already reports the job
    ended (seen in CI: one more shard landed between the count and the rerun)."""
    deadline = time.monotonic() + timeout
    last, since = count(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = count()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return last
    raise AssertionError(f"the shard count kept changing for {timeout}s")


def sacct_state(job_id: str) -> str:
    out = subprocess.run(["sacct", "-n", "-X", "-P", "-j", job_id, "-o", "state"],
                         capture_output=True, text=True, check=True).stdout
    return out.strip().splitlines()[0] if out.strip() else ""


def merged_frame(spec, dest: Path) -> pd.DataFrame:
    man = merge(spec, dest=dest)
    man.verify(dest)
    df = pd.read_parquet(dest / "table.parquet")
    assert not df.duplicated(list(KEY_COLUMNS)).any()
    assert man.cells["failed"] == 0 and man.cells["missing"] == 0
    assert man.rows == len(df) == 2 * len(spec.plan().cells)  # debug-mnist: 2 epochs per cell
    return df


def test_slurm_array_trains_a_small_grid(slurm_cluster, write_spec, tmp_path):
    spec = load_spec(write_spec(task="debug-mnist", z=[1, 6], resources=RESOURCES,
                                packing={"cells_per_job": 4}))
    t0 = time.monotonic()
    res = run(spec, "slurm", poll_s=0.5)
    elapsed = time.monotonic() - t0
    assert res.job_errors == () and res.complete, res
    assert res.counts == {"ok": 8, "diverged": 0, "failed": 0, "pending": 0}
    ids = [str(j.job_id) for j in res.jobs]
    assert len(ids) == 2 and all("_" in i for i in ids)  # one job array, two tasks
    assert len({i.split("_")[0] for i in ids}) == 1
    assert {sacct_state(i) for i in ids} <= {"COMPLETED", "RUNNING"}  # accounting lags a bit
    jobs = {provenance(p)["slurm_job"] for p in ShardStore(res.out).shards.iterdir()}
    assert jobs == set(ids)  # shards record the array task that trained them
    df = merged_frame(spec, tmp_path / "dest")
    assert set(df["z"]) == {1, 6} and (df["device"] == "cpu").all()
    # rerunning submits nothing
    assert run(spec, "slurm").submitted_cells == 0
    print(f"slurm grid of 8 cells: {elapsed:.1f}s")


def test_killed_and_cancelled_jobs_resume_without_duplicates(slurm_cluster, write_spec,
                                                             tmp_path):
    spec = load_spec(write_spec(task="debug-mnist", seeds={"base": [0, 1, 2, 3, 4]},
                                resources=RESOURCES, packing={"cells_per_job": 60}))
    n = len(spec.plan().cells)
    assert n == 120
    res = run(spec, "slurm", wait=False)
    jobs = {str(j.job_id): j for j in res.jobs}
    store = ShardStore(res.out)

    def by_job():
        seen: dict[str, list[dict]] = {}
        for meta in shard_provenance(store).values():
            seen.setdefault(meta["slurm_job"], []).append(meta)
        return seen

    # kill -9 the worker of the first job to be mid-grid (a few of its 60 cells written)...
    seen = wait_until(lambda: {j: m for j, m in by_job().items() if len(m) >= 2}, 150,
                      "a job to write shards")
    job_kill = sorted(seen)[0]
    os.kill(seen[job_kill][0]["pid"], signal.SIGKILL)
    # ... and scancel the other one as soon as it has started training
    (job_cancel,) = set(jobs) - {job_kill}
    wait_until(lambda: by_job().get(job_cancel), 150, "the other job to write shards")
    subprocess.run(["scancel", job_cancel], check=True)
    for job in res.jobs:
        # submitit asks sacct at 2, 4, 8, 16, 32 s...: force the check to save time
        wait_until(lambda j=job: j.done(force_check=True), 60, f"job {job.job_id} to end", 1.0)
        job._results_timeout_s = 0  # as submitit's own tests: no wait for a slow file system
        with pytest.raises(Exception):  # FailedJobError / UncompletedJobError  # noqa: B017
            job.result()
    assert sacct_state(job_cancel).startswith("CANCELLED")
    done_before = settled(lambda: len(store.scan().done))
    assert 3 <= done_before < n  # the grid stopped in the middle (>= 2 + 1 shards)

    t_rerun = time.monotonic()
    res2 = run(spec, "slurm", poll_s=0.5)
    print(f"rerun of {res2.submitted_cells} cells: {time.monotonic() - t_rerun:.1f}s")
    assert res2.job_errors == () and res2.complete
    assert res2.submitted_cells == n - done_before  # only the cells without a shard ran again
    df = merged_frame(spec, tmp_path / "dest")
    assert df.groupby(["config_id", "z", "seed"]).ngroups == n


def start_one_job(spec):
    """Submit the whole grid as one SLURM job and return once it has written 3 shards."""
    res = run(spec, "slurm", wait=False)
    (job,) = res.jobs
    store = ShardStore(res.out)
    wait_until(lambda: len(store.scan().done) >= 3, 150, "the job to write shards")
    return job, store


def test_preempted_job_checkpoints_requeues_and_finishes_once(slurm_cluster, write_spec,
                                                             tmp_path):
    """USR2 is what SLURM sends before preemption or the time limit (submitit asks for it with
    --signal): submitit calls CellChunk.checkpoint, which resubmits the remaining cells, and
    requeues the job; it restarts after cred_expire (10 s here) and trains only what was left."""
    spec = load_spec(write_spec(task="debug-mnist", seeds={"base": [0, 1]}, resources=RESOURCES,
                                packing={"cells_per_job": 100}))
    n = len(spec.plan().cells)
    job, store = start_one_job(spec)
    subprocess.run(["scancel", "--signal=USR2", str(job.job_id)], check=True)
    counts = job.result()  # the requeued run's result: waits through the requeue
    after = shard_provenance(store)
    assert len(after) == n and len(store.scan().done) == n
    first = [m for m in after.values() if m["restarts"] == "0"]
    second = [m for m in after.values() if m["restarts"] != "0"]
    assert first and second  # it really stopped and restarted
    # the resubmitted chunk held only the remaining cells: nothing trained twice
    assert counts["skipped"] == 0 and counts["ok"] + counts["diverged"] == len(second)
    log = Path(job.paths.stderr).read_text()
    assert f"checkpoint: {len(first)} of {n} cells done" in log
    merged_frame(spec, tmp_path / "dest")


def test_job_requeued_by_the_scheduler_skips_the_cells_it_finished(slurm_cluster, write_spec,
                                                                  tmp_path):
    """``scontrol requeue`` (an admin or a failing node): no checkpoint, the job restarts with
    its original chunk and skips every cell that already has a shard. (The job keeps running
    for KillWait = 5 s after the requeue, so the grid is big enough to outlast that.)"""
    spec = load_spec(write_spec(task="debug-mnist", seeds={"base": [0, 1, 2, 3]},
                                resources=RESOURCES,
                                packing={"cells_per_job": 100}))
    n = len(spec.plan().cells)
    job, store = start_one_job(spec)
    subprocess.run(["scontrol", "requeue", str(job.job_id)], check=True)
    counts = job.result()
    after = shard_provenance(store)
    assert len(after) == n
    second = [m for m in after.values() if m["restarts"] != "0"]
    assert second and len(second) < n
    assert counts["skipped"] == n - len(second)  # finished before the requeue: not retrained
    assert counts["ok"] + counts["diverged"] == len(second)
    merged_frame(spec, tmp_path / "dest")
