"""Simulation semantics: what a job costs, where it runs, when the run stops, determinism."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import frozenbench as fb
from frozenbench.errors import InvalidValueError, UnknownNameError
from frozenbench.optimizers import Job
from frozenbench.sim.clock import EventQueue
from frozenbench.sim.workers import capacities, parse_bytes
from frozenbench.synthetic import make_benchmark


@pytest.fixture(scope="module")
def bench():
    return make_benchmark(n_configs=40, n_z=5, n_epochs=9, diverge_frac=0.05, seed=1)


class Script:
    """An optimizer that hands out a fixed list of jobs, one per ask, and records tells."""

    name = "script"

    def __init__(self, jobs):
        self.jobs = list(jobs)
        self.told = []

    def ask(self, rng):
        return self.jobs.pop(0) if self.jobs else None

    def tell(self, obs):
        self.told.append(obs)


def cum(bench, cid, z, epoch, seed=0, cost="train_time_s"):
    return bench.query(cid, z, epoch, seed=seed)._asdict()[cost]


def test_continuation_pays_only_the_difference_and_new_z_pays_from_scratch(bench):
    cid = int(bench.config_ids[5])
    jobs = [Job(cid, 3, 2)]
    opt = Script(jobs)
    # one worker, so jobs run one after another and later jobs can refer to trial 0
    traj = fb.simulate(bench, opt, n_workers=1, max_evaluations=1, cell_seed=0)
    assert traj["cost"].iloc[0] == pytest.approx(cum(bench, cid, 3, 2))

    class Continue(Script):
        def tell(self, obs):
            super().tell(obs)
            if len(self.told) == 1:
                self.jobs += [Job(cid, 3, 5, trial=obs.trial),   # continue: pays 2 -> 5
                              Job(cid, 3, 5),                     # new trial: from scratch
                              Job(cid, 4, 5),                     # another z: from scratch
                              Job(cid, 3, 4, trial=obs.trial)]    # already paid: free

    opt = Continue([Job(cid, 3, 2)])
    traj = fb.simulate(bench, opt, n_workers=1, max_evaluations=10, cell_seed=0)
    costs = traj["cost"].tolist()
    assert costs[0] == pytest.approx(cum(bench, cid, 3, 2))
    assert costs[1] == pytest.approx(cum(bench, cid, 3, 5) - cum(bench, cid, 3, 2))
    assert costs[2] == pytest.approx(cum(bench, cid, 3, 5))
    assert costs[3] == pytest.approx(cum(bench, cid, 4, 5))
    assert costs[4] == 0.0
    assert traj["trial"].tolist() == [0, 0, 1, 2, 0]
    # the clock is the sum of the costs on one worker
    assert traj["time"].iloc[-1] == pytest.approx(sum(costs))
    assert traj["score"].iloc[1] == pytest.approx(bench.query(cid, 3, 5, seed=0).val_error)


def test_flops_cost(bench):
    cid = int(bench.config_ids[0])
    traj = fb.simulate(bench, Script([Job(cid, 2, 3)]), n_workers=1, max_evaluations=1,
                       cell_seed=0, cost="flops")
    assert traj["cost"].iloc[0] == pytest.approx(cum(bench, cid, 2, 3, cost="train_flops"))


def test_continuing_at_another_z_or_while_running_is_an_error(bench):
    cid = int(bench.config_ids[0])

    class Bad(Script):
        def tell(self, obs):
            self.jobs.append(Job(cid, 4, 5, trial=obs.trial))

    with pytest.raises(InvalidValueError, match="a trial keeps its config and z"):
        fb.simulate(bench, Bad([Job(cid, 3, 2)]), n_workers=1, max_evaluations=5)
    with pytest.raises(InvalidValueError, match="still running"):
        fb.simulate(bench, Script([Job(cid, 3, 2), Job(cid, 3, 4, trial=0)]), n_workers=2,
                    max_evaluations=5)
    with pytest.raises(InvalidValueError, match="unknown trial 7"):
        fb.simulate(bench, Script([Job(cid, 3, 2, trial=7)]), n_workers=1, max_evaluations=5)
    with pytest.raises(InvalidValueError, match="not in the synthetic table"):
        fb.simulate(bench, Script([Job(10_000, 3, 2)]), n_workers=1, max_evaluations=5)


def test_workers_run_one_job_at_a_time_and_in_parallel(bench):
    traj = fb.simulate(bench, "hyperband", "z+epoch", n_workers=3, max_evaluations=200, seed=2)
    assert set(traj["worker"]) == {0, 1, 2}
    for _, g in traj.groupby("worker"):
        g = g.sort_values("start")
        assert (g["start"].to_numpy()[1:] >= g["time"].to_numpy()[:-1] - 1e-9).all()
    assert traj["time"].is_monotonic_increasing
    np.testing.assert_allclose(traj["time"] - traj["start"], traj["cost"])


def test_memory_capacity_respected(bench):
    mem = bench.peak_memory()
    caps = ["0.55GiB", "4GiB"]
    traj = fb.simulate(bench, "asha", "z", n_workers=2, memory=caps, max_evaluations=150, seed=0)
    pos = {int(c): i for i, c in enumerate(bench.config_ids)}
    need = np.array([mem[pos[c], z - 1] for c, z in zip(traj.config_id, traj.z)])
    cap = np.array([parse_bytes(caps[w]) for w in traj.worker])
    assert (need <= cap).all()
    assert ((traj.worker == 0) & (traj.z == 5)).sum() == 0  # big z never on the small worker
    assert (traj.worker == 0).sum() > 0  # but the small worker does the low-z work
    with pytest.raises(InvalidValueError, match=r"needs .* of memory; no worker has that much"):
        fb.simulate(bench, "random", "full", n_workers=2, memory="0.55GiB", max_evaluations=5)
    with pytest.raises(InvalidValueError, match=r"fit no job of the table"):  # refused up front
        fb.simulate(bench, "random", "full", n_workers=2, memory="100MB", max_evaluations=5)


def test_determinism_per_seed(bench):
    a = fb.simulate(bench, "asha", "z+epoch", n_workers=4, max_evaluations=300, seed=7)
    b = fb.simulate(bench, "asha", "z+epoch", n_workers=4, max_evaluations=300, seed=7)
    c = fb.simulate(bench, "asha", "z+epoch", n_workers=4, max_evaluations=300, seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not a["config_id"].equals(c["config_id"])


@pytest.mark.parametrize("opt", ["random", "sh", "hyperband", "asha"])
def test_budgets_respected(bench, opt):
    t = fb.simulate(bench, opt, "epoch", n_workers=4, budget_seconds=500.0, seed=0)
    assert len(t) and t["time"].max() <= 500.0
    c = fb.simulate(bench, opt, "z", n_workers=4, cost_budget=2000.0, seed=0)
    assert len(c) and c["cost"].sum() <= 2000.0 and c["total_cost"].iloc[-1] <= 2000.0
    n = fb.simulate(bench, opt, "z+epoch", n_workers=4, max_evaluations=77, seed=0)
    assert len(n) == 77


def test_incumbent_and_regret(bench):
    traj = fb.simulate(bench, "hyperband", "epoch", n_workers=2, max_evaluations=200, seed=3,
                       cell_seed="mean", incumbent="any")
    np.testing.assert_allclose(traj["incumbent_score"], traj["score"].cummin())
    full = bench.full_fidelity_scores()
    pos = {int(c): i for i, c in enumerate(bench.config_ids)}
    np.testing.assert_allclose(traj["incumbent_full"], [full[pos[c]] for c in traj.incumbent])
    np.testing.assert_allclose(traj["regret"], traj["incumbent_full"] - np.nanmin(full))
    assert (traj["seed"] == -1).all()
    assert traj.attrs["best_full"] == pytest.approx(np.nanmin(full))


def test_cell_seed_modes(bench):
    drawn = fb.simulate(bench, "random", "full", n_workers=2, max_evaluations=60, seed=0)
    assert set(drawn["seed"]) <= set(bench.seeds) and len(set(drawn["seed"])) > 1
    fixed = fb.simulate(bench, "random", "full", n_workers=2, max_evaluations=20, cell_seed=1)
    assert (fixed["seed"] == 1).all()
    with pytest.raises(InvalidValueError, match="no seed 1"):
        fb.simulate(bench, "asha", "z", max_evaluations=20, cell_seed=1)


def test_diverged_scores_worst(bench):
    obj = bench.objective(per_seed=True)
    traj = fb.simulate(bench, "random", "full", n_workers=1, max_evaluations=200, seed=0,
                       cell_seed=0)
    assert np.isfinite(traj["score"]).all()
    assert traj["score"].max() <= np.nanmax(obj)


def test_trajectory_round_trips_parquet(bench, tmp_path):
    traj = fb.simulate(bench, "sh", [(1, 3), (3, 6), (5, 9)], n_workers=2, max_evaluations=50)
    assert traj.attrs["levels"] == [[1, 3], [3, 6], [5, 9]]
    assert {"lr", "optimizer", "z", "epoch", "incumbent_full", "regret"} <= set(traj.columns)
    traj.to_parquet(tmp_path / "t.parquet")
    back = pd.read_parquet(tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(back, traj, check_like=False, check_dtype=False)


def test_argument_errors(bench):
    with pytest.raises(InvalidValueError, match="give a stopping rule"):
        fb.simulate(bench, "asha")
    with pytest.raises(UnknownNameError, match="unknown optimizer 'bohb'"):
        fb.simulate(bench, "bohb", max_evaluations=3)
    with pytest.raises(InvalidValueError, match="fidelity='layers' is not known"):
        fb.simulate(bench, "asha", "layers", max_evaluations=3)
    with pytest.raises(InvalidValueError, match="n_workers=0"):
        fb.simulate(bench, "asha", n_workers=0, max_evaluations=3)
    with pytest.raises(InvalidValueError, match="memory lists 1 capacities for n_workers=2"):
        fb.simulate(bench, "asha", n_workers=2, memory=["1GB"], max_evaluations=3)
    with pytest.raises(UnknownNameError, match="unknown cost"):
        fb.simulate(bench, "asha", cost="energy", max_evaluations=3)
    with pytest.raises(InvalidValueError, match="budget=-1"):
        fb.simulate(bench, "asha", budget=-1)


def test_event_queue_and_capacities():
    q = EventQueue()
    for t, p in [(1.0, "a"), (0.5, "b"), (1.0, "c")]:
        q.push(t, p)
    assert [q.pop()[1] for _ in range(3)] == ["b", "a", "c"]
    assert capacities(2, "1GiB") == [2**30, 2**30]
    assert capacities(1, None) == [math.inf]
    with pytest.raises(InvalidValueError, match="cannot read memory size"):
        parse_bytes("12 parsecs")


def test_load_by_path_inside_simulate(tmp_path):
    from frozenbench.synthetic import write_benchmark

    d = write_benchmark(tmp_path / "b", n_configs=10, n_z=3, n_epochs=3)
    traj = fb.simulate(str(d), "asha", "z", max_evaluations=10)
    assert len(traj) == 10


def test_names_are_resolved_by_fb_simulate_not_by_the_simulator(tmp_path):
    """fb.simulate (the API edge) loads a name or a path; frozenbench.sim.simulate takes a
    loaded Benchmark and says what to do with anything else."""
    from frozenbench.sim import simulate
    from frozenbench.synthetic import write_benchmark

    d = write_benchmark(tmp_path / "b", n_configs=10, n_z=3, n_epochs=3)
    assert fb.simulate(d, "asha", "z", max_evaluations=5).equals(
        simulate(fb.load(d), "asha", "z", max_evaluations=5))
    with pytest.raises(InvalidValueError, match=r"bench must be a loaded Benchmark, got '.*'; "
                       r"load it with fb.load\('.*'\)"):
        simulate(str(d), "asha", "z", max_evaluations=5)
    with pytest.raises(InvalidValueError, match="bench must be a Benchmark, a benchmark name or "
                       "a path, got 3"):
        fb.simulate(3, "asha")
