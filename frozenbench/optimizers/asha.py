"""ASHA: asynchronous successive halving (Li et al. 2020), promotion type "stopping".

A rung keeps its unpromoted results in a heap and its promoted ones in a
:class:`sortedcontainers.SortedList`, so adding a result, ranking the best unpromoted one and
promoting it are O(log n): a replay of a million trials costs about what one of ten thousand
costs per trial (``scripts/bench_query_sim.py``).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence

import numpy as np
from sortedcontainers import SortedList

from frozenbench.optimizers.base import ConfigSampler, Job, Observation
from frozenbench.optimizers.fidelity import Level
from frozenbench.schema import FIXED


class ASHA:
    """Asynchronous successive halving over a fidelity path.

    On every ``ask``, from the second-highest rung down: if a result in the top
    ``floor(n / eta)`` of the ``n`` results of that rung has not been promoted yet, promote the
    best such one; otherwise start a new config at the lowest rung. Promotion to a level with
    the same z continues the trial; another z is a new trial, except on a schedule path
    (``schedule="thaw"``), where every job follows the schedule and a promotion continues it.

    >>> asha = ASHA([1, 2, 3, 4], levels=[(2, 1), (2, 3)], eta=2)
    >>> rng = np.random.default_rng(0)
    >>> jobs = [asha.ask(rng) for _ in range(2)]
    >>> for t, (j, s) in enumerate(zip(jobs, [0.5, 0.2])):
    ...     asha.tell(Observation(j, trial=t, score=s, cost=1.0, time=1.0, worker=0, seed=0))
    >>> asha.ask(rng)  # the better of two is promoted, continuing its trial (same z)
    Job(config_id=2, z=2, epoch=3, trial=1, rung=1, bracket=0)
    """

    name = "asha"

    def __init__(self, config_ids: np.ndarray | list[int], levels: Sequence[Level],
                 eta: float = 3.0, *, schedule: str = FIXED) -> None:
        self.schedule = schedule
        self.sampler = ConfigSampler(config_ids)
        self.levels = list(levels)
        self.eta = float(eta)
        k = len(self.levels)
        # Per rung: how many results, the results not promoted yet (a heap by (score, order))
        # and the promoted ones (sorted). The best unpromoted result's rank among all results
        # is its rank among the promoted ones (no unpromoted one is better), cached while
        # neither it nor the promoted set changes.
        self._count = [0] * k
        self._waiting: list[list[tuple[float, int, int, int]]] = [[] for _ in range(k)]
        self._promoted: list[SortedList] = [SortedList() for _ in range(k)]
        self._rank: list[tuple[object, int, int] | None] = [None] * k
        self._order = 0
        self._continues = [k_ + 1 < k and (schedule != FIXED or
                                           self.levels[k_ + 1][0] == self.levels[k_][0])
                           for k_ in range(k)]

    def ask(self, rng: np.random.Generator) -> Job | None:
        for r in range(len(self.levels) - 2, -1, -1):
            waiting = self._waiting[r]
            if not waiting:
                continue
            # The best result not promoted yet is promotable iff it ranks in the top
            # floor(n / eta) of its rung; if it does not, no other unpromoted one does.
            best = waiting[0]
            promoted = self._promoted[r]
            cached = self._rank[r]
            if cached is not None and cached[0] is best and cached[1] == len(promoted):
                rank = cached[2]
            else:
                rank = promoted.bisect_left(best)
                self._rank[r] = (best, len(promoted), rank)
            if rank < math.floor(self._count[r] / self.eta):
                heapq.heappop(waiting)
                promoted.add(best)
                _, _, config_id, trial = best
                z, epoch = self.levels[r + 1]
                return Job(config_id, z, epoch, trial if self._continues[r] else None, r + 1,
                           schedule=self.schedule)
        z, epoch = self.levels[0]
        return Job(self.sampler.draw(rng), z, epoch, None, 0, schedule=self.schedule)

    def tell(self, observation: Observation) -> None:
        self._order += 1
        item = (observation.score, self._order, observation.job.config_id, observation.trial)
        rung = observation.job.rung
        self._count[rung] += 1
        if rung < len(self.levels) - 1:
            heapq.heappush(self._waiting[rung], item)
