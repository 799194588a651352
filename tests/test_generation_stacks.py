"""Generation in stacks: cells of one z and seed trained as one stacked model by the executors'
shared cell code (:func:`frozenbench.generation.one_cell.run_stack`) give the shards that cells
trained one at a time give, and keep the per-cell skip rules."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from frozenbench.cell import Cell, CellJob
from frozenbench.errors import InvalidValueError
from frozenbench.generation.integrity import CellCheck
from frozenbench.generation.one_cell import RunContext, run_one, run_stack
from frozenbench.generation.store import ShardStore
from frozenbench.tasks import get_task

TASK = get_task("debug-mnist")
GRID = TASK.space.to_dict()


def _ctx(root):
    return RunContext(str(root), "frozenbench.tasks", GRID, "cpu", "test")


def _jobs(cells):
    return [CellJob.of(TASK.name, c) for c in cells]


METRICS = ["epoch", "train_loss", "val_loss", "val_error", "status"]


def _rows(root, cell):
    good, bad = ShardStore(root).read_cells(CellCheck.of(TASK))
    assert not bad
    return good[cell].rows.select(METRICS).to_pylist()


def test_a_stack_writes_the_shards_of_cells_trained_alone(tmp_path):
    cells = [Cell(0, 6, 0), Cell(2, 6, 0), Cell(1, 6, 0)]  # adam, adam, sgd: two stacks
    stacked, alone = tmp_path / "stacked", tmp_path / "alone"
    for root in (stacked, alone):
        ShardStore(root).init({"task": TASK.name, "benchmark": "stacks"})
    assert run_stack(_ctx(stacked), _jobs(cells)) == ["ok", "ok", "ok"]
    for cell in cells:
        assert run_one(_ctx(alone), CellJob.of(TASK.name, cell)) == "ok"
        assert _rows(stacked, cell) == _rows(alone, cell)
    # Done cells are skipped, the rest of a stack still trains.
    more = [Cell(0, 6, 0), Cell(3, 6, 0)]
    assert run_stack(_ctx(stacked), _jobs(more)) == ["skipped", "ok"]


def test_a_stack_of_several_z_seeds_or_schedules_is_refused(tmp_path):
    name = TASK.name
    with pytest.raises(InvalidValueError,
                       match=rf"\[\('{name}', 1, 0, 'fixed'\), \('{name}', 2, 0, 'fixed'\)\]"):
        run_stack(_ctx(tmp_path), _jobs([Cell(0, 1, 0), Cell(1, 2, 0)]))
    with pytest.raises(InvalidValueError,
                       match=rf"\[\('{name}', 6, 0, 'fixed'\), \('{name}', 6, 0, 'thaw'\)\]"):
        run_stack(_ctx(tmp_path), _jobs([Cell(0, 6, 0), Cell(1, 6, 0, "thaw")]))
    with pytest.raises(InvalidValueError, match=r"\('other', 6, 0, 'fixed'\)"):
        run_stack(_ctx(tmp_path), [CellJob(name, 0, 6, 0), CellJob("other", 1, 6, 0)])


def test_a_result_for_another_cell_is_a_failure_never_a_misfiled_shard(tmp_path, monkeypatch):
    """The shard is the job's: a runner whose result names another cell (its config round
    trip id -> dict -> id went wrong) fails the job instead of writing that other cell's shard."""
    from dataclasses import replace

    from frozenbench.generation import fake

    real = fake.run_cell

    def off_by_one(task, config, z, seed, **kw):
        result = real(task, config, z, seed, **kw)
        return replace(result, key=replace(result.key, config_id=result.key.config_id + 1))

    monkeypatch.setattr(fake, "run_cell", off_by_one)
    store = ShardStore(tmp_path)
    store.init({"task": "fake", "benchmark": "fake"})
    grid = fake.get_task("fake").space.to_dict()
    ctx = RunContext(str(tmp_path), "frozenbench.generation.fake", grid, "cpu", "test")
    assert run_one(ctx, CellJob("fake", 0, 1, 0)) == "failed"
    assert list(store.shards.iterdir()) == []
    assert "fake/c1/z1/s0 for the job fake/c0/z1/s0" in store.failure(Cell(0, 1, 0))["error"]
