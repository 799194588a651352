"""Finding and loading benchmarks: shipped tables, benchmark directories, and (later) the Hub.

``load(name)`` resolves ``name`` in this order:

1. an existing directory holding ``manifest.json`` (any path, e.g. a synthetic table);
2. a shipped table, ``frozenbench/data/<name>/``;
3. a published table on the Hugging Face Hub, through the hook :func:`_from_hub`.

Loaded benchmarks are cached per resolved directory, so ``fb.query(..., benchmark="name")``
reads the table once.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from frozenbench.errors import UnknownNameError, format_choices
from frozenbench.manifest import MANIFEST_NAME
from frozenbench.table import Benchmark, Result

#: Where shipped tables live: ``frozenbench/data/<name>/{table.parquet, manifest.json}``.
DATA_DIR = Path(__file__).resolve().parent / "data"

_LOADED: dict[tuple[str, bool], Benchmark] = {}


def shipped() -> list[str]:
    """Names of the tables shipped inside the package."""
    if not DATA_DIR.is_dir():
        return []
    return sorted(p.name for p in DATA_DIR.iterdir() if (p / MANIFEST_NAME).is_file())


def _hub() -> Any:
    """The Hub module, or None while it is not part of this installation."""
    if importlib.util.find_spec("frozenbench.hub") is None:
        return None
    return importlib.import_module("frozenbench.hub")


def _published() -> list[str]:
    """Hook: names published on the Hub (``frozenbench.hub.published()``), [] if unavailable."""
    hub = _hub()
    fn = getattr(hub, "published", None)
    if fn is None:
        return []
    try:
        return sorted(str(n) for n in fn())
    except Exception:  # offline, no token...: list what is local, never fail here
        return []


def _from_hub(name: str) -> Path | None:
    """Hook: the local directory of a published benchmark, downloading it (pinned revision).

    Contract for ``frozenbench.hub``: ``fetch(name) -> Path`` of a directory holding
    ``manifest.json`` and the table files, raising ``UnknownNameError`` for unknown names.
    Returns None while the Hub module is not available.
    """
    hub = _hub()
    fetch = getattr(hub, "fetch", None)
    if fetch is None:
        return None
    return Path(fetch(name))


def benchmarks() -> list[str]:
    """Benchmark names: shipped with the package, then those published on the Hub.

    >>> isinstance(benchmarks(), list)
    True
    """
    names = shipped()
    return names + [n for n in _published() if n not in names]


def resolve(name: str | os.PathLike[str]) -> Path:
    """The local directory of a benchmark name or path (see the module docstring for the order)."""
    if isinstance(name, str) and name.startswith("hub:"):  # a Hub repo: 'hub:ns/name@rev'
        hub_dir = _from_hub(name)
        if hub_dir is not None:
            return hub_dir
    if isinstance(name, os.PathLike) or (isinstance(name, str) and os.sep in name):
        path = Path(name)
        if (path / MANIFEST_NAME).is_file():
            return path.resolve()
        raise UnknownNameError(f"{str(path)!r} is not a benchmark directory (no {MANIFEST_NAME})")
    if not isinstance(name, str) or not name:
        raise UnknownNameError(f"a benchmark is named by a string or a path, got {name!r}")
    local = Path(name)
    if (local / MANIFEST_NAME).is_file():
        return local.resolve()
    if (DATA_DIR / name / MANIFEST_NAME).is_file():
        return DATA_DIR / name
    hub_dir = _from_hub(name)
    if hub_dir is not None:
        return hub_dir
    raise UnknownNameError(
        f"unknown benchmark {name!r}; valid: {format_choices(benchmarks())} "
        f"or a directory holding {MANIFEST_NAME}")


def load(name: str | os.PathLike[str], *, verify: bool = True) -> Benchmark:
    """Load a benchmark by name (shipped or published) or from a directory.

    ``verify`` checks the sha256 of every table file against the manifest. The result is
    cached, so loading the same benchmark again is free.

    >>> import tempfile
    >>> from frozenbench.synthetic import write_benchmark
    >>> with tempfile.TemporaryDirectory() as d:
    ...     bench = load(write_benchmark(d, n_configs=4, n_z=2, n_epochs=2))
    >>> bench.fidelities
    {'z': [1, 2], 'epoch': [1, 2]}
    >>> load("no-such-benchmark")
    Traceback (most recent call last):
    ...
    frozenbench.errors.UnknownNameError: unknown benchmark 'no-such-benchmark'; valid: ...
    """
    directory = resolve(name)
    key = (str(directory), verify)
    bench = _LOADED.get(key)
    if bench is None:
        bench = Benchmark.from_directory(directory, verify=verify)
        _LOADED[key] = bench
    return bench


def query(
    config: Mapping[str, Any] | int,
    z: int,
    epoch: int | None = None,
    *,
    benchmark: str | os.PathLike[str] | Benchmark,
    seed: int | None = None,
) -> Result:
    """The metrics of one cell of a benchmark; see :meth:`Benchmark.query`.

    ``epoch=None`` is the last epoch; ``seed=None`` is the mean over the available seeds.

    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=4, n_z=2, n_epochs=3)
    >>> query(bench.configs[0], z=2, benchmark=bench).n_seeds
    3
    """
    bench = benchmark if isinstance(benchmark, Benchmark) else load(benchmark)
    return bench.query(config, z, epoch, seed=seed)
