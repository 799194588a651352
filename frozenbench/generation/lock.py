"""One lock per cell, so that two runs on one output directory never train a cell twice.

A worker takes ``OUT/locks/<cell>.lock`` with ``O_CREAT | O_EXCL`` (atomic on local file
systems and on NFSv3+) before it trains a cell, writes its owner into it (host, pid, SLURM job,
time) and removes it when the cell's shard or failure record is written. While it trains, a
heartbeat thread touches the file every :data:`HEARTBEAT_S` seconds.

A lock is *stale*, and is taken over, when its owner ran on this host and that process is gone
(``kill -9``, a requeued job), or when its heartbeat is older than :data:`STALE_AFTER_S` (an
owner on another node that died; needs clocks in sync within a minute). Any other lock is
live: the worker skips the cell, and the other run trains it. Taking over renames the stale
file away, then creates a new one with ``O_EXCL``, so of two workers that find the same stale
lock only one gets it (a narrow race remains when one has already created its new lock before
the other renames: both then train the cell, and the atomic shard write keeps one). A crash of
the machine leaves a lock that turns stale after :data:`STALE_AFTER_S`; ``rm OUT/locks/*.lock``
is safe whenever no run is active.

>>> import tempfile
>>> from frozenbench.cell import Cell
>>> d = Path(tempfile.mkdtemp())
>>> with CellLock.acquire(d, Cell(0, 1, 0)) as lock:
...     lock is not None, CellLock.acquire(d, Cell(0, 1, 0)) is None
(True, True)
>>> list(d.iterdir())
[]
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path
from types import TracebackType

from frozenbench.cell import Cell

#: Seconds between two touches of a held lock.
HEARTBEAT_S = 30.0
#: A lock whose file was not touched for this long is stale, wherever its owner ran.
STALE_AFTER_S = 600.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def is_stale(path: Path, *, now: float | None = None) -> bool:
    """Whether the lock file at ``path`` belongs to nobody any more (see the module doc)."""
    try:
        age = (now or time.time()) - path.stat().st_mtime
        owner = json.loads(path.read_text() or "{}")
    except FileNotFoundError:
        return False  # released meanwhile: try again
    except ValueError:  # half-written by an owner killed at once: judge by age alone
        owner = {}
    if age > STALE_AFTER_S:
        return True
    if owner.get("host") == socket.gethostname() and isinstance(owner.get("pid"), int):
        return not _alive(owner["pid"])
    return False


class CellLock:
    """A held cell lock; release it with :meth:`release` or a ``with`` block."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, daemon=True)
        self._beat.start()

    @classmethod
    def acquire(cls, directory: Path, cell: Cell) -> CellLock | None:
        """Take the lock of ``cell`` under ``directory``; None when another live run holds it."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{cell.stem}.lock"
        for _ in range(2):  # a second try after taking over a stale lock
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if not is_stale(path):
                    return None
                try:  # rename, not unlink: only one of two workers moves this very file
                    os.replace(path, path.with_name(f"{path.name}.stale.{os.getpid()}"))
                    path.with_name(f"{path.name}.stale.{os.getpid()}").unlink()
                except FileNotFoundError:
                    pass
                continue
            owner = {"host": socket.gethostname(), "pid": os.getpid(),
                     "slurm_job": os.environ.get("SLURM_JOB_ID", ""),
                     "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            with os.fdopen(fd, "w") as f:
                json.dump(owner, f)
            return cls(path)
        return None

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                os.utime(self.path)
            except OSError:
                return

    def release(self) -> None:
        """Stop the heartbeat and remove the lock file."""
        self._stop.set()
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> CellLock:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
