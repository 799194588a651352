"""Finding and loading benchmarks: benchmark directories, shipped tables and the Hub.

``load(name)`` resolves ``name`` in this fixed order:

1. an explicit path: a :class:`os.PathLike`, or a string holding a path separator (``./mine``,
   ``/data/tables/x``, ``tables/x``) or starting with ``~``; it must be a directory holding
   ``manifest.json``. A bare word is never a path, so a directory in the working directory
   cannot shadow a shipped name: write ``./NAME`` to load it;
2. a shipped table, ``frozenbench/data/<name>/`` (the wheel's small default set);
3. in a checkout of the repository, a suite table in its data directory, ``suite/<name>/``
   (the suite is too large for the wheel: installed without a checkout, it comes from the
   Hub);
4. the Hugging Face Hub: ``hub:namespace/repo@revision``, or a name in
   :data:`frozenbench.hub.PUBLISHED` (see :mod:`frozenbench.hub`).

Loaded benchmarks are cached per resolved directory, so ``fb.query(..., benchmark="name")``
reads the table once.

This module is the API edge where a name becomes a :class:`~frozenbench.table.Benchmark`:
``fb.load``, ``fb.query`` and ``fb.simulate`` take a name or a path here; the parts below it
(the simulator, the analysis, the adapters, the card) take a loaded benchmark.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from frozenbench import hub
from frozenbench.errors import FrozenbenchError, InvalidValueError, UnknownNameError, format_choices
from frozenbench.info import BenchmarkInfo, describe
from frozenbench.manifest import MANIFEST_NAME
from frozenbench.table import Benchmark, Result

if TYPE_CHECKING:
    import pandas as pd

#: Where shipped tables live: ``frozenbench/data/<name>/{table.parquet, manifest.json}``.
DATA_DIR = Path(__file__).resolve().parent / "data"

#: A checkout's data directory: ``suite/<name>/`` beside the package (absent in a wheel install).
CHECKOUT_DIR = Path(__file__).resolve().parent.parent / "suite"

_LOADED: dict[tuple[str, bool], Benchmark] = {}


def _tables_in(directory: Path) -> list[str]:
    if not directory.is_dir():
        return []
    return sorted(p.name for p in directory.iterdir() if (p / MANIFEST_NAME).is_file())


def shipped() -> list[str]:
    """Names of the tables shipped inside the package."""
    return _tables_in(DATA_DIR)


def in_checkout() -> list[str]:
    """Names of the suite tables in this checkout's data directory (none in a wheel install),
    without those a shipped table of the same name hides."""
    return [n for n in _tables_in(CHECKOUT_DIR) if n not in shipped()]


def is_path(name: str | os.PathLike[str]) -> bool:
    """Whether ``load`` reads ``name`` as a path (rule 1 of the module docstring).

    >>> is_path("mnist-resnet"), is_path("./mnist-resnet"), is_path("hub:ns/table@main")
    (False, True, False)
    """
    if isinstance(name, os.PathLike):
        return True
    return not name.startswith(hub.PREFIX) and (
        "/" in name or os.sep in name or name.startswith("~") or name in (".", ".."))


def benchmark_names() -> list[str]:
    """Benchmark names: shipped with the package, then those in the checkout's data directory,
    then those published on the Hub (:data:`frozenbench.hub.PUBLISHED`; no network access).

    >>> "mnist-resnet" in benchmark_names()
    True
    """
    names = shipped() + in_checkout()
    return names + [n for n in hub.published() if n not in names]


def benchmarks() -> list[BenchmarkInfo]:
    """Every benchmark with its shape (:class:`~frozenbench.info.BenchmarkInfo`: family, n,
    configs, seeds, epochs, z, metric, size), in the order of :func:`benchmark_names`.

    Only manifests are read. A Hub table is described from the local Hugging Face cache when
    it was downloaded before; otherwise its shape fields are ``None`` (no network access).
    :func:`benchmark_names` is the cheap way to get the names alone.

    >>> info = {b.name: b for b in benchmarks()}["mnist-resnet"]
    >>> info.where, info.family, info.n_layers, info.n_configs, info.metric
    ('shipped', 'ResNet', 10, 144, 'val_error')
    """
    out = [describe(DATA_DIR / name, where="shipped", name=name) for name in shipped()]
    out += [describe(CHECKOUT_DIR / name, where="checkout", name=name) for name in in_checkout()]
    local = {b.name for b in out}
    return out + [_hub_info(name) for name in hub.published() if name not in local]


def _hub_info(name: str) -> BenchmarkInfo:
    """A published table's info from the Hugging Face cache, or one with unknown fields."""
    from huggingface_hub import try_to_load_from_cache

    ref = hub.PUBLISHED[name]
    try:
        cached = try_to_load_from_cache(ref.repo_id, MANIFEST_NAME, revision=ref.revision,
                                        repo_type="dataset")
        if isinstance(cached, str):
            return describe(Path(cached).parent, where="hub", name=name)
    except (FrozenbenchError, OSError, ValueError):
        pass  # not cached, or a cached copy that does not read: shown as not downloaded
    return BenchmarkInfo(name=name, where="hub")


def resolve(name: str | os.PathLike[str]) -> Path:
    """The local directory of a benchmark name or path (see the module docstring for the order).

    Hub references are downloaded (or found in the cache) and verified.
    """
    if not isinstance(name, (str, os.PathLike)) or not str(name):
        raise UnknownNameError(f"a benchmark is named by a string or a path, got {name!r}")
    if is_path(name):
        try:
            path = Path(name).expanduser()
        except RuntimeError as exc:  # "~user/..." of a user that does not exist
            raise UnknownNameError(f"{str(name)[:200]!r} is not a benchmark directory: {exc} "
                                   "(no such user)") from None
        if _has_manifest(path):
            return path.resolve()
        hint = ""
        if isinstance(name, str) and hub.parse(name) is not None and not _exists(path):
            hint = (f"; to load the Hugging Face Hub dataset {name!r}, write "
                    f"'{hub.PREFIX}{name}'")
        shown = str(path) if len(str(path)) <= 200 else f"{str(path)[:200]}... " \
            f"({len(str(path))} characters)"
        raise UnknownNameError(
            f"{shown!r} is not a benchmark directory (no {MANIFEST_NAME}){hint}")
    name = str(name)  # not a path, so a str
    for directory in (DATA_DIR, CHECKOUT_DIR):
        if _has_manifest(directory / name):
            return directory / name
    if name.startswith(hub.PREFIX) or name in hub.PUBLISHED:
        return Path(hub.fetch(name))
    raise UnknownNameError(
        f"unknown benchmark {name!r:.200}; valid: {format_choices(benchmark_names())}, a directory "
        f"holding {MANIFEST_NAME} (as a path: ./NAME), or 'hub:namespace/name@revision'")


def _has_manifest(directory: Path) -> bool:
    """Whether ``directory`` holds a manifest; a path the system cannot look up (too long, a
    link loop, no permission) holds none."""
    try:
        return (directory / MANIFEST_NAME).is_file()
    except OSError:
        return False


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return False


def load(name: str | os.PathLike[str], *, verify: bool = True) -> Benchmark:
    """Load a benchmark by name (shipped or published) or from a directory.

    ``verify`` checks the sha256 of every table file against the manifest. The result is
    cached, so loading the same benchmark again is free. ``bench.official`` says whether it
    is an official table (its manifest pinned in :mod:`frozenbench.official`).

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
    config: Mapping[str, Any] | int | Any,
    z: int,
    epoch: int | None = None,
    *,
    benchmark: str | os.PathLike[str] | Benchmark,
    seed: int | None = None,
    nearest: bool = False,
) -> Result:
    """The metrics of one cell of a benchmark; see :meth:`Benchmark.query`.

    ``epoch=None`` is the last epoch; ``seed=None`` is the mean over the available seeds.
    ``config`` is a dict, a ConfigSpace ``Configuration`` or a config id; ``nearest=True``
    queries the nearest table config where the table does not hold ``config``.

    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=4, n_z=2, n_epochs=3)
    >>> query(bench.configs[0], z=2, benchmark=bench).n_seeds
    3
    """
    bench = benchmark if isinstance(benchmark, Benchmark) else load(benchmark)
    return bench.query(config, z, epoch, seed=seed, nearest=nearest)


def simulate(bench: Benchmark | str | os.PathLike[str], *args: Any, **kwargs: Any
             ) -> pd.DataFrame:
    """``fb.simulate``: :func:`frozenbench.sim.simulate` on ``bench``, a loaded benchmark or
    anything :func:`load` takes (a name or a path); every other argument is passed on (a
    ``budget`` is in units of the table's median full-fidelity cost, ``budget_seconds`` in
    simulated seconds).

    >>> import tempfile
    >>> from frozenbench.synthetic import write_benchmark
    >>> with tempfile.TemporaryDirectory() as d:
    ...     traj = simulate(write_benchmark(d, n_configs=8, n_z=2, n_epochs=3), "asha", "z",
    ...                     max_evaluations=5)
    >>> len(traj)
    5
    """
    from frozenbench.sim import simulate as replay

    if not isinstance(bench, Benchmark):
        if not isinstance(bench, (str, os.PathLike)):
            raise InvalidValueError(
                f"bench must be a Benchmark, a benchmark name or a path, got {bench!r:.80}")
        bench = load(bench)
    return replay(bench, *args, **kwargs)
