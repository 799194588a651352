"""The replay engine and its protocol for external optimizers (promotion and stopping style)."""

from __future__ import annotations

import numpy as np
import pytest

import frozenbench as fb
from frozenbench.errors import InvalidValueError
from frozenbench.optimizers import Start
from frozenbench.sim import Trial
from frozenbench.sim.trajectory import COLUMNS
from frozenbench.synthetic import make_benchmark


@pytest.fixture(scope="module")
def bench():
    return make_benchmark(n_configs=30, n_z=4, n_epochs=6, diverge_frac=0.0, seed=3)


class MedianStop:
    """Stopping style: a trial goes on while its score is no worse than the median of what
    other trials scored at that epoch."""

    name = "median-stop"

    def __init__(self, config_ids, z):
        self.ids = [int(c) for c in config_ids]
        self.z = z
        self.seen: dict[int, list[float]] = {}
        self.reports = []

    def suggest(self, rng):
        return Start(self.ids[int(rng.integers(len(self.ids)))], self.z)

    def report(self, obs):
        self.reports.append(obs)
        at = self.seen.setdefault(obs.job.epoch, [])
        at.append(obs.score)
        return obs.score <= float(np.median(at))


def test_stopping_style_reports_every_epoch_and_stopped_trials_stop_paying(bench):
    opt = MedianStop(bench.config_ids, 4)
    traj = fb.simulate(bench, opt, n_workers=3, max_evaluations=120, seed=0, cell_seed=0)
    assert len(opt.reports) == 120 == len(traj)
    assert [o.time for o in opt.reports] == sorted(o.time for o in opt.reports)  # time order
    for _, rows in traj.groupby("trial"):
        epochs = rows.sort_values("time")["epoch"].tolist()
        assert epochs == list(range(1, len(epochs) + 1))  # one epoch after another
        cid = int(rows["config_id"].iloc[0])
        last = epochs[-1]
        paid = rows["cost"].sum()
        full_run = bench.query(cid, 4, last, seed=0)._asdict()[bench.default_cost]
        assert paid == pytest.approx(full_run)  # never more than the epochs it trained
    stopped = traj.groupby("trial")["epoch"].max()
    assert (stopped < 6).any() and (stopped == 6).any()
    assert tuple(c for c in traj.columns if c in COLUMNS) == COLUMNS


def test_same_columns_whatever_drives(bench):
    a = fb.simulate(bench, "asha", max_evaluations=20)
    b = fb.simulate(bench, MedianStop(bench.config_ids, 2), max_evaluations=20)
    assert list(a.columns) == list(b.columns)
    assert (a.dtypes == b.dtypes).all()


def test_all_argument_problems_at_once(bench):
    with pytest.raises(InvalidValueError) as info:
        fb.simulate(bench, "bohb", "layers", n_workers=0, budget=-1, cell_seed="x",
                    metric="accuracy")
    text = str(info.value)
    for part in ("problems", "budget=-1", "n_workers=0", "bohb", "layers", "cell_seed",
                 "accuracy"):
        assert part in text


def test_stopping_style_bad_answers(bench):
    class Bad(MedianStop):
        def report(self, obs):
            return "yes"

    with pytest.raises(InvalidValueError, match="must return True"):
        fb.simulate(bench, Bad(bench.config_ids, 2), max_evaluations=5)

    class NoRng(MedianStop):
        def suggest(self):
            return None

    with pytest.raises(InvalidValueError, match=r"suggest\(rng\)"):
        fb.simulate(bench, NoRng(bench.config_ids, 2), max_evaluations=5)


def test_trial_is_slotted():
    t = Trial(config_id=1, z=2, pos=0, zi=1, si=0, scores=np.zeros(3), costs=np.zeros(3))
    with pytest.raises(AttributeError):
        t.other = 1  # type: ignore[attr-defined]
