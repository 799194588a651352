"""CPU-scale tasks on their real (offline) data with a short budget, and the light import."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from frozenbench import freezing
from frozenbench.tasks import get_task, image, run_cell
from frozenbench.tasks.data import stratified_split
from frozenbench.tasks.kjv import kjv_text, load_kjv
from frozenbench.tasks.models import small_resnet
from frozenbench.tasks.runner import load_data


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def test_listing_tasks_does_not_import_torch():
    code = ("import sys, frozenbench.tasks as t; t.get_task('kjv-gpt2').space.index("
            "t.get_task('kjv-gpt2').space.config(5)); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_mnist_split_is_fixed_balanced_and_disjoint():
    task = get_task("mnist-resnet")
    args = task.data_args
    data = load_data(task, torch.device("cpu"))  # the runner's per-process cache: loaded once
    assert data.train_x.shape == (args["n_train"], 1, args["size"], args["size"])
    assert len(data.val_y) == args["n_val"]
    assert np.bincount(data.val_y.numpy()).tolist() == [args["n_val"] // 10] * 10
    labels = np.repeat(np.arange(10), 500)
    a, b = stratified_split(labels, args["n_train"], args["n_val"], seed=0)
    assert np.array_equal(a, stratified_split(labels, args["n_train"], args["n_val"], seed=0)[0])
    assert not set(a) & set(b)
    train = {row.numpy().tobytes() for row in data.train_x}
    assert not any(row.numpy().tobytes() in train for row in data.val_x[:200])


def test_kjv_validation_is_the_held_out_end_of_the_text():
    text = kjv_text()
    assert text.startswith("1:1 In the beginning God created")
    data = load_kjv(context=128, val_frac=0.1, val_tokens=8192)
    assert len(data.train) + len(data.val) == len(text.encode())
    assert bytes(data.val[-20:]) == text.encode()[-20:]


def test_small_resnet_splits_into_n_layers_and_optimizer_sees_trainable_only():
    built = small_resnet(widths=(8, 16, 32))
    model, unwrap = built.model, built.unwrap
    assert [layer.name for layer in freezing.split(model, unwrap)] == [
        "conv1", "bn1", "blocks.0", "blocks.1", "blocks.2", "fc"]
    deep = small_resnet(widths=(4, 8, 16, 32), depth=2)  # ResNet-18's topology: n = 11
    assert len(freezing.split(deep.model, deep.unwrap)) == 11
    freezing.freeze(model, 2, unwrap)
    task = get_task("mnist-resnet")
    opt = image.optimizer(task.hyperparameters(task.space.config(0)),
                          freezing.trainable_parameters(model))
    in_opt = {id(p) for g in opt.param_groups for p in g["params"]}
    assert in_opt == {id(p) for p in [*model.blocks[2].parameters(), *model.fc.parameters()]}


def test_mnist_resnet_short_budget_on_real_data():
    task = get_task("mnist-resnet").with_budget(3)
    config = task.space.config(task.space.index(
        {"lr": 1e-2, "weight_decay": 1e-4, "optimizer": "adam", "beta1": 0.9, "beta2": 0.99}))
    cell = run_cell(task, config, task.n_layers, seed=0)
    assert cell.status == "ok" and cell.n_layers == task.n_layers == 10
    assert cell.records[-1].val_error < 0.6  # three epochs of Adam learn digits (chance 0.9)
    low = run_cell(task, config, 1, seed=0)
    assert low.records[0].train_cpu_s < cell.records[0].train_cpu_s


def test_kjv_gpt2_short_budget_on_real_data():
    task = get_task("kjv-gpt2").with_budget(6, n_records=2)
    config = task.space.config(0)
    cell = run_cell(task, config, task.n_layers, seed=0)
    assert cell.status == "ok" and cell.n_layers == task.n_layers == 5
    assert [r.samples_seen for r in cell.records] == [3 * 32 * 128, 6 * 32 * 128]
    assert cell.records[-1].val_loss < np.log(256)  # better than uniform bytes
    assert np.isnan(cell.records[-1].val_error)
    again = run_cell(task, config, task.n_layers, seed=0)
    assert [r.val_loss for r in again.records] == [r.val_loss for r in cell.records]
