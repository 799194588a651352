"""Syne Tune on a frozenbench table (extra ``syne-tune``), three ways.

- :func:`export_blackbox`: the table as Syne Tune's own tabular blackbox
  (``BlackboxTabular``: configs x seeds x resource levels x objectives, the objectives being
  the metric and the *cumulative* cost, which Syne Tune's simulator reads as elapsed time),
  optionally written to a directory in Syne Tune's on-disk format (``serialize``). The
  resource is the epoch (z fixed or searched), z (each trained to the last epoch) or the
  z+epoch diagonal (``"z+epoch-linear"``). Every config Syne Tune's domains can draw is a
  row (an inactive hyperparameter, SGD's ``beta2``, has one row per value, each the table's
  config), so Syne Tune's simulator backend
  (:class:`~syne_tune.blackbox_repository.simulated_tabular_backend.UserBlackboxBackend`, the
  ``BlackboxRepositoryBackend`` given the blackbox itself) runs its schedulers on it
  unmodified, without ``add_surrogate``.
- :func:`run_simulation` / :func:`simulate_asha`: Syne Tune's own simulator (``Tuner`` with
  ``UserBlackboxBackend`` and ``SimulatorCallback``) run on that export; the results come back
  as Syne Tune's DataFrame (one row per reported level), with ``config_id``, ``z`` and
  ``epoch`` added (:func:`annotate`).
- :class:`SyneTuneOptimizer`: any Syne Tune scheduler that stops trials (its ``ASHA``,
  asynchronous Hyperband (``ASHA`` with ``brackets``), ``BOHB``, ASHA with the ``botorch``
  searcher (MOBSTER), ``MedianStoppingRule`` ...) driven on frozenbench's simulated clock by
  :func:`frozenbench.simulate`, on the same resources: after each level its
  ``on_trial_result`` decides ``CONTINUE`` or ``STOP``. On a one-seed export it replays the
  trials, configs, levels and values of Syne Tune's own simulator, in the same order.

Numeric grids become ``ordinal(..., kind="equal")`` domains. Syne Tune draws some random
numbers from numpy's global generator (bracket choice, the seed of a trial); these functions
seed it from their own seed and restore it afterwards.

>>> import frozenbench as fb
>>> from syne_tune.optimizer.baselines import ASHA
>>> from frozenbench.synthetic import make_benchmark
>>> bench = make_benchmark(n_configs=None, grid={"lr": [1e-4, 1e-3, 1e-2], "wd": [0.0, 1e-4]},
...                        n_z=3, n_epochs=4, diverge_frac=0.0)
>>> bb = export_blackbox(bench, seeds="mean")
>>> bb.objectives_evaluations.shape, bb.objectives_names
((6, 1, 4, 2), ['val_error', 'train_cost_s'])
>>> asha = ASHA(config_space(bench), metric="val_error", time_attr="epoch", max_t=4,
...             random_seed=0)
>>> traj = fb.simulate(bench, SyneTuneOptimizer(asha, bench), n_workers=2, max_evaluations=20)
>>> len(traj)
20
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import io
import itertools
import os
import tempfile
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from frozenbench.errors import InvalidValueError, format_choices, raise_problems, unknown_name
from frozenbench.extras import require
from frozenbench.interop.budget import BUDGETS, CONTINUED_BUDGETS, BudgetAxis, budget_kind
from frozenbench.interop.neps import fixed_z
from frozenbench.optimizers.base import Job, Observation
from frozenbench.optimizers.fidelity import SCHEDULE_PATHS
from frozenbench.schema import FIXED
from frozenbench.space import Value
from frozenbench.table.result import cost_column

if TYPE_CHECKING:
    from frozenbench.table import Benchmark

#: The default resource of an export: the epoch (``time_attr`` of a Syne Tune scheduler).
FIDELITY = "epoch"

#: What the resource of an export can be (see :func:`export_blackbox`): the budget axes.
RESOURCES = BUDGETS


# ---------------------------------------------------------------------- search space
def _domain_cast(values: Sequence[Value]) -> Any:
    """How a grid's values are held by one Syne Tune domain, which needs one Python type
    throughout: a grid mixing ints and floats, like ``[0, 1e-4]``, as floats."""
    if any(isinstance(v, (str, bool)) for v in values):
        return lambda v: v
    if all(isinstance(v, (int, np.integer)) for v in values):
        return int
    return float


def _domain_values(values: Sequence[Value]) -> list[Value]:
    """A grid's values as its Syne Tune domain lists them (numbers sorted)."""
    cast = _domain_cast(values)
    held = [cast(v) for v in values]
    return held if cast not in (int, float) else sorted(held)


def config_space(bench: Benchmark, *, z: int | str | None = None) -> dict[str, Any]:
    """The table's hyperparameters as a Syne Tune config space (``{name: domain}``); with
    ``z="search"`` the number of trained layers is one more ordinal named ``"z"``.

    >>> from frozenbench.synthetic import make_benchmark
    >>> cs = config_space(make_benchmark(n_configs=4, n_z=3, n_epochs=2), z="search")
    >>> sorted(cs), cs["z"].categories
    (['beta1', 'beta2', 'lr', 'optimizer', 'weight_decay', 'z'], [1, 2, 3])
    """
    st = require("syne_tune.config_space")
    ranges = [h.name for h in bench.space.hyperparameters if not h.values]
    if ranges:
        raise InvalidValueError(
            f"{bench.name} holds configs sampled from ranges ({ranges}); a Syne Tune tabular "
            f"blackbox lists each hyperparameter's values, which needs a grid")
    space: dict[str, Any] = {}
    for h in bench.space.hyperparameters:
        values = _domain_values(h.values)
        categorical = any(isinstance(v, (str, bool)) for v in values)
        space[h.name] = st.choice(values) if categorical else st.ordinal(values, kind="equal")
    if fixed_z(bench, FIDELITY, z) is None:
        space["z"] = st.ordinal([int(v) for v in bench.fidelities["z"]], kind="equal")
    return space


# ---------------------------------------------------------------------- the export
def _export_seeds(bench: Benchmark, seeds: Sequence[int] | str | None,
                  present: np.ndarray) -> list[int] | None:
    """Seed positions to export (None: the seed mean). ``present[config, z, seed]`` says which
    runs exist (first epoch present) at the exported (config, z)."""
    if isinstance(seeds, str):
        if seeds != "mean":
            raise InvalidValueError(f"seeds={seeds!r}; valid: 'mean', None (every seed run "
                                    f"at all exported configs) or a list of {list(bench.seeds)}")
        if not present.any(axis=2).all():
            raise InvalidValueError(f"{bench.name}: some exported (config, z) have no run at "
                                    f"all; export a z every config was trained at")
        return None
    everywhere = [int(s) for k, s in enumerate(bench.seeds) if bool(present[:, :, k].all())]
    if seeds is None:
        if not everywhere:
            raise InvalidValueError(f"{bench.name}: no seed was run at every exported (config, "
                                    f"z); use seeds='mean'")
        return [bench.seeds.index(s) for s in everywhere]
    chosen = [seeds] if isinstance(seeds, (int, np.integer)) else list(seeds)
    if not chosen:
        raise InvalidValueError(f"seeds=[] exports nothing; valid: {everywhere} or 'mean'")
    for s in chosen:
        if s not in bench.seeds:
            raise unknown_name("seed", s, bench.seeds)
        if s not in everywhere:
            raise InvalidValueError(f"seed {s!r} was not run at every exported (config, z) of "
                                    f"{bench.name}; seeds run everywhere: {everywhere} (or "
                                    f"seeds='mean')")
    return [bench.seeds.index(int(s)) for s in chosen]


def _config_rows(bench: Benchmark) -> list[dict[str, Value]]:
    """The table's configs (table order) with values as the domains of :func:`config_space`
    hold them."""
    cast = {h.name: _domain_cast(h.values) for h in bench.space.hyperparameters}
    return [{n: cast[n](v) for n, v in cfg.items()} for cfg in bench.configs]


def _export_rows(bench: Benchmark, zs: Sequence[int] | None) -> tuple[list[dict[str, Value]],
                                                                       list[int]]:
    """The blackbox's rows and, for each, the position of its table config: config-major, then
    ``zs`` (a ``"z"`` column; None: no such column), then one row per value of each
    *inactive* hyperparameter (SGD's ``beta2``), all holding the config's values, so that every
    draw of Syne Tune's independent domains is a row (see :func:`export_blackbox`)."""
    space = bench.space
    domains = {h.name: _domain_values(h.values) for h in space.hyperparameters}
    rows: list[dict[str, Value]] = []
    positions: list[int] = []
    for k, cfg in enumerate(_config_rows(bench)):
        inactive = [c.child for c in space.conditions if not c.active(cfg)]
        for values in itertools.product(*(domains[n] for n in inactive)):
            row = {**cfg, **dict(zip(inactive, values))}
            for z in (None,) if zs is None else zs:
                rows.append(row if z is None else {**row, "z": int(z)})
                positions.append(k)
    return rows, positions


def _ffill(cost: np.ndarray) -> np.ndarray:
    """Cumulative costs along the last axis with a NaN (after a run diverged) holding the cost
    paid so far (0 before the first epoch)."""
    steps = np.arange(cost.shape[-1])
    last = np.maximum.accumulate(np.where(np.isnan(cost), 0, steps), axis=-1)
    return np.nan_to_num(np.take_along_axis(cost, last, axis=-1), nan=0.0)


def _cells(bench: Benchmark, metric: str, cost: str, seed_pos: list[int] | None
           ) -> tuple[np.ndarray, np.ndarray]:
    """Metric and cumulative cost ``[config, z, seed, epoch]`` as :func:`frozenbench.simulate`
    reads them: a diverged value is the table's worst, the cost stops where the run did."""
    if seed_pos is None:
        obj, paid = bench.objective(metric)[..., None], bench.cost_array(cost)[..., None]
    else:
        obj = bench.objective(metric, per_seed=True)[..., seed_pos]
        paid = bench.cost_array(cost, per_seed=True)[..., seed_pos]
    worst = float(np.nanmax(bench.objective(metric, per_seed=seed_pos is not None)))
    obj, paid = np.moveaxis(obj, 3, 2), np.moveaxis(paid, 3, 2)
    return np.where(np.isnan(obj), worst, obj), _ffill(paid)


def _resource(bench: Benchmark, resource: str, z: int | str | None,
              valid: tuple[str, ...] = RESOURCES
              ) -> tuple[int | None, list[tuple[int, int]] | None]:
    """``(fixed z, None)`` for the epoch resource; ``(None, levels)`` for ``"z"``,
    ``"z+epoch-linear"`` and (where ``valid`` has it) ``"thaw"``: the ``(z, epoch)`` of each
    resource level."""
    budget_kind(resource, "resource", valid)
    if resource in SCHEDULE_PATHS:
        if z is not None:
            raise InvalidValueError(f"z={z!r} with resource={resource!r}: the {resource} "
                                    f"schedule fixes z at every epoch; leave z out")
        return None, list(BudgetAxis.of(bench, resource, valid).levels)
    fixed = fixed_z(bench, resource, z)
    if resource == "epoch":
        return fixed, None
    return None, list(BudgetAxis.of(bench, resource).levels)


def export_blackbox(bench: Benchmark, *, z: int | str | None = None,
                    seeds: Sequence[int] | str | None = None, metric: str | None = None,
                    cost: str | None = None, path: str | os.PathLike[str] | None = None,
                    task: str | None = None, resource: str = "epoch") -> Any:
    """The table as a Syne Tune ``BlackboxTabular``, so Syne Tune's own simulator backend
    (:mod:`syne_tune.blackbox_repository.simulated_tabular_backend`) and its schedulers run on
    it unmodified.

    ``resource`` is the blackbox's one fidelity (the ``time_attr`` of a scheduler):

    - ``"epoch"`` (default): the epochs of one training run at ``z`` trained layers (default:
      all; ``"search"``: one row per (config, z), ``z`` a hyperparameter). Going on to the
      next epoch continues the run: the elapsed time is the table's cumulative cost.
    - ``"z"``: the trained layers, each trained to the last epoch (``z`` must be None).
    - ``"z+epoch-linear"``: the paper's linear z+epoch diagonal (``(z, epoch)`` levels of
      :class:`~frozenbench.interop.budget.BudgetAxis`; the resource value is the level's z).

    Syne Tune's simulator runs a trial through every level of its resource in order. A
    different z is a new run from scratch (frozen layers cannot thaw), so with ``"z"`` or
    ``"z+epoch-linear"`` the elapsed time at a level is the sum of the table's costs of the runs at
    that level and all lower ones: exactly what :func:`frozenbench.simulate` charges a trial
    driven by :class:`SyneTuneOptimizer` on the same resource.

    **Every draw exists.** Syne Tune's domains are independent (no conditions), so a
    scheduler draws ``beta2`` for an SGD config too. The export holds one row per value of an
    inactive hyperparameter, each answering the table's config (which holds it at its fill
    value), exactly as ``bench.query`` ignores an inactive hyperparameter: mnist-resnet's 144
    configs are 216 rows, every one of which Syne Tune's samplers can draw. (Like ConfigSpace's
    conditional sampling, this draws ``optimizer`` uniformly, not each table config.) A table
    that holds only part of its grid cannot be expressed by independent domains:
    :func:`covers_its_space` is False and :func:`run_simulation` then discards draws the table
    lacks (:func:`table_only`); every shipped table covers its space.

    ``seeds``: None exports every table seed run at all exported cells (Syne Tune draws one
    per trial), a list picks some, ``"mean"`` exports the seed mean as one seed. Objectives:
    ``metric`` (default: the table's) and the cumulative ``cost`` column (default:
    :attr:`Benchmark.default_cost`), named by their column names. Values are those
    :func:`frozenbench.simulate` reads: a diverged value is the table's worst, an epoch after
    divergence keeps the worst value and the cost paid so far.

    ``path`` also writes it in Syne Tune's on-disk format (``blackbox_tabular.serialize``: the
    objectives as float32, the hyperparameters in Parquet written by ``fastparquet``, Syne
    Tune's engine) under the task name ``task`` (default: the benchmark's name); metadata.json
    records what was exported, with the ``config_id`` of every row.

    >>> import frozenbench as fb
    >>> bb = export_blackbox(fb.load("mnist-resnet"), seeds="mean", resource="z")
    >>> bb.objectives_evaluations.shape, bb.fidelity_space["z"].upper, covers_its_space(bb)
    ((216, 1, 10, 2), 10, True)
    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=4, n_z=3, n_epochs=5, diverge_frac=0.0)
    >>> bb = export_blackbox(bench, z="search", seeds=[0])
    >>> bb.objectives_evaluations.shape, list(bb.hyperparameters.columns)[-1]
    ((12, 1, 5, 2), 'z')
    >>> export_blackbox(bench, seeds=[7])
    Traceback (most recent call last):
    ...
    frozenbench.errors.UnknownNameError: unknown seed 7; valid: [0, 1, 2]
    """
    tabular = require("syne_tune.blackbox_repository.blackbox_tabular")
    st = require("syne_tune.config_space")
    metric = bench.metric_name(metric)
    cost_name = cost_column(cost or bench.default_cost)
    fixed, levels = _resource(bench, resource, z)
    space = config_space(bench, z=z if levels is None else None)
    zs = [int(v) for v in bench.fidelities["z"]]
    epochs = [int(e) for e in bench.fidelities["epoch"]]
    z_pos = [zs.index(fixed)] if fixed is not None else list(range(len(zs)))
    if levels is not None:
        z_pos = sorted({zs.index(zl) for zl, _ in levels})
    present = ~np.isnan(bench.objective(metric, per_seed=True)[:, z_pos, 0, :])
    seed_pos = _export_seeds(bench, seeds, present)
    obj, paid = _cells(bench, metric, cost_name, seed_pos)
    if levels is None:  # rows (config-major, then z) x seeds x epochs
        obj, paid = (a[:, z_pos].reshape(-1, a.shape[2], a.shape[3]) for a in (obj, paid))
        rows, positions = _export_rows(bench, [zs[k] for k in z_pos]
                                       if fixed is None else None)
        # the row of (config position, z position) in the reshaped arrays
        src = [p * len(z_pos) + (z_pos.index(zs.index(int(r["z"]))) if fixed is None else 0)
               for r, p in zip(rows, positions)]
        name, values = FIDELITY, epochs
    else:  # rows (configs) x seeds x levels; a level is a new run: costs add up
        at = [(zs.index(zl), epochs.index(el)) for zl, el in levels]
        obj = np.stack([obj[:, zi, :, ei] for zi, ei in at], axis=-1)
        paid = np.cumsum(np.stack([paid[:, zi, :, ei] for zi, ei in at], axis=-1), axis=-1)
        rows, src = _export_rows(bench, None)
        name, values = resource, [zl for zl, _ in levels]
    evaluations = np.stack([obj[src], paid[src]], axis=-1)
    blackbox = tabular.BlackboxTabular(
        hyperparameters=pd.DataFrame(rows),
        configuration_space=space,
        fidelity_space={name: st.randint(int(min(values)), int(max(values)))},
        objectives_evaluations=evaluations,
        fidelity_values=np.asarray(values, dtype=np.int64),
        objectives_names=[metric, cost_name],
    )
    if path is not None:
        _write(bench, blackbox, path, task, {
            "metric": metric, "cost": cost_name, "elapsed_time_attr": cost_name,
            "fidelity": name, "resource": resource,
            "levels": None if levels is None else [list(lv) for lv in levels],
            "z": "search" if levels is None and fixed is None else fixed,
            "seeds": "mean" if seed_pos is None else [bench.seeds[k] for k in seed_pos],
            "config_ids": [int(bench.config_ids[positions[r] if levels is None else src[r]])
                           for r in range(len(rows))]})
    return blackbox


def _write(bench: Benchmark, blackbox: Any, path: str | os.PathLike[str], task: str | None,
           meta: dict[str, Any]) -> None:
    """Syne Tune's on-disk format of ``blackbox``, with what was exported in metadata.json."""
    tabular = require("syne_tune.blackbox_repository.blackbox_tabular")
    require("fastparquet")  # Syne Tune writes and reads its Parquet with this engine
    Path(path).mkdir(parents=True, exist_ok=True)
    tabular.serialize({task or bench.name: blackbox}, str(path),
                      metadata={"frozenbench": {"benchmark": bench.name, **meta}})


def covers_its_space(blackbox: Any) -> bool:
    """Whether every config Syne Tune's domains of ``blackbox`` can draw is one of its rows
    (rows are distinct, so: as many rows as draws)."""
    sizes = [len(d.categories) for d in blackbox.configuration_space.values()]
    return len(blackbox.hyperparameters) == int(np.prod(sizes))


#: How many suggestions outside the table a scheduler may make in a row before it is an error.
MAX_REJECTED = 1000


def _table_keys(rows: Sequence[Mapping[str, Any]], names: Sequence[str]) -> set[tuple[Any, ...]]:
    return {tuple(row[n] for n in names) for row in rows}


def suggest_in_table(scheduler: Any, keys: set[tuple[Any, ...]], names: Sequence[str]) -> Any:
    """``scheduler.suggest()``, discarding new configs whose values at ``names`` are not one of
    ``keys`` (a table may hold a subset of its grid, which Syne Tune's per-hyperparameter
    domains cannot express): for random search this samples the table's configs uniformly.
    Resumes and None pass through."""
    for _ in range(MAX_REJECTED):
        suggestion = scheduler.suggest()
        if suggestion is None or not suggestion.spawn_new_trial_id or \
                tuple(suggestion.config.get(n) for n in names) in keys:
            return suggestion
    raise InvalidValueError(
        f"scheduler {type(scheduler).__name__} suggested {MAX_REJECTED} configs in a row that "
        f"the table does not hold (last: {dict(suggestion.config)!r:.160})")


@functools.cache
def _table_only_class() -> type:
    base = require("syne_tune.optimizer.scheduler").TrialScheduler

    class TableOnly(base):  # type: ignore[misc, valid-type]
        """``scheduler`` suggesting only the blackbox's configs (:func:`suggest_in_table`);
        everything else is forwarded. Syne Tune's ``Tuner`` needs a ``TrialScheduler``."""

        def __init__(self, scheduler: Any, blackbox: Any) -> None:
            super().__init__(random_seed=getattr(scheduler, "random_seed", 0))
            self.scheduler = scheduler
            self.names = list(blackbox.hyperparameters.columns)
            self.keys = _table_keys(blackbox.hyperparameters.to_dict("records"), self.names)

        def suggest(self) -> Any:
            return suggest_in_table(self.scheduler, self.keys, self.names)

        def on_trial_add(self, trial: Any) -> None:
            self.scheduler.on_trial_add(trial)

        def on_trial_error(self, trial: Any) -> None:
            self.scheduler.on_trial_error(trial)

        def on_trial_result(self, trial: Any, result: dict[str, Any]) -> str:
            return str(self.scheduler.on_trial_result(trial, result))

        def on_trial_complete(self, trial: Any, result: dict[str, Any]) -> None:
            self.scheduler.on_trial_complete(trial, result)

        def on_trial_remove(self, trial: Any) -> None:
            self.scheduler.on_trial_remove(trial)

        def metric_names(self) -> list[str]:
            return list(self.scheduler.metric_names())

        def metric_mode(self) -> Any:
            return self.scheduler.metric_mode()

        def metadata(self) -> dict[str, Any]:
            return dict(self.scheduler.metadata())

    return TableOnly


def table_only(scheduler: Any, blackbox: Any) -> Any:
    """``scheduler`` wrapped so that it suggests only configs ``blackbox`` holds (a table may
    hold a subset of its grid, which Syne Tune's domains cannot express; for random search
    this samples the table's configs uniformly). :func:`run_simulation` wraps every scheduler
    in it, so Syne Tune's simulator never asks for a config the export lacks."""
    return _table_only_class()(scheduler, blackbox)


# ---------------------------------------------------------------------- Syne Tune's simulator
@contextlib.contextmanager
def _global_numpy_seed(seed: int) -> Iterator[None]:
    """Seed numpy's global generator (Syne Tune draws from it) and restore it afterwards."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def run_simulation(blackbox: Any, scheduler: Any, *, n_workers: int = 4,
                   max_trials: int | None = None, budget: float | None = None,
                   max_evaluations: int | None = None, elapsed_time_attr: str | None = None,
                   seed: int = 0) -> pd.DataFrame:
    """Run ``scheduler`` with Syne Tune's own simulator on ``blackbox``; its results frame.

    Syne Tune's ``Tuner`` with a ``UserBlackboxBackend`` and a ``SimulatorCallback`` (time is
    simulated, the tuner never sleeps), stopping at ``max_trials`` trials started, at
    simulated time ``budget`` or after ``max_evaluations`` results (at least one is needed).
    ``elapsed_time_attr`` is the cumulative-time objective (default: the last objective,
    the cost column of :func:`export_blackbox`). Nothing is printed and nothing is left on
    disk: the tuner writes into a temporary directory. ``scheduler`` runs as it is when the
    blackbox covers its space (:func:`covers_its_space`, every shipped table), else wrapped in
    :func:`table_only`. A blackbox with one seed is read at it (Syne Tune would otherwise draw
    the seed of each trial from numpy's global generator, which its schedulers share). One
    row per reported resource level, columns as Syne Tune writes them: the objectives, the
    resource (``epoch``, ``z`` or ``z+epoch-linear``), ``st_tuner_time`` (simulated time),
    ``st_decision``, ``trial_id``, ``config_<name>`` ... Syne Tune's simulator adds the real
    time its tuner and scheduler spend to the simulated clock (milliseconds here), so
    ``st_tuner_time`` varies slightly from run to run even with the same ``seed``.
    """
    problems = []
    for name, value in (("n_workers", n_workers), ("max_trials", max_trials),
                        ("max_evaluations", max_evaluations)):
        if value is not None and (isinstance(value, bool) or
                                  not isinstance(value, (int, np.integer)) or value < 1):
            problems.append(f"{name}={value!r} must be a positive integer")
    if budget is not None and not float(budget) > 0:
        problems.append(f"budget={budget!r} must be positive")
    if max_trials is None and budget is None and max_evaluations is None:
        problems.append("give a stopping rule: max_trials=, budget= (simulated time) or "
                        "max_evaluations=")
    elapsed = elapsed_time_attr or blackbox.objectives_names[-1]
    if elapsed not in blackbox.objectives_names:
        problems.append(str(unknown_name("elapsed_time_attr", elapsed,
                                         blackbox.objectives_names)))
    raise_problems("run_simulation", problems)
    syne_tune = require("syne_tune")
    backend_mod = require("syne_tune.blackbox_repository.simulated_tabular_backend")
    callback_mod = require("syne_tune.backend.simulator_backend.simulator_callback")
    stop = syne_tune.StoppingCriterion(max_num_trials_started=max_trials,
                                       max_wallclock_time=budget,
                                       max_num_evaluations=max_evaluations)
    callback = callback_mod.SimulatorCallback()
    with tempfile.TemporaryDirectory(prefix="frozenbench-synetune-") as tmp, \
            _global_numpy_seed(int(seed)):
        backend = backend_mod.UserBlackboxBackend(
            blackbox=blackbox, elapsed_time_attr=elapsed,
            seed=0 if blackbox.num_seeds == 1 else None)
        if not covers_its_space(blackbox):
            scheduler = table_only(scheduler, blackbox)
        tuner = syne_tune.Tuner(trial_backend=backend, scheduler=scheduler,
                                stop_criterion=stop, n_workers=int(n_workers), sleep_time=0,
                                callbacks=[callback], save_tuner=False,
                                tuner_name="frozenbench", trial_backend_path=tmp,
                                results_update_interval=1e9, print_update_interval=1e9)
        tuner.tuner_path = Path(tmp)
        with contextlib.redirect_stdout(io.StringIO()):
            tuner.run()
        return callback.dataframe()


def simulate_asha(bench: Benchmark, *, z: int | str | None = None,
                  seeds: Sequence[int] | str | None = None, metric: str | None = None,
                  cost: str | None = None, n_workers: int = 4, max_trials: int | None = None,
                  budget: float | None = None, max_evaluations: int | None = None,
                  eta: float = 3, seed: int = 0, blackbox: Any = None,
                  resource: str = "epoch") -> pd.DataFrame:
    """Syne Tune's ASHA (``syne_tune.optimizer.baselines.ASHA``: the stopping variant, random
    configs drawn with replacement) run by Syne Tune's own simulator on the export of
    ``bench`` (:func:`export_blackbox` with ``z``, ``seeds``, ``metric``, ``cost``,
    ``resource``, or a ``blackbox`` exported before). Rungs at the first resource level
    times powers of ``eta`` up to the last. Returns :func:`run_simulation`'s frame with the
    cell of every row added (:func:`annotate`).

    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=6, n_z=2, n_epochs=4, diverge_frac=0.0)
    >>> res = simulate_asha(bench, seeds="mean", n_workers=2, max_trials=8)
    >>> res["trial_id"].nunique() >= 8, set(res["config_id"]) <= set(bench.config_ids)
    (True, True)
    """
    baselines = require("syne_tune.optimizer.baselines")
    if blackbox is None:
        blackbox = export_blackbox(bench, z=z, seeds=seeds, metric=metric, cost=cost,
                                   resource=resource)
    metric_name, cost_name = blackbox.objectives_names[0], blackbox.objectives_names[-1]
    name = next(iter(blackbox.fidelity_space))
    values = [int(v) for v in blackbox.fidelity_values]
    scheduler = baselines.ASHA(blackbox.configuration_space, metric=metric_name,
                               time_attr=name, max_t=values[-1], grace_period=values[0],
                               reduction_factor=eta, random_seed=int(seed))
    frame = run_simulation(blackbox, scheduler, n_workers=n_workers, max_trials=max_trials,
                           budget=budget, max_evaluations=max_evaluations,
                           elapsed_time_attr=cost_name, seed=seed)
    return annotate(bench, blackbox, frame, z=z)


def annotate(bench: Benchmark, blackbox: Any, frame: pd.DataFrame, *,
             z: int | str | None = None) -> pd.DataFrame:
    """Syne Tune's results ``frame`` of a run on ``blackbox`` (an export of ``bench``, fixed
    ``z`` as exported) with the table cell of each row: ``config_id`` (inactive
    hyperparameters read at their fill value), ``z`` and ``epoch``."""
    name = next(iter(blackbox.fidelity_space))
    columns = [f"config_{n}" for n in bench.space.names]
    ids: dict[tuple[Any, ...], int] = {}
    for key in frame[columns].itertuples(index=False):
        if tuple(key) not in ids:
            ids[tuple(key)] = bench.config_id(dict(zip(bench.space.names, key)))
    frame["config_id"] = [ids[tuple(key)] for key in frame[columns].itertuples(index=False)]
    if name == FIDELITY:
        fixed = fixed_z(bench, FIDELITY, z) if "z" not in blackbox.configuration_space else None
        frame["z"] = frame["config_z"].astype(int) if fixed is None else fixed
        return frame
    epoch_of = dict(BudgetAxis.of(bench, name).levels)
    frame["z"] = frame[name].astype(int)
    frame["epoch"] = [epoch_of[int(v)] for v in frame[name]]
    return frame


# ---------------------------------------------------------------------- frozenbench's clock
class SyneTuneOptimizer:
    """Drive a Syne Tune ``scheduler`` on ``bench`` on frozenbench's simulated clock, as Syne
    Tune's own simulator drives it on :func:`export_blackbox` (same ``resource``, ``z``):
    started with the same ``seed`` (numpy's global generator, from which Syne Tune's
    schedulers draw, e.g. ASHA its bracket) on a one-seed export, both replay the same
    trials, configs, levels and values.

    Each new trial asks ``scheduler.suggest()`` (a config of :func:`config_space`; with
    ``z="search"`` its ``"z"`` picks the trained layers, else ``z`` is fixed, default all
    layers) and calls ``on_trial_add``; after every resource level the scheduler hears
    ``{metric: score, time_attr: level, resource: level, "elapsed_time": cost paid by the
    trial, "st_tuner_time": simulated time}`` through ``on_trial_result``: ``CONTINUE`` runs
    the next level on the same worker, anything else ends the trial with
    ``on_trial_remove``; a trial that continues past its last level ends with
    ``on_trial_complete``, as in Syne Tune's ``Tuner``. ``resource="epoch"`` continues the run
    (it pays only the new epochs); so does ``"thaw"`` on a table with thaw rows (the resource
    is the epoch of one run along the thaw schedule, each new epoch paid at the z it trains);
    with ``"z"`` or ``"z+epoch-linear"`` each level is a new run (layers do not thaw at fixed
    z), paid in full. ``metric`` defaults to the scheduler's first metric,
    ``max_trials`` caps the trials started, ``max_epoch`` the epochs of the epoch resource. A
    suggested config the table lacks (a table may hold a subset of its grid) is discarded and
    the scheduler asked again. Schedulers that resume paused trials (promotion type) cannot
    run in this style: such a suggestion is an error. (Syne Tune 0.16, the version installed
    here, ships no such scheduler: none of its schedulers returns ``PAUSE`` or a resume
    suggestion, the promotion type of its old ``HyperbandScheduler`` having gone with its
    refactor; so "pause and resume" is untested against the library and refused, and the thaw
    resource is offered to the stopping-type schedulers, which continue a run epoch by
    epoch.) ``seed`` (default: drawn from the first
    ``rng``) seeds numpy's global generator, which is restored after every call into the
    scheduler; the scheduler's own ``random_seed`` seeds its searcher.
    """

    def __init__(self, scheduler: Any, bench: Benchmark, *, z: int | str | None = None,
                 max_epoch: int | None = None, metric: str | None = None,
                 max_trials: int | None = None, resource: str = "epoch",
                 seed: int | None = None) -> None:
        self.scheduler = scheduler
        self.bench = bench
        self.z, levels = _resource(bench, resource, z, CONTINUED_BUDGETS)
        self.resource = resource
        #: the schedule the jobs follow: "thaw" for that resource, else "fixed"
        self.schedule = resource if resource in SCHEDULE_PATHS else FIXED
        self.name = f"syne-tune:{type(scheduler).__name__}"
        epochs = [int(e) for e in bench.fidelities["epoch"]]
        if max_epoch is not None and max_epoch not in epochs:
            raise InvalidValueError(f"max_epoch={max_epoch!r} is not an epoch of {bench.name}; "
                                    f"valid: {format_choices(epochs)}")
        last = epochs[-1] if max_epoch is None else int(max_epoch)
        #: (z, epoch) of each level; z None: the trial's own
        self.levels: list[tuple[int | None, int]] = list(levels) if levels is not None else \
            [(self.z, e) for e in epochs if e <= last]
        self.metric = _scheduler_metric(scheduler, metric)
        self.time_attr: str = getattr(scheduler, "time_attr", None) or resource
        if max_trials is not None and (isinstance(max_trials, bool) or
                                       not isinstance(max_trials, int) or max_trials < 1):
            raise InvalidValueError(f"max_trials={max_trials!r} must be a positive integer")
        self.max_trials = max_trials
        names = [*bench.space.names, *(["z"] if self.z is None and levels is None else [])]
        self._names = names
        rows, _ = _export_rows(bench, [int(v) for v in bench.fidelities["z"]]
                               if "z" in names else None)
        self._keys = _table_keys(rows, names)
        self._trials: list[Any] = []  # the Syne Tune trial of each start (Job.bracket)
        self._cells: list[tuple[int, int | None]] = []  # its (config_id, z)
        self._paid: list[float] = []
        self._next = deque[Job]()
        self._seed = seed
        self._numpy: Any = None  # numpy's global state while the scheduler runs
        self._status = require("syne_tune.backend.trial_status")
        self._continue = require("syne_tune.optimizer.scheduler").SchedulerDecision.CONTINUE

    @contextlib.contextmanager
    def _scheduler_numpy(self, rng: np.random.Generator | None = None) -> Iterator[None]:
        """numpy's global generator as the scheduler left it (first: seeded), then restored."""
        outside = np.random.get_state()
        if self._numpy is None:
            seed = self._seed if self._seed is not None else \
                int((rng or np.random.default_rng()).integers(2**31))
            np.random.seed(int(seed))
        else:
            np.random.set_state(self._numpy)
        try:
            yield
        finally:
            self._numpy = np.random.get_state()
            np.random.set_state(outside)

    def _config_id(self, config: Mapping[str, Any]) -> int:
        missing = [n for n in self._names if n not in config]
        if missing:
            raise InvalidValueError(
                f"scheduler {type(self.scheduler).__name__} suggested {dict(config)!r:.120}, "
                f"without {missing}; build it on config_space(bench)")
        return self.bench.config_id({n: config[n] for n in self.bench.space.names})

    def _start(self, rng: np.random.Generator) -> Job | None:
        with self._scheduler_numpy(rng):
            suggestion = suggest_in_table(self.scheduler, self._keys, self._names)
            if suggestion is None:
                return None
            if not suggestion.spawn_new_trial_id:
                raise InvalidValueError(
                    f"scheduler {type(self.scheduler).__name__} resumes paused trial "
                    f"{suggestion.checkpoint_trial_id}; frozenbench drives Syne Tune schedulers "
                    f"in the stopping style (a trial ends when stopped): use one that stops "
                    f"trials, such as ASHA")
            config = dict(suggestion.config)
            trial = self._status.Trial(trial_id=len(self._trials), config=config,
                                       creation_time=datetime.datetime.now())
            self.scheduler.on_trial_add(trial)
        cid = self._config_id(config)
        z = self.bench.fidelity_values.check_z(config["z"]) if "z" in self._names else None
        self._trials.append(trial)
        self._cells.append((cid, z))
        self._paid.append(0.0)
        return self._job(len(self._trials) - 1, 0, None)

    def _job(self, k: int, level: int, trial: int | None) -> Job:
        cid, z = self._cells[k]
        lz, epoch = self.levels[level]
        return Job(cid, int(lz if lz is not None else z), epoch, trial, level, k,  # type: ignore[arg-type]
                   self.schedule)

    def ask(self, rng: np.random.Generator) -> Job | None:
        """The next level of a trial the scheduler let go on, else a new trial."""
        if self._next:
            return self._next.popleft()
        if self.max_trials is not None and len(self._trials) >= self.max_trials:
            return None
        return self._start(rng)

    def tell(self, observation: Observation) -> None:
        """The scheduler hears the result and decides whether the trial goes on."""
        job = observation.job
        k, level = job.bracket, job.rung
        trial = self._trials[k]
        self._paid[k] += observation.cost
        continues = self.resource == FIDELITY or self.schedule != FIXED
        value = job.epoch if continues else job.z
        result = {self.metric: observation.score, self.time_attr: value, self.resource: value,
                  "elapsed_time": self._paid[k], "st_tuner_time": observation.time}
        with self._scheduler_numpy():
            decision = self.scheduler.on_trial_result(trial, result)
            if decision != self._continue:
                self.scheduler.on_trial_remove(trial)
            elif level + 1 >= len(self.levels):
                self.scheduler.on_trial_complete(trial, result)
            else:  # the next epoch (of a thaw) continues the run; another z is a new run
                self._next.append(self._job(k, level + 1,
                                            observation.trial if continues else None))


def _scheduler_metric(scheduler: Any, metric: str | None) -> str:
    """``metric``, else the scheduler's first metric."""
    if metric is None:
        names = getattr(scheduler, "metric_names", None)
        metric = names()[0] if callable(names) else getattr(scheduler, "metric", None)
    if not isinstance(metric, str):
        raise InvalidValueError(f"scheduler {type(scheduler).__name__} names no metric; "
                                f"pass metric=")
    return metric
