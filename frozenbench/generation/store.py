"""Shards on disk: one Parquet file per finished cell, one JSON record per failed attempt, and
packs that compact many finished cells into one file.

Layout of an output directory::

    OUT/spec.json                           the spec the shards belong to (task, benchmark)
    OUT/shards/c00017-z03-s0.ok.parquet     a finished cell (status in the name: ok | diverged)
    OUT/packs/pack-0003.parquet             finished cells compacted (:meth:`ShardStore.compact`)
    OUT/failed/c00017-z03-s0.json           the last failure of a cell (exception + traceback)
    OUT/locks/c00017-z03-s0.lock            a cell being trained (see generation.lock)
    OUT/quarantine/                         shards and packs that failed verification
    OUT/logs/                               submitit's job folders

Workers write per-cell shards; :meth:`ShardStore.compact` moves finished shards into a new
pack (one Parquet file whose metadata lists its cells with their status and provenance) and
deletes them, so an output directory that is committed while generation runs stays a handful
of files. A cell in a pack is done exactly like a cell with a shard.

Every file is written to a temporary name in the same directory and renamed into place
(``os.replace``), so a killed worker leaves either a whole shard or none: a killed job loses at
most the cells in flight. A cell is done exactly when its shard exists and verifies
(:mod:`~frozenbench.generation.integrity`: a checksum of its rows in the metadata key
:data:`ROWS_SHA256`, and value checks), so rerunning skips it and nothing is counted twice; a
shard that fails verification is quarantined by ``run`` and trained again (:meth:`repair`).
Two runs on one directory do not train the same cell twice: a worker holds the cell's lock
while it trains it (:mod:`~frozenbench.generation.lock`).

The format is stable: shards written before checksums existed (no :data:`ROWS_SHA256`) are
read and checked by their values only.

>>> import tempfile
>>> store = ShardStore(tempfile.mkdtemp())
>>> store.scan().done
{}
>>> store.failure(Cell(0, 1, 0)) is None
True
"""

from __future__ import annotations

import json
import os
import re
import socket
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from frozenbench.cell import Cell, CellKey, CellResult
from frozenbench.errors import InvalidValueError
from frozenbench.generation.integrity import CellCheck, rows_digest
from frozenbench.provenance import cpu_model
from frozenbench.schema import STATUSES, to_arrow

_SHARD = re.compile(r"^(c\d+-z\d+-s\d+)\.(\w+)\.parquet$")
_PACK = re.compile(r"^pack-(\d+)\.parquet$")
_FAILED = re.compile(r"^(c\d+-z\d+-s\d+)\.json$")

#: Parquet metadata key of a shard's provenance (host, job, code version, timings).
CELL_METADATA = b"frozenbench_cell"
#: Parquet metadata key of a pack's index: {cell name: {"status": ..., "provenance": {...}}}.
PACK_METADATA = b"frozenbench_pack"
#: Parquet metadata key of a shard's checksum: sha256 of its rows (:func:`rows_digest`).
ROWS_SHA256 = b"frozenbench_rows_sha256"

def _atomic_write(path: Path, write: Callable[[str], object]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class StoredCell:
    """A finished cell as stored: its rows (an Arrow table without metadata), provenance, the
    checksum of its rows, and the file it came from (a shard or a pack)."""

    cell: Cell
    status: str
    rows: Any  # pyarrow.Table
    provenance: Mapping[str, Any]
    digest: str
    source: Path = Path()


@dataclass(frozen=True)
class BadShard:
    """A stored cell that fails verification, or a pack that cannot be read (``cell`` None)."""

    cell: Cell | None
    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.cell.stem if self.cell else self.path.name}: {self.reason}"


def _pack_index(path: Path) -> dict[str, dict[str, Any]] | None:
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(path).metadata or {}
        return dict(json.loads(meta[PACK_METADATA]))
    except Exception:  # a damaged footer: the pack's cells are not done
        return None


@dataclass(frozen=True)
class StoreState:
    """What is on disk: finished cells with their status, and cells whose last try failed."""

    done: Mapping[Cell, str] = field(default_factory=dict)
    failed: frozenset[Cell] = frozenset()

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


def _recorded_spec(path: Path) -> dict[str, Any]:
    """The identity ``spec.json`` records; a clear error when it is not a JSON object."""
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        problem = f"not valid JSON: {str(exc)[:120]}"
    else:
        if isinstance(data, dict):
            return data
        problem = f"a JSON {type(data).__name__}, not an object"
    raise InvalidValueError(
        f"{path} is {problem}; it records the task and benchmark whose shards {path.parent} "
        "holds: restore it, or delete it to record this spec's")


class ShardStore:
    """Reads and writes the shards of one output directory."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.shards = self.root / "shards"
        self.packs = self.root / "packs"
        self.failures = self.root / "failed"
        self.logs = self.root / "logs"
        self.locks = self.root / "locks"

    def init(self, identity: Mapping[str, Any]) -> None:
        """Create the directories and record which benchmark the shards belong to.

        Refuses an output directory that holds shards of another task or benchmark.
        """
        for d in (self.shards, self.failures, self.logs):
            d.mkdir(parents=True, exist_ok=True)
        path = self.root / "spec.json"
        if path.is_file():
            old = _recorded_spec(path)
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
        done: dict[Cell, str] = {}
        for index in self.pack_indexes().values():
            for name, info in index.items():
                done[Cell.from_stem(name)] = str(info["status"])
        done.update(self.scan_shards())
        failed = set()
        if self.failures.is_dir():
            for entry in os.scandir(self.failures):
                m = _FAILED.match(entry.name)
                if m:
                    failed.add(Cell.from_stem(m[1]))
        return StoreState(done, frozenset(failed))

    def is_done(self, cell: Cell) -> bool:
        """Whether the cell has a shard or is in a pack (checked right before it is trained)."""
        if self.shard_path(cell) is not None:
            return True
        return any(cell.stem in index for index in self.pack_indexes().values())

    def pack_paths(self) -> list[Path]:
        """The pack files, in order."""
        if not self.packs.is_dir():
            return []
        return sorted(p for p in self.packs.iterdir() if _PACK.match(p.name))

    def pack_indexes(self) -> dict[Path, dict[str, dict[str, Any]]]:
        """Each readable pack's index (read from its Parquet footer only, not its rows); a pack
        whose footer cannot be read is left out (:meth:`read_cells` reports it)."""
        out = {}
        for path in self.pack_paths():
            index = _pack_index(path)
            if index is not None:
                out[path] = index
        return out

    def read_cells(self, check: CellCheck) -> tuple[dict[Cell, StoredCell], list[BadShard]]:
        """Every stored cell, verified by ``check`` (see :mod:`~.integrity`), from packs and
        shards alike (a shard wins over a pack entry of the same cell); and the cells or files
        that failed verification. Never raises for a corrupt file."""
        good: dict[Cell, StoredCell] = {}
        bad: dict[Cell | Path, BadShard] = {}
        for path in self.pack_paths():
            for item in self._read_pack(path, check):
                if isinstance(item, StoredCell):
                    good[item.cell] = item
                else:
                    bad[item.cell or item.path] = item
        for cell, status in sorted(self.scan_shards().items()):
            shard = self.shard_path(cell)
            if shard is None:  # removed since the listing
                continue
            item = self._read_shard(cell, status, shard, check)
            if isinstance(item, StoredCell):
                good[cell] = item
                bad.pop(cell, None)  # a sound shard replaces a bad pack entry
            else:
                good.pop(cell, None)
                bad[cell] = item
        return good, list(bad.values())

    def _read_shard(self, cell: Cell, status: str, path: Path,
                    check: CellCheck) -> StoredCell | BadShard:
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
            meta = table.schema.metadata or {}
            prov = json.loads(meta.get(CELL_METADATA, b"{}"))
        except Exception as exc:  # any decoding error of a damaged file (ArrowInvalid, OSError...)
            return BadShard(cell, path, f"unreadable ({type(exc).__name__}: {exc})")
        rows = table.replace_schema_metadata(None)
        stored, digest = meta.get(ROWS_SHA256), rows_digest(rows)
        problems = check.problems(cell, status, rows, stored.decode() if stored else None,
                                  digest=digest)
        if problems:
            return BadShard(cell, path, "; ".join(problems))
        return StoredCell(cell, status, rows, prov, digest, path)

    def _read_pack(self, path: Path, check: CellCheck) -> list[StoredCell | BadShard]:
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
            index = json.loads((table.schema.metadata or {})[PACK_METADATA])
        except Exception as exc:  # any decoding error of a damaged file
            return [BadShard(None, path, f"unreadable pack ({type(exc).__name__}: {exc})")]
        table = table.replace_schema_metadata(None)
        rows_of: dict[tuple[int, int, int], list[int]] = {}
        keys = zip(table["config_id"].to_pylist(), table["z"].to_pylist(),
                   table["seed"].to_pylist())
        for i, key in enumerate(keys):
            rows_of.setdefault(key, []).append(i)
        out: list[StoredCell | BadShard] = []
        for name, entry in index.items():
            cell = Cell.from_stem(name)
            rows = table.take(rows_of.get((cell.config_id, cell.z, cell.seed), []))
            status, digest = str(entry.get("status")), rows_digest(rows)
            problems = check.problems(cell, status, rows, entry.get("rows_sha256"),
                                      digest=digest)
            if problems:
                out.append(BadShard(cell, path, "; ".join(problems)))
            else:
                out.append(StoredCell(cell, status, rows, dict(entry.get("provenance", {})),
                                      digest, path))
        return out

    def scan_shards(self) -> dict[Cell, str]:
        """Cells that have a per-cell shard (not yet compacted) and their status."""
        done: dict[Cell, str] = {}
        if self.shards.is_dir():
            for entry in os.scandir(self.shards):
                m = _SHARD.match(entry.name)
                if m:
                    done[Cell.from_stem(m[1])] = m[2]
        return done

    def repair(self, check: CellCheck) -> list[BadShard]:
        """Quarantine every stored cell that fails verification, so that it is trained again.

        A bad shard is moved to ``quarantine/``. A pack with a bad entry has its sound cells
        written back as shards first (same rows, provenance and checksum), then the pack is
        moved to ``quarantine/`` as a whole. Returns what was quarantined.
        """
        good, bad = self.read_cells(check)
        bad_packs = {b.path for b in bad if b.path.parent == self.packs}
        for item in good.values():
            if self.shard_path(item.cell) is None and item.source in bad_packs:
                self._write_shard(item.cell, item.status, item.rows, item.provenance)
        for path in sorted({b.path for b in bad}):
            self._quarantine(path)
        return bad

    def _quarantine(self, path: Path) -> Path:
        qdir = self.root / "quarantine"
        qdir.mkdir(parents=True, exist_ok=True)
        dest = qdir / f"{path.name}.{time.strftime('%Y%m%dT%H%M%S')}.{os.getpid()}"
        os.replace(path, dest)
        return dest

    def compact(self) -> Path | None:
        """Move every per-cell shard into one new pack and delete the shards.

        Each cell's entry in the pack's index keeps its status, provenance and checksum. The
        pack is written atomically before any shard is deleted: a kill at any point leaves each
        cell in a shard, a pack, or both (both is harmless: the rows are identical). A shard
        that cannot be read is left where it is (``run`` quarantines and retrains it).
        Returns the new pack's path, or None when there was no shard to compact.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        tables, index, paths = [], {}, []
        for cell in sorted(self.scan_shards()):
            path = self.shard_path(cell)
            if path is None:
                continue
            try:
                table = pq.read_table(path)
            except Exception:  # a damaged shard stays a shard
                continue
            meta = table.schema.metadata or {}
            entry: dict[str, Any] = {"status": _SHARD.match(path.name)[2],  # type: ignore[index]
                                     "provenance": json.loads(meta.get(CELL_METADATA, b"{}"))}
            if ROWS_SHA256 in meta:
                entry["rows_sha256"] = meta[ROWS_SHA256].decode()
            tables.append(table.replace_schema_metadata(None))
            index[cell.stem] = entry
            paths.append(path)
        if not tables:
            return None
        merged = pa.concat_tables(tables)
        merged = merged.replace_schema_metadata(
            {**(tables[0].schema.metadata or {}), PACK_METADATA: json.dumps(index).encode()})
        self.packs.mkdir(parents=True, exist_ok=True)
        numbers = [int(_PACK.match(p.name)[1]) for p in self.pack_paths()]  # type: ignore[index]
        dest = self.packs / f"pack-{max(numbers, default=-1) + 1:04d}.parquet"
        _atomic_write(dest, lambda tmp: pq.write_table(merged, tmp, compression="zstd",
                                                       compression_level=19))
        for path in paths:
            path.unlink(missing_ok=True)
        return dest

    def shard_path(self, cell: Cell) -> Path | None:
        """The cell's per-cell shard, whatever its status; None when it has none."""
        for s in STATUSES:
            path = self.shards / f"{cell.stem}.{s}.parquet"
            if path.exists():
                return path
        return None

    def failure(self, cell: Cell) -> dict[str, Any] | None:
        """The cell's last failure record (error, traceback, attempts), if any."""
        path = self.failures / f"{cell.stem}.json"
        try:
            return dict(json.loads(path.read_text()))
        except (OSError, ValueError):
            return None

    # ------------------------------------------------------------------ writing
    def write_result(self, result: CellResult, grid: Mapping[str, Sequence[object]],
                     provenance: Mapping[str, Any]) -> Path:
        """Write a finished cell (ok or diverged) atomically, with the checksum of its rows,
        and clear its failure record."""
        rows = to_arrow(result.to_frame(), grid, cell=True)
        path = self._write_shard(result.key.cell, result.status, rows, provenance)
        (self.failures / f"{result.key.cell.stem}.json").unlink(missing_ok=True)
        return path

    def _write_shard(self, cell: Cell, status: str, rows: Any,
                     provenance: Mapping[str, Any]) -> Path:
        import pyarrow.parquet as pq

        from frozenbench.schema import SCHEMA_VERSION

        table = rows.replace_schema_metadata({
            b"frozenbench_schema_version": str(SCHEMA_VERSION).encode(),
            CELL_METADATA: json.dumps(dict(provenance), default=str).encode(),
            ROWS_SHA256: rows_digest(rows.replace_schema_metadata(None)).encode(),
        })
        path = self.shards / f"{cell.stem}.{status}.parquet"
        _atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
        return path

    def write_failure(self, key: CellKey, error: BaseException, tb: str,
                      provenance: Mapping[str, Any]) -> Path:
        """Record a failed attempt (the cell stays pending; a rerun retries it)."""
        cell = key.cell
        path = self.failures / f"{cell.stem}.json"
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
