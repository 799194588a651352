"""Every file frozenbench writes goes through here: written whole under a temporary name next to
its destination, then renamed into place, so a reader never sees half a file and a killed
writer leaves the old file or the new one, never a mix.

The rules, each tested in ``tests/test_atomic.py``:

1. **Never through a planted link.** The temporary name is unique and random, and it is created
   with ``O_CREAT | O_EXCL | O_NOFOLLOW``: a file or a symbolic link already at that name (one
   planted by another user of a shared folder, or left by a crash) is never opened, written or
   followed; another name is drawn. The data goes to the descriptor that was created, never to
   a name that could be swapped in between. A link at the destination itself is replaced by the
   new file, not written through (``os.replace`` renames over the link).
2. **The umask decides the mode.** The file is created with mode ``0o666 & ~umask``, as
   ``open()`` creates files: a group-shared output folder (umask 002) gets group-readable
   shards, and not ``mkstemp``'s 0600 that other users cannot read.
3. **Durable before visible.** The data is fsync-ed before the rename and the directory after
   it, so a crash of the machine does not leave an empty file under the final name.
4. **A failed write changes nothing** and says so: the temporary file is removed, the
   destination is untouched, and the error is a :class:`~frozenbench.errors.StorageError`
   (also an ``OSError``) that names the destination and the cause (no space left, permission
   denied, ...).

>>> import tempfile
>>> d = Path(tempfile.mkdtemp())
>>> write_text_atomic(d / "a.txt", "hello")
PosixPath('...a.txt')
>>> with atomic_file(d / "b.bin") as f:
...     _ = f.write(b"\\x00\\x01")
>>> sorted(p.name for p in d.iterdir()), (d / "b.bin").read_bytes()
(['a.txt', 'b.bin'], b'\\x00\\x01')
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from frozenbench.errors import StorageError

#: Tries at a fresh random temporary name before giving up (each name is 64 random bits: more
#: than one try only happens when something was planted or left at the name drawn).
NAME_TRIES = 16
#: Characters of the destination's name kept in the temporary name (file names are limited to
#: 255 bytes; the random part and the suffix need the rest).
_NAME_KEEP = 200

_FLAGS = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
          | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))


def temporary_name(path: Path) -> Path:
    """A fresh random temporary name next to ``path`` (hidden, ending in ``.tmp``).

    >>> temporary_name(Path("/d/manifest.json")).name.startswith(".manifest.json.")
    True
    """
    return path.with_name(f".{path.name[:_NAME_KEEP]}.{secrets.token_hex(8)}.tmp")


def _create(path: Path) -> tuple[int, Path]:
    """Create a new temporary file next to ``path``; its descriptor and name."""
    for _ in range(NAME_TRIES):
        tmp = temporary_name(path)
        try:
            return os.open(tmp, _FLAGS, 0o666), tmp
        except FileExistsError:  # something (a planted link, a leftover) holds the name
            continue
        except OSError as exc:
            raise _storage_error(path, exc) from None
    raise StorageError(f"cannot write {path}: {NAME_TRIES} fresh temporary names next to it "
                       "were all taken (is something creating files in that folder?)")


def _storage_error(path: Path, exc: OSError) -> StorageError:
    reason = exc.strerror or str(exc)
    hint = ""
    if exc.errno == errno.ENOSPC or exc.errno == errno.EDQUOT:
        hint = "; free some space (or raise the quota) and run the same command again"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "; choose a folder you can write to"
    err = StorageError(f"cannot write {path}: {reason}{hint}; the file was left as it was")
    err.errno = exc.errno  # still answers as the OSError it was (ENOSPC, EACCES)
    return err


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # not supported here (some file systems, Windows): the rename stands
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A binary file object whose content replaces ``path`` when the block ends without an
    exception (nothing is replaced otherwise). Pass the file object itself to libraries that
    accept one (``pyarrow.parquet.write_table``, ``savefig``, ``to_parquet``, ``np.savez``),
    never its name. The folder of ``path`` must exist.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "x.bin"
    >>> with atomic_file(p) as f:
    ...     _ = f.write(b"abc")
    >>> p.read_bytes()
    b'abc'
    """
    dest = Path(path)
    fd, tmp = _create(dest)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError) and not isinstance(exc, StorageError):
            raise _storage_error(dest, exc) from exc
        raise
    _fsync_directory(dest.parent)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Replace ``path`` with ``data`` atomically (see the module doc); returns the path.

    >>> import tempfile
    >>> write_bytes_atomic(Path(tempfile.mkdtemp()) / "x.bin", b"abc").read_bytes()
    b'abc'
    """
    with atomic_file(path) as f:
        f.write(data)
    return Path(path)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Replace ``path`` with ``text`` (UTF-8) atomically; returns the path.

    >>> import tempfile
    >>> write_text_atomic(Path(tempfile.mkdtemp()) / "x.txt", "é").read_text(encoding="utf-8")
    'é'
    """
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_frame_atomic(frame: Any, path: str | os.PathLike[str]) -> Path:
    """Replace ``path`` with a pandas DataFrame atomically: CSV when the name ends in ``.csv``,
    Parquet otherwise (without the index); returns the path.

    >>> import tempfile, pandas as pd
    >>> p = write_frame_atomic(pd.DataFrame({"a": [1]}), Path(tempfile.mkdtemp()) / "f.csv")
    >>> p.read_text()
    'a\\n1\\n'
    """
    dest = Path(path)
    with atomic_file(dest) as f:
        if dest.suffix.lower() == ".csv":
            frame.to_csv(f, index=False)
        else:
            frame.to_parquet(f, index=False)
    return dest


def copy_file_atomic(src: str | os.PathLike[str], dest: str | os.PathLike[str]) -> Path:
    """Replace ``dest`` with a copy of the file ``src`` atomically; returns ``dest``.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> copy_file_atomic(write_text_atomic(d / "a.txt", "abc"), d / "b.txt").read_text()
    'abc'
    """
    with open(src, "rb") as source, atomic_file(dest) as f:
        shutil.copyfileobj(source, f)
    return Path(dest)
