"""Ask/tell optimizers for the replay simulator: random search, successive halving,
Hyperband and ASHA, each over a fidelity path (``"epoch"``, ``"z"``, ``"z+epoch"``, ``"full"``
or a list of ``(z, epoch)`` levels; see :mod:`frozenbench.optimizers.fidelity`).

Any object with ``name``, ``ask(rng) -> Job | None`` and ``tell(Observation)`` (the promotion
style) or ``suggest(rng) -> Start | None`` and ``report(Observation) -> bool`` (the stopping
style, :mod:`frozenbench.optimizers.stopping`) can be passed to :func:`frozenbench.simulate`
instead of a name.

>>> from frozenbench.synthetic import make_benchmark
>>> bench = make_benchmark(n_configs=10, n_z=4, n_epochs=9)
>>> opt = make_optimizer("hyperband", bench, fidelity="z+epoch")
>>> opt.levels
[(1, 3), (4, 9)]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from frozenbench.errors import unknown_name
from frozenbench.optimizers.asha import ASHA
from frozenbench.optimizers.base import ConfigSampler, Job, Observation, Optimizer
from frozenbench.optimizers.fidelity import FIDELITIES, Level, fidelity_levels
from frozenbench.optimizers.random_search import RandomSearch
from frozenbench.optimizers.stopping import Start, Stopping, StoppingOptimizer
from frozenbench.optimizers.successive_halving import Bracket, Hyperband, SuccessiveHalving

if TYPE_CHECKING:
    from frozenbench.table import Benchmark

#: Optimizer names and their classes (each takes ``(config_ids, levels, ...)``).
OPTIMIZERS: dict[str, Callable[..., Any]] = {
    "random": RandomSearch,
    "sh": SuccessiveHalving,
    "hyperband": Hyperband,
    "asha": ASHA,
}


def make_optimizer(
    name: str, bench: Benchmark, fidelity: str | Sequence[Level] = "z+epoch", *,
    eta: float = 3.0,
) -> Optimizer:
    """Build a named optimizer over the table's configs and a fidelity path."""
    if not isinstance(name, str) or name not in OPTIMIZERS:
        raise unknown_name("optimizer", name, OPTIMIZERS)
    levels = fidelity_levels(bench.fidelity_values, fidelity, eta)
    if name == "random":
        return RandomSearch(bench.config_ids, levels)
    return OPTIMIZERS[name](bench.config_ids, levels, eta)  # type: ignore[no-any-return,unused-ignore]


__all__ = [
    "ASHA",
    "FIDELITIES",
    "OPTIMIZERS",
    "Bracket",
    "ConfigSampler",
    "Hyperband",
    "Job",
    "Observation",
    "Optimizer",
    "RandomSearch",
    "Start",
    "Stopping",
    "StoppingOptimizer",
    "SuccessiveHalving",
    "fidelity_levels",
    "make_optimizer",
]
