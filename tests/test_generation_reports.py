"""What generation reports must be true: a cell stored twice (ok and diverged), locks that keep
a cell pending, and stopping-style starts."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from frozenbench.cell import Cell
from frozenbench.cli import main
from frozenbench.generation import fake
from frozenbench.generation.launch import run, status
from frozenbench.generation.merge import merge
from frozenbench.generation.spec import load_spec
from frozenbench.generation.store import ShardStore

FAKE = {"task": "fake", "task_module": "frozenbench.generation.fake"}
CELL = Cell(0, 1, 0)  # config 0 trains ok


@pytest.fixture
def grid(write_spec, tmp_path):
    """A finished fake grid (6 cells at z=1: 4 ok, 2 diverged) and its store."""
    path = write_spec(**FAKE, z=[1], seeds={"base": [0]})
    spec = load_spec(path)
    run(spec, "debug")
    return path, spec, ShardStore(tmp_path / "out")


def write_diverged_copy(store: ShardStore, cell: Cell) -> Path:
    """A sound ``diverged`` shard of a cell that also has an ``ok`` one (two runs that
    disagreed about it: a non-deterministic kernel, or the lock race of generation.lock)."""
    task = fake.FAKE
    result = fake.run_cell(task, task.space.config(cell.config_id), cell.z, cell.seed)
    diverged = dataclasses.replace(result, status="diverged", records=result.records[:1])
    return store.write_result(diverged, task.space.to_dict(), {"code_version": "abc1234"})


def test_an_ok_and_a_diverged_shard_of_one_cell(grid, tmp_path, capsys):
    """The issue: run quarantined the good shard, printed "trained again", trained nothing and
    reported "ok 38, diverged 1"."""
    path, spec, store = grid
    ok = store.shard_path(CELL)
    before = ok.read_bytes()
    duplicate = write_diverged_copy(store, CELL)
    st = status(spec)
    assert st.counts == {"ok": 4, "diverged": 2, "failed": 0, "pending": 0}
    assert st.corrupt == () and [b.path for b in st.duplicates] == [duplicate]
    assert "verified ok one" in st.duplicates[0].reason
    assert main(["generate", "run", str(path), "--executor", "debug", "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert "trained again" not in err
    assert f"set aside (a verified copy of the cell is used; nothing to train): {CELL.stem}" \
        in err
    assert "ok 4, diverged 2, failed 0, pending 0" in out
    assert ok.read_bytes() == before  # the ok shard stays where it was
    (moved,) = (tmp_path / "out" / "quarantine").iterdir()
    assert moved.name.startswith(duplicate.name)
    merge(spec, dest=tmp_path / "d")


def test_a_diverged_shard_beside_a_packed_ok_cell(grid, tmp_path):
    """After compaction the ok copy is in a pack and the diverged one still a shard: the ok
    copy still wins, the shard is set aside, and nothing is trained."""
    _, spec, store = grid
    duplicate = write_diverged_copy(store, CELL)
    store.compact()  # packs the ok shard; the diverged one stays behind
    assert [p.name for p in store.shards.iterdir()] == [duplicate.name]
    res = run(spec, "debug")
    assert res.submitted_cells == 0 and res.retrained == frozenset()
    assert [b.kind for b in res.quarantined] == ["duplicate"]
    assert res.counts == {"ok": 4, "diverged": 2, "failed": 0, "pending": 0}
    assert not list(store.shards.iterdir())


def test_a_corrupt_ok_shard_beside_a_sound_diverged_one(grid, tmp_path, capsys):
    """The corrupt copy is quarantined; the sound copy is used, and the report says so
    instead of claiming the cell is trained again."""
    path, _, store = grid
    ok = store.shard_path(CELL)
    ok.write_bytes(ok.read_bytes()[: ok.stat().st_size // 2])
    write_diverged_copy(store, CELL)
    assert main(["generate", "run", str(path), "--executor", "debug", "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert "trained again" not in err
    assert "quarantined (failed verification); a verified copy of the cell is used" in err
    assert "ok 3, diverged 3, failed 0, pending 0" in out


# ------------------------------------------------------------------------------------ locks
def plant_lock(store: ShardStore, cell: Cell, content: str, age_s: float = 0.0) -> Path:
    """A lock file left by someone else, last touched ``age_s`` seconds ago."""
    store.locks.mkdir(parents=True, exist_ok=True)
    path = store.locks / f"{cell.stem}.lock"
    path.write_text(content)
    then = time.time() - age_s
    os.utime(path, (then, then))
    return path


def unfinished(store: ShardStore, cell: Cell) -> None:
    """Make the cell pending again (its shard removed)."""
    store.shard_path(cell).unlink()


@pytest.mark.parametrize(("content", "what"), [
    ("", "empty lock file"),
    ("{\"host\": \"elsewh", "lock file that is not JSON"),
    ("[1, 2]", "not a frozenbench lock"),
    ("{\"owner\": \"someone\"}", "not a frozenbench lock"),
])
def test_an_empty_or_foreign_lock_is_reported_then_taken_over(grid, capsys, content, what):
    path, spec, store = grid
    unfinished(store, CELL)
    lock = plant_lock(store, CELL, content)
    st = status(spec)
    assert [info.cell for info in st.locks] == [CELL]
    assert what in str(st.locks[0]) and "taken over after 60 s" in str(st.locks[0])
    assert main(["generate", "status", str(path)]) == 0  # a lock is news, not an error
    assert f"locked {CELL.stem}: {what}" in capsys.readouterr().out
    # a fresh one is left alone (its owner may be writing it), and run says why
    assert main(["generate", "run", str(path), "--executor", "debug", "--quiet"]) == 1
    out, err = capsys.readouterr()
    assert "pending 1" in out and f"pending, locked {CELL.stem}: {what}" in err
    # after the grace it is stale (not after ten minutes): the next run trains the cell
    old = time.time() - 61
    os.utime(lock, (old, old))
    assert main(["generate", "run", str(path), "--executor", "debug", "--quiet"]) == 0
    assert store.shard_path(CELL) is not None and not lock.exists()


def test_a_live_lock_is_reported_with_its_owner_and_age(grid, capsys):
    path, spec, store = grid
    unfinished(store, CELL)
    owner = {"host": "node17", "pid": 4242, "slurm_job": "991_3", "since": "2026-01-01T00:00"}
    plant_lock(store, CELL, json.dumps(owner), age_s=12)
    (info,) = status(spec).locks
    text = str(info)
    assert "held by pid 4242 on node17 (SLURM job 991_3) since 2026-01-01T00:00" in text
    assert "last heartbeat 12 s ago" in text and "taken over after 600 s without one" in text
    assert main(["generate", "run", str(path), "--executor", "debug", "--quiet"]) == 1
    assert f"pending, locked {CELL.stem}: held by pid 4242" in capsys.readouterr().err


def test_a_dead_local_owner_or_an_old_heartbeat_is_stale_at_once(grid):
    _, spec, store = grid
    unfinished(store, CELL)
    plant_lock(store, CELL, json.dumps({"host": "node17", "pid": 1}), age_s=601)
    assert run(spec, "debug").complete


# ------------------------------------------------------------------------ stopping starts
@pytest.mark.parametrize("field", ["max_epoch", "z", "config_id"])
def test_a_bool_is_not_an_epoch_nor_a_z_nor_a_config(field):
    from frozenbench.errors import InvalidValueError
    from frozenbench.optimizers.stopping import Start

    kwargs = {"config_id": 0, "z": 1, "max_epoch": 2, field: True}
    with pytest.raises(InvalidValueError, match=rf"Start\({field}=True\).*a bool"):
        Start(**kwargs)
    assert Start(config_id=np.int64(3), z=np.int64(2), max_epoch=np.int64(1)).z == 2


def test_max_epoch_true_is_refused_in_a_replay(tmp_path):
    """The issue: Start(max_epoch=True) was taken as epoch 1."""
    import frozenbench as fb
    from frozenbench.errors import InvalidValueError
    from frozenbench.optimizers.stopping import Start
    from frozenbench.synthetic import write_benchmark

    bench = fb.load(str(write_benchmark(tmp_path / "t", n_configs=4, n_z=2, n_epochs=3)))

    class OneEpochByBool:
        name = "one-epoch-by-bool"

        def suggest(self, rng):
            return Start(config_id=int(rng.choice(bench.config_ids)), z=1, max_epoch=True)

        def report(self, observation):
            return True

    with pytest.raises(InvalidValueError, match=r"Start\(max_epoch=True\)"):
        fb.simulate(bench, optimizer=OneEpochByBool(), budget_seconds=10.0, seed=0)


def test_a_lock_that_cannot_be_written_leaves_no_empty_file_and_says_why(tmp_path, monkeypatch):
    """A full disk between creating a lock and writing its owner left an empty lock that kept
    the cell pending with no word; a folder the user cannot write to gave a raw error."""
    import errno

    import frozenbench.generation.lock as lock
    from frozenbench.errors import StorageError

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(lock.json, "dump", full)
    with pytest.raises(StorageError, match=r"cannot take the lock .*c00000-z01-s0\.lock: No sp"):
        lock.CellLock.acquire(tmp_path, CELL)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()

    real_open = os.open

    def denied(path, *args, **kwargs):
        if str(path).endswith(".lock"):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(lock.os, "open", denied)
    with pytest.raises(StorageError, match=r"Permission denied; every user of an output"):
        lock.CellLock.acquire(tmp_path, CELL)
