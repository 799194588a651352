"""SMAC3's multi-fidelity facades replayed on a table's simulated clock (extra ``smac``).

:class:`SMACOptimizer` is a promotion-style optimizer (:class:`~frozenbench.optimizers.Optimizer`)
around SMAC's ask/tell interface: ``HyperbandFacade`` (random configs, Hyperband) or
``MultiFidelityFacade`` (BOHB-like: a random forest proposes the configs). With ``n_workers``
> 1 the replay asks SMAC once per free worker, so several trials are open at once (SMAC then
starts further brackets instead of waiting), and results reach SMAC in simulated-time order.

SMAC sees one budget axis; ``budget`` says which (z, epoch) level a budget stands for
(:class:`~frozenbench.interop.budget.BudgetAxis`; a budget SMAC asks is read as the nearest
level):

- ``"epoch"``: the budget is the epoch, all layers trained (largest z);
- ``"z"``: the budget is z, the number of trained layers, trained to the last epoch;
- ``"z+epoch-linear"``: the budget is z on the paper's linear diagonal
  (:func:`~frozenbench.optimizers.fidelity.linear_diagonal`): budget z trains the last z
  layers for z/n of the epochs (n = the largest z);
- ``"thaw"`` (a table with thaw rows): the budget is the epoch of one run along the table's
  thaw schedule (z = 1 at the first epoch, all layers at the last); a higher budget continues
  the config's run and pays only the new epochs, each at its own z.

A request for a config at a higher epoch with the same z continues that config's earlier
trial, so it pays only the new epochs, as a Hyperband promotion does
(:class:`~frozenbench.interop.budget.TrialBook`); a
new z is a new training run. SMAC is told ``cost=score`` and, as the trial's time, what the
simulator charged (``time``, ``starttime`` and ``endtime`` are on the simulated clock), with
the table cell read in ``additional_info``. SMAC draws its configs from its own seed
(``seed``); the replay's ``numpy`` generator draws the table seeds, so a replay is
reproducible for the same pair. SMAC never proposes a config twice and gives up after a few
random draws of configs it has tried, so on a small grid it runs out before every config was
tried (192 configs: after about 130 with the multi-fidelity facade); then
:meth:`SMACOptimizer.ask` returns None and the replay ends (``stop_reason`` ``"optimizer"``).

The budget mapping and the trial book (:mod:`frozenbench.interop.budget`) are shared with
the DEHB, NePS and CARP-S adapters.

>>> import frozenbench as fb
>>> from frozenbench.synthetic import make_benchmark
>>> bench = make_benchmark(n_configs=None, grid={"lr": [1e-4, 1e-3, 1e-2, 1e-1],
...                        "wd": [0, 1e-5, 1e-4, 1e-3], "bs": [32, 64, 128]},
...                        n_z=3, n_epochs=9)
>>> opt = SMACOptimizer(bench, budget="epoch", facade="hyperband", seed=0)
>>> traj = fb.simulate(bench, opt, n_workers=2, max_evaluations=30)
>>> len(traj), sorted(set(traj["epoch"])), opt.name
(30, [1, 3, 9], 'smac:hyperband(epoch)')
>>> len(opt.smac.runhistory) >= 30
True
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from frozenbench.errors import raise_problems, unknown_name
from frozenbench.extras import require
from frozenbench.interop.budget import TrialBook, argument_problems
from frozenbench.interop.configspace import config_id, search_space
from frozenbench.optimizers.base import Job, Observation

if TYPE_CHECKING:
    from frozenbench.table import Benchmark

#: SMAC's multi-fidelity facades by the name :class:`SMACOptimizer` takes.
FACADES = {"hyperband": "HyperbandFacade", "multifidelity": "MultiFidelityFacade"}


class SMACOptimizer:
    """Replay SMAC's ``facade`` (``"hyperband"`` or ``"multifidelity"``) on ``bench`` over
    the budget axis ``budget`` (``"epoch"``, ``"z"`` or ``"z+epoch-linear"``, see the module
    docstring) with Hyperband's ``eta`` (an integer, as SMAC wants).

    ``n_trials`` caps the trials SMAC is asked for (it is also SMAC's ``Scenario.n_trials``,
    which sizes the multi-fidelity facade's initial design); None: no cap (stop the replay
    with ``simulate``'s own rules). SMAC writes its scenario file under ``output_directory``
    (default: a temporary directory removed with the optimizer). The facade is
    :attr:`smac` (its ``runhistory`` holds every trial it was told).
    """

    def __init__(self, bench: Benchmark, *, budget: str = "epoch", facade: str = "hyperband",
                 seed: int = 0, eta: int = 3, n_trials: int | None = None,
                 output_directory: str | Path | None = None) -> None:
        smac = require("smac")
        runhistory = require("smac.runhistory")
        exceptions = require("smac.main.exceptions")
        axis, problems = argument_problems(bench, budget=budget, seed=seed, eta=eta,
                                           integer_eta=True)
        if not isinstance(facade, str) or facade not in FACADES:
            problems.append(unknown_name("facade", facade, FACADES))
        if n_trials is not None and (isinstance(n_trials, bool) or
                                     not isinstance(n_trials, (int, np.integer)) or n_trials < 1):
            problems.append(f"n_trials={n_trials!r:.80} must be a positive integer or None")
        raise_problems("SMACOptimizer", problems)
        assert axis is not None  # a bad budget is one of the problems raised above
        self.axis = axis
        self.bench = bench
        self.name = f"smac:{facade}({budget})"
        self.n_trials = None if n_trials is None else int(n_trials)
        self._trial_value = runhistory.TrialValue
        self._exhausted_errors = (StopIteration, exceptions.ConfigurationSpaceExhaustedException)
        self._tmp = None
        if output_directory is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="frozenbench-smac-")
            output_directory = self._tmp.name
        scenario = smac.Scenario(
            search_space(bench, seed=int(seed)), name=bench.name, deterministic=True,
            n_trials=self.n_trials or 2**31 - 1, min_budget=self.axis.min_budget,
            max_budget=self.axis.max_budget, seed=int(seed),
            output_directory=Path(output_directory))
        cls = getattr(smac, FACADES[facade])
        # logging_level=False: SMAC leaves the caller's logging configuration alone
        self.smac: Any = cls(scenario, None, intensifier=cls.get_intensifier(scenario, eta=eta),
                             logging_level=False, overwrite=True)
        self.book = TrialBook()
        self.asked = 0
        self.exhausted = False

    def ask(self, rng: np.random.Generator) -> Job | None:
        """SMAC's next trial as a job; None once ``n_trials`` were asked or SMAC has no new
        config to propose."""
        if self.exhausted or (self.n_trials is not None and self.asked >= self.n_trials):
            return None
        try:
            info = self.smac.ask()
        except self._exhausted_errors:
            self.exhausted = True
            return None
        self.asked += 1
        rung = self.axis.rung(info.budget)
        z, epoch = self.axis.levels[rung]
        return self.book.job(info, config_id(self.bench, info.config), z, epoch, rung=rung,
                             schedule=self.axis.schedule)

    def tell(self, observation: Observation) -> None:
        """Tell SMAC the score as its cost and the simulated charge as the trial's time."""
        info = self.book.answer(observation)
        job = observation.job
        end = observation.time
        value = self._trial_value(
            cost=observation.score, time=observation.cost, starttime=end - observation.cost,
            endtime=end, additional_info={"config_id": job.config_id, "z": job.z,
                                          "epoch": job.epoch, "trial": observation.trial,
                                          "seed": observation.seed})
        self.smac.tell(info, value, save=False)
