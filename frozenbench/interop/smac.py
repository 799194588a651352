"""SMAC3's multi-fidelity facades replayed on a table's simulated clock (extra ``smac``).

:class:`SMACOptimizer` is a promotion-style optimizer (:class:`~frozenbench.optimizers.Optimizer`)
around SMAC's ask/tell interface: ``HyperbandFacade`` (random configs, Hyperband) or
``MultiFidelityFacade`` (BOHB-like: a random forest proposes the configs). With ``n_workers``
> 1 the replay asks SMAC once per free worker, so several trials are open at once (SMAC then
starts further brackets instead of waiting), and results reach SMAC in simulated-time order.

SMAC sees one budget axis; ``budget`` says which (z, epoch) level a budget stands for
(:class:`BudgetAxis`; a budget SMAC asks is read as the nearest level):

- ``"epoch"``: the budget is the epoch, all layers trained (largest z);
- ``"z"``: the budget is z, the number of trained layers, trained to the last epoch;
- ``"z+epoch"``: the budget is z on the paper's linear diagonal
  (:func:`~frozenbench.optimizers.fidelity.linear_diagonal`): budget z trains the last z
  layers for z/n of the epochs (n = the largest z).

A request for a config at a higher epoch with the same z continues that config's earlier
trial, so it pays only the new epochs, as a Hyperband promotion does (:class:`TrialBook`); a
new z is a new training run. SMAC is told ``cost=score`` and, as the trial's time, what the
simulator charged (``time``, ``starttime`` and ``endtime`` are on the simulated clock), with
the table cell read in ``additional_info``. SMAC draws its configs from its own seed
(``seed``); the replay's ``numpy`` generator draws the table seeds, so a replay is
reproducible for the same pair. SMAC never proposes a config twice and gives up after a few
random draws of configs it has tried, so on a small grid it runs out before every config was
tried (192 configs: after about 130 with the multi-fidelity facade); then
:meth:`SMACOptimizer.ask` returns None and the replay ends (``stop_reason`` ``"optimizer"``).

The budget mapping and the trial book here are shared with :mod:`frozenbench.interop.dehb`.

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
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from frozenbench.errors import FrozenbenchError, InvalidValueError, unknown_name
from frozenbench.extras import require
from frozenbench.interop.configspace import config_id, search_space
from frozenbench.optimizers.base import Job, Observation
from frozenbench.optimizers.fidelity import Level, linear_diagonal

if TYPE_CHECKING:
    from frozenbench.table import Benchmark

#: What one budget axis of a library can stand for; see :class:`BudgetAxis`.
BUDGETS = ("epoch", "z", "z+epoch")

#: SMAC's multi-fidelity facades by the name :class:`SMACOptimizer` takes.
FACADES = {"hyperband": "HyperbandFacade", "multifidelity": "MultiFidelityFacade"}


@dataclass(frozen=True, slots=True)
class BudgetAxis:
    """The table levels a library's one budget axis stands for: ``levels[k]`` is the
    ``(z, epoch)`` of budget ``values[k]`` (both rising). :meth:`rung` reads any budget as
    the level with the nearest value (ties: the lower one), so the geometric budgets a library
    computes (``9 / 3**k``, ``4 / 3``) land on table levels.

    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=3, n_z=4, n_epochs=9)
    >>> axis = BudgetAxis.of(bench, "z+epoch")
    >>> axis.values, axis.levels
    ((1, 2, 3, 4), ((1, 2), (2, 4), (3, 7), (4, 9)))
    >>> axis.rung(4 / 3), axis.rung(1.5), axis.rung(4.0)
    (0, 0, 3)
    >>> BudgetAxis.of(bench, "epoch").levels[:2], BudgetAxis.of(bench, "z").levels[0]
    (((4, 1), (4, 2)), (1, 9))
    """

    kind: str
    values: tuple[int, ...]
    levels: tuple[Level, ...]

    @classmethod
    def of(cls, bench: Benchmark, kind: object) -> BudgetAxis:
        """The axis ``kind`` (one of :data:`BUDGETS`) of ``bench``'s fidelities."""
        if not isinstance(kind, str) or kind not in BUDGETS:
            raise unknown_name("budget", kind, BUDGETS)
        fid = bench.fidelity_values
        zs, epochs = sorted(int(z) for z in fid.z), sorted(int(e) for e in fid.epoch)
        levels: list[Level]
        if kind == "epoch":
            levels = [(zs[-1], e) for e in epochs]
            values = epochs
        elif kind == "z":
            levels = [(z, epochs[-1]) for z in zs]
            values = zs
        else:
            levels = linear_diagonal(fid)
            values = [z for z, _ in levels]
        if len(levels) < 2:
            axis = "epoch" if kind == "epoch" else "z"
            raise InvalidValueError(
                f"budget={kind!r} needs at least two {axis} values in {bench.name}; it has "
                f"{values}: a multi-fidelity optimizer needs a lower budget than the full one")
        return cls(kind, tuple(values), tuple(levels))

    @property
    def min_budget(self) -> int:
        return self.values[0]

    @property
    def max_budget(self) -> int:
        return self.values[-1]

    def rung(self, budget: float) -> int:
        """The index of the level nearest to ``budget``."""
        b = float(budget)
        return min(range(len(self.values)), key=lambda k: (abs(self.values[k] - b), k))


class TrialBook:
    """The library's requests in flight and the trials they run in.

    :meth:`job` turns a request for (config, z, epoch) into a :class:`Job`: it continues the
    idle trial of the same config and z that reached the highest epoch below ``epoch`` (so
    it pays only the new epochs, as a Hyperband promotion does), else it starts a new trial
    (a request at or below an epoch already reached is a new evaluation: the library asked
    for one, and no checkpoint of an earlier epoch is kept). :meth:`answer` finds the request
    an observation answers; identical jobs are interchangeable, so requests wait per job in
    the order they were made.

    >>> book = TrialBook()
    >>> job = book.job("first", 5, 4, 3, rung=0)
    >>> job.trial is None
    True
    >>> book.answer(Observation(job, trial=0, score=0.5, cost=1.0, time=1.0, worker=0, seed=0))
    'first'
    >>> book.job("promoted", 5, 4, 9, rung=2).trial  # continues trial 0: pays epochs 4..9
    0
    >>> book.job("again", 5, 4, 9, rung=2).trial is None  # trial 0 is running
    True
    """

    __slots__ = ("_idle", "_waiting")

    def __init__(self) -> None:
        self._idle: dict[tuple[int, int], dict[int, int]] = {}  # (config, z) -> trial: epoch
        self._waiting: dict[Job, deque[Any]] = {}

    def job(self, request: Any, config: int, z: int, epoch: int, *, rung: int = 0,
            bracket: int = 0) -> Job:
        idle = self._idle.get((config, z), {})
        below = [(e, -t) for t, e in idle.items() if e < epoch]
        trial = None
        if below:
            trial = -max(below)[1]
            del idle[trial]
        job = Job(config, z, epoch, trial, rung, bracket)
        self._waiting.setdefault(job, deque()).append(request)
        return job

    def answer(self, observation: Observation) -> Any:
        """The request ``observation`` answers; its trial is idle again."""
        job = observation.job
        queue = self._waiting.get(job)
        if not queue:
            raise InvalidValueError(f"an observation of {job} answers no request in flight")
        request = queue.popleft()
        if not queue:
            del self._waiting[job]
        # a trial is only ever continued upwards, so this job's epoch is the trial's highest
        self._idle.setdefault((job.config_id, job.z), {})[observation.trial] = job.epoch
        return request


def argument_problems(bench: Benchmark, *, budget: object, seed: object, eta: object,
                      integer_eta: bool) -> tuple[BudgetAxis | None, list[str | FrozenbenchError]]:
    """The budget axis (None if ``budget`` is bad) and every problem with the arguments the
    adapters share, for :func:`raise_problems` to report at once."""
    problems: list[str | FrozenbenchError] = []
    axis = None
    try:
        axis = BudgetAxis.of(bench, budget)
    except FrozenbenchError as exc:
        problems.append(exc)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        problems.append(f"seed={seed!r:.80} must be a non-negative integer")
    if integer_eta:
        if isinstance(eta, bool) or not isinstance(eta, (int, np.integer)) or eta < 2:
            problems.append(f"eta={eta!r:.80} must be an integer >= 2")
    elif isinstance(eta, bool) or not isinstance(eta, (int, float, np.integer, np.floating)) \
            or not eta > 1:
        problems.append(f"eta={eta!r:.80} must be a number > 1")
    return axis, problems


def raise_problems(owner: str, problems: Sequence[str | FrozenbenchError]) -> None:
    """Raise the one problem as it is, or all of them in one :class:`InvalidValueError`."""
    if len(problems) == 1:
        one = problems[0]
        raise one if isinstance(one, FrozenbenchError) else InvalidValueError(one)
    if problems:
        raise InvalidValueError(f"{len(problems)} problems with the arguments of {owner}:\n"
                                + "\n".join(f"  - {p}" for p in problems))


class SMACOptimizer:
    """Replay SMAC's ``facade`` (``"hyperband"`` or ``"multifidelity"``) on ``bench`` over
    the budget axis ``budget`` (``"epoch"``, ``"z"`` or ``"z+epoch"``, see the module
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
        return self.book.job(info, config_id(self.bench, info.config), z, epoch, rung=rung)

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
