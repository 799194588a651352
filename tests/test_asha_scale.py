"""ASHA's rungs are sorted containers: the same decisions as sorted lists, at any size."""

from __future__ import annotations

import bisect
import math

import numpy as np
import pytest

import frozenbench as fb
from frozenbench.optimizers import ASHA
from frozenbench.optimizers.base import Job, Observation
from frozenbench.optimizers.fidelity import fidelity_levels
from frozenbench.synthetic import make_benchmark


class ListASHA(ASHA):
    """ASHA as it was: rungs are plain lists kept sorted with bisect.insort, emptied with
    pop(0) (the reference the sorted containers must match decision for decision)."""

    name = "asha"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._rungs = [[] for _ in self.levels]
        self._waiting = [[] for _ in self.levels]

    def ask(self, rng: np.random.Generator) -> Job | None:
        for r in range(len(self.levels) - 2, -1, -1):
            waiting = self._waiting[r]
            if not waiting:
                continue
            results = self._rungs[r]
            top = math.floor(len(results) / self.eta)
            if bisect.bisect_left(results, waiting[0]) < top:
                _, _, config_id, trial = waiting.pop(0)
                z, epoch = self.levels[r + 1]
                return Job(config_id, z, epoch, trial if self._continues[r] else None, r + 1)
        z, epoch = self.levels[0]
        return Job(self.sampler.draw(rng), z, epoch, None, 0)

    def tell(self, observation: Observation) -> None:
        self._order += 1
        item = (observation.score, self._order, observation.job.config_id, observation.trial)
        rung = observation.job.rung
        bisect.insort(self._rungs[rung], item)
        if rung < len(self.levels) - 1:
            bisect.insort(self._waiting[rung], item)


@pytest.fixture(scope="module")
def bench():
    return make_benchmark(n_configs=60, n_z=6, n_epochs=9, seed=3)


@pytest.mark.parametrize(("fidelity", "eta", "workers", "seed"),
                         [("z+epoch", 3.0, 4, 0), ("epoch", 2.0, 7, 1), ("z", 3.0, 1, 2)])
def test_sorted_rungs_give_identical_trajectories(bench, fidelity, eta, workers, seed):
    levels = fidelity_levels(bench.fidelity_values, fidelity, eta)
    new = fb.simulate(bench, ASHA(bench.config_ids, levels, eta), n_workers=workers,
                      max_evaluations=3000, seed=seed)
    old = fb.simulate(bench, ListASHA(bench.config_ids, levels, eta), n_workers=workers,
                      max_evaluations=3000, seed=seed)
    assert len(new) == 3000 and (new["rung"] > 0).sum() > 300
    assert new.equals(old)
