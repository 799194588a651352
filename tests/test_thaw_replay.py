"""Issue 25 point 3, the replay side: the fidelity path ``thaw`` (a promotion continues the run
along the thaw schedule and pays only the new epochs, each at its own z), Hyperband, successive
halving and ASHA over it through the one method registry, and the freeze-thaw optimizer."""

from __future__ import annotations

import math

import numpy as np
import pytest

import frozenbench as fb
from frozenbench.errors import InvalidValueError
from frozenbench.optimizers import FreezeThaw, Job, make_optimizer, path_levels, run_levels
from frozenbench.optimizers.fidelity import fidelity_levels
from frozenbench.schedules import ZSchedule
from frozenbench.sim import Method
from frozenbench.sim.request import ReplayRequest
from frozenbench.synthetic import make_benchmark

N_Z, N_E = 5, 9


@pytest.fixture(scope="module")
def bench() -> fb.Benchmark:
    return make_benchmark(n_configs=60, n_z=N_Z, n_epochs=N_E, diverge_frac=0.0,
                          thaw_configs=60, seed=4)


def _replay(bench, label, **kw):
    kw.setdefault("seeds", (0,))
    kw.setdefault("n_workers", 3)
    if "max_evaluations" not in kw:
        kw.setdefault("budget", 8)
    return ReplayRequest(Method.parse(label), **kw).prepare(bench).run_all()


def _thaw_cost(bench, cid, epoch):
    return bench.query(cid, schedule="thaw", epoch=epoch, seed=0).train_cost_s


def test_the_thaw_path_reads_its_levels_from_the_table(bench):
    z = ZSchedule.thaw_linear(N_Z, N_E).z
    assert path_levels(bench, "thaw") == [(z[0], 1), (z[2], 3), (N_Z, N_E)]
    assert path_levels(bench, "thaw", eta=2.0)[-1] == (N_Z, N_E)  # full fidelity last
    assert run_levels(bench, "thaw") == [(v, e) for e, v in enumerate(z, start=1)]
    with pytest.raises(InvalidValueError, match=r"fidelity='thaw' follows a schedule stored "
                                                r"in a table"):
        fidelity_levels(bench.fidelity_values, "thaw")
    with pytest.raises(InvalidValueError, match=r"valid: \[.*'full', 'thaw'\] or a list"):
        fidelity_levels(bench.fidelity_values, "thow")


@pytest.mark.parametrize("label", ["hyperband:thaw", "sh:thaw", "asha:thaw"])
def test_promotions_continue_the_run_and_pay_only_the_new_epochs(bench, label):
    (traj,) = _replay(bench, label, cell_seed=0)
    z_at = dict(run_levels(bench, "thaw")[i][::-1] for i in range(N_E))
    assert (traj.z == traj.epoch.map(z_at)).all()  # every job at the schedule's z
    continued = 0
    for _, rows in traj.groupby("trial"):
        rows = rows.sort_values("time")
        assert rows.config_id.nunique() == 1 and rows.epoch.is_monotonic_increasing
        cid, last = int(rows.config_id.iloc[0]), int(rows.epoch.iloc[-1])
        # the run's cost: what the schedule cost up to its last epoch, once
        assert rows.cost.sum() == pytest.approx(_thaw_cost(bench, cid, last))
        continued += len(rows) > 1
    assert continued > 0  # some trial was promoted and continued
    full = traj[(traj.z == N_Z) & (traj.epoch == N_E)]
    assert len(full) > 0 and traj.attrs["levels"][-1] == [N_Z, N_E]


def test_a_thaw_promotion_is_cheaper_than_a_restart_at_fixed_z(bench):
    (thaw,) = _replay(bench, "sh:thaw", cell_seed=0, max_evaluations=40)
    (restart,) = _replay(bench, "sh:z+epoch-linear", cell_seed=0, max_evaluations=40)
    top_thaw = thaw[thaw.epoch == N_E]
    assert len(top_thaw) and (top_thaw.trial.isin(thaw[thaw.epoch < N_E].trial)).all()
    per_full_thaw = thaw.groupby("trial").cost.sum()[top_thaw.trial]
    cid = int(top_thaw.config_id.iloc[0])
    assert per_full_thaw.loc[top_thaw.trial.iloc[0]] < \
        bench.query(cid, N_Z, N_E, seed=0).train_cost_s  # the thaw run costs less than full
    assert restart.trial.nunique() == len(restart)  # every level of the diagonal restarts


@pytest.mark.parametrize("rule", ["full", "highest"])
def test_the_thaw_schedules_last_epoch_is_full_fidelity_for_the_incumbent(bench, rule):
    (traj,) = _replay(bench, "hyperband:thaw", incumbent=rule, cell_seed=0)
    full = traj[(traj.z == N_Z) & (traj.epoch == N_E)]
    first = full.index[0]
    assert traj.loc[first, "incumbent_z"] == N_Z and traj.loc[first, "incumbent_epoch"] == N_E
    assert math.isfinite(traj.regret.iloc[-1])
    if rule == "full":
        assert (traj.loc[:first - 1, "incumbent"] == -1).all()


def test_a_table_without_thaw_rows_names_what_it_has():
    plain = make_benchmark(n_configs=10, n_z=3, n_epochs=4)
    for label in ("hyperband:thaw", "freezethaw:thaw"):
        with pytest.raises(InvalidValueError, match=r"synthetic has no 'thaw' rows; it has "
                                                    r"only fixed-z rows"):
            _replay(plain, label)
    problems = Method.parse("asha:thaw").problems([plain], label="a")
    assert len(problems) == 1 and "no 'thaw' rows" in str(problems[0])


def test_configs_are_drawn_among_those_with_a_thaw_cell():
    some = make_benchmark(n_configs=30, n_z=3, n_epochs=4, diverge_frac=0.0, thaw_configs=12)
    with_cell = set(some.config_ids[some.schedule_arrays("thaw").seed_mask()[:, 0]].tolist())
    for label in ("asha:thaw", "freezethaw:thaw", "random:thaw"):
        (traj,) = _replay(some, label, max_evaluations=60)
        assert set(traj.config_id) <= with_cell


def test_the_engine_refuses_jobs_off_the_schedule(bench):
    cid = int(bench.config_ids[0])

    class Scripted:
        name = "scripted"

        def __init__(self, jobs):
            self.jobs = list(jobs)

        def ask(self, rng):
            return self.jobs.pop(0) if self.jobs else None

        def tell(self, observation):
            pass

    cases = [
        ([Job(cid, 3, 1, schedule="thaw")], r"z=3 at epoch 1 of the thaw schedule, which "
                                            r"trains z=1 then"),
        ([Job(cid, 1, 1, schedule="cosine")], r"no 'cosine' rows; schedules with rows: "
                                              r"\['thaw'\]"),
        ([Job(cid, 1, 1), Job(cid, 1, 2, trial=0, schedule="thaw")],
         r"continues trial 0 \(config .*, schedule 'fixed'\) on schedule 'thaw'"),
        ([Job(cid, 1, 1, schedule="thaw"), Job(cid, 2, 4, trial=0)],
         r"continues trial 0 \(config .*, schedule 'thaw'\) on schedule 'fixed'"),
    ]
    for jobs, message in cases:
        with pytest.raises(InvalidValueError, match=message):
            fb.simulate(bench, Scripted(jobs), n_workers=1, max_evaluations=5)


def test_a_thaw_trial_continued_by_hand_pays_each_epoch_at_its_own_z(bench):
    cid = int(bench.config_ids[1])
    z = ZSchedule.thaw_linear(N_Z, N_E).z
    jobs = [Job(cid, z[0], 1, schedule="thaw"), Job(cid, z[4], 5, trial=0, schedule="thaw"),
            Job(cid, z[8], 9, trial=0, schedule="thaw")]

    class Scripted:
        name = "scripted"

        def ask(self, rng):
            return jobs.pop(0) if jobs else None

        def tell(self, observation):
            pass

    traj = fb.simulate(bench, Scripted(), n_workers=1, max_evaluations=3, cell_seed=0)
    paid = [_thaw_cost(bench, cid, e) for e in (1, 5, 9)]
    assert traj.cost.tolist() == pytest.approx([paid[0], paid[1] - paid[0], paid[2] - paid[1]])
    assert traj.z.tolist() == [z[0], z[4], N_Z] and traj.trial.tolist() == [0, 0, 0]
    scores = [bench.query(cid, schedule="thaw", epoch=e, seed=0).val_error for e in (1, 5, 9)]
    assert traj.score.tolist() == scores


# ---------------------------------------------------------------------- freeze-thaw
@pytest.mark.parametrize("fidelity", ["thaw", "epoch"])
def test_freezethaw_reaches_full_fidelity_and_is_deterministic(bench, fidelity):
    a = _replay(bench, f"freezethaw:{fidelity}", seeds=(0, 1), budget=10)
    b = _replay(bench, f"freezethaw:{fidelity}", seeds=(0, 1), budget=10)
    for x, y in zip(a, b):
        assert x.equals(y)
    assert not a[0].equals(a[1])  # the seed matters
    for traj in a:
        assert ((traj.z == N_Z) & (traj.epoch == N_E)).any()
        assert traj.incumbent_epoch.iloc[-1] == N_E
        for _, rows in traj.groupby("trial"):  # one epoch after another, paid once
            assert rows.sort_values("time").epoch.tolist() == list(range(1, len(rows) + 1))


def test_freezethaw_takes_only_continuable_paths(bench):
    problems = Method.parse("freezethaw:z").problems([bench], label="ft")
    assert len(problems) == 1 and "is not one run continued epoch by epoch" in str(problems[0])
    opt = make_optimizer("freezethaw", bench, "thaw")
    assert isinstance(opt, FreezeThaw) and opt.schedule == "thaw"
    assert opt.levels == run_levels(bench, "thaw")


def test_freezethaw_ends_no_worse_than_random_search():
    """A clear case: learning curves that rank configs early (the synthetic tables' shape),
    a budget of 15 full trainings; mean final regret over 8 replay seeds."""
    bench = make_benchmark(n_configs=200, n_z=6, n_epochs=12, diverge_frac=0.0,
                           thaw_configs=200, seed=11)
    seeds = tuple(range(8))
    ft = _replay(bench, "freezethaw:thaw", seeds=seeds, budget=15, n_workers=2)
    rs = _replay(bench, "random:full", seeds=seeds, budget=15, n_workers=2)
    ft_regret = np.mean([t.regret.iloc[-1] for t in ft])
    rs_regret = np.mean([t.regret.iloc[-1] for t in rs])
    assert ft_regret <= rs_regret, (ft_regret, rs_regret)


@pytest.mark.parametrize("cell_seed", ["mean", "draw"])
def test_thaw_replays_read_the_seed_mean_or_a_drawn_seed(cell_seed):
    two = make_benchmark(n_configs=20, n_z=3, n_epochs=5, diverge_frac=0.0, thaw_configs=20,
                         thaw_seeds=2, multi_seed_configs=20, seed=2)
    (traj,) = _replay(two, "asha:thaw", cell_seed=cell_seed, max_evaluations=40)
    assert set(traj.seed) == ({-1} if cell_seed == "mean" else {0, 1})
    for row in traj.itertuples():
        seed = None if row.seed < 0 else int(row.seed)
        r = two.query(int(row.config_id), schedule="thaw", epoch=int(row.epoch), seed=seed)
        assert row.score == pytest.approx(r.val_error)
