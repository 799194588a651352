"""Ask/tell optimizers for the replay simulator: random search, successive halving,
Hyperband and ASHA, each over a fidelity path (``"epoch"``, ``"z"``, ``"z+epoch-geometric"``,
``"z+epoch-linear"``, ``"full"`` or a list of ``(z, epoch)`` levels; see
:mod:`frozenbench.optimizers.fidelity`).

Any object with ``name``, ``ask(rng) -> Job | None`` and ``tell(Observation)`` (the promotion
style) or ``suggest(rng) -> Start | None`` and ``report(Observation) -> bool`` (the stopping
style, :mod:`frozenbench.optimizers.stopping`) can be passed to :func:`frozenbench.simulate`
instead of a name.

>>> from frozenbench.synthetic import make_benchmark
>>> bench = make_benchmark(n_configs=10, n_z=4, n_epochs=9)
>>> opt = make_optimizer("hyperband", bench, fidelity="z+epoch-geometric")
>>> opt.levels
[(1, 3), (4, 9)]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from frozenbench.errors import unknown_name
from frozenbench.optimizers.asha import ASHA
from frozenbench.optimizers.base import ConfigSampler, Job, Observation, Optimizer
from frozenbench.optimizers.fidelity import FIDELITIES, Level, cap_levels, fidelity_levels
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
    name: str, bench: Benchmark, fidelity: str | Sequence[Level] = "z+epoch-geometric", *,
    eta: float = 3.0, levels: Sequence[Level] | None = None,
) -> Optimizer:
    """Build a named optimizer over the table's configs and a fidelity path. A promotion
    optimizer's path is thinned to the rungs it can fill from the table's configs
    (:func:`~frozenbench.optimizers.fidelity.cap_levels`: at most 1 + log_eta(configs),
    full fidelity kept), so its top rung is reachable. ``levels``: the path already computed
    from ``fidelity`` (:func:`fidelity_levels`), so a replay computes it once.

    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=10, n_z=6, n_epochs=6)
    >>> make_optimizer("asha", bench, "z+epoch-linear").levels  # 1 + log_3(10) = 3 rungs
    [(1, 1), (3, 3), (6, 6)]
    """
    if not isinstance(name, str) or name not in OPTIMIZERS:
        raise unknown_name("optimizer", name, OPTIMIZERS)
    if levels is None:
        levels = fidelity_levels(bench.fidelity_values, fidelity, eta)
    if name == "random":
        return RandomSearch(bench.config_ids, list(levels))
    levels = cap_levels(levels, len(bench.config_ids), eta)
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
