"""Source code as bytes: the Python standard library's own top-level ``.py`` files (on every
machine with Python: works offline).

The corpus is the running interpreter's standard library, so it differs between Python minor
versions; :func:`stdlib_files` lists it in a fixed order and :func:`corpus_digest` names its
content, so a table records which corpus it was trained on.
"""

from __future__ import annotations

import hashlib
import sysconfig
from pathlib import Path

import numpy as np

from frozenbench.tasks.data import TokenData


def stdlib_files(root: str | Path | None = None) -> list[Path]:
    """The top-level ``*.py`` files of the standard library (no packages, no tests), sorted by
    name: a deterministic order on every machine.

    >>> files = stdlib_files()
    >>> [f.name for f in files if f.name in ("abc.py", "os.py")]
    ['abc.py', 'os.py']
    """
    base = Path(root) if root is not None else Path(sysconfig.get_paths()["stdlib"])
    return sorted((f for f in base.glob("*.py") if f.is_file()), key=lambda f: f.name)


def split_files(files: list[Path], val_every: int) -> tuple[list[Path], list[Path]]:
    """A fixed train/validation split by file: every ``val_every``-th file (the last of each
    run of ``val_every``) validates, so no file is in both parts.

    >>> train, val = split_files([Path(f"{c}.py") for c in "abcdefg"], 3)
    >>> [f.stem for f in val]
    ['c', 'f']
    """
    val = [f for i, f in enumerate(files) if i % val_every == val_every - 1]
    train = [f for i, f in enumerate(files) if i % val_every != val_every - 1]
    return train, val


def corpus_digest(files: list[Path]) -> str:
    """SHA-256 over the files' names and bytes, in order (the corpus's identity)."""
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def _held_out_stream(files: list[Path], tokens: int) -> np.ndarray:
    """An equal-sized head of every file (so the scored ``tokens`` sample all of them, not the
    first one), then their remaining bytes."""
    texts = [f.read_bytes() for f in files]
    head = -(-(tokens + 1) // max(1, len(texts)))
    data = b"".join(t[:head] for t in texts) + b"".join(t[head:] for t in texts)
    return np.frombuffer(data, dtype=np.uint8)


def load_pystdlib(*, context: int, val_every: int = 10, val_tokens: int = 8192,
                  root: str | None = None, train_tokens: int | None = None,
                  with_test: bool = False) -> TokenData:
    """Byte-level tokens (vocab 256) of the standard library's top-level modules: the training
    files concatenated in name order; the validation stream starts with an equal-sized head of
    every validation file (so the scored ``val_tokens`` sample all of them, not the first
    one), then their remaining bytes. ``with_test``: the file before each validation file
    (the second to last of each run of ``val_every``) is held out as the test stream, built
    the same way. ``train_tokens`` is accepted for the common LM-loader interface; the whole
    corpus (~4.7 MB on Python 3.11) is in memory anyway."""
    train, val = split_files(stdlib_files(root), val_every)
    test: np.ndarray | None = None
    if with_test:
        train, held = split_files(train, val_every - 1)
        test = _held_out_stream(held, val_tokens)
    train_bytes = b"".join(f.read_bytes() for f in train)
    return TokenData(train=np.frombuffer(train_bytes, dtype=np.uint8),
                     val=_held_out_stream(val, val_tokens), vocab_size=256,
                     context=context, val_tokens=val_tokens, test=test)
