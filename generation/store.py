"""Shards on disk: one Parquet file per finished cell, one JSON record per failed attempt.

Layout of an output directory::

    OUT/spec.json                           the spec the shards belong to (task, benchmark)
    OUT/shards/c00017-z03-s0.ok.parquet     a finished cell (status in the name: ok | diverged)
    OUT/failed/c00017-z03-s0.json           the last failure of a cell (exception + traceback)
    OUT/logs/                               submitit's job folders

Every file is written to a temporary name in the same directory and renamed into place
(``os.replace``), so a killed worker leaves either a whole shard or none: a killed job loses at
most the cells in flight. A cell is done exactly when its shard exists, so rerunning skips it and
nothing is counted twice, even when two jobs raced on the same cell (the rename is atomic).

>>> import tempfile
>>> store = ShardStore(tempfile.mkdtemp())
>>> store.scan().done
{}
"""

from __future__ import annotations

import json
import os
import platform
import re
import socket
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from frozenbench.cell import CellKey, CellResult
from frozenbench.errors import InvalidValueError
from frozenbench.schema import STATUSES, to_arrow

_SHARD = re.compile(r"^c(\d+)-z(\d+)-s(\d+)\.(\w+)\.parquet$")
_FAILED = re.compile(r"^c(\d+)-z(\d+)-s(\d+)\.json$")

#: Parquet metadata key of a shard's provenance (host, job, code version, timings).
CELL_METADATA = b"frozenbench_cell"

Cell = tuple[int, int, int]  # (config_id, z, seed)


def cell_name(cell: Cell) -> str:
    """File stem of a cell.

    >>> cell_name((17, 3, 0))
    'c00017-z03-s0'
    """
    c, z, s = cell
    return f"c{c:05d}-z{z:02d}-s{s}"


def cpu_model() -> str:
    """The CPU model name (Linux), else the platform's processor string."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _atomic_write(path: Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class StoreState:
    """What is on disk: finished cells with their status, and cells whose last try failed."""

    done: dict[Cell, str] = field(default_factory=dict)
    failed: set[Cell] = field(default_factory=set)

    def counts(self, cells: Iterable[Cell]) -> dict[str, int]:
        """Counts of ok / diverged / failed / pending among ``cells``."""
        out = {"ok": 0, "diverged": 0, "failed": 0, "pending": 0}
        for cell in cells:
            status = self.done.get(cell)
            if status is not None:
                out[status if status in out else "ok"] += 1
            elif cell in self.failed:
                out["failed"] += 1
            else:
                out["pending"] += 1
        return out


class ShardStore:
    """Reads and writes the shards of one output directory."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.shards = self.root / "shards"
        self.failures = self.root / "failed"
        self.logs = self.root / "logs"

    def init(self, identity: Mapping[str, Any]) -> None:
        """Create the directories and record which benchmark the shards belong to.

        Refuses an output directory that holds shards of another task or benchmark.
        """
        for d in (self.shards, self.failures, self.logs):
            d.mkdir(parents=True, exist_ok=True)
        path = self.root / "spec.json"
        if path.is_file():
            old = json.loads(path.read_text())
            for key in ("task", "benchmark"):
                if old.get(key) != identity.get(key):
                    raise InvalidValueError(
                        f"{self.root} holds shards of {key} {old.get(key)!r}, not "
                        f"{identity.get(key)!r}; use another output directory (--out)"
                    )
        text = json.dumps(dict(identity), indent=1, sort_keys=True, default=str) + "\n"
        _atomic_write(path, lambda tmp: Path(tmp).write_text(text))

    # ------------------------------------------------------------------ reading the state
    def scan(self) -> StoreState:
        """One directory listing each of shards/ and failed/ (cheap even for 10^4 cells)."""
        state = StoreState()
        if self.shards.is_dir():
            for entry in os.scandir(self.shards):
                m = _SHARD.match(entry.name)
                if m:
                    state.done[(int(m[1]), int(m[2]), int(m[3]))] = m[4]
        if self.failures.is_dir():
            for entry in os.scandir(self.failures):
                m = _FAILED.match(entry.name)
                if m:
                    state.failed.add((int(m[1]), int(m[2]), int(m[3])))
        return state

    def is_done(self, cell: Cell) -> bool:
        """Whether the cell has a shard (checked on disk right before a cell is trained)."""
        return any((self.shards / f"{cell_name(cell)}.{s}.parquet").exists() for s in STATUSES)

    def shard_path(self, cell: Cell) -> Path | None:
        for s in STATUSES:
            path = self.shards / f"{cell_name(cell)}.{s}.parquet"
            if path.exists():
                return path
        return None

    def failure(self, cell: Cell) -> dict[str, Any] | None:
        path = self.failures / f"{cell_name(cell)}.json"
        try:
            return dict(json.loads(path.read_text()))
        except (OSError, ValueError):
            return None

    # ------------------------------------------------------------------ writing
    def write_result(self, result: CellResult, grid: Mapping[str, Sequence[object]],
                     provenance: Mapping[str, Any]) -> Path:
        """Write a finished cell (ok or diverged) atomically and clear its failure record."""
        import pyarrow.parquet as pq

        key = result.key
        cell = (key.config_id, key.z, key.seed)
        table = to_arrow(result.to_frame(), grid)
        meta = dict(table.schema.metadata or {})
        meta[CELL_METADATA] = json.dumps(dict(provenance), default=str).encode()
        table = table.replace_schema_metadata(meta)
        path = self.shards / f"{cell_name(cell)}.{result.status}.parquet"
        _atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
        (self.failures / f"{cell_name(cell)}.json").unlink(missing_ok=True)
        return path

    def write_failure(self, key: CellKey, error: BaseException, tb: str,
                      provenance: Mapping[str, Any]) -> Path:
        """Record a failed attempt (the cell stays pending; a rerun retries it)."""
        cell = (key.config_id, key.z, key.seed)
        path = self.failures / f"{cell_name(cell)}.json"
        previous = self.failure(cell) or {}
        record = {
            "cell": str(key),
            "error": f"{type(error).__name__}: {error}",
            "traceback": tb,
            "attempts": int(previous.get("attempts", 0)) + 1,
            **provenance,
        }
        text = json.dumps(record, indent=1, default=str) + "\n"
        _atomic_write(path, lambda tmp: Path(tmp).write_text(text))
        return path


def provenance(code_version: str, device: str) -> dict[str, Any]:
    """Where and when a cell ran: host, CPU, device, SLURM job, code version."""
    job = os.environ.get("SLURM_JOB_ID", "")
    if os.environ.get("SLURM_ARRAY_JOB_ID"):
        job = f"{os.environ['SLURM_ARRAY_JOB_ID']}_{os.environ.get('SLURM_ARRAY_TASK_ID', '')}"
    return {
        "host": socket.gethostname(),
        "cpu": cpu_model(),
        "device": device,
        "slurm_job": job,
        "restarts": os.environ.get("SLURM_RESTART_COUNT", "0"),
        "pid": os.getpid(),
        "code_version": code_version,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
