"""One lock per cell, so that two runs on one output directory never train a cell twice.

A worker takes ``OUT/locks/<cell>.lock`` with ``O_CREAT | O_EXCL`` (atomic on local file
systems and on NFSv3+) before it trains a cell, writes its owner into it (host, pid, SLURM job,
time) and removes it when the cell's shard or failure record is written. While it trains, a
heartbeat thread touches the file every :data:`HEARTBEAT_S` seconds.

A lock is *stale*, and is taken over, when its owner ran on this host and that process is gone
(``kill -9``, a requeued job), or when its heartbeat is older than :data:`STALE_AFTER_S` (an
owner on another node that died; needs clocks in sync within a minute). Any other lock is
live: the worker skips the cell, and the other run trains it. A lock file with no owner to ask
(empty, cut short, or not a frozenbench lock) is stale once untouched for
:data:`UNKNOWN_OWNER_GRACE_S` (a minute): its owner would have written its record at once.
``generate status`` and ``run`` list the locks that keep cells pending (:func:`held_locks`).

Taking over renames the stale file away, then creates a new one with ``O_EXCL``, so of two
workers that find the same stale lock only one gets it (a narrow race remains when one has
already created its new lock before the other renames: both then train the cell, and the
atomic shard write keeps one). A crash of the machine leaves a lock that turns stale after
:data:`STALE_AFTER_S`; ``rm OUT/locks/*.lock`` is safe whenever no run is active.

>>> import tempfile
>>> from frozenbench.cell import STEM_PATTERN, Cell
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
import re
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from frozenbench.cell import STEM_PATTERN, Cell
from frozenbench.errors import StorageError

#: Seconds between two touches of a held lock.
HEARTBEAT_S = 30.0
#: A lock whose file was not touched for this long is stale, wherever its owner ran.
STALE_AFTER_S = 600.0
_STEM = re.compile(rf"^{STEM_PATTERN}$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


#: A lock file that is empty, cut short or not a frozenbench lock (no owner to ask) is stale
#: once it was not touched for this long: an owner writes its record at once after creating
#: the file, and a live one touches it every :data:`HEARTBEAT_S`.
UNKNOWN_OWNER_GRACE_S = 60.0


@dataclass(frozen=True)
class LockInfo:
    """A lock file as found: its cell, owner record (None when it has none), seconds since it
    was last touched, what is wrong with it (``problem``: None for a sound record), after how
    many seconds untouched it is stale, and whether it is stale now (:func:`read_lock`)."""

    path: Path
    cell: Cell | None
    owner: Mapping[str, Any] | None
    age_s: float
    problem: str | None
    stale_after_s: float
    stale: bool

    def __str__(self) -> str:
        name = self.cell.stem if self.cell else self.path.name
        state = "stale: the next run takes it over" if self.stale else \
            f"taken over after {self.stale_after_s:.0f} s"
        if self.problem is not None:
            return f"{name}: {self.problem}, {self.age_s:.0f} s old ({state}; {self.path})"
        owner = self.owner or {}
        job = f" (SLURM job {owner['slurm_job']})" if owner.get("slurm_job") else ""
        since = f" since {owner['since']}" if owner.get("since") else ""
        return (f"{name}: held by pid {owner.get('pid')} on {owner.get('host')}{job}{since}, "
                f"last heartbeat {self.age_s:.0f} s ago ({state} without one; {self.path})")


def _owner(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """The owner record in a lock file's text, or None and what is wrong with it."""
    if not text.strip():
        return None, "empty lock file"
    try:
        owner = json.loads(text)
    except (ValueError, RecursionError):  # cut short by an owner killed at once, or foreign
        return None, "lock file that is not JSON (cut short, or foreign)"
    if not (isinstance(owner, dict) and isinstance(owner.get("host"), str)
            and isinstance(owner.get("pid"), int) and not isinstance(owner.get("pid"), bool)):
        return None, "not a frozenbench lock (no host and pid)"
    return owner, None


def _create(path: Path) -> bool:
    """Create the lock file with this process's owner record; False when it exists."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0),
                     0o666)  # the mode follows the umask
    except FileExistsError:
        return False
    owner = {"host": socket.gethostname(), "pid": os.getpid(),
             "slurm_job": os.environ.get("SLURM_JOB_ID", ""),
             "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(owner, f)
    except BaseException:  # an empty lock would keep the cell pending: leave none
        path.unlink(missing_ok=True)
        raise
    return True


def read_lock(path: Path, *, now: float | None = None) -> LockInfo | None:
    """What the lock file at ``path`` says, and whether it is stale (see the module doc);
    None when it is gone.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "c00000-z01-s0.lock"
    >>> _ = p.write_text("")
    >>> info = read_lock(p)
    >>> info.problem, info.stale
    ('empty lock file', False)
    """
    try:
        age = (now or time.time()) - path.stat().st_mtime
        owner, problem = _owner(path.read_bytes().decode("utf-8", errors="replace"))
        after = STALE_AFTER_S if owner is not None else UNKNOWN_OWNER_GRACE_S
    except FileNotFoundError:
        return None  # released meanwhile
    except OSError as exc:  # another user's private file: only its heartbeat can be judged
        owner, problem, after = None, f"cannot be read ({exc.strerror or exc})", STALE_AFTER_S
    stale = age > after
    if owner is not None and not stale and owner["host"] == socket.gethostname():
        stale = not _alive(owner["pid"])
    stem = path.name.removesuffix(".lock")
    cell = Cell.from_stem(stem) if _STEM.match(stem) else None
    return LockInfo(path, cell, owner, age, problem, after, stale)


def is_stale(path: Path, *, now: float | None = None) -> bool:
    """Whether the lock file at ``path`` belongs to nobody any more (see the module doc)."""
    info = read_lock(path, now=now)
    return info is not None and info.stale


def held_locks(directory: Path) -> list[LockInfo]:
    """Every cell lock file under ``directory`` (sorted by name), stale or not."""
    try:
        names = sorted(n for n in os.listdir(directory) if n.endswith(".lock"))
    except FileNotFoundError:
        return []
    return [info for n in names if (info := read_lock(directory / n)) is not None]


class CellLock:
    """A held cell lock; release it with :meth:`release` or a ``with`` block."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, daemon=True)
        self._beat.start()

    @classmethod
    def acquire(cls, directory: Path, cell: Cell) -> CellLock | None:
        """Take the lock of ``cell`` under ``directory``; None when another live run holds it.

        Raises :class:`~frozenbench.errors.StorageError` when the lock cannot be written (a
        folder this user cannot write to, a full disk); no empty lock file is left behind.
        """
        path = directory / f"{cell.stem}.lock"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            for _ in range(2):  # a second try after taking over a stale lock
                if _create(path):
                    return cls(path)
                if not is_stale(path):
                    return None
                try:  # rename, not unlink: only one of two workers moves this very file
                    os.replace(path, path.with_name(f"{path.name}.stale.{os.getpid()}"))
                    path.with_name(f"{path.name}.stale.{os.getpid()}").unlink()
                except FileNotFoundError:
                    pass
        except OSError as exc:
            raise StorageError(
                f"cannot take the lock {path}: {exc.strerror or exc}; every user of an output "
                "folder needs to write into it (a group-shared folder: group-writable, and "
                "umask 002 for whoever generates)") from None
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
