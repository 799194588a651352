"""DEHB replayed on a table's simulated clock (extra ``dehb``).

:class:`DEHBOptimizer` is a promotion-style optimizer (:class:`~frozenbench.optimizers.Optimizer`)
around DEHB's ask/tell interface (``DEHB.ask()`` -> job info, ``DEHB.tell(job_info,
{"fitness", "cost"})``): differential evolution inside Hyperband brackets. DEHB itself runs
with one worker and no Dask client; the replay's ``n_workers`` decide how many of its jobs are
open at once (DEHB starts another bracket rather than wait), and results reach DEHB in
simulated-time order.

The budget axis is the one :class:`~frozenbench.interop.smac.BudgetAxis` defines for SMAC:
``"epoch"`` (epochs at the largest z), ``"z"`` (trained layers at the last epoch) or
``"z+epoch-linear"`` (z on the paper's linear diagonal, z/n of the epochs) or, on a table with
thaw rows, ``"thaw"`` (the epochs of one run along the thaw schedule, z growing with the
epoch); DEHB's fidelities (``max / eta**k``) are read as the nearest table level. A request for
a config at a higher epoch with the same z (or on the thaw axis, whatever the z) continues its
earlier trial and pays only the new epochs
(:class:`~frozenbench.interop.smac.TrialBook`). DEHB is told ``fitness=score`` and, as
``cost``, what the simulator charged; ``info`` names the table cell read. DEHB's
differential evolution works in a continuous cube, so it may propose one table config more
than once; each proposal is evaluated (and paid) like any other. DEHB draws from its own
``seed``; the replay's generator draws the table seeds.

>>> import frozenbench as fb
>>> from frozenbench.synthetic import make_benchmark
>>> bench = make_benchmark(n_configs=None, grid={"lr": [1e-4, 1e-3, 1e-2, 1e-1],
...                        "wd": [0, 1e-5, 1e-4, 1e-3], "bs": [32, 64, 128]},
...                        n_z=3, n_epochs=9)
>>> opt = DEHBOptimizer(bench, budget="epoch", seed=0)
>>> traj = fb.simulate(bench, opt, n_workers=2, max_evaluations=30)
>>> len(traj), sorted(set(traj["epoch"])), opt.name
(30, [1, 3, 9], 'dehb(epoch)')
>>> len(opt.dehb.history)
30
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from frozenbench.errors import raise_problems
from frozenbench.extras import require
from frozenbench.interop.budget import TrialBook, argument_problems
from frozenbench.interop.configspace import config_id, search_space
from frozenbench.optimizers.base import Job, Observation

if TYPE_CHECKING:
    from frozenbench.table import Benchmark


class DEHBOptimizer:
    """Replay DEHB on ``bench`` over the budget axis ``budget`` (``"epoch"``, ``"z"``,
    ``"z+epoch-linear"`` or ``"thaw"``, see the module docstring) with Hyperband's ``eta`` (a
    number > 1).

    DEHB writes its log file under ``output_directory`` (default: a temporary directory
    removed with the optimizer); it saves no state or history there during a replay. The
    DEHB object is :attr:`dehb` (its ``history`` holds every result it was told).
    """

    def __init__(self, bench: Benchmark, *, budget: str = "epoch", seed: int = 0,
                 eta: float = 3, output_directory: str | Path | None = None) -> None:
        dehb = require("dehb")
        axis, problems = argument_problems(bench, budget=budget, seed=seed, eta=eta,
                                           integer_eta=False)
        raise_problems("DEHBOptimizer", problems)
        assert axis is not None  # a bad budget is one of the problems raised above
        self.axis = axis
        self.bench = bench
        self.name = f"dehb({budget})"
        self._tmp = None
        if output_directory is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="frozenbench-dehb-")
            output_directory = self._tmp.name
        # n_workers=1: DEHB starts no Dask cluster; save_freq="end": it writes nothing during
        # ask/tell (only its own run() would save at the end)
        self.dehb: Any = dehb.DEHB(
            cs=search_space(bench, seed=int(seed)), min_fidelity=axis.min_budget,
            max_fidelity=axis.max_budget, eta=eta, n_workers=1, seed=int(seed),
            output_path=str(output_directory), save_freq="end")
        self.book = TrialBook()

    def ask(self, rng: np.random.Generator) -> Job:
        """DEHB's next job (DEHB always has one: it opens a new bracket rather than wait)."""
        info = self.dehb.ask()
        rung = self.axis.rung(info["fidelity"])
        z, epoch = self.axis.levels[rung]
        return self.book.job(info, config_id(self.bench, info["config"]), z, epoch, rung=rung,
                             bracket=int(info["bracket_id"]), schedule=self.axis.schedule)

    def tell(self, observation: Observation) -> None:
        """Tell DEHB the score as its fitness and the simulated charge as its cost."""
        info = self.book.answer(observation)
        job = observation.job
        self.dehb.tell(info, {"fitness": observation.score, "cost": observation.cost,
                              "info": {"config_id": job.config_id, "z": job.z,
                                       "epoch": job.epoch, "trial": observation.trial,
                                       "seed": observation.seed}})
