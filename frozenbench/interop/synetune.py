"""Syne Tune on a frozenbench table (extra ``syne-tune``), three ways.

- :func:`export_blackbox`: the table as Syne Tune's own tabular blackbox
  (``BlackboxTabular``: configs x seeds x epochs x objectives, the objectives being the metric
  and the *cumulative* cost, which Syne Tune's simulator reads as elapsed time), optionally
  written to a directory in Syne Tune's on-disk format (``serialize``).
- :func:`run_simulation` / :func:`simulate_asha`: Syne Tune's own simulator (``Tuner`` with
  ``UserBlackboxBackend`` and ``SimulatorCallback``) run on that export; the results come back
  as Syne Tune's DataFrame (one row per reported epoch), with ``config_id`` and ``z`` added.
- :class:`SyneTuneOptimizer`: any Syne Tune scheduler that stops trials (its ``ASHA``,
  ``BOHB``, ``MedianStoppingRule`` ...) driven on frozenbench's simulated clock by
  :func:`frozenbench.simulate`: after each epoch its ``on_trial_result`` decides ``CONTINUE``
  or ``STOP``.

A trial is one training run of (config, z): z is fixed (default: all layers) or, with
``z="search"``, a hyperparameter named ``"z"``; the fidelity is the epoch. Numeric grids become
``ordinal(..., kind="equal")`` domains, so a scheduler samples configs uniformly, as
frozenbench's own samplers do. Syne Tune draws some random numbers from numpy's global
generator (bracket choice, the seed of a trial); these functions seed it from their own seed
and restore it afterwards.

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
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from frozenbench.errors import InvalidValueError, format_choices, unknown_name
from frozenbench.extras import require
from frozenbench.interop.neps import fixed_z
from frozenbench.optimizers.base import Observation
from frozenbench.optimizers.stopping import Start
from frozenbench.space import Value
from frozenbench.table.result import cost_column

if TYPE_CHECKING:
    from frozenbench.table import Benchmark

#: The fidelity of every export: the epoch (``time_attr`` of a Syne Tune scheduler).
FIDELITY = "epoch"


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


def _fill(objective: np.ndarray, cost: np.ndarray, worst: float) -> tuple[np.ndarray,
                                                                           np.ndarray]:
    """Epochs a run never reached (it diverged earlier) as the simulator reads them: the
    metric is the table's worst value, the cumulative cost stays where it stopped."""
    objective = np.where(np.isnan(objective), worst, objective)
    cost = pd.DataFrame(cost.reshape(-1, cost.shape[-1]).T).ffill().fillna(0.0).to_numpy()
    return objective, cost.T.reshape(objective.shape)


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


def export_blackbox(bench: Benchmark, *, z: int | str | None = None,
                    seeds: Sequence[int] | str | None = None, metric: str | None = None,
                    cost: str | None = None, path: str | os.PathLike[str] | None = None,
                    task: str | None = None) -> Any:
    """The table as a Syne Tune ``BlackboxTabular`` with fidelity ``"epoch"``.

    ``z``: the number of trained layers (default: all), or ``"search"`` for one row per
    (config, z) with ``z`` a hyperparameter. ``seeds``: None exports every table seed run at
    all exported (config, z) (Syne Tune draws one per trial), a list picks some, ``"mean"``
    exports the seed mean as one seed. Objectives: ``metric`` (default: the table's) and the
    cumulative ``cost`` column (default: :attr:`Benchmark.default_cost`), named by their
    column names. Values are those :func:`frozenbench.simulate` reads: a diverged value is the
    table's worst, an epoch after divergence keeps the worst value and the cost paid so far.

    ``path`` also writes it in Syne Tune's on-disk format (``blackbox_tabular.serialize``: the
    objectives as float32, the hyperparameters in Parquet written by ``fastparquet``, Syne
    Tune's engine) under the task name ``task`` (default: the benchmark's name); metadata.json
    records what was exported, with the ``config_id`` of every row.

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
    fixed = fixed_z(bench, FIDELITY, z)
    zs = [int(v) for v in bench.fidelities["z"]]
    z_pos = [zs.index(fixed)] if fixed is not None else list(range(len(zs)))
    per_seed = bench.objective(metric, per_seed=True)
    present = ~np.isnan(per_seed[:, z_pos, 0, :])
    seed_pos = _export_seeds(bench, seeds, present)
    if seed_pos is None:
        obj = bench.objective(metric)[:, z_pos, :, None]
        paid = bench.cost_array(cost_name)[:, z_pos, :, None]
        worst = float(np.nanmax(bench.objective(metric)))
    else:
        obj = per_seed[:, z_pos][..., seed_pos]
        paid = bench.cost_array(cost_name, per_seed=True)[:, z_pos][..., seed_pos]
        worst = float(np.nanmax(per_seed))
    # [config, z, epoch, seed] -> rows (config-major, then z) x seeds x epochs
    obj, paid = (np.moveaxis(a, 3, 2).reshape(-1, a.shape[3], a.shape[2]) for a in (obj, paid))
    obj, paid = _fill(obj, paid, worst)
    evaluations = np.stack([obj, paid], axis=-1)

    rows = []
    for row in _config_rows(bench):
        rows.extend([{**row, "z": zs[k]} for k in z_pos] if fixed is None else [row])
    epochs = np.asarray(bench.fidelities["epoch"], dtype=np.int64)
    blackbox = tabular.BlackboxTabular(
        hyperparameters=pd.DataFrame(rows),
        configuration_space=config_space(bench, z=z),
        fidelity_space={FIDELITY: st.randint(int(epochs.min()), int(epochs.max()))},
        objectives_evaluations=evaluations,
        fidelity_values=epochs,
        objectives_names=[metric, cost_name],
    )
    if path is not None:
        require("fastparquet")  # Syne Tune writes and reads its Parquet with this engine
        Path(path).mkdir(parents=True, exist_ok=True)
        ids = [int(i) for i in bench.config_ids for _ in z_pos]
        meta = {"frozenbench": {
            "benchmark": bench.name, "metric": metric, "cost": cost_name,
            "elapsed_time_attr": cost_name, "fidelity": FIDELITY,
            "z": "search" if fixed is None else fixed,
            "seeds": "mean" if seed_pos is None else [bench.seeds[k] for k in seed_pos],
            "config_ids": ids}}
        tabular.serialize({task or bench.name: blackbox}, str(path), metadata=meta)
    return blackbox


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
    disk: the tuner writes into a temporary directory. One row per reported epoch, columns as
    Syne Tune writes them: the objectives, ``epoch``, ``st_tuner_time`` (simulated time),
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
    if problems:
        raise InvalidValueError("; ".join(problems))
    syne_tune = require("syne_tune")
    backend_mod = require("syne_tune.blackbox_repository.simulated_tabular_backend")
    callback_mod = require("syne_tune.backend.simulator_backend.simulator_callback")
    stop = syne_tune.StoppingCriterion(max_num_trials_started=max_trials,
                                       max_wallclock_time=budget,
                                       max_num_evaluations=max_evaluations)
    callback = callback_mod.SimulatorCallback()
    with tempfile.TemporaryDirectory(prefix="frozenbench-synetune-") as tmp, \
            _global_numpy_seed(int(seed)):
        backend = backend_mod.UserBlackboxBackend(blackbox=blackbox, elapsed_time_attr=elapsed)
        tuner = syne_tune.Tuner(trial_backend=backend, scheduler=table_only(scheduler, blackbox),
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
                  eta: float = 3, seed: int = 0, blackbox: Any = None) -> pd.DataFrame:
    """Syne Tune's ASHA (``syne_tune.optimizer.baselines.ASHA``: the stopping variant, random
    configs drawn with replacement) run by Syne Tune's own simulator on the export of
    ``bench`` (:func:`export_blackbox` with ``z``, ``seeds``, ``metric``, ``cost``, or a
    ``blackbox`` exported before). Rungs at the first epoch times powers of ``eta`` up to the
    last epoch. Returns :func:`run_simulation`'s frame with ``config_id`` and ``z`` added.

    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=6, n_z=2, n_epochs=4, diverge_frac=0.0)
    >>> res = simulate_asha(bench, seeds="mean", n_workers=2, max_trials=8)
    >>> res["trial_id"].nunique() >= 8, set(res["config_id"]) <= set(bench.config_ids)
    (True, True)
    """
    baselines = require("syne_tune.optimizer.baselines")
    if blackbox is None:
        blackbox = export_blackbox(bench, z=z, seeds=seeds, metric=metric, cost=cost)
    metric_name, cost_name = blackbox.objectives_names[0], blackbox.objectives_names[-1]
    epochs = [int(e) for e in bench.fidelities["epoch"]]
    scheduler = baselines.ASHA(blackbox.configuration_space, metric=metric_name,
                               time_attr=FIDELITY, max_t=epochs[-1], grace_period=epochs[0],
                               reduction_factor=eta, random_seed=int(seed))
    frame = run_simulation(blackbox, scheduler, n_workers=n_workers, max_trials=max_trials,
                           budget=budget, max_evaluations=max_evaluations,
                           elapsed_time_attr=cost_name, seed=seed)
    fixed = fixed_z(bench, FIDELITY, z) if "z" not in blackbox.configuration_space else None
    ids = {tuple(row[n] for n in bench.space.names): int(cid)
           for row, cid in zip(_config_rows(bench), bench.config_ids)}
    columns = [f"config_{n}" for n in bench.space.names]
    frame["config_id"] = [ids[tuple(row)] for row in frame[columns].itertuples(index=False)]
    frame["z"] = frame["config_z"].astype(int) if fixed is None else fixed
    return frame


# ---------------------------------------------------------------------- frozenbench's clock
class SyneTuneOptimizer:
    """Drive a Syne Tune ``scheduler`` on ``bench`` as a stopping-style optimizer.

    Each ``suggest`` asks ``scheduler.suggest()`` for a new trial (a config of
    :func:`config_space`; with ``z="search"`` its ``"z"`` picks the trained layers, else
    ``z`` is fixed, default all layers); after every epoch the scheduler hears
    ``{metric: score, time_attr: epoch, "elapsed_time": cost paid by the trial,
    "st_tuner_time": simulated time}`` through ``on_trial_result`` and a ``STOP`` (or
    ``PAUSE``) ends the trial, as Syne Tune's ``Tuner`` would; a trial that trains to
    ``max_epoch`` ends with ``on_trial_complete``. ``metric`` defaults to the scheduler's
    first metric, ``max_trials`` caps the trials started. A suggested config the table lacks
    (a table may hold a subset of its grid) is discarded and the scheduler asked again.
    Schedulers that resume paused trials (promotion type) cannot run in this style: such a
    suggestion is an error. ``rng`` seeds numpy's global generator while the scheduler
    suggests; the scheduler's own ``random_seed`` seeds its searcher.
    """

    def __init__(self, scheduler: Any, bench: Benchmark, *, z: int | str | None = None,
                 max_epoch: int | None = None, metric: str | None = None,
                 max_trials: int | None = None) -> None:
        self.scheduler = scheduler
        self.bench = bench
        self.z = fixed_z(bench, FIDELITY, z)
        self.name = f"syne-tune:{type(scheduler).__name__}"
        epochs = [int(e) for e in bench.fidelities["epoch"]]
        if max_epoch is not None and max_epoch not in epochs:
            raise InvalidValueError(f"max_epoch={max_epoch!r} is not an epoch of {bench.name}; "
                                    f"valid: {format_choices(epochs)}")
        self.last = epochs[-1] if max_epoch is None else int(max_epoch)
        if metric is None:
            names = getattr(scheduler, "metric_names", None)
            metric = names()[0] if callable(names) else getattr(scheduler, "metric", None)
        if not isinstance(metric, str):
            raise InvalidValueError(f"scheduler {type(scheduler).__name__} names no metric; "
                                    f"pass metric=")
        self.metric = metric
        self.time_attr: str = getattr(scheduler, "time_attr", None) or FIDELITY
        if max_trials is not None and (isinstance(max_trials, bool) or
                                       not isinstance(max_trials, int) or max_trials < 1):
            raise InvalidValueError(f"max_trials={max_trials!r} must be a positive integer")
        self.max_trials = max_trials
        self._keys = _table_keys(_config_rows(bench), bench.space.names)
        self._trials: list[Any] = []  # the Syne Tune trial of each suggest() (Job.bracket)
        self._paid: list[float] = []
        self._status = require("syne_tune.backend.trial_status")
        self._continue = require("syne_tune.optimizer.scheduler").SchedulerDecision.CONTINUE

    def _config_id(self, config: Mapping[str, Any]) -> int:
        missing = [n for n in self.bench.space.names if n not in config]
        if missing:
            raise InvalidValueError(
                f"scheduler {type(self.scheduler).__name__} suggested {dict(config)!r:.120}, "
                f"without {missing}; build it on config_space(bench)")
        return self.bench.config_id({n: config[n] for n in self.bench.space.names})

    def suggest(self, rng: np.random.Generator) -> Start | None:
        if self.max_trials is not None and len(self._trials) >= self.max_trials:
            return None
        with _global_numpy_seed(int(rng.integers(2**31))):
            suggestion = suggest_in_table(self.scheduler, self._keys, self.bench.space.names)
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
        z = self.z if self.z is not None else self.bench.fidelity_values.check_z(config.get("z"))
        cid = self._config_id(config)
        self._trials.append(trial)
        self._paid.append(0.0)
        return Start(cid, z, self.last)

    def report(self, observation: Observation) -> bool:
        k = observation.job.bracket
        trial = self._trials[k]
        self._paid[k] += observation.cost
        epoch = observation.job.epoch
        result = {self.metric: observation.score, self.time_attr: epoch, FIDELITY: epoch,
                  "elapsed_time": self._paid[k], "st_tuner_time": observation.time}
        decision = self.scheduler.on_trial_result(trial, result)
        if decision != self._continue:
            self.scheduler.on_trial_remove(trial)
            return False
        if epoch >= self.last:
            self.scheduler.on_trial_complete(trial, result)
            return False
        return True
