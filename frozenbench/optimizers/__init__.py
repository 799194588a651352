"""Ask/tell optimizers for the replay simulator: random search, successive halving,
Hyperband and ASHA, each over a fidelity path (``"epoch"``, ``"z"``, ``"z+epoch-geometric"``,
``"z+epoch-linear"``, ``"full"``, a list of ``(z, epoch)`` levels or ``"thaw"``, a run along the
table's thaw schedule; see :mod:`frozenbench.optimizers.fidelity`), and freeze-thaw
(:mod:`frozenbench.optimizers.freeze_thaw`) over a path whose runs continue (``"epoch"`` or
``"thaw"``).

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
from frozenbench.optimizers.fidelity import (
    FIDELITIES,
    SCHEDULE_PATHS,
    Level,
    cap_levels,
    fidelity_levels,
    path_levels,
    path_schedule,
    run_levels,
)
from frozenbench.optimizers.freeze_thaw import FreezeThaw
from frozenbench.optimizers.random_search import RandomSearch
from frozenbench.optimizers.stopping import Start, Stopping, StoppingOptimizer
from frozenbench.optimizers.successive_halving import Bracket, Hyperband, SuccessiveHalving
from frozenbench.schema import FIXED

if TYPE_CHECKING:
    from frozenbench.table import Benchmark

#: Optimizer names and their classes (each takes ``(config_ids, levels, ...)``).
OPTIMIZERS: dict[str, Callable[..., Any]] = {
    "random": RandomSearch,
    "sh": SuccessiveHalving,
    "hyperband": Hyperband,
    "asha": ASHA,
    "freezethaw": FreezeThaw,
}
#: The optimizers that promote through rungs (their path is capped to the rungs they can fill).
PROMOTING = ("sh", "hyperband", "asha")
#: The optimizers that continue one run an epoch at a time (every epoch of the path is a level).
CONTINUING = ("freezethaw",)


def optimizer_levels(name: str, bench: Benchmark, fidelity: str | Sequence[Level],
                     eta: float = 3.0) -> list[Level]:
    """The levels optimizer ``name`` climbs on ``bench`` along ``fidelity``: the path's
    levels (:func:`path_levels`); a freeze-thaw optimizer, which continues a run one epoch
    at a time, takes every epoch of the run (:func:`run_levels`).

    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=6, n_z=3, n_epochs=4, thaw_configs=6)
    >>> optimizer_levels("asha", bench, "thaw"), optimizer_levels("freezethaw", bench, "thaw")
    ([(1, 1), (3, 4)], [(1, 1), (1, 2), (2, 3), (3, 4)])
    """
    if name in CONTINUING:
        return run_levels(bench, fidelity, eta)
    return path_levels(bench, fidelity, eta)


def make_optimizer(
    name: str, bench: Benchmark, fidelity: str | Sequence[Level] = "z+epoch-geometric", *,
    eta: float = 3.0, levels: Sequence[Level] | None = None,
) -> Optimizer:
    """Build a named optimizer over the table's configs and a fidelity path. A promotion
    optimizer's path is thinned to the rungs it can fill from the table's configs
    (:func:`~frozenbench.optimizers.fidelity.cap_levels`: at most 1 + log_eta(configs),
    full fidelity kept), so its top rung is reachable. ``levels``: the path already computed
    from ``fidelity`` (:func:`path_levels`), so a replay computes it once. On a schedule path
    (``"thaw"``) the jobs follow the schedule, promotions continue their trials, and configs are
    drawn among those with a cell of that schedule.

    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=10, n_z=6, n_epochs=6, thaw_configs=10)
    >>> make_optimizer("asha", bench, "z+epoch-linear").levels  # 1 + log_3(10) = 3 rungs
    [(1, 1), (3, 3), (6, 6)]
    >>> hb = make_optimizer("hyperband", bench, "thaw")
    >>> hb.levels, hb.schedule
    ([(2, 2), (6, 6)], 'thaw')
    """
    if not isinstance(name, str) or name not in OPTIMIZERS:
        raise unknown_name("optimizer", name, OPTIMIZERS)
    if levels is None:
        levels = optimizer_levels(name, bench, fidelity, eta)
    schedule = path_schedule(fidelity)
    ids = bench.config_ids if schedule == FIXED else \
        bench.config_ids[bench.schedule_arrays(schedule).seed_mask().any(axis=1)]
    if name == "random":
        return RandomSearch(ids, list(levels), schedule=schedule)
    if name not in PROMOTING:
        return OPTIMIZERS[name](ids, list(levels), eta, schedule=schedule)  # type: ignore[no-any-return,unused-ignore]
    levels = cap_levels(levels, len(ids), eta)
    return OPTIMIZERS[name](ids, levels, eta, schedule=schedule)  # type: ignore[no-any-return,unused-ignore]


__all__ = [
    "ASHA",
    "FIDELITIES",
    "OPTIMIZERS",
    "SCHEDULE_PATHS",
    "Bracket",
    "ConfigSampler",
    "FreezeThaw",
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
    "path_levels",
    "path_schedule",
    "run_levels",
]
