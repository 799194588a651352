"""Generation in stacks: cells of one z and seed trained as one stacked model by the executors'
shared cell code (:func:`frozenbench.generation.one_cell.run_stack`) give the shards that cells
trained one at a time give, and keep the per-cell skip rules."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from frozenbench.cell import Cell
from frozenbench.errors import InvalidValueError
from frozenbench.generation.integrity import CellCheck
from frozenbench.generation.one_cell import run_one, run_stack
from frozenbench.generation.store import ShardStore
from frozenbench.tasks import get_task

TASK = get_task("debug-mnist")
GRID = TASK.space.to_dict()
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
    assert run_stack(str(stacked), "frozenbench.tasks", TASK.name, GRID, cells, "cpu",
                     "test") == ["ok", "ok", "ok"]
    for cell in cells:
        assert run_one(str(alone), "frozenbench.tasks", TASK.name, GRID, cell, "cpu",
                       "test") == "ok"
        assert _rows(stacked, cell) == _rows(alone, cell)
    # Done cells are skipped, the rest of a stack still trains.
    more = [Cell(0, 6, 0), Cell(3, 6, 0)]
    assert run_stack(str(stacked), "frozenbench.tasks", TASK.name, GRID, more, "cpu",
                     "test") == ["skipped", "ok"]


def test_a_stack_of_several_z_seeds_or_schedules_is_refused(tmp_path):
    with pytest.raises(InvalidValueError, match=r"\[\(1, 0, 'fixed'\), \(2, 0, 'fixed'\)\]"):
        run_stack(str(tmp_path), "frozenbench.tasks", TASK.name, GRID,
                  [Cell(0, 1, 0), Cell(1, 2, 0)], "cpu", "test")
    with pytest.raises(InvalidValueError, match=r"\[\(6, 0, 'fixed'\), \(6, 0, 'thaw'\)\]"):
        run_stack(str(tmp_path), "frozenbench.tasks", TASK.name, GRID,
                  [Cell(0, 6, 0), Cell(1, 6, 0, "thaw")], "cpu", "test")
