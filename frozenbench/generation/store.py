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

Every file is written through :mod:`frozenbench.atomic` (a fresh temporary name in the same
directory, created exclusively, renamed into place; mode from the umask), so a killed worker
leaves either a whole shard or none: a killed job loses at most the cells in flight. A cell is
done exactly when its shard exists and verifies (:mod:`~frozenbench.generation.integrity`: a
checksum of its rows in the metadata key :data:`ROWS_SHA256`, and value checks), so rerunning
skips it and nothing is counted twice. What is not used is told apart (:data:`BAD_KINDS`):

- a file whose bytes fail verification is *corrupt*: ``run`` quarantines it, and trains the
  cell again unless another verified copy holds it (:meth:`ShardStore.repair`);
- a file this user cannot read (permissions, an I/O error) is *unreadable*: a read error
  proves nothing about the file, so it is reported and never moved, and ``run`` and ``merge``
  stop with a message that lists it;
- of two verified copies of a cell, an ``ok`` one wins over a ``diverged`` one (two runs that
  disagreed about the cell) and the other is a *duplicate*, set aside by ``run``.

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

import base64
import json
import os
import re
import socket
import time
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from frozenbench.atomic import atomic_file, write_text_atomic
from frozenbench.cell import STEM_PATTERN, Cell, CellJob, CellResult
from frozenbench.errors import InvalidValueError, StorageError
from frozenbench.generation.integrity import CellCheck, rows_digest
from frozenbench.provenance import cpu_model
from frozenbench.schema import STATUSES, to_arrow

_SHARD = re.compile(rf"^({STEM_PATTERN})\.(\w+)\.parquet$")
_PACK = re.compile(r"^pack-(\d+)\.parquet$")
_FAILED = re.compile(rf"^({STEM_PATTERN})\.json$")

#: Parquet metadata key of a shard's provenance (host, job, code version, timings).
CELL_METADATA = b"frozenbench_cell"
#: Parquet metadata key of a pack's index: {cell name: {"status": ..., "provenance": {...}}}
#: as plain JSON (packs written before the index was compressed).
PACK_METADATA = b"frozenbench_pack"
#: The same index as base64 of zlib-compressed JSON: the index repeats each job's provenance
#: and Arrow stores it twice (key-value metadata and the serialised schema), so compressed it
#: takes about a sixth of the room (the pack of a 7,000-cell suite table: ~1.4 MB less).
PACK_METADATA_Z = PACK_METADATA + b"_zlib"


def pack_index_from_metadata(meta: Mapping[bytes, bytes]) -> dict[str, dict[str, Any]]:
    """A pack's index from its Parquet metadata, compressed or plain (KeyError if none)."""
    if PACK_METADATA_Z in meta:
        return dict(json.loads(zlib.decompress(base64.b64decode(meta[PACK_METADATA_Z]))))
    return dict(json.loads(meta[PACK_METADATA]))


def pack_index_metadata(index: Mapping[str, Any]) -> dict[bytes, bytes]:
    """The Parquet metadata that stores a pack's index (compressed)."""
    text = json.dumps(index, sort_keys=True, separators=(",", ":")).encode()
    return {PACK_METADATA_Z: base64.b64encode(zlib.compress(text, 9))}

#: Parquet metadata key of a shard's checksum: sha256 of its rows (:func:`rows_digest`).
ROWS_SHA256 = b"frozenbench_rows_sha256"

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


#: Why a stored file is not used (:attr:`BadShard.kind`): its rows fail verification (proven
#: by its own bytes: quarantined by ``run``); the file cannot be read by this user (permissions,
#: an I/O error: reported, never moved); a verified copy of a cell that another verified copy
#: wins over (an ``ok`` copy wins over a ``diverged`` one, a shard over a pack entry).
BAD_KINDS = ("corrupt", "unreadable", "duplicate")


@dataclass(frozen=True)
class BadShard:
    """A stored cell that is not used, and why (``kind``, one of :data:`BAD_KINDS`); ``cell``
    is None for a pack that cannot be read or decoded as a whole."""

    cell: Cell | None
    path: Path
    reason: str
    kind: str = "corrupt"

    def __post_init__(self) -> None:
        if self.kind not in BAD_KINDS:
            raise InvalidValueError(f"BadShard kind={self.kind!r}; valid: {list(BAD_KINDS)}")

    def __str__(self) -> str:
        return f"{self.cell.stem if self.cell else self.path.name}: {self.reason}"


def _rank(status: str) -> int:
    """Order of preference of a cell's copies by status: ``ok`` first."""
    return STATUSES.index(status) if status in STATUSES else len(STATUSES)


def _names(directory: Path) -> list[str]:
    """The names in ``directory`` (none when it does not exist)."""
    try:
        return [entry.name for entry in os.scandir(directory)]
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise StorageError(f"cannot list {directory}: {exc.strerror or exc}; its owner can "
                           "make it readable (chmod g+rx)") from None


def _unreadable_message(root: Path, files: Sequence[BadShard], limit: int = 20) -> str:
    shown = "\n  ".join(f"{b.path.relative_to(root)}: {b.reason}" for b in files[:limit])
    more = f"\n  ... ({len(files)} in all)" if len(files) > limit else ""
    return (f"{len(files)} stored files in {root} cannot be read by this user:\n  {shown}{more}"
            "\nthey may well be sound, so nothing was moved or trained; make them readable "
            "(their owner can run `chmod g+r` on them, and generate with umask 002 in a "
            "group-shared folder) and run again")


class UnreadableFilesError(StorageError):
    """Stored files this user cannot read: nothing is judged, moved or trained until they can
    be read (they may well be sound)."""


def read_bytes(path: Path) -> bytes:
    """The whole content of ``path``: the one place the store reads a shard or a pack, so that
    an error of the file system (``OSError``) is told apart from a damaged content."""
    with open(path, "rb") as f:
        return f.read()


def _dangling(cell: Cell | None, path: Path) -> BadShard | None:
    """A listed file that is gone when read: moved meanwhile (None), or a link to nothing,
    which is no shard at all (corrupt: ``run`` moves the link itself away)."""
    if path.is_symlink():
        return BadShard(cell, path, f"a link to nothing ({os.readlink(path)})")
    return None


def _cannot_read(exc: OSError) -> str:
    return f"cannot be read ({exc.strerror or type(exc).__name__})"


def _pack_index(path: Path) -> dict[str, dict[str, Any]] | None:
    import pyarrow.parquet as pq

    try:
        return pack_index_from_metadata(pq.ParquetFile(path).metadata.metadata or {})
    except Exception:  # a damaged footer: the pack's cells are not done
        return None


@dataclass(frozen=True)
class StoreState:
    """What is on disk: finished cells with their status, cells whose last try failed, and
    cells whose shard this user cannot read (their state is not known)."""

    done: Mapping[Cell, str] = field(default_factory=dict)
    failed: frozenset[Cell] = frozenset()
    unreadable: frozenset[Cell] = frozenset()

    def counts(self, cells: Iterable[Cell]) -> dict[str, int]:
        """Counts of ok / diverged / failed / pending among ``cells``, and of unreadable ones
        when there are any (a key only then)."""
        out = {"ok": 0, "diverged": 0, "failed": 0, "pending": 0, "unreadable": 0}
        for cell in cells:
            status = self.done.get(cell)
            if status is not None:
                out[status if status in STATUSES else "ok"] += 1
            elif cell in self.unreadable:
                out["unreadable"] += 1
            elif cell in self.failed:
                out["failed"] += 1
            else:
                out["pending"] += 1
        if not out["unreadable"]:
            del out["unreadable"]
        return out


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

        Refuses an output directory that holds shards of another task or benchmark. The record
        is rewritten only when it changes, so that a colleague resumes a grid in a
        group-shared folder without owning its files.
        """
        for d in (self.shards, self.failures, self.logs):
            try:
                d.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(f"cannot create {d}: {exc.strerror or exc}; choose an output "
                                   "directory you can write to (--out)") from None
        old = self.identity()
        for key in ("task", "benchmark"):
            if old is not None and old.get(key) != identity.get(key):
                raise InvalidValueError(
                    f"{self.root} holds shards of {key} {old.get(key)!r}, not "
                    f"{identity.get(key)!r}; use another output directory (--out)"
                )
        text = json.dumps(dict(identity), indent=1, sort_keys=True, default=str) + "\n"
        if old != json.loads(text):
            write_text_atomic(self.root / "spec.json", text)

    def identity(self) -> dict[str, Any] | None:
        """What ``spec.json`` records (task, benchmark, spec); None when there is none."""
        path = self.root / "spec.json"
        try:
            data = json.loads(read_bytes(path))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"cannot read {path}: {exc.strerror or exc}; its owner can make "
                               "it readable (chmod g+r), or use another output directory "
                               "(--out)") from None
        except (ValueError, RecursionError) as exc:
            raise InvalidValueError(f"{path} is not valid JSON ({type(exc).__name__}); it "
                                    "records the task and benchmark of the shards beside it: "
                                    "restore it, or use another output directory (--out)"
                                    ) from None
        if not isinstance(data, dict):
            raise InvalidValueError(f"{path} holds a JSON {type(data).__name__}, not the "
                                    "object that records the task and benchmark of the shards")
        return data

    # ------------------------------------------------------------------ reading the state
    def scan(self) -> StoreState:
        """One directory listing each of shards/ and failed/ (cheap even for 10^4 cells)."""
        done: dict[Cell, str] = {}
        for index in self.pack_indexes().values():
            for name, info in index.items():
                done[Cell.from_stem(name)] = str(info["status"])
        done.update(self.scan_shards())
        failed = {Cell.from_stem(m[1]) for m in map(_FAILED.match, _names(self.failures)) if m}
        return StoreState(done, frozenset(failed))

    def is_done(self, cell: Cell) -> bool:
        """Whether the cell has a shard or is in a pack (checked right before it is trained)."""
        if self.shard_path(cell) is not None:
            return True
        return any(cell.stem in index for index in self.pack_indexes().values())

    def pack_paths(self) -> list[Path]:
        """The pack files, in order."""
        return sorted(self.packs / n for n in _names(self.packs) if _PACK.match(n))

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
        shards alike; and the files or cells that are not used, each with its kind
        (:data:`BAD_KINDS`). Never raises for a corrupt or unreadable file.

        A cell stored more than once is taken from its best verified copy: ``ok`` before
        ``diverged``, then a shard before a pack entry; a verified copy that differs from it is
        a ``duplicate``. A pack entry that fails verification is not reported when the cell
        has a sound shard (the shard supersedes it).
        """
        copies: dict[Cell, list[StoredCell]] = {}
        bad: list[BadShard] = []
        items: list[StoredCell | BadShard | None] = []
        for path in self.pack_paths():
            items += self._read_pack(path, check)
        for cell, files in sorted(self.shard_files().items()):
            items += [self._read_shard(cell, status, path, check) for status, path in files]
        for item in items:
            if isinstance(item, StoredCell):
                copies.setdefault(item.cell, []).append(item)
            elif item is not None:
                bad.append(item)
        good: dict[Cell, StoredCell] = {}
        for cell, found in copies.items():
            best, *others = sorted(found, key=lambda s: (_rank(s.status),
                                                         s.source.parent != self.shards))
            good[cell] = best
            bad += [BadShard(cell, o.source, f"duplicate: a {o.status} copy beside the verified "
                             f"{best.status} one in {best.source.name}, which is used",
                             "duplicate")
                    for o in others if (o.status, o.digest) != (best.status, best.digest)]
        superseded = {b for b in bad if b.kind == "corrupt" and b.path.parent == self.packs
                      and b.cell in good and good[b.cell].source.parent == self.shards}
        return good, [b for b in bad if b not in superseded]

    def _read_shard(self, cell: Cell, status: str, path: Path,
                    check: CellCheck) -> StoredCell | BadShard | None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            data = read_bytes(path)
        except FileNotFoundError:  # moved since the listing (compacted, quarantined)
            return _dangling(cell, path)
        except OSError as exc:  # the file system refused: nothing is known of its content
            return BadShard(cell, path, _cannot_read(exc), "unreadable")
        try:
            table = pq.read_table(pa.BufferReader(data))
            meta = table.schema.metadata or {}
            prov = json.loads(meta.get(CELL_METADATA, b"{}"))
        except Exception as exc:  # any decoding error of the bytes read: a damaged file
            return BadShard(cell, path, f"damaged ({type(exc).__name__}: {exc})")
        rows = table.replace_schema_metadata(None)
        stored, digest = meta.get(ROWS_SHA256), rows_digest(rows)
        problems = check.problems(cell, status, rows, stored.decode() if stored else None,
                                  digest=digest)
        if problems:
            return BadShard(cell, path, "; ".join(problems))
        return StoredCell(cell, status, rows, prov, digest, path)

    def _read_pack(self, path: Path, check: CellCheck) -> list[StoredCell | BadShard | None]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            data = read_bytes(path)
        except FileNotFoundError:
            return [_dangling(None, path)]
        except OSError as exc:
            return [BadShard(None, path, _cannot_read(exc), "unreadable")]
        try:
            table = pq.read_table(pa.BufferReader(data))
            index = pack_index_from_metadata(
                pq.ParquetFile(pa.BufferReader(data)).metadata.metadata or {})
        except Exception as exc:  # any decoding error of the bytes read: a damaged file
            return [BadShard(None, path, f"damaged pack ({type(exc).__name__}: {exc})")]
        table = table.replace_schema_metadata(None)
        rows_of: dict[Cell, list[int]] = {}
        columns = ["config_id", "z", "seed", *(["schedule"] if "schedule" in
                                               table.column_names else [])]
        try:
            row_cells = check.row_cells(table.select(columns).to_pydict())
        except InvalidValueError as exc:
            return [BadShard(None, path, f"damaged pack (bad key values: {exc})")]
        for i, key in enumerate(row_cells):
            rows_of.setdefault(key, []).append(i)
        out: list[StoredCell | BadShard | None] = []
        for name, entry in index.items():
            cell = Cell.from_stem(name)
            rows = table.take(rows_of.get(cell, []))
            status, digest = str(entry.get("status")), rows_digest(rows)
            problems = check.problems(cell, status, rows, entry.get("rows_sha256"),
                                      digest=digest)
            if problems:
                out.append(BadShard(cell, path, "; ".join(problems)))
            else:
                out.append(StoredCell(cell, status, rows, dict(entry.get("provenance", {})),
                                      digest, path))
        return out

    def shard_files(self) -> dict[Cell, list[tuple[str, Path]]]:
        """Per cell, its per-cell shard files with their status, ``ok`` first (two runs that
        disagree about a cell can leave an ``ok`` and a ``diverged`` shard of it)."""
        out: dict[Cell, list[tuple[str, Path]]] = {}
        for name in sorted(_names(self.shards)):
            m = _SHARD.match(name)
            if m:
                out.setdefault(Cell.from_stem(m[1]), []).append((m[2], self.shards / name))
        for files in out.values():
            files.sort(key=lambda f: _rank(f[0]))
        return out

    def scan_shards(self) -> dict[Cell, str]:
        """Cells that have a per-cell shard (not yet compacted) and their status (``ok`` when
        a cell has shards of both statuses)."""
        return {cell: files[0][0] for cell, files in self.shard_files().items()}

    def repair(self, check: CellCheck) -> list[BadShard]:
        """Set aside, into ``quarantine/``, every stored file proven bad by its own content:
        a shard that fails verification (its cell is trained again unless another verified
        copy has it) or a duplicate shard (:meth:`read_cells`). A pack with a bad entry has
        its sound cells written back as shards first (same rows, provenance and checksum),
        then it is moved as a whole. Returns what was moved.

        Raises :class:`UnreadableFilesError`, before anything is moved, when a stored file
        cannot be read: a read error proves nothing about a file.
        """
        good, bad = self.read_cells(check)
        unreadable = [b for b in bad if b.kind == "unreadable"]
        if unreadable:
            raise UnreadableFilesError(_unreadable_message(self.root, unreadable))
        moved = [b for b in bad if b.kind == "corrupt"
                 or (b.kind == "duplicate" and b.path.parent == self.shards)]
        bad_packs = {b.path for b in moved if b.path.parent == self.packs}
        for item in good.values():
            if self.shard_path(item.cell) is None and item.source in bad_packs:
                self._write_shard(item.cell, item.status, item.rows, item.provenance)
        for path in sorted({b.path for b in moved}):
            self._quarantine(path)
        return moved

    def _quarantine(self, path: Path) -> Path:
        qdir = self.root / "quarantine"
        dest = qdir / f"{path.name}.{time.strftime('%Y%m%dT%H%M%S')}.{os.getpid()}"
        try:
            qdir.mkdir(parents=True, exist_ok=True)
            os.replace(path, dest)
        except OSError as exc:
            raise StorageError(f"cannot move {path} to {qdir}: {exc.strerror or exc}") from None
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
        self.packs.mkdir(parents=True, exist_ok=True)
        numbers = [int(_PACK.match(p.name)[1]) for p in self.pack_paths()]  # type: ignore[index]
        dest = self.packs / f"pack-{max(numbers, default=-1) + 1:04d}.parquet"
        with atomic_file(dest) as f, pq.ParquetWriter(f, merged.schema, compression="zstd",
                                                       compression_level=19) as writer:
            writer.write_table(merged)
            # In the file's key-value metadata only: as schema metadata Arrow would store the
            # index a second time, inside its serialised schema.
            writer.add_key_value_metadata(pack_index_metadata(index))
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
        with atomic_file(path) as f:
            pq.write_table(table, f, compression="zstd")
        return path

    def write_failure(self, key: CellJob, error: BaseException, tb: str,
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
        write_text_atomic(path, text)
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
