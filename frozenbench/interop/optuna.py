"""An Optuna study replayed on a table's simulated clock (extra ``optuna``).

:class:`OptunaOptimizer` is a stopping-style optimizer
(:class:`~frozenbench.optimizers.StoppingOptimizer`): each trial of the study is one training
run of (config, z); after every epoch it calls ``trial.report(score, epoch)`` and asks
``trial.should_prune()``, so any sampler and any pruner (``HyperbandPruner``,
``SuccessiveHalvingPruner``, ``MedianPruner`` ...) works unchanged. A pruned trial is told
``PRUNED`` and pays for no further epoch; a trial that reaches its last epoch is told its
score. With ``n_workers`` > 1, as many Optuna trials are open at once, and results reach the
study in simulated-time order.

Reproducible from the seeds the user passes: Optuna's ``HyperbandPruner`` assigns a trial to
a bracket by hashing the study's name, and a study created without a name gets a random one,
so the adapter renames a fresh study of that kind (``no-name-...``, no trials yet) to
``frozenbench:<table name>`` in its storage (a named study keeps its name; an unnamed one that
already holds trials is refused, as its brackets could not be reproduced). Each trial carries the
simulated clock in ``user_attrs``: ``sim_start`` and ``sim_end`` (simulated seconds),
``sim_cost`` (the cost paid, in the table's cost unit), ``z`` and ``epochs_trained``; Optuna's
own ``datetime_start``/``datetime_complete`` are real wall-clock times of the replay. When the
replay stops (its budget spent), the trials still training are told ``PRUNED`` with
``user_attrs["stopped_by"]`` naming the reason, so no trial is left ``RUNNING``; the study's
``best_value`` is then the best score a trial reported at its last epoch, which is
frozenbench's incumbent under the rule ``incumbent="full"`` (the best result at full fidelity).

>>> import optuna, frozenbench as fb
>>> from frozenbench.synthetic import make_benchmark
>>> optuna.logging.set_verbosity(optuna.logging.WARNING)
>>> bench = make_benchmark(n_configs=None, grid={"lr": [1e-4, 1e-3, 1e-2], "wd": [0, 1e-4]},
...                        n_z=3, n_epochs=4)
>>> study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0),
...                             pruner=optuna.pruners.SuccessiveHalvingPruner())
>>> traj = fb.simulate(bench, OptunaOptimizer(study, bench), n_workers=2, max_evaluations=30)
>>> len(traj), len(study.trials) > 0
(30, True)
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import numpy as np

from frozenbench.errors import InvalidValueError
from frozenbench.extras import require
from frozenbench.interop.configspace import conditions, config_id, grid_values
from frozenbench.optimizers.base import Observation
from frozenbench.optimizers.stopping import Start

if TYPE_CHECKING:
    from frozenbench.table import Benchmark



def _rename(study: Any, name: str) -> None:
    """Give a fresh ``study`` the name ``name`` in its storage (Optuna has no rename: a study
    of that name is created with the same directions, the old empty one deleted, and the
    ``Study`` object rebound to it); a study of that name already there is left alone."""
    storage = study._storage
    if storage.get_all_trials(study._study_id, deepcopy=False):
        raise InvalidValueError(
            f"the Optuna study {study.study_name!r} has a random name and already holds trials: "
            f"its HyperbandPruner brackets (a hash of the name) cannot be reproduced; create it "
            f"with optuna.create_study(study_name=...)")
    with contextlib.suppress(KeyError):
        storage.get_study_id_from_name(name)
        raise InvalidValueError(
            f"the Optuna study {study.study_name!r} has a random name, and its storage already "
            f"holds a study named {name!r}: create yours with optuna.create_study(study_name=...)"
            f" so that its HyperbandPruner brackets (a hash of the name) are reproducible")
    new_id = storage.create_new_study(study.directions, name)
    storage.delete_study(study._study_id)
    study._study_id, study.study_name = new_id, name


class OptunaOptimizer:
    """Drive ``study`` on ``bench``: ``z`` fixes the number of trained layers (default: all of
    them), or ``z="search"`` lets the sampler choose it as a hyperparameter named ``"z"``.
    ``max_epoch`` caps each trial (default: the table's last epoch); ``n_trials`` ends the
    replay after that many trials, as ``study.optimize(n_trials=...)`` would (default: the
    simulator's stopping rule alone).
    """

    def __init__(self, study: Any, bench: Benchmark, *, z: int | str | None = None,
                 max_epoch: int | None = None, n_trials: int | None = None) -> None:
        self.optuna = require("optuna")
        self.study = study
        if str(study.study_name).startswith("no-name-"):
            _rename(study, f"frozenbench:{bench.name}")  # the pruner hashes it: see above
        self.bench = bench
        self.name = f"optuna:{type(study.sampler).__name__}+{type(study.pruner).__name__}"
        zs = [int(v) for v in bench.fidelities["z"]]
        if z == "search":
            self.z: int | None = None
        elif z is None:
            self.z = max(zs)
        else:
            self.z = bench.fidelity_values.check_z(z)
        self.zs = zs
        epochs = [int(e) for e in bench.fidelities["epoch"]]
        if max_epoch is not None and max_epoch not in epochs:
            raise InvalidValueError(f"max_epoch={max_epoch!r} is not an epoch of {bench.name}; "
                                    f"valid: {epochs}")
        self.last = epochs[-1] if max_epoch is None else int(max_epoch)
        if n_trials is not None and (isinstance(n_trials, bool) or not isinstance(n_trials, int)
                                     or n_trials < 1):
            raise InvalidValueError(f"n_trials={n_trials!r} must be a positive integer or None")
        self.n_trials = n_trials
        self.grid = grid_values(bench)
        self.rules = {c.child: c for c in conditions(bench)}
        # the optuna trial of each suggest() call; the simulator's stopping driver numbers a
        # trial's jobs with that call's index (Job.bracket), whatever order they finish in
        self._suggested: list[Any] = []

    def suggest(self, rng: np.random.Generator) -> Start | None:
        if self.n_trials is not None and len(self._suggested) >= self.n_trials:
            return None
        trial = self.study.ask()
        config: dict[str, Any] = {}
        for name, values in self.grid.items():  # parents come before children in the grid
            rule = self.rules.get(name)
            if rule is None or rule.on(config):
                config[name] = trial.suggest_categorical(name, values)
        z = self.z if self.z is not None else int(trial.suggest_categorical("z", self.zs))
        self._suggested.append(trial)
        return Start(config_id(self.bench, config), z, self.last)

    def end(self, reason: str | None) -> None:
        """The replay stopped: every trial still running is told ``PRUNED`` (it will never
        report again), with the reason in ``user_attrs["stopped_by"]``."""
        running = self.optuna.trial.TrialState.RUNNING
        open_numbers = {t.number for t in self.study.get_trials(deepcopy=False,
                                                               states=(running,))}
        for trial in self._suggested:
            if trial.number in open_numbers:
                trial.set_user_attr("stopped_by", f"end of replay ({reason or 'done'})")
                self.study.tell(trial, state=self.optuna.trial.TrialState.PRUNED)

    def report(self, observation: Observation) -> bool:
        trial = self._suggested[observation.job.bracket]
        epoch = observation.job.epoch
        start = observation.time - observation.cost
        attrs = trial.user_attrs
        trial.set_user_attr("sim_start", min(float(attrs.get("sim_start", start)), start))
        trial.set_user_attr("sim_end", float(observation.time))
        trial.set_user_attr("sim_cost", float(attrs.get("sim_cost", 0.0)) + observation.cost)
        trial.set_user_attr("z", int(observation.job.z))
        trial.set_user_attr("epochs_trained", int(epoch))
        trial.report(observation.score, epoch)
        if epoch >= self.last:
            self.study.tell(trial, observation.score)
            return False
        if trial.should_prune():
            self.study.tell(trial, state=self.optuna.trial.TrialState.PRUNED)
            return False
        return True
