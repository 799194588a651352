"""Promotion logic of each optimizer, and fidelity paths."""

from __future__ import annotations

import numpy as np
import pytest

import frozenbench as fb
from frozenbench.errors import FidelityError, InvalidValueError
from frozenbench.optimizers import (
    ASHA,
    Bracket,
    Hyperband,
    Job,
    Observation,
    RandomSearch,
    SuccessiveHalving,
    fidelity_levels,
)
from frozenbench.space import Fidelities
from frozenbench.synthetic import make_benchmark

F = Fidelities(z=tuple(range(1, 12)), epoch=tuple(range(1, 21)), benchmark="demo")
RNG = np.random.default_rng


def obs(job, score, trial):
    return Observation(job, trial=trial, score=score, cost=1.0, time=0.0, worker=0, seed=0)


def test_fidelity_levels():
    assert fidelity_levels(F, "full") == [(11, 20)]
    assert fidelity_levels(F, "epoch") == [(11, 2), (11, 7), (11, 20)]
    assert fidelity_levels(F, "z") == [(1, 20), (4, 20), (11, 20)]
    assert fidelity_levels(F, "z+epoch") == [(1, 2), (4, 7), (11, 20)]
    assert fidelity_levels(F, "z", eta=2) == [(1, 20), (3, 20), (5, 20), (11, 20)]
    with pytest.raises(InvalidValueError, match="must rise"):
        fidelity_levels(F, [(4, 5), (2, 10)])
    with pytest.raises(FidelityError, match="z=12"):
        fidelity_levels(F, [(12, 5)])
    with pytest.raises(InvalidValueError, match="eta"):
        fidelity_levels(F, "z", eta=1)
    with pytest.raises(InvalidValueError, match="pairs"):
        fidelity_levels(F, [3])


def test_random_search_full_fidelity_without_replacement():
    rs = RandomSearch(list(range(10)), fidelity_levels(F, "z"))
    rng = RNG(0)
    jobs = [rs.ask(rng) for _ in range(10)]
    assert sorted(j.config_id for j in jobs) == list(range(10))
    assert {(j.z, j.epoch) for j in jobs} == {(11, 20)}


def test_bracket_synchronous_promotion_top_fraction():
    levels = [(11, 2), (11, 7), (11, 20)]
    b = Bracket(list(range(9)), 0, levels, eta=3, index=4)
    jobs = [b.ask() for _ in range(9)]
    assert b.ask() is None
    scores = [0.9, 0.1, 0.5, 0.3, 0.8, 0.2, 0.7, 0.6, 0.4]
    for t, (j, s) in enumerate(zip(jobs, scores)):
        assert b.ask() is None  # nothing is promoted before the rung is complete
        b.tell(obs(j, s, trial=100 + t))
    up = [b.ask() for _ in range(3)]
    assert b.ask() is None
    assert [j.config_id for j in up] == [1, 5, 3]  # best three, best first
    assert [j.trial for j in up] == [101, 105, 103]  # same z: continue the trials
    assert {(j.z, j.epoch, j.rung, j.bracket) for j in up} == {(11, 7, 1, 4)}
    for j, s in zip(up, [0.3, 0.1, 0.2]):
        b.tell(obs(j, s, trial=j.trial))
    top = b.ask()
    assert (top.config_id, top.rung, top.epoch) == (5, 2, 20)
    b.tell(obs(top, 0.1, trial=top.trial))
    assert b.done


def test_bracket_new_trial_when_z_changes():
    b = Bracket([1, 2, 3], 0, [(1, 20), (11, 20)], eta=3, index=0)
    jobs = [b.ask() for _ in range(3)]
    for t, (j, s) in enumerate(zip(jobs, [0.3, 0.2, 0.1])):
        b.tell(obs(j, s, trial=t))
    up = b.ask()
    assert (up.config_id, up.z, up.trial) == (3, 11, None)


def test_hyperband_brackets_and_concurrency():
    levels = fidelity_levels(F, "epoch")
    hb = Hyperband(list(range(100)), levels, eta=3)
    rng = RNG(0)
    first = [hb.ask(rng) for _ in range(9)]
    assert {j.bracket for j in first} == {0} and {j.rung for j in first} == {0}
    # bracket 0 waits for results; a free worker starts bracket 1 (s=1: 5 configs at rung 1)
    nxt = [hb.ask(rng) for _ in range(5)]
    assert {(j.bracket, j.rung, j.epoch) for j in nxt} == {(1, 1, 7)}
    third = [hb.ask(rng) for _ in range(3)]
    assert {(j.bracket, j.rung, j.epoch) for j in third} == {(2, 2, 20)}
    # results of bracket 0 promote within bracket 0, which is served first again
    for t, j in enumerate(first):
        hb.tell(obs(j, float(t), trial=t))
    up = [hb.ask(rng) for _ in range(3)]
    assert [(j.bracket, j.rung, j.config_id) for j in up] == [(0, 1, first[i].config_id)
                                                              for i in range(3)]


def test_successive_halving_only_most_aggressive_bracket():
    sh = SuccessiveHalving(list(range(100)), fidelity_levels(F, "z"), eta=3)
    rng = RNG(1)
    jobs = [sh.ask(rng) for _ in range(20)]
    assert {j.rung for j in jobs} == {0}
    assert [j.bracket for j in jobs] == [0] * 9 + [1] * 9 + [2] * 2
    assert len({j.config_id for j in jobs[:9]}) == 9


def test_asha_promotes_top_fraction_asynchronously():
    levels = [(2, 1), (2, 3), (5, 9)]
    asha = ASHA(list(range(50)), levels, eta=3)
    rng = RNG(0)
    jobs = [asha.ask(rng) for _ in range(3)]
    assert all(j.rung == 0 for j in jobs)
    asha.tell(obs(jobs[0], 0.5, 0))
    asha.tell(obs(jobs[1], 0.2, 1))
    assert asha.ask(rng).rung == 0  # 2 results: floor(2/3) = 0 promotable
    asha.tell(obs(jobs[2], 0.9, 2))
    up = asha.ask(rng)  # 3 results: the best one goes up, continuing its trial (same z)
    assert (up.config_id, up.rung, up.trial, up.epoch) == (jobs[1].config_id, 1, 1, 3)
    assert asha.ask(rng).rung == 0  # promoted once only
    # rung 1 -> 2 changes z: a new trial
    asha.tell(obs(up, 0.1, 1))
    for t in range(2):
        j = Job(40 + t, 2, 3, trial=10 + t, rung=1)
        asha.tell(obs(j, 0.4 + t, 10 + t))
    top = asha.ask(rng)
    assert (top.config_id, top.rung, top.z, top.trial) == (jobs[1].config_id, 2, 5, None)


def test_sh_over_epoch_continues_trials_in_simulation():
    bench = make_benchmark(n_configs=30, n_z=4, n_epochs=9, diverge_frac=0.0)
    traj = fb.simulate(bench, "sh", "epoch", n_workers=1, max_evaluations=13, cell_seed=0)
    top = traj[traj.rung > 0]
    assert len(top) == 4
    base = traj[traj.rung == 0].set_index("trial")
    for row in top.itertuples():
        assert row.trial in base.index  # promoted within the same trial
        paid_before = base.loc[row.trial, "cost"] if row.rung == 1 else None
        if paid_before is not None:
            full = bench.query(int(row.config_id), int(row.z), int(row.epoch), seed=0).train_time_s
            assert row.cost == pytest.approx(full - paid_before)
    zt = fb.simulate(bench, "sh", "z", n_workers=3, max_evaluations=13, cell_seed=0)
    assert zt["trial"].is_unique  # every rung is a new trial when z changes


def test_hyperband_z_epoch_levels_through_simulate():
    bench = make_benchmark(n_configs=30, n_z=11, n_epochs=20, diverge_frac=0.0)
    traj = fb.simulate(bench, "hyperband", "z+epoch", max_evaluations=100, seed=0)
    assert set(zip(traj.z, traj.epoch)) <= {(1, 2), (4, 7), (11, 20)}
    assert traj.attrs["levels"] == [[1, 2], [4, 7], [11, 20]]
