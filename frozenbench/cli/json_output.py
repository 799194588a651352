"""``--json``: one JSON object on stdout, the same way in every command.

Strict JSON (RFC 8259): numpy scalars and arrays become numbers and lists, paths strings, and
a non-finite float (NaN, inf: a run that never reached its target, a metric the table lacks)
becomes ``null``, since ``NaN`` is not JSON and most parsers other than Python's reject it.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from typing import Any


def plain(value: Any) -> Any:
    """``value`` as plain JSON values: dicts with string keys, lists, numbers, strings, None.

    >>> import numpy as np
    >>> plain({"a": np.float64("nan"), 1: (np.int64(2), float("inf")), "p": np.array([0.5])})
    {'a': None, '1': [2, None], 'p': [0.5]}
    """
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "tolist") and hasattr(value, "dtype"):  # numpy scalar or array
        return plain(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if type(value).__name__ in ("NAType", "NaTType"):  # pandas' missing values
        return None
    return value


def to_json(value: Any) -> str:
    """``value`` as one line of strict JSON (see :func:`plain`).

    >>> to_json({"regret": float("nan"), "z": 3})
    '{"regret": null, "z": 3}'
    """
    return json.dumps(plain(value), allow_nan=False)


def print_json(value: Any) -> None:
    """Print ``value`` as one line of strict JSON on stdout: what ``--json`` does."""
    print(to_json(value), flush=True)
