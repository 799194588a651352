"""Does continuing a run by thawing layers pay? The measurements of issue 25 point 4, per table.

- :func:`thaw_correlations`: per epoch of the thaw schedule, the rank correlation with full
  training (full fidelity, :func:`~frozenbench.analysis.seeds.reference_scores`) of the thaw run
  at that epoch, next to all layers at the same epoch and to the best fixed-z cell that costs
  no more (the fixed (z, epoch) with the highest correlation among those whose median cost is
  within the thaw run's), each with a 95% bootstrap interval over configs; and the cost of each.
- :func:`rung_costs`: what a trial pays to reach each level of a fidelity path, continuing
  where the path continues (``epoch``, ``thaw``) and restarting where z changes (``z``, the
  diagonals), in budget units: the engine's accounting, per config then the median.
- :data:`THAW_METHODS`: the methods the regret-against-budget comparison runs
  (:func:`frozenbench.analysis.hpo.compare`): Hyperband over ``thaw`` against Hyperband over z
  (restarts), over epochs and over the linear z+epoch diagonal, with freeze-thaw and random
  search beside them.

Only configs with a thaw cell at the seeds used enter a correlation (every config in a suite
table). ``variant`` is :mod:`frozenbench.analysis.correlation`'s: ``"shared"`` compares the
mean over the common seeds, ``"cross"`` one seed against another seed's full fidelity.

>>> from frozenbench.synthetic import make_benchmark
>>> bench = make_benchmark(n_configs=40, n_z=4, n_epochs=7, diverge_frac=0.0, thaw_configs=40)
>>> t = thaw_correlations(bench, n_boot=100)
>>> t[["epoch", "z"]].values.tolist()[:3], bool((t["cost_thaw"] < t["cost_all_layers"]).all())
([[1, 1], [2, 1], [3, 2]], True)
>>> bool(t["spearman_thaw"].iloc[-1] > t["spearman_thaw"].iloc[0])
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from frozenbench.analysis.correlation import N_BOOT, bootstrap_indices, pair_stats
from frozenbench.analysis.seeds import common_cost, seed_scores
from frozenbench.errors import InvalidValueError
from frozenbench.optimizers.fidelity import Level, path_levels, path_schedule
from frozenbench.schema import FIXED
from frozenbench.sim.budget import budget_unit
from frozenbench.sim.methods import Method
from frozenbench.table import Benchmark, cost_column

__all__ = ["THAW_METHODS", "rung_costs", "thaw_correlations"]

#: The methods of the regret-against-budget comparison (labels as the command lines take them).
THAW_METHODS: dict[str, Method] = {label: Method.parse(label) for label in (
    "hyperband:thaw", "hyperband:z", "hyperband:epoch", "hyperband:z+epoch-linear",
    "freezethaw:thaw", "random:full")}

Pairs = list[tuple[np.ndarray, np.ndarray]]


def _thaw_seed_scores(bench: Benchmark, schedule: str, metric: str, rows: np.ndarray
                      ) -> dict[int, np.ndarray]:
    """``{seed: [row, epoch] scores}`` of the schedule for the seeds every row in ``rows`` has."""
    arrays = bench.schedule_arrays(schedule)
    obj = arrays.objective(metric, per_seed=True)[rows]  # [row, epoch, seed]
    every = arrays.seed_mask()[rows].all(axis=0)
    return {s: obj[:, :, k] for k, s in enumerate(bench.seeds) if every[k]}


def _pairs(low: dict[int, np.ndarray], full: dict[int, np.ndarray], variant: str) -> Pairs:
    """The (low fidelity, reference) vectors of ``variant`` from per-seed scores."""
    if variant == "shared":
        common = [s for s in low if s in full]
        if not common:
            return []
        return [(np.mean([low[s] for s in common], axis=0),
                 np.mean([full[s] for s in common], axis=0))]
    if variant == "cross":
        return [(lo, full[t]) for s, lo in low.items() for t in full if t != s]
    raise InvalidValueError(f"variant={variant!r}; valid: ['shared', 'cross']")


def _fixed_scores(bench: Benchmark, z: int, epoch: int, metric: str, rows: np.ndarray
                  ) -> dict[int, np.ndarray]:
    return {s: v[rows] for s, v in seed_scores(bench, z, epoch, metric).items()}


def _thawed_rows(bench: Benchmark, schedule: str) -> np.ndarray:
    """The rows (configs) with a cell of ``schedule`` at every seed any config has one at."""
    mask = bench.schedule_arrays(schedule).seed_mask()
    used = mask.any(axis=0)
    rows = np.flatnonzero(mask[:, used].all(axis=1))
    if len(rows) < 3:
        raise InvalidValueError(f"{bench.name} has {len(rows)} configs with {schedule} cells "
                                f"at every seed; a rank correlation needs at least 3")
    return rows


def thaw_correlations(bench: Benchmark, metric: str | None = None, cost: str | None = None,
                      *, schedule: str = "thaw", variant: str = "shared",
                      n_boot: int = N_BOOT, seed: int = 0) -> pd.DataFrame:
    """One row per epoch of the thaw schedule: ``epoch``, ``z`` (trained then),
    ``spearman_thaw``, ``spearman_all_layers`` (largest z at the same epoch) and
    ``spearman_same_cost`` (the best fixed (``same_cost_z``, ``same_cost_epoch``) whose median
    cost is at most the thaw run's; NaN where none is), each with ``_low``/``_high`` (95%
    bootstrap over configs), the median costs ``cost_thaw``, ``cost_all_layers`` and
    ``cost_same_cost`` in budget units, and ``n_configs``. See the module docstring."""
    metric = bench.metric_name(metric)
    column = cost_column(cost or bench.default_cost)
    rows = _thawed_rows(bench, schedule)
    unit = budget_unit(bench, column)
    idx = bootstrap_indices(len(rows), n_boot, seed)
    full = _fixed_scores(bench, bench.fidelities["z"][-1], bench.fidelities["epoch"][-1],
                         metric, rows)
    thaw = _thaw_seed_scores(bench, schedule, metric, rows)
    arrays = bench.schedule_arrays(schedule)
    thaw_cost = np.nanmedian(arrays.quantity(column)[rows], axis=0) / unit  # per epoch
    fixed_cost = np.nanmedian(common_cost(bench, column)[rows], axis=0) / unit  # [z, epoch]
    zs, epochs = bench.fidelities["z"], bench.fidelities["epoch"]
    out = []
    for ei, epoch in enumerate(epochs):
        if arrays.z[ei] < 1:
            continue
        row: dict[str, float | int] = {"epoch": epoch, "z": int(arrays.z[ei]),
                                       "n_configs": len(rows), "cost_thaw": thaw_cost[ei],
                                       "cost_all_layers": fixed_cost[-1, ei]}
        _stats(row, "thaw", _pairs({s: v[:, ei] for s, v in thaw.items()}, full, variant),
               idx)
        _stats(row, "all_layers", _pairs(_fixed_scores(bench, zs[-1], epoch, metric, rows),
                                         full, variant), idx)
        _same_cost(row, bench, metric, rows, full, variant, idx, fixed_cost, thaw_cost[ei])
        out.append(row)
    return pd.DataFrame(out)


def _stats(row: dict[str, float | int], name: str, pairs: Pairs, idx: np.ndarray) -> float:
    st = pair_stats(pairs, idx, ())
    row.update({f"spearman_{name}": st.spearman.value, f"spearman_{name}_low": st.spearman.low,
                f"spearman_{name}_high": st.spearman.high})
    return st.spearman.value


def _same_cost(row: dict[str, float | int], bench: Benchmark, metric: str, rows: np.ndarray,
               full: dict[int, np.ndarray], variant: str, idx: np.ndarray,
               fixed_cost: np.ndarray, budget: float) -> None:
    """The best fixed (z, epoch) within ``budget`` (per z its last epoch within it)."""
    best: tuple[float, dict[str, float | int]] | None = None
    for zi, z in enumerate(bench.fidelities["z"]):
        within = np.flatnonzero(fixed_cost[zi] <= budget * (1 + 1e-9))
        if not len(within):
            continue
        ei = int(within[-1])
        cell: dict[str, float | int] = {}
        epoch = bench.fidelities["epoch"][ei]
        rho = _stats(cell, "same_cost",
                     _pairs(_fixed_scores(bench, z, epoch, metric, rows), full, variant), idx)
        if best is None or rho > best[0]:
            cell.update({"same_cost_z": z, "same_cost_epoch": epoch,
                         "cost_same_cost": fixed_cost[zi, ei]})
            best = (rho, cell)
    row.update(best[1] if best is not None else {
        "spearman_same_cost": np.nan, "spearman_same_cost_low": np.nan,
        "spearman_same_cost_high": np.nan, "same_cost_z": -1, "same_cost_epoch": -1,
        "cost_same_cost": np.nan})


def rung_costs(bench: Benchmark, fidelities: Sequence[str] = ("thaw", "z", "epoch",
                                                              "z+epoch-linear"),
               cost: str | None = None, *, eta: float = 3.0) -> pd.DataFrame:
    """What one trial pays to reach each level of each fidelity path (levels of
    :func:`~frozenbench.optimizers.fidelity.path_levels` with ``eta``, uncapped): one row per
    (``fidelity``, ``rung``) with ``z``, ``epoch`` and ``cost`` (budget units, the median over
    configs of the cumulative charge: a level of the same z, or any level of a schedule path,
    continues the run and pays only its new epochs; a new z restarts and pays in full).

    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=20, n_z=4, n_epochs=9, diverge_frac=0.0,
    ...                        thaw_configs=20)
    >>> r = rung_costs(bench, ("thaw", "z"))
    >>> top = r.groupby("fidelity")["cost"].last()
    >>> bool(top["thaw"] < 1.0 < top["z"])  # one thaw run vs restarts up to full training
    True
    """
    column = cost_column(cost or bench.default_cost)
    unit = budget_unit(bench, column)
    fixed = common_cost(bench, column) / unit  # [row, z, epoch]
    out = []
    for fidelity in fidelities:
        levels: list[Level] = path_levels(bench, fidelity, eta)
        schedule = path_schedule(fidelity)
        if schedule != FIXED:
            arrays = bench.schedule_arrays(schedule)
            per_epoch = arrays.quantity(column) / unit  # [row, epoch]
            charged = [per_epoch[:, bench.index.epoch(e)] for _, e in levels]
        else:
            charged = _restart_charges(bench, fixed, levels)
        for rung, ((z, epoch), paid) in enumerate(zip(levels, charged)):
            out.append({"fidelity": fidelity, "rung": rung, "z": z, "epoch": epoch,
                        "cost": float(np.nanmedian(paid))})
    return pd.DataFrame(out)


def _restart_charges(bench: Benchmark, fixed: np.ndarray, levels: Sequence[Level]
                     ) -> list[np.ndarray]:
    """Per level, each config's total charge up to it on a fixed-z path: the runs of the
    earlier z in full (to the last epoch they reached) plus the current run so far."""
    done = np.zeros(fixed.shape[0])
    out = []
    for k, (z, epoch) in enumerate(levels):
        now = fixed[:, bench.index.z(z), bench.index.epoch(epoch)]
        out.append(done + now)
        if k + 1 < len(levels) and levels[k + 1][0] != z:
            done = done + now  # the next level restarts at another z
    return out

