"""Optimizers replayed across a suite of tables, summarised per task and over tasks.

Every method runs ``runs`` times (replay seeds 0..runs-1) on every table with a budget of
``budget_units`` x the table's median full-fidelity cost (:func:`~frozenbench.analysis.hpo.
budget_unit`), so one budget means the same on tables whose seconds differ by orders of
magnitude. The replays of one table form a :class:`~frozenbench.analysis.hpo.Comparison`, and
the numbers come from :mod:`frozenbench.analysis.hpo`:

- **final regret**: the incumbent's full-fidelity score (common seeds) minus the best config's,
  at the end of the budget (:func:`~frozenbench.analysis.hpo.final_regret`);
- **normalised regret**: the final regret divided by the table's score range, worst config's
  reference score minus the best's (diverged configs score as the worst finite value). 0 is
  the best config of the table, 1 the worst, whatever the metric (error or loss) and its scale.
  The range, unlike random search's regret, does not depend on which methods were run, so a
  method's number does not change when another one is added;
- **per task**: the mean normalised regret over replay seeds with a 95% bootstrap interval over
  seeds, and the average rank of each method in that task;
- **over tasks**: the mean over tasks of the per-task means (each task weighs the same,
  whatever its seed count), with a 95% interval from a bootstrap that resamples the replay
  seeds within every task; and the average rank, where methods are ranked within each
  (task, replay seed) (rank 1 = lowest final regret, ties averaged) and the ranks are averaged
  over all (task, seed) problems, with a 95% bootstrap interval over problems and the Nemenyi
  critical difference (:func:`~frozenbench.analysis.hpo.average_ranks`).

A run that has no incumbent when its budget ends has no final regret: it is left out of the
means, and its (task, seed) problem is left out of the ranks.

>>> from frozenbench.synthetic import make_benchmark
>>> tables = [make_benchmark(name=n, n_configs=20, n_z=3, n_epochs=9, diverge_frac=0.0, seed=i)
...           for i, n in enumerate(["a", "b"])]
>>> result = run_suite(tables, {"random": ("random", "full"), "hb-z": ("hyperband", "z")},
...                    runs=3, budget_units=4, n_workers=2, n_boot=50)
>>> result.tables, result.labels
(('a', 'b'), ('random', 'hb-z'))
>>> list(result.aggregate.columns[:5])
['label', 'tasks', 'normalized_regret_mean', 'normalized_regret_low', 'normalized_regret_high']
>>> float(result.aggregate["average_rank"].mean())  # (1 + 2) / 2 for two methods
1.5
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from frozenbench.analysis.hpo import (
    DEFAULT_METHODS,
    Comparison,
    average_ranks,
    budget_unit,
    final_regret,
    final_summary,
)
from frozenbench.analysis.seeds import reference_scores
from frozenbench.errors import (
    FrozenbenchError,
    InvalidValueError,
    MissingExtraError,
    unknown_name,
)
from frozenbench.sim.replay import DEFAULT_BUDGET_FACTOR
from frozenbench.table import Benchmark

#: One method: ``(optimizer, fidelity)``, an optimizer of ``frozenbench.optimizers.OPTIMIZERS``
#: and a fidelity path, or ``(name, None)``, an HPO library's optimizer of
#: :data:`frozenbench.interop.methods.METHODS` (built afresh for every replay seed), as
#: ``frozenbench simulate --optimizers`` takes them.
Method = tuple[str, Any]

__all__ = [
    "DEFAULT_METHODS",
    "SuiteResult",
    "method_label",
    "method_problems",
    "run_suite",
    "stratified_mean_ci",
    "summarize_suite",
]


def method_label(optimizer: str, fidelity: Any) -> str:
    """The label of a method, in the spelling ``frozenbench simulate --optimizers`` takes.

    >>> method_label("hyperband", "z"), method_label("sh", [(1, 2), (4, 6)])
    ('hyperband:z', 'sh:1@2,4@6')
    >>> method_label("optuna:tpe+hyperband", None)  # an HPO library's optimizer
    'optuna:tpe+hyperband'
    """
    if fidelity is None:
        return optimizer
    if isinstance(fidelity, str):
        return f"{optimizer}:{fidelity}"
    return f"{optimizer}:" + ",".join(f"{z}@{e}" for z, e in fidelity)


@dataclass(frozen=True, eq=False)
class SuiteResult:
    """Replays of several methods on several tables and their summaries (see the module
    docstring for the definitions).

    ``finals``: one row per (table, label, run): ``regret``, ``scale`` (the table's score
    range) and ``normalized_regret``. ``per_task``: one row per (table, label): ``runs``,
    ``final_regret_mean``, ``normalized_regret_mean`` / ``_low`` / ``_high`` (95% bootstrap
    interval over replay seeds), ``average_rank`` / ``rank_low`` / ``rank_high``.
    ``aggregate``: one row per label: ``tasks``, ``normalized_regret_mean`` / ``_low`` /
    ``_high``, ``average_rank`` / ``rank_low`` / ``rank_high``, ``problems`` and the Nemenyi
    ``critical_difference``; sorted by average rank.
    """

    tables: tuple[str, ...]
    labels: tuple[str, ...]
    runs: int
    budget_units: float
    finals: pd.DataFrame = field(repr=False)
    per_task: pd.DataFrame = field(repr=False)
    aggregate: pd.DataFrame = field(repr=False)
    comparisons: tuple[Comparison, ...] = field(repr=False, default=())


def method_problems(benches: Sequence[Benchmark], methods: Mapping[str, Method],
                    eta: float = 3.0) -> list[str]:
    """Every problem with ``methods`` on ``benches`` (unknown optimizers, fidelity paths a
    table does not have, an HPO library that is not installed), each naming the label and the
    valid values; empty when all run. An HPO library's optimizer is built once to find out.

    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=5, n_z=2, n_epochs=2)
    >>> method_problems([bench], {"x": ("bohb", "z"), "y": ("sh", [(3, 2)])})
    ["x: unknown optimizer 'bohb'; valid: ['random', 'sh', 'hyperband', 'asha', \
'optuna:tpe+hyperband', ...]", 'y on synthetic: z=3 is out of range for synthetic (z in 1..2)']
    """
    from frozenbench.interop.methods import METHODS, build
    from frozenbench.optimizers import OPTIMIZERS
    from frozenbench.optimizers.fidelity import fidelity_levels

    problems: list[str] = []
    for label, method in methods.items():
        if not (isinstance(method, tuple) and len(method) == 2):
            problems.append(f"{label}: a method is (optimizer, fidelity), got {method!r:.60}")
            continue
        optimizer, fidelity = method
        if not isinstance(optimizer, str) or optimizer not in [*OPTIMIZERS, *METHODS]:
            error = unknown_name("optimizer", optimizer, [*OPTIMIZERS, *METHODS])
            problems.append(f"{label}: {error}")
            continue
        if (optimizer in METHODS) != (fidelity is None):
            problems.append(f"{label}: {optimizer} takes " + (
                "no fidelity (an HPO library's optimizer: (name, None))"
                if optimizer in METHODS else "a fidelity path, e.g. (name, 'z')"))
            continue
        if fidelity is None:
            for bench in benches:
                try:
                    build(optimizer, bench, seed=0, eta=eta)
                except MissingExtraError as exc:
                    problems.append(f"{label}: {exc}")
                    break
                except FrozenbenchError as exc:
                    problems.append(f"{label} on {bench.name}: {exc}")
            continue
        for bench in benches:
            try:
                fidelity_levels(bench.fidelity_values, fidelity, eta)
            except FrozenbenchError as exc:
                problems.append(f"{label} on {bench.name}: {exc}")
    return problems


def run_suite(
    benches: Iterable[Benchmark | str | os.PathLike[str]],
    methods: Mapping[str, Method] | None = None,
    *,
    runs: int = 20,
    budget_units: float = DEFAULT_BUDGET_FACTOR,
    n_workers: int = 4,
    eta: float = 3.0,
    cost: str | None = None,
    n_boot: int = 1000,
    on_replayed: Callable[[str, str], None] | None = None,
) -> SuiteResult:
    """Replay every method (``{label: (optimizer, fidelity)}``, see :data:`Method`; default
    :data:`~frozenbench.analysis.hpo.DEFAULT_METHODS`) ``runs`` times on every table and
    summarise (:func:`summarize_suite`). Benchmarks are :class:`Benchmark` objects or anything
    :func:`frozenbench.load` takes. Every argument is checked, with every problem reported at
    once, before the first replay. ``on_replayed(table, label)`` is called after each method
    has run all its seeds on a table (a progress bar, for instance).
    """
    from frozenbench.registry import load

    methods = dict(DEFAULT_METHODS if methods is None else methods)
    loaded = [b if isinstance(b, Benchmark) else load(b) for b in benches]
    problems: list[str] = []
    if not loaded:
        problems.append("give at least one benchmark")
    if not methods:
        problems.append("give at least one method")
    names = [b.name for b in loaded]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        problems.append(f"benchmarks named twice: {twice}; each table is one task")
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        problems.append(f"runs={runs!r} must be a positive integer")
    if isinstance(budget_units, bool) or not isinstance(budget_units, (int, float)) \
            or not budget_units > 0:
        problems.append(f"budget_units={budget_units!r} must be a positive number")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 1:
        problems.append(f"n_boot={n_boot!r} must be a positive integer")
    problems += method_problems(loaded, methods, eta)
    if problems:
        raise InvalidValueError(problems[0] if len(problems) == 1 else
                                "invalid arguments:\n" + "\n".join(f"  - {p}" for p in problems))
    comparisons = []
    for bench in loaded:
        unit = budget_unit(bench, cost)
        replays = {}
        for label, method in methods.items():
            replays[label] = _replays(bench, method, runs=runs, budget=budget_units * unit,
                                      n_workers=n_workers, eta=eta, cost=cost)
            if on_replayed is not None:
                on_replayed(bench.name, label)
        comparisons.append(Comparison(bench.name, unit, float(budget_units), replays,
                                      reference_scores(bench), bench.index.pos_of_id))
    return summarize_suite(comparisons, n_boot=n_boot)


def _replays(bench: Benchmark, method: Method, *, runs: int, budget: float, n_workers: int,
             eta: float, cost: str | None) -> list[pd.DataFrame]:
    """The trajectories of replay seeds 0..runs-1 of one method (as
    :func:`~frozenbench.analysis.hpo.compare` makes them, and HPO libraries' optimizers too)."""
    from frozenbench.interop.methods import build
    from frozenbench.sim import simulate

    name, fidelity = method
    return [simulate(bench, name if fidelity is not None else build(name, bench, seed=s, eta=eta),
                     fidelity if fidelity is not None else "full", n_workers=n_workers,
                     budget=budget, seed=s, eta=eta, cost=cost) for s in range(runs)]


def summarize_suite(comparisons: Sequence[Comparison], *, n_boot: int = 1000, seed: int = 0
                    ) -> SuiteResult:
    """Per-task and aggregate numbers of replays already made (one :class:`Comparison` per
    table, the same labels on each); see the module docstring for the definitions.

    >>> from frozenbench.analysis.hpo import compare
    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(name="t", n_configs=20, n_z=3, n_epochs=9, diverge_frac=0.0)
    >>> cmp = compare(bench, {"r": ("random", "full")}, runs=2, budget_units=3, n_workers=2)
    >>> s = summarize_suite([cmp], n_boot=20)
    >>> s.per_task[["table", "label", "runs"]].values.tolist(), float(s.aggregate.average_rank[0])
    ([['t', 'r', 2]], 1.0)
    """
    if not comparisons:
        raise InvalidValueError("summarize_suite needs the replays of at least one table")
    labels = tuple(comparisons[0].runs)
    for cmp in comparisons:
        if tuple(cmp.runs) != labels:
            raise InvalidValueError(
                f"every table needs the same methods: {cmp.table} has {list(cmp.runs)}, "
                f"{comparisons[0].table} has {list(labels)}")
    finals = pd.concat([_finals(cmp) for cmp in comparisons], ignore_index=True)
    per_task = pd.concat([_per_task(cmp, finals[finals["table"] == cmp.table], n_boot, seed)
                          for cmp in comparisons], ignore_index=True)
    aggregate = _aggregate(finals, labels, n_boot, seed)
    runs = max(len(trajs) for cmp in comparisons for trajs in cmp.runs.values())
    return SuiteResult(tuple(c.table for c in comparisons), labels, runs,
                       comparisons[0].budget_units, finals, per_task, aggregate,
                       tuple(comparisons))


def _finals(cmp: Comparison) -> pd.DataFrame:
    """Final regret per (label, run) with the table's score range and the normalised regret."""
    ref = cmp.reference[np.isfinite(cmp.reference)]
    span = float(ref.max() - ref.min()) if ref.size else math.nan
    f = final_regret(cmp)
    f["scale"] = span
    f["normalized_regret"] = f["regret"] / span if span > 0 else f["regret"] * 0.0
    return f


def _per_task(cmp: Comparison, finals: pd.DataFrame, n_boot: int, seed: int) -> pd.DataFrame:
    scale = float(finals["scale"].iloc[0])
    s = final_summary(cmp, n_boot=n_boot)  # the bootstrap of regret/scale is that of regret
    out = pd.DataFrame({"table": cmp.table, "label": s["label"], "runs": s["runs"],
                        "final_regret_mean": s["final_regret_mean"]})
    for part in ("mean", "low", "high"):
        raw = s[f"final_regret_{part}"]
        out[f"normalized_regret_{part}"] = raw / scale if scale > 0 else raw * 0.0
    ranks = _ranks(finals, list(s["label"]), n_boot, seed)
    return out.merge(ranks[["label", "average_rank", "rank_low", "rank_high"]], on="label")


def _ranks(finals: pd.DataFrame, labels: Sequence[str], n_boot: int, seed: int
           ) -> pd.DataFrame:
    """:func:`average_ranks` renamed for the suite's tables; one method ranks 1 everywhere."""
    problems = finals.dropna(subset=["regret"]).groupby(["table", "run"]).ngroups
    if len(labels) < 2:
        return pd.DataFrame({"label": list(labels), "average_rank": 1.0, "rank_low": 1.0,
                             "rank_high": 1.0, "problems": problems,
                             "critical_difference": math.nan})
    r = average_ranks(finals, n_boot=n_boot, seed=seed)
    return r.rename(columns={"low": "rank_low", "high": "rank_high"})


def _aggregate(finals: pd.DataFrame, labels: Sequence[str], n_boot: int, seed: int
               ) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for label in labels:
        mine = finals[finals["label"] == label]
        groups = [g["normalized_regret"].to_numpy() for _, g in mine.groupby("table", sort=False)]
        mean, low, high = stratified_mean_ci(groups, n_boot, rng)
        rows.append({"label": label, "tasks": sum(bool(np.isfinite(g).any()) for g in groups),
                     "normalized_regret_mean": mean, "normalized_regret_low": low,
                     "normalized_regret_high": high})
    out = pd.DataFrame(rows).merge(_ranks(finals, labels, n_boot, seed), on="label")
    return out.sort_values(["average_rank", "normalized_regret_mean"], ignore_index=True)


def stratified_mean_ci(groups: Sequence[np.ndarray], n_boot: int = 1000,
                       rng: np.random.Generator | None = None) -> tuple[float, float, float]:
    """The mean over groups of each group's mean, with a 95% percentile-bootstrap interval
    that resamples within every group (NaNs and empty groups left out; the interval is widened
    to hold the estimate where rounding puts it a hair outside).

    >>> stratified_mean_ci([np.array([0.0, 0.2]), np.array([1.0])], n_boot=200)[0]
    0.55
    """
    rng = np.random.default_rng(0) if rng is None else rng
    kept = [g[np.isfinite(g)] for g in (np.asarray(x, dtype=float) for x in groups)]
    kept = [g for g in kept if g.size]
    if not kept:
        return math.nan, math.nan, math.nan
    mean = float(np.mean([g.mean() for g in kept]))
    draws = np.mean([rng.choice(g, size=(n_boot, g.size)).mean(axis=1) for g in kept], axis=0)
    low, high = (float(v) for v in np.percentile(draws, [2.5, 97.5]))
    return mean, min(low, mean), max(high, mean)
