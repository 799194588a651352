"""Simulated workers and their memory capacities (heterogeneous clusters)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

from frozenbench.errors import InvalidValueError

_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def parse_bytes(value: object) -> float:
    """Bytes from a number or a string such as ``"16GB"``, ``"1.5 GiB"``, ``"inf"``.

    >>> parse_bytes("2GiB"), parse_bytes(512), parse_bytes("inf")
    (2147483648.0, 512.0, inf)
    """
    if isinstance(value, bool):
        raise InvalidValueError(f"a memory size must be a number of bytes or like '16GB': "
                                f"{value!r}")
    if isinstance(value, (int, float)):
        out = float(value)
    elif isinstance(value, str):
        m = re.fullmatch(r"\s*([0-9.eE+-]+|inf)\s*([A-Za-z]*)\s*", value)
        unit = m.group(2).upper() if m else ""
        if m is None or unit not in _UNITS:
            raise InvalidValueError(
                f"cannot read memory size {value!r}; write e.g. '16GB', '8GiB', '512MB' or "
                f"a number of bytes (units: {sorted(u for u in _UNITS if u)})")
        try:
            out = float(m.group(1)) * _UNITS[unit]
        except ValueError:
            raise InvalidValueError(f"cannot read memory size {value!r}") from None
    else:
        raise InvalidValueError(f"a memory size must be a number of bytes or like '16GB': "
                                f"{value!r:.80}")
    if math.isnan(out) or out <= 0:
        raise InvalidValueError(f"a memory size must be positive: {value!r}")
    return out


def capacities(n_workers: object, memory: object) -> list[float]:
    """One memory capacity per worker (``inf`` where unlimited).

    ``memory`` is None (unlimited), one size for every worker, or a list with one size per
    worker.

    >>> capacities(3, None)
    [inf, inf, inf]
    >>> capacities(2, ["8GB", "16GB"])
    [8000000000.0, 16000000000.0]
    """
    if isinstance(n_workers, np.integer):
        n_workers = int(n_workers)
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise InvalidValueError(f"n_workers={n_workers!r} must be a positive integer")
    if n_workers > 100_000:
        raise InvalidValueError(f"n_workers={n_workers} is too many (at most 100000)")
    if memory is None:
        return [math.inf] * n_workers
    if isinstance(memory, (str, int, float)):
        return [parse_bytes(memory)] * n_workers
    if isinstance(memory, Sequence):
        if len(memory) != n_workers:
            raise InvalidValueError(
                f"memory lists {len(memory)} capacities for n_workers={n_workers}; give one "
                f"per worker (or one value for all)")
        return [parse_bytes(m) for m in memory]
    raise InvalidValueError(f"memory must be None, a size, or a list of sizes: {memory!r:.80}")


def format_bytes(n: float) -> str:
    """``format_bytes(2**30) == '1.00 GiB'``."""
    if math.isinf(n):
        return "unlimited"
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n:.0f} B"


def check_fit(capacities: Sequence[float], needs: np.ndarray, z_values: Sequence[int]) -> None:
    """Refuse workers that fit no job of the table: each capacity must hold the smallest peak
    memory of any (config, z) (``needs[config, z]``, NaN where unknown), or the worker could
    only ask for work it can never run.

    >>> needs = np.array([[2e9, 4e9], [3e9, 5e9]])
    >>> check_fit([8e9, 8e9], needs, [1, 2])
    >>> check_fit([1.0, 8e9], needs, [1, 2])
    Traceback (most recent call last):
    ...
    frozenbench.errors.InvalidValueError: worker 0 (memory 1 B) fits no job of the table: \
the smallest job needs 1.86 GiB (z=1); capacities: ['1 B', '7.45 GiB']; give every worker at \
least 1.86 GiB, or leave it out
    """
    known = np.isfinite(needs)
    if not known.any():
        return
    smallest = float(needs[known].min())
    small = [i for i, c in enumerate(capacities) if c < smallest]
    if not small:
        return
    z = z_values[int(np.argwhere(known & (needs == smallest))[0][1])]
    which = ", ".join(f"{i} (memory {format_bytes(capacities[i])})" for i in small[:8])
    more = f" and {len(small) - 8} more" if len(small) > 8 else ""
    raise InvalidValueError(
        f"worker{'s' if len(small) > 1 else ''} {which}{more} fit{'' if len(small) > 1 else 's'} "
        f"no job of the table: the smallest job needs {format_bytes(smallest)} (z={z}); "
        f"capacities: {[format_bytes(c) for c in capacities][:16]}; give every worker at least "
        f"{format_bytes(smallest)}, or leave it out")
