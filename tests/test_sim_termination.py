"""Every replay terminates and every bad argument is named (issue 12, items 1, 2 and 5).

Each test here reproduces a reported failure: a replay that never ended when every runnable job
cost nothing, an all-NaN metric scored as perfect, late raw errors from a bad optimizer.
"""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc
import pytest

import frozenbench as fb
from frozenbench.cli import main
from frozenbench.errors import FrozenbenchError, InvalidValueError
from frozenbench.optimizers import Job
from frozenbench.synthetic import _manifest, make_table
from frozenbench.table import Benchmark

pytestmark = pytest.mark.timeout(60)

SHAPE = {"n_configs": 12, "n_z": 4, "n_epochs": 6, "diverge_frac": 0.0}


def _bench(drop: tuple[str, int] | None = None, metric: str = "val_error", *,
           check_values: bool = True) -> Benchmark:
    """A synthetic table without the rows at ``drop=(column, value)`` (e.g. every cell at
    z=3), although the manifest lists that value (as a grid merged with missing shards)."""
    table, ids, seeds = make_table(**SHAPE)
    if drop is not None:
        table = table.filter(pc.not_equal(table.column(drop[0]), drop[1]))
    manifest = _manifest("holes", metric, fb.synthetic.RESNET_GRID, table, ids, seeds, SHAPE,
                         files={}, cells={})
    return Benchmark.from_arrow(table, manifest, check_values=check_values)


@pytest.fixture(scope="module")
def no_z3() -> Benchmark:
    return _bench(("z", 3))


def test_missing_full_fidelity_cells_are_a_clear_error_or_terminate():
    bench = _bench(("z", SHAPE["n_z"]))
    for optimizer, fidelity in [("asha", "z+epoch"), ("random", "full"),
                                ("hyperband", "epoch")]:
        try:
            traj = fb.simulate(bench, optimizer, fidelity, n_workers=2, budget_seconds=1e6)
        except FrozenbenchError as exc:
            assert "full fidelity" in str(exc) or "cost nothing" in str(exc)
        else:  # pragma: no cover - depends on how a table without full fidelity is ranked
            assert traj.attrs["stop_reason"]


@pytest.mark.parametrize(("optimizer", "fidelity"), [
    ("asha", [(1, 2), (3, 6)]), ("random", [(3, 6)]), ("hyperband", [(1, 3), (3, 6)]),
    ("sh", [(2, 2), (3, 6)]), ("asha", [(3, 2), (3, 6)])])
@pytest.mark.parametrize("rule", ["budget", "cost_budget"])
def test_paths_through_missing_cells_terminate(no_z3, optimizer, fidelity, rule):
    kwargs = {rule: 10.0 * float(np.nanmax(no_z3.cost_array()))}
    try:
        traj = fb.simulate(no_z3, optimizer, fidelity, n_workers=2, **kwargs)
    except InvalidValueError as exc:
        assert "cost nothing" in str(exc)
    else:
        assert traj.attrs["stop_reason"] in ("budget", "cost_budget")


def test_an_epoch_without_rows_terminates():
    with pytest.raises(FrozenbenchError, match="epoch"):  # refused at load since schema checks
        _bench(("epoch", 4))
    bench = _bench(("epoch", 4), check_values=False)  # what older loads let through
    with pytest.raises(InvalidValueError, match="cost nothing"):
        fb.simulate(bench, "random", [(4, 4)], n_workers=4, budget_seconds=1e6)


class Reasker:
    """Re-asks epoch 2 of its first trial forever: each repeat is already paid, so free."""

    name = "reasker"

    def __init__(self, cid: int) -> None:
        self.cid = cid
        self.trial: int | None = None

    def ask(self, rng):
        return Job(self.cid, 2, 2, self.trial)

    def tell(self, obs):
        self.trial = obs.trial


def test_reasking_a_reached_epoch_terminates():
    bench = _bench()
    with pytest.raises(InvalidValueError, match="cost nothing"):
        fb.simulate(bench, Reasker(int(bench.config_ids[0])), n_workers=1, budget_seconds=1e6)
    # with a cap on evaluations it is a legal (if useless) run
    traj = fb.simulate(bench, Reasker(int(bench.config_ids[0])), n_workers=1,
                       max_evaluations=5)
    assert len(traj) == 5 and traj["cost"].iloc[1:].eq(0).all()




def test_metric_without_finite_values():
    table, ids, seeds = make_table(**SHAPE)
    nan = np.full(table.num_rows, np.nan)
    import pyarrow as pa

    table = table.set_column(table.schema.get_field_index("val_error"), "val_error",
                             pa.array(nan))
    manifest = _manifest("lm", "val_loss", fb.synthetic.RESNET_GRID, table, ids, seeds, SHAPE,
                         files={}, cells={})
    bench = Benchmark.from_arrow(table, manifest)
    with pytest.raises(InvalidValueError, match=r"val_error.*no finite value") as info:
        fb.simulate(bench, "random", "full", max_evaluations=5, metric="val_error")
    assert "val_loss" in str(info.value) and "train_loss" in str(info.value)
    ok = fb.simulate(bench, "random", "full", max_evaluations=3)
    assert np.isfinite(ok["score"]).all()


def test_numpy_integer_n_workers():
    bench = _bench()
    traj = fb.simulate(bench, "asha", n_workers=np.int64(3), max_evaluations=10)
    assert len(traj) == 10 and traj.attrs["n_workers"] == 3
    assert type(traj.attrs["n_workers"]) is int


def test_optimizer_whose_ask_takes_no_rng():
    class NoRng:
        name = "norng"

        def ask(self):
            return None

        def tell(self, obs):
            pass

    with pytest.raises(InvalidValueError, match=r"ask\(rng\)"):
        fb.simulate(_bench(), NoRng(), max_evaluations=3)


@pytest.mark.parametrize("rung", [0.5, "1", None, True, -1])
def test_job_with_a_bad_rung(rung):
    bench = _bench()

    class BadRung:
        name = "badrung"

        def ask(self, rng):
            return Job(int(bench.config_ids[0]), 1, 1, None, rung)

        def tell(self, obs):
            pass

    with pytest.raises(InvalidValueError, match="rung"):
        fb.simulate(bench, BadRung(), max_evaluations=3)


def test_tiny_budget_gives_an_empty_trajectory_that_says_why():
    traj = fb.simulate(_bench(), "asha", budget=1e-9)  # no result yet: no incumbent yet
    assert len(traj) == 0 and traj.attrs["stop_reason"] == "budget"


def test_simulate_out_onto_a_file_fails_before_any_run(tmp_path, capsys):
    from frozenbench.synthetic import write_benchmark

    d = write_benchmark(tmp_path / "b", **SHAPE)
    target = tmp_path / "taken"
    target.write_text("keep me")
    assert main(["simulate", str(d), "--runs", "2", "--no-progress", "--out",
                 str(target)]) == 1
    captured = capsys.readouterr()
    assert "--out" in captured.err and str(target) in captured.err
    assert "final regret" not in captured.out  # no run happened
    assert target.read_text() == "keep me"


def test_cli_metric_without_finite_values(tmp_path, capsys):
    bench_dir = tmp_path / "b"
    from frozenbench.synthetic import write_benchmark

    write_benchmark(bench_dir, **SHAPE)
    # synthetic tables have every metric; an unknown one is named with the valid ones
    assert main(["simulate", str(bench_dir), "--runs", "1", "--no-progress",
                 "--metric", "accuracy"]) == 1
    assert "val_error" in capsys.readouterr().err


