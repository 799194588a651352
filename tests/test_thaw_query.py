"""Issue 25 point 3, the table side: a loaded benchmark answers queries along the thaw schedule
(metric, cumulative cost and z at each epoch) through the Table protocol, with clear errors
where a table has no such rows."""

from __future__ import annotations

import numpy as np
import pytest

import frozenbench as fb
from frozenbench.errors import InvalidValueError
from frozenbench.schedules import ZSchedule
from frozenbench.synthetic import make_benchmark, write_benchmark
from frozenbench.table import Table

KW = dict(n_configs=8, n_z=4, n_epochs=7, diverge_frac=0.0, thaw_configs=3, seed=3)


@pytest.fixture(scope="module")
def bench() -> fb.Benchmark:
    return make_benchmark(**KW)


def _thawed(bench: fb.Benchmark) -> list[int]:
    mask = bench.schedule_arrays("thaw").seed_mask()[:, 0]
    return [int(c) for c in bench.config_ids[mask]]


def test_a_thaw_query_reads_the_schedule_z_metric_and_cost_at_each_epoch(bench):
    schedule = ZSchedule.thaw_linear(4, 7).z
    assert bench.schedules == ("thaw",)
    assert len(_thawed(bench)) == 3
    for cid in _thawed(bench):
        paid = 0.0
        for e, z in enumerate(schedule, start=1):
            r = bench.query(cid, schedule="thaw", epoch=e, seed=0)
            assert (r.z, r.schedule, r.n_seeds) == (z, "thaw", 1)
            fixed = bench.query(cid, z, e, seed=0)
            before = bench.query(cid, z, e - 1, seed=0).train_cost_s if e > 1 else 0.0
            paid += fixed.train_cost_s - before  # this epoch's cost at the z it trains
            assert r.val_error == fixed.val_error  # the synthetic rule: the fixed curve there
            assert r.train_cost_s == pytest.approx(paid)
            assert bench.query(cid, z, e, schedule="thaw", seed=0) == r  # z given: checked
        last = bench.query(cid, schedule="thaw")  # epoch=None: the last; seed=None: the mean
        assert last.z == 4 and last.n_seeds == 1
        assert last.val_error == bench.query(cid, schedule="thaw", epoch=7, seed=0).val_error
        assert last.train_cost_s < bench.query(cid, 4, seed=0).train_cost_s  # thaw is cheaper


def test_the_schedule_arrays_agree_with_the_queries_and_are_read_only(bench):
    arrays = bench.schedule_arrays("thaw")
    assert arrays is bench.schedule_arrays("thaw")  # built once
    assert arrays.z.tolist() == list(ZSchedule.thaw_linear(4, 7).z)
    obj = arrays.objective("val_error")
    cost = arrays.quantity("train_cost_s", per_seed=True)
    for cid in _thawed(bench):
        c = bench.row(cid)
        for e in range(1, 8):
            r = bench.query(cid, schedule="thaw", epoch=e, seed=0)
            assert obj[c, e - 1] == r.val_error and cost[c, e - 1, 0] == r.train_cost_s
    others = [bench.row(int(c)) for c in bench.config_ids if int(c) not in _thawed(bench)]
    assert np.isnan(obj[others]).all()
    with pytest.raises(ValueError, match="read-only"):
        arrays.values[0, 0, 0, 0] = 1.0


def test_a_table_on_disk_answers_like_the_one_in_memory(tmp_path, bench):
    loaded = fb.load(write_benchmark(tmp_path / "t", **KW))
    assert isinstance(loaded, Table) and loaded.schedules == ("thaw",)
    for cid in _thawed(bench):
        assert loaded.query(cid, schedule="thaw", epoch=5, seed=0) == \
            bench.query(cid, schedule="thaw", epoch=5, seed=0)


def test_errors_name_what_the_table_has(bench):
    plain = make_benchmark(n_configs=4, n_z=2, n_epochs=3)
    assert plain.schedules == ()
    with pytest.raises(InvalidValueError, match=r"no 'thaw' rows; it has only fixed-z rows"):
        plain.query(int(plain.config_ids[0]), schedule="thaw", epoch=1)
    cid = _thawed(bench)[0]
    with pytest.raises(InvalidValueError, match=r"no 'cosine' rows; schedules with rows: "
                                                r"\['thaw'\]"):
        bench.query(cid, schedule="cosine", epoch=1)
    with pytest.raises(InvalidValueError, match=r"z=4: the thaw schedule of synthetic trains "
                                                r"z=1 at epoch 1"):
        bench.query(cid, 4, 1, schedule="thaw")
    with pytest.raises(InvalidValueError, match=r"no thaw result for config .* at seed 1; "
                                                r"seeds there: \[0\]"):
        bench.query(cid, schedule="thaw", epoch=2, seed=1)
    other = next(int(c) for c in bench.config_ids if int(c) not in _thawed(bench))
    with pytest.raises(InvalidValueError, match=f"no thaw result for config {other}, epoch 2$"):
        bench.query(other, schedule="thaw", epoch=2)
    with pytest.raises(InvalidValueError, match="epoch"):
        bench.query(cid, schedule="thaw", epoch=99)


def test_synthetic_thaw_cells_at_several_seeds_follow_the_merge_cost_rule():
    """The synthetic thaw cost is the merge's rule (generation.cost_clock.schedule_cost) with
    the config as a cost factor: each epoch costs the config's own fixed-z increment at the z
    it trains, at the same seed."""
    import pandas as pd

    from frozenbench.generation.cost_clock import schedule_cost

    bench = make_benchmark(n_configs=6, n_z=3, n_epochs=5, diverge_frac=0.0, thaw_configs=6,
                           thaw_seeds=2, multi_seed_configs=6, seed=1)
    rows = bench.schedule_rows.to_frame()
    assert sorted(set(rows.seed)) == [0, 1] and len(rows) == 6 * 2 * 5
    frame = bench.to_frame()
    fixed = frame[frame.schedule == "fixed"]
    for s in (0, 1):
        mine = rows[rows.seed == s].reset_index(drop=True)
        rule = schedule_cost(mine, fixed[fixed.seed == s], factors=["config_id"])
        assert mine.train_cost_s.to_numpy() == pytest.approx(rule.to_numpy())
        seed1 = bench.query(int(bench.config_ids[0]), schedule="thaw", epoch=5, seed=s)
        assert seed1.val_error == bench.query(int(bench.config_ids[0]), 3, 5, seed=s).val_error
    mean = bench.query(int(bench.config_ids[0]), schedule="thaw", epoch=2)
    assert mean.n_seeds == 2
    with pytest.raises(InvalidValueError, match="thaw_seeds=4 must be at most"):
        make_benchmark(n_configs=4, n_z=2, n_epochs=2, thaw_configs=1, thaw_seeds=4)
    assert isinstance(rows, pd.DataFrame)


def test_a_diverged_thaw_cell_reads_like_a_diverged_fixed_one():
    """Its epochs after the last row: NaN metrics and the cost paid until then; the replay
    scores it as the worst value."""
    from dataclasses import replace

    import pyarrow as pa

    from frozenbench.table import Benchmark

    whole = make_benchmark(n_configs=6, n_z=3, n_epochs=5, diverge_frac=0.0, thaw_configs=6)
    frame = whole.to_frame()
    cid = int(whole.config_ids[0])
    cell = (frame.schedule == "thaw") & (frame.config_id == cid)
    frame = frame[~(cell & (frame.epoch > 3))].copy()
    last = (frame.schedule == "thaw") & (frame.config_id == cid) & (frame.epoch == 3)
    frame.loc[last, "status"] = "diverged"
    frame.loc[last, ["val_error", "val_loss", "test_error", "test_loss"]] = np.nan
    frame.loc[last, "train_loss"] = np.inf
    bench = Benchmark.from_arrow(pa.Table.from_pandas(frame, preserve_index=False),
                                 replace(whole.manifest, rows=len(frame)))
    paid = bench.query(cid, schedule="thaw", epoch=3, seed=0).train_cost_s
    for e in (4, 5):
        r = bench.query(cid, schedule="thaw", epoch=e, seed=0)
        assert np.isnan(r.val_error) and r.train_cost_s == paid and r.n_diverged == 1
    obj = bench.schedule_arrays("thaw").objective("val_error")
    assert obj[bench.row(cid), 4] == np.nanmax(obj)  # the worst value of the thaw rows
    traj = fb.simulate(bench, "asha", "thaw", max_evaluations=30, cell_seed=0)
    assert np.isfinite(traj.score).all()
