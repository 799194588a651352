"""frozenbench: a tabular many-fidelity HPO benchmark built on layer freezing.

Train only the last ``z`` of ``n`` layers, freeze the rest at random initialisation: a cheap
fidelity whose ranking of hyperparameter configurations stays close to full training. This
package ships the resulting tables, a fast query API and an HPO replay simulator.

The core is light: ``import frozenbench`` imports numpy, pandas and pyarrow, never torch.
Heavy parts (``frozenbench.freezing``, ``frozenbench.tasks``) import torch when first used.

>>> import frozenbench as fb
>>> "torch" in fb.__dict__
False
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from frozenbench.errors import (
    FidelityError,
    FrozenbenchError,
    HubError,
    InvalidValueError,
    MissingExtraError,
    SchemaError,
    UnknownNameError,
)
from frozenbench.space import Fidelities, SearchSpace

__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from frozenbench import freezing
    from frozenbench.info import BenchmarkInfo
    from frozenbench.registry import benchmark_names, benchmarks, load, query, simulate
    from frozenbench.suites import Suite, suite, suite_names
    from frozenbench.table import Benchmark

# Public names resolved on first use, so that importing the package stays cheap.
_LAZY: dict[str, str] = {
    "benchmarks": "frozenbench.registry",
    "benchmark_names": "frozenbench.registry",
    "BenchmarkInfo": "frozenbench.info",
    "load": "frozenbench.registry",
    "query": "frozenbench.registry",
    "Benchmark": "frozenbench.table",
    "simulate": "frozenbench.registry",  # resolves a name, then frozenbench.sim.simulate
    "freezing": "frozenbench.freezing",
    "suite": "frozenbench.suites",
    "suite_names": "frozenbench.suites",
    "Suite": "frozenbench.suites",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'frozenbench' has no attribute {name!r}")
    mod = importlib.import_module(module)
    value = mod if module.endswith("." + name) else getattr(mod, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "Benchmark",
    "BenchmarkInfo",
    "Fidelities",
    "FidelityError",
    "FrozenbenchError",
    "HubError",
    "InvalidValueError",
    "MissingExtraError",
    "SchemaError",
    "SearchSpace",
    "Suite",
    "UnknownNameError",
    "__version__",
    "benchmark_names",
    "benchmarks",
    "freezing",
    "load",
    "query",
    "simulate",
    "suite",
    "suite_names",
]
