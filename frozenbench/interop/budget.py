"""One budget axis over a table's fidelities, and the trials behind a library's requests:
what the adapters of libraries with a single scalar budget (SMAC, DEHB, NePS, CARP-S) share.

:class:`BudgetAxis` maps the budgets a library computes onto table levels (epochs at full z, z
at the last epoch, or the linear z+epoch diagonal, ``"z+epoch-linear"``); :class:`TrialBook`
turns a request at a level into a :class:`~frozenbench.optimizers.base.Job` that continues the
trial a promotion extends, so it pays only the new epochs; :func:`argument_problems` checks
the arguments the adapters share (reported with :func:`frozenbench.errors.raise_problems`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from frozenbench.errors import FrozenbenchError, InvalidValueError, unknown_name
from frozenbench.optimizers.base import Job, Observation
from frozenbench.optimizers.fidelity import SCHEDULE_PATHS, Level, linear_diagonal, run_levels
from frozenbench.schema import FIXED

if TYPE_CHECKING:
    from frozenbench.table import Benchmark

#: What one budget axis of a library can stand for; see :class:`BudgetAxis`. The diagonal is
#: the paper's linear one, named as the optimizers' fidelity path of the same levels
#: (:func:`frozenbench.optimizers.fidelity.linear_diagonal`); ``"z+epoch"`` is the optimizers'
#: geometric path, which one scalar budget axis does not take.
BUDGETS = ("epoch", "z", "z+epoch-linear")
#: The axes of the adapters that continue a trial a promotion extends (SMAC, DEHB, Syne Tune's
#: stopping-type schedulers): :data:`BUDGETS` and ``"thaw"``, the epochs of one run along the
#: table's thaw schedule (z growing with the epoch; a table with thaw rows only). An adapter
#: that evaluates every request from scratch (CARP-S's objective function) keeps
#: :data:`BUDGETS`.
CONTINUED_BUDGETS = (*BUDGETS, "thaw")


def budget_kind(kind: object, what: str = "budget",
                valid: tuple[str, ...] = BUDGETS) -> str:
    """``kind`` if it is one of ``valid`` (:data:`BUDGETS`); else an error naming the valid
    ones (and, for ``"z+epoch"``, which name the linear diagonal has).

    >>> budget_kind("z+epoch-linear")
    'z+epoch-linear'
    >>> budget_kind("z+epoch")
    Traceback (most recent call last):
    ...
    frozenbench.errors.UnknownNameError: unknown budget 'z+epoch'; valid: [...] ('z+epoch' ...
    """
    if isinstance(kind, str) and kind in valid:
        return kind
    error = unknown_name(what, kind, valid)
    if kind == "z+epoch":
        error = type(error)(f"{error} ('z+epoch' is the geometric diagonal of the optimizers' "
                            f"fidelity paths; a library's one budget axis takes the paper's "
                            f"linear diagonal, 'z+epoch-linear')")
    raise error

@dataclass(frozen=True, slots=True)
class BudgetAxis:
    """The table levels a library's one budget axis stands for: ``levels[k]`` is the
    ``(z, epoch)`` of budget ``values[k]`` (both rising). :meth:`rung` reads any budget as
    the level with the nearest value (ties: the lower one), so the geometric budgets a library
    computes (``9 / 3**k``, ``4 / 3``) land on table levels.

    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=3, n_z=4, n_epochs=9)
    >>> axis = BudgetAxis.of(bench, "z+epoch-linear")
    >>> axis.values, axis.levels
    ((1, 2, 3, 4), ((1, 2), (2, 4), (3, 7), (4, 9)))
    >>> axis.rung(4 / 3), axis.rung(1.5), axis.rung(4.0)
    (0, 0, 3)
    >>> BudgetAxis.of(bench, "epoch").levels[:2], BudgetAxis.of(bench, "z").levels[0]
    (((4, 1), (4, 2)), (1, 9))

    ``"thaw"`` (one of :data:`CONTINUED_BUDGETS`): the epochs of a run along the table's thaw
    schedule, each at the z it trains then; :attr:`schedule` says which schedule the jobs
    follow (``"fixed"`` for the other axes).

    >>> thawed = make_benchmark(n_configs=3, n_z=3, n_epochs=5, thaw_configs=3)
    >>> axis = BudgetAxis.of(thawed, "thaw", CONTINUED_BUDGETS)
    >>> axis.values, axis.levels, axis.schedule
    ((1, 2, 3, 4, 5), ((1, 1), (1, 2), (2, 3), (2, 4), (3, 5)), 'thaw')
    """

    kind: str
    values: tuple[int, ...]
    levels: tuple[Level, ...]
    schedule: str = FIXED

    @classmethod
    def of(cls, bench: Benchmark, kind: object,
           valid: tuple[str, ...] = BUDGETS) -> BudgetAxis:
        """The axis ``kind`` (one of ``valid``: :data:`BUDGETS`, or
        :data:`CONTINUED_BUDGETS` for an adapter that continues trials) of ``bench``."""
        kind = budget_kind(kind, valid=valid)
        if kind in SCHEDULE_PATHS:
            run = run_levels(bench, kind)
            if len(run) < 2:
                raise InvalidValueError(f"budget={kind!r} needs at least two epochs of "
                                        f"{kind} rows in {bench.name}; it has {run}")
            return cls(kind, tuple(e for _, e in run), tuple(run), kind)
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
        # (config, z or schedule) -> {trial: epoch reached}
        self._idle: dict[tuple[int, int | str], dict[int, int]] = {}
        self._waiting: dict[Job, deque[Any]] = {}

    @staticmethod
    def _run(config: int, z: int, schedule: str) -> tuple[int, int | str]:
        """What a trial keeps: its config and z, or its config and schedule (whose z grows)."""
        return (config, z if schedule == FIXED else schedule)

    def job(self, request: Any, config: int, z: int, epoch: int, *, rung: int = 0,
            bracket: int = 0, schedule: str = FIXED) -> Job:
        """The job of a request; ``schedule`` (e.g. ``"thaw"``): it follows that schedule and
        continues the config's run on it whatever the z of ``epoch``."""
        idle = self._idle.get(self._run(config, z, schedule), {})
        below = [(e, -t) for t, e in idle.items() if e < epoch]
        trial = None
        if below:
            trial = -max(below)[1]
            del idle[trial]
        job = Job(config, z, epoch, trial, rung, bracket, schedule)
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
        self._idle.setdefault(self._run(job.config_id, job.z, job.schedule), {})[
            observation.trial] = job.epoch
        return request


def argument_problems(bench: Benchmark, *, budget: object, seed: object, eta: object,
                      integer_eta: bool, valid: tuple[str, ...] = CONTINUED_BUDGETS
                      ) -> tuple[BudgetAxis | None, list[str | FrozenbenchError]]:
    """The budget axis (None if ``budget`` is bad; ``valid``: the axes the adapter takes) and
    every problem with the arguments the adapters share, for
    :func:`frozenbench.errors.raise_problems` to report at once."""
    problems: list[str | FrozenbenchError] = []
    axis = None
    try:
        axis = BudgetAxis.of(bench, budget, valid)
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
