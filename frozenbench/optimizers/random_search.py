"""Random search: every job is a fresh config at the top of the fidelity path."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from frozenbench.optimizers.base import ConfigSampler, Job, Observation
from frozenbench.optimizers.fidelity import Level
from frozenbench.schema import FIXED


class RandomSearch:
    """Uniformly random configs (without replacement until all were tried), all evaluated at
    the last level of ``levels`` (full fidelity for every built-in path): the baseline.

    >>> rs = RandomSearch([3, 5, 8], levels=[(1, 2), (4, 10)])
    >>> rs.ask(np.random.default_rng(0))
    Job(config_id=5, z=4, epoch=10, trial=None, rung=0, bracket=0)
    """

    name = "random"

    def __init__(self, config_ids: np.ndarray | list[int], levels: Sequence[Level], *,
                 schedule: str = FIXED) -> None:
        self.sampler = ConfigSampler(config_ids)
        self.z, self.epoch = levels[-1]
        self.schedule = schedule  # e.g. "thaw": each config runs the whole schedule

    def ask(self, rng: np.random.Generator) -> Job | None:
        return Job(self.sampler.draw(rng), self.z, self.epoch, schedule=self.schedule)

    def tell(self, observation: Observation) -> None:
        pass
