"""Task registry, the cell runner on the debug task, determinism, errors and divergence."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from frozenbench.cell import CellResult
from frozenbench.errors import FidelityError, InvalidValueError, UnknownNameError
from frozenbench.schema import validate
from frozenbench.space import SearchSpace
from frozenbench.tasks import get_task, run_cell, task_names

CONFIG = {"lr": 0.01, "optimizer": "adam"}


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def test_registry_lists_the_tasks():
    assert {"debug-mnist", "gpt2-14m-slimpajama", "kjv-gpt2", "mnist-resnet", "mnist1d-cnn",
            "pystdlib-llama", "resnet18-cifar100", "vit-mnist"} <= set(task_names())
    assert task_names() == sorted(task_names())
    assert len(get_task("resnet18-cifar100").space) == 216
    assert len(get_task("mnist-resnet").space) == 216
    assert len(get_task("gpt2-14m-slimpajama").space) == 144
    assert len(get_task("kjv-gpt2").space) == 36  # the GPT grid without weight decay
    assert len(get_task("mnist-resnet").distinct_config_ids()) == 144  # SGD has no beta2
    assert get_task("resnet18-cifar100").n_layers == 11
    assert get_task("gpt2-14m-slimpajama").n_layers == 10
    assert len(get_task("debug-mnist").space) == 4


def test_distinct_config_ids_of_sampled_spaces():
    # every suite table: no conditions, so each sampled config is distinct (raised IndexError)
    suite = get_task("fb-cora-gcn")
    assert suite.distinct_config_ids() == list(range(len(suite.space))) and len(suite.space) == 512
    # a sampled space with a condition: inactive values sit at their fill, so all are kept
    from frozenbench.space import Condition, Hyperparameter
    hps = (Hyperparameter("lr", low=1e-3, high=1e-1, log=True),
           Hyperparameter("optimizer", ("adam", "sgd")), Hyperparameter("beta2", low=0.9, high=0.999))
    cond = (Condition("beta2", "optimizer", ("adam",)),)
    space = SearchSpace.sample(hps, 16, seed=0, conditions=cond)
    task = dataclasses.replace(get_task("debug-mnist"), space=space, conditions=cond, defaults={})
    assert task.distinct_config_ids() == list(range(16))


def test_debug_cell_end_to_end():
    cell = run_cell("debug-mnist", CONFIG, 3, seed=0)
    assert isinstance(cell, CellResult)
    assert cell.status == "ok" and cell.device == "cpu"
    assert [r.epoch for r in cell.records] == [1, 2]
    assert cell.key.config_id == get_task("debug-mnist").space.index(CONFIG)
    assert 0 < cell.trainable_params < cell.total_params
    assert cell.memory_method == "cpu_tensor_estimate"
    assert set(cell.versions) >= {"python", "torch", "torchvision", "transformers", "numpy",
                                  "frozenbench"}
    first, last = cell.records
    assert last.samples_seen == 2 * first.samples_seen == 1024
    assert last.train_flops == pytest.approx(2 * first.train_flops) and first.train_flops > 0
    assert last.train_time_s > first.train_time_s > 0
    assert first.peak_memory_bytes > 0 and first.peak_rss_bytes > 0
    assert 0.0 <= last.val_error <= 1.0
    validate(cell.to_frame(), get_task("debug-mnist").space.to_dict(), cell=True)


def test_lower_z_trains_fewer_params_and_flops():
    full = run_cell("debug-mnist", CONFIG, 6, seed=0)
    low = run_cell("debug-mnist", CONFIG, 1, seed=0)
    assert low.trainable_params < full.trainable_params == full.total_params
    assert low.records[-1].train_flops < full.records[-1].train_flops
    assert low.records[-1].peak_memory_bytes < full.records[-1].peak_memory_bytes


def test_same_seed_reproduces_bit_for_bit_and_other_seed_differs():
    a = run_cell("debug-mnist", CONFIG, 4, seed=1)
    b = run_cell("debug-mnist", CONFIG, 4, seed=1)
    c = run_cell("debug-mnist", CONFIG, 4, seed=2)

    def losses(cell):
        return [(r.train_loss, r.val_loss, r.val_error) for r in cell.records]

    assert losses(a) == losses(b)
    assert losses(a) != losses(c)


def test_config_order_and_spelling_do_not_matter():
    a = run_cell("debug-mnist", {"optimizer": "sgd", "lr": 1e-3}, 2, seed=0)
    b = run_cell("debug-mnist", {"lr": 0.001, "optimizer": "sgd"}, 2, seed=0)
    assert a.records == tuple(dataclasses.replace(r, train_time_s=s.train_time_s,
                                                  train_cpu_s=s.train_cpu_s,
                                                  eval_time_s=s.eval_time_s,
                                                  eval_cpu_s=s.eval_cpu_s,
                                                  peak_rss_bytes=s.peak_rss_bytes)
                              for r, s in zip(b.records, a.records))


@pytest.mark.parametrize(
    ("task", "config", "z", "error", "message"),
    [
        ("debug-mnist", {"lr": 0.01, "optimizer": "adam", "momentum": 0.9}, 1, UnknownNameError,
         "unknown hyperparameter 'momentum'; valid: ['lr', 'optimizer']"),
        ("debug-mnist", {"lr": 0.5, "optimizer": "adam"}, 1, InvalidValueError,
         "lr=0.5 is not on the grid; valid: [0.001, 0.01]"),
        ("debug-mnist", {"lr": 0.01, "optimizer": "rmsprop"}, 1, InvalidValueError,
         "optimizer='rmsprop' is not on the grid; valid: ['adam', 'sgd']"),
        ("debug-mnist", {"lr": 0.01}, 1, InvalidValueError, "missing ['optimizer']"),
        ("debug-mnist", CONFIG, 0, FidelityError,
         "z=0 is out of range for debug-mnist (z in 1..6)"),
        ("debug-mnist", CONFIG, 7, FidelityError,
         "z=7 is out of range for debug-mnist (z in 1..6)"),
        ("mnist", CONFIG, 1, UnknownNameError, "unknown task 'mnist'; valid: ['debug-mnist'"),
    ],
)
def test_errors_name_the_valid_values(task, config, z, error, message):
    with pytest.raises(error) as info:
        run_cell(task, config, z, seed=0)
    assert message in str(info.value)


def test_divergence_is_recorded_not_raised():
    # A test-only variant whose grid holds an absurd learning rate.
    task = get_task("debug-mnist")
    absurd = dataclasses.replace(
        task, name="debug-mnist-absurd",
        space=SearchSpace.from_dict({"lr": [1e8], "optimizer": ["sgd"]}))
    cell = run_cell(absurd, {"lr": 1e8, "optimizer": "sgd"}, 6, seed=0)
    assert cell.status == "diverged"
    assert len(cell.records) == 1  # the diverging epoch is kept, the cell stops there
    assert not math.isfinite(cell.records[0].train_loss)
    frame = cell.to_frame()
    assert list(frame["status"]) == ["diverged"]
    validate(frame, absurd.space.to_dict(), cell=True)


def test_cli_prints_the_curve(capsys):
    from frozenbench.cli import main

    rc = main(["run-cell", "debug-mnist", "--config", '{"lr": 0.01, "optimizer": "sgd"}',
               "--z", "2", "--seed", "0", "--threads", "1"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "debug-mnist/c3/z2/s0" in out
    assert "val_error" in out and len(out.strip().splitlines()) == 4


def test_cli_reports_bad_input(capsys):
    from frozenbench.cli import main

    assert main(["run-cell", "debug-mnist", "--config", '{"lr": 0.01, "optimizer": "sgd"}',
                 "--z", "9", "--seed", "0"]) == 1
    assert "z=9 is out of range for debug-mnist (z in 1..6)" in capsys.readouterr().err
    assert main(["run-cell", "debug-mnist", "--config", "{lr: 1}", "--z", "1", "--seed", "0"]) == 1
    assert "--config is not valid JSON" in capsys.readouterr().err


def test_task_definitions_are_checked():
    task = get_task("debug-mnist")
    with pytest.raises(InvalidValueError, match="task kind='audio'"):
        dataclasses.replace(task, kind="audio")
    with pytest.raises(InvalidValueError, match="metric='accuracy'"):
        dataclasses.replace(task, metric="accuracy")
    with pytest.raises(InvalidValueError, match=r"\['lr'\] both searched and fixed"):
        dataclasses.replace(task, defaults={"lr": 0.1})
    assert task.hyperparameters(CONFIG) == {"weight_decay": 1e-4, "beta1": 0.9, "beta2": 0.99,
                                            "lr": 0.01, "optimizer": "adam"}


def test_schedules_start_and_end_where_documented():
    from frozenbench.tasks.runner import lr_factor

    assert lr_factor("constant", 99, 100) == 1.0
    assert lr_factor("cosine", 0, 100) == 1.0 and lr_factor("cosine", 99, 100) < 0.001
    wsd = [lr_factor("wsd", s, 100, 0.1, 0.25) for s in range(100)]
    assert wsd[0] == pytest.approx(0.1) and wsd[9] == 1.0 and wsd[74] == 1.0
    assert wsd[75] == 1.0 and wsd[99] == pytest.approx(0.04)


def test_token_batches_see_every_window_once_per_pass():
    import numpy as np

    from frozenbench.tasks import lm
    from frozenbench.tasks.data import TokenData

    stream = np.arange(4 * 8 + 1) % 256  # 4 windows of 8 (+1 for the last target)
    data = TokenData(train=stream, val=stream, vocab_size=256, context=8, val_tokens=16)
    task = dataclasses.replace(get_task("kjv-gpt2"), batch_size=2)
    batches = lm.batches(task, data, torch.Generator().manual_seed(0), torch.device("cpu"))
    pairs = [next(batches) for _ in range(2)]
    starts = sorted(int(row[0]) for x, _ in pairs for row in x)
    assert starts == [0, 8, 16, 24]
    for x, y in pairs:  # targets are the inputs shifted by one token
        assert x.shape == y.shape == (2, 8) and torch.equal(y[:, :-1], x[:, 1:])


def test_progress_logs_each_epoch(capsys):
    run_cell("debug-mnist", CONFIG, 1, seed=0, progress=True)
    err = capsys.readouterr().err
    assert "debug-mnist/c2/z1/s0 epoch 1:" in err and "epoch 2:" in err
