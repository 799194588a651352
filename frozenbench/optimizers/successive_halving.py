"""Synchronous successive halving and Hyperband over a fidelity path.

A *bracket* starts ``n`` configs at some rung; when every job of a rung has finished, the best
``n // eta`` (at least one) go up one rung, until the top rung. Promotion to a level with the
same z continues the trial (only the extra epochs are paid); a level with another z starts a new
trial from scratch, except on a schedule path (``schedule="thaw"``), where every promotion
continues the run along the schedule and pays only the new epochs, each at its own z. While a
bracket waits for its slowest job, free workers start the next bracket instead of idling (as
Syne Tune's synchronous Hyperband does), so several brackets can be open at once; jobs are
always handed out from the oldest open bracket first.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

import numpy as np

from frozenbench.errors import InvalidValueError
from frozenbench.optimizers.base import ConfigSampler, Job, Observation
from frozenbench.optimizers.fidelity import Level
from frozenbench.schema import FIXED


class Bracket:
    """One synchronous successive-halving bracket.

    >>> b = Bracket([7, 8, 9], start_rung=0, levels=[(1, 5), (2, 5)], eta=3, index=0)
    >>> jobs = [b.ask() for _ in range(3)]
    >>> b.ask() is None  # rung 0 handed out, waiting for results
    True
    >>> for j, score in zip(jobs, [0.3, 0.1, 0.2]):
    ...     b.tell(Observation(j, trial=j.config_id, score=score, cost=1.0, time=1.0,
    ...                        worker=0, seed=0))
    >>> b.ask()  # the best of three goes up; z changes, so it is a new trial
    Job(config_id=8, z=2, epoch=5, trial=None, rung=1, bracket=0)
    """

    def __init__(self, config_ids: Sequence[int], start_rung: int, levels: Sequence[Level],
                 eta: float, index: int, schedule: str = FIXED) -> None:
        self.levels = list(levels)
        self.schedule = schedule
        self.eta = eta
        self.index = index
        self.rung = start_rung
        # (config_id, trial to continue or None)
        self._todo: deque[tuple[int, int | None]] = deque((c, None) for c in config_ids)
        self._expected = len(self._todo)
        self._results: list[tuple[float, int, int]] = []  # (score, order, ...) see tell
        self._trials: list[tuple[int, int]] = []  # (config_id, trial) per result
        self.done = False

    def ask(self) -> Job | None:
        if not self._todo:
            return None
        config_id, trial = self._todo.popleft()
        z, epoch = self.levels[self.rung]
        return Job(config_id, z, epoch, trial, self.rung, self.index, self.schedule)

    def tell(self, obs: Observation) -> None:
        self._results.append((obs.score, len(self._results), len(self._trials)))
        self._trials.append((obs.job.config_id, obs.trial))
        if len(self._results) < self._expected:
            return
        if self.rung == len(self.levels) - 1:
            self.done = True
            return
        keep = max(1, math.floor(len(self._results) / self.eta))
        best = sorted(self._results)[:keep]  # ties: first finished wins
        continues = self.schedule != FIXED or \
            self.levels[self.rung + 1][0] == self.levels[self.rung][0]
        self.rung += 1
        for _, _, k in best:
            config_id, trial = self._trials[k]
            self._todo.append((config_id, trial if continues else None))
        self._expected = len(self._todo)
        self._results, self._trials = [], []


class Hyperband:
    """Hyperband (Li et al. 2018): successive-halving brackets of decreasing aggressiveness,
    cycling ``s = K-1, ..., 0`` for a path of ``K`` levels; bracket ``s`` starts
    ``ceil(K / (s + 1) * eta**s)`` configs at rung ``K-1-s``.

    >>> hb = Hyperband(list(range(30)), levels=[(1, 5), (2, 5), (4, 5)], eta=3)
    >>> [hb.bracket_size(s) for s in (2, 1, 0)]
    [9, 5, 3]

    ``schedule`` (e.g. ``"thaw"``, with levels from
    :func:`~frozenbench.optimizers.fidelity.path_levels`): every job follows that schedule and
    every promotion continues its trial.
    """

    name = "hyperband"

    def __init__(self, config_ids: np.ndarray | list[int], levels: Sequence[Level],
                 eta: float = 3.0, *, brackets: Sequence[int] | None = None,
                 schedule: str = FIXED) -> None:
        if not levels:
            raise InvalidValueError("a fidelity path needs at least one level")
        self.schedule = schedule
        self.sampler = ConfigSampler(config_ids)
        self.levels = list(levels)
        self.eta = float(eta)
        k = len(self.levels)
        self._cycle = list(range(k - 1, -1, -1)) if brackets is None else list(brackets)
        self._open: list[Bracket] = []
        self._by_index: dict[int, Bracket] = {}
        self._started = 0

    def bracket_size(self, s: int) -> int:
        k = len(self.levels)
        return min(len(self.sampler), math.ceil(k / (s + 1) * self.eta ** s))

    def ask(self, rng: np.random.Generator) -> Job | None:
        for bracket in self._open:
            job = bracket.ask()
            if job is not None:
                return job
        s = self._cycle[self._started % len(self._cycle)]
        configs: list[int] = []
        for _ in range(self.bracket_size(s)):
            c = self.sampler.draw(rng)
            while c in configs:  # distinct within a bracket (the sampler may wrap around)
                c = self.sampler.draw(rng)
            configs.append(c)
        bracket = Bracket(configs, len(self.levels) - 1 - s, self.levels, self.eta,
                          self._started, self.schedule)
        self._started += 1
        self._open.append(bracket)
        self._by_index[bracket.index] = bracket
        return bracket.ask()

    def tell(self, observation: Observation) -> None:
        bracket = self._by_index.get(observation.job.bracket)
        if bracket is None:
            return
        bracket.tell(observation)
        if bracket.done:
            self._open.remove(bracket)
            del self._by_index[bracket.index]


class SuccessiveHalving(Hyperband):
    """Successive halving: Hyperband's most aggressive bracket only, repeated with new configs
    (``eta**(K-1)`` configs start at the lowest level of a ``K``-level path)."""

    name = "sh"

    def __init__(self, config_ids: np.ndarray | list[int], levels: Sequence[Level],
                 eta: float = 3.0, *, schedule: str = FIXED) -> None:
        super().__init__(config_ids, levels, eta, brackets=[len(levels) - 1],
                         schedule=schedule)

    def bracket_size(self, s: int) -> int:
        return min(len(self.sampler), math.ceil(self.eta ** s))
