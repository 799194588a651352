"""The stacked runner: its optimizer against torch.optim, the frozen prefix computed once, a
cell's numbers independent of its batch-mates (every task kind, test metrics included), the
test evaluation kept off the eval clocks, and divergence masked per config."""

from __future__ import annotations

import dataclasses
import math
import time
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from frozenbench import freezing  # noqa: E402
from frozenbench.errors import InvalidValueError  # noqa: E402
from frozenbench.schedules import ZSchedule  # noqa: E402
from frozenbench.space import SearchSpace  # noqa: E402
from frozenbench.tasks import get_task, image, lm, runner  # noqa: E402
from frozenbench.tasks.data import ImageData, TokenData  # noqa: E402
from frozenbench.tasks.kjv import load_kjv  # noqa: E402
from frozenbench.tasks.mnist import load_mnist  # noqa: E402
from frozenbench.tasks.runner import run_cell, run_cells  # noqa: E402
from frozenbench.tasks.stacked import (  # noqa: E402
    StackedHyperparameters,
    StackedTrainer,
)


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def _small_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 12), nn.Tanh(),
                          nn.Linear(12, 3))
    freezing.freeze(model, 2)
    return model


def _loss(forward, x, y):
    return F.cross_entropy(forward(x), y)


OPTIMIZER_CASES = [
    ("adam", image.optimizer, [{"optimizer": "adam", "lr": 3e-2, "beta1": 0.9, "beta2": 0.99,
                                "weight_decay": 1e-2},
                               {"optimizer": "adam", "lr": 1e-3, "beta1": 0.5, "beta2": 0.9,
                                "weight_decay": 0.0}]),
    ("sgd", image.optimizer, [{"optimizer": "sgd", "lr": 1e-1, "beta1": 0.9,
                               "weight_decay": 1e-3},
                              {"optimizer": "sgd", "lr": 3e-2, "beta1": 0.99,
                               "weight_decay": 0.1}]),
    ("adamw", lm.optimizer, [{"lr": 3e-2, "beta1": 0.9, "beta2": 0.95, "weight_decay": 0.1},
                             {"lr": 4e-3, "beta1": 0.8, "beta2": 0.99, "weight_decay": 0.0}]),
]


@pytest.mark.parametrize(("name", "reference", "configs"), OPTIMIZER_CASES)
def test_stacked_optimizer_follows_torch_optim_per_config(name, reference, configs):
    """Each slot of a stack of two follows torch.optim with its own hyperparameters and an lr
    schedule, step by step, to float rounding (the stack rounds once per operation, torch's
    fused kernels sometimes fewer times)."""
    gen = torch.Generator().manual_seed(1)
    batches = [(torch.randn(32, 6, generator=gen), torch.randint(0, 3, (32,), generator=gen))
               for _ in range(8)]
    factors = [0.25, 0.5, 1.0, 1.0, 1.0, 0.75, 0.5, 0.25]
    trainer = StackedTrainer(_small_model(), StackedHyperparameters.from_configs(name, configs))
    stacked = [trainer.step(_loss, x, y, lr_factors=[f, f]) for (x, y), f in
               zip(batches, factors)]
    for k, config in enumerate(configs):
        model = _small_model()
        opt = reference(config, freezing.trainable_parameters(model))
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: factors[min(s, 7)])
        for step, (x, y) in enumerate(batches):
            loss = _loss(model, x, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            assert float(stacked[step][k]) == pytest.approx(loss.item(), rel=1e-5, abs=1e-6)
        for pname, p in model.named_parameters():
            if p.requires_grad:
                torch.testing.assert_close(trainer.model.params[pname][k], p.detach(),
                                           rtol=1e-5, atol=1e-6)


def _bn_model(seed: int = 0) -> nn.Module:
    """Four layers (0, 1 = BatchNorm, 3, 5), frozen to the last one."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 12),
                          nn.Tanh(), nn.Linear(12, 3))
    freezing.freeze(model, 1)
    return model


def _add_fresh(opt, name, config, params):
    """The reference thaw: the new parameters join torch.optim in param groups of their own
    (fresh state), with the config's hyperparameters (AdamW decays matrices only)."""
    if name != "adamw":
        opt.add_param_group({"params": params})
        return
    wd = config.get("weight_decay", 0.0)
    for group in ({"params": [p for p in params if p.dim() >= 2], "weight_decay": wd},
                  {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}):
        if group["params"]:
            opt.add_param_group(group)


@pytest.mark.parametrize(("name", "reference", "configs"), OPTIMIZER_CASES)
def test_a_thawed_stack_follows_torch_optim_with_fresh_state(name, reference, configs):
    """Thaw from z=1 to z=3 after 4 steps (a BatchNorm layer among the new ones): each slot
    follows a plain torch loop that unfreezes the same layers and adds them to torch.optim in
    a new param group (fresh moments, bias correction from their own first step), under one lr
    schedule over the whole run; parameters and running statistics agree at the end."""
    gen = torch.Generator().manual_seed(2)
    batches = [(torch.randn(32, 6, generator=gen), torch.randint(0, 3, (32,), generator=gen))
               for _ in range(9)]
    factors = [0.25, 0.5, 1.0, 1.0, 1.0, 0.75, 0.5, 0.25, 0.1]
    thaw_at, z_new = 4, 3
    module = _bn_model()
    trainer = StackedTrainer(module, StackedHyperparameters.from_configs(name, configs))
    stacked = []
    for step, ((x, y), f) in enumerate(zip(batches, factors)):
        if step == thaw_at:
            freezing.thaw(module, z_new)
            assert trainer.thaw() == ["1.weight", "1.bias", "3.weight", "3.bias"]
        stacked.append(trainer.step(_loss, x, y, lr_factors=[f, f]))
    assert set(trainer.model.buffers) == {"1.running_mean", "1.running_var",
                                          "1.num_batches_tracked"}
    for k, config in enumerate(configs):
        model = _bn_model()
        opt = reference(config, freezing.trainable_parameters(model))
        for step, (x, y) in enumerate(batches):
            if step == thaw_at:
                old = {id(p) for g in opt.param_groups for p in g["params"]}
                freezing.thaw(model, z_new)
                _add_fresh(opt, name, config, [p for p in freezing.trainable_parameters(model)
                                                if id(p) not in old])
            for group in opt.param_groups:
                group["lr"] = config["lr"] * factors[step]
            loss = _loss(model, x, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            assert float(stacked[step][k]) == pytest.approx(loss.item(), rel=1e-5, abs=1e-6)
        for pname, p in model.named_parameters():
            if p.requires_grad:
                torch.testing.assert_close(trainer.model.params[pname][k], p.detach(),
                                           rtol=1e-5, atol=1e-6)
        for bname, b in trainer.model.buffers.items():
            torch.testing.assert_close(b[k], model.get_buffer(bname), rtol=1e-5, atol=1e-6)
    assert trainer.optimizer.param_steps == {"5.weight": 9, "5.bias": 9, "1.weight": 5,
                                             "1.bias": 5, "3.weight": 5, "3.bias": 5}


def test_frozen_prefix_is_shared_once_and_holds_no_state():
    """The first n - z layers keep one unstacked copy: no gradient, no optimizer state, and
    their convolutions run once per batch whatever K is (only the trainable suffix widens)."""
    task = get_task("debug-mnist")
    from frozenbench.tasks.runner import build_model

    model, _ = build_model(task, 1, 0)
    hp = StackedHyperparameters.from_configs("adam", [{"lr": 1e-3}] * 4)
    trainer = StackedTrainer(model, hp)
    assert set(trainer.model.params) == {"fc.weight", "fc.bias"}
    assert trainer.model.params["fc.weight"].shape[0] == 4 + 1  # K plus the pad slot
    x, y = torch.randn(8, 1, 14, 14), torch.randint(0, 10, (8,))
    with torch.profiler.profile(record_shapes=True) as prof:
        trainer.step(image.loss, x, y, lr_factors=[1.0] * 4)
    convs = [e for e in prof.events() if e.name == "aten::convolution"]
    assert convs and all(e.input_shapes[0][0] == 8 for e in convs)  # one batch, not 5 x 8
    assert set(trainer.optimizer.state) == {"fc.weight", "fc.bias"}
    assert all(p.grad is None for p in model.parameters())


# Every task kind: image ResNet (2-D convolutions and BatchNorm), 1-D CNN, ViT, GPT-2, Llama.
# z=1 and the full z: the first trainable layer is then a convolution on unstacked input.
KIND_CASES = [
    ("debug-mnist", 1, [0, 1, 2, 3], 2),
    ("mnist1d-cnn", 8, [0, 5, 13, 40], 1),
    ("vit-mnist", 8, [0, 9, 17, 33], 1),
    ("kjv-gpt2", 3, [0, 7, 14, 30], 8),
    ("pystdlib-llama", 8, [0, 11, 22, 63], 12),
]


def _curve(cell):
    return [(r.train_loss, r.val_loss, r.val_error) for r in cell.records]


@pytest.mark.parametrize(("name", "z", "ids", "budget"), KIND_CASES)
def test_a_cell_does_not_depend_on_its_batch_mates(name, z, ids, budget):
    """Bit for bit: the cell alone (K = 1), in a batch of 3, and last in a batch of 4 whose
    other members differ."""
    task = get_task(name)
    task = task.with_budget(budget, n_records=2) if task.kind == "lm" else \
        task.with_budget(budget)
    first = task.space.config(ids[0])
    same = [c for c in (task.space.config(i) for i in ids[1:])
            if task.hyperparameters(c).get("optimizer") == task.hyperparameters(first).get(
                "optimizer")]
    alone = run_cell(task, first, z, seed=0, threads=1)
    in_three = run_cells(task, [first, *same[:2]], z, seed=0, threads=1)
    in_four = run_cells(task, [*same[::-1], first], z, seed=0, threads=1)
    assert in_three[0].extra["stack_size"] == len(same[:2]) + 1
    assert _curve(alone) == _curve(in_three[0]) == _curve(in_four[-1]), name
    assert all(math.isfinite(r.train_loss) for r in alone.records)
    for other in in_three[1:]:
        assert _curve(other) != _curve(alone)  # the batch-mates did train differently


def _mnist_with_test(**kwargs):
    """debug-mnist's data with the second half of its validation set held out as test."""
    d = load_mnist(**kwargs)
    n = len(d.val_y) // 2
    return ImageData(d.train_x, d.train_y, d.val_x[:n], d.val_y[:n], d.num_classes,
                     d.val_x[n:], d.val_y[n:])


def _kjv_with_test(**kwargs):
    """kjv-gpt2's data with the end of its validation stream (never scored) as test."""
    d = load_kjv(**kwargs)
    return TokenData(d.train, d.val, d.vocab_size, d.context, d.val_tokens,
                     test=np.ascontiguousarray(d.val[-(d.val_tokens + 1):]))


def _with_test(name):
    task = get_task(name)
    if task.kind == "lm":
        return dataclasses.replace(task, data=_kjv_with_test).with_budget(8, n_records=2)
    return dataclasses.replace(task, data=_mnist_with_test)


def _full_curve(cell):
    return [(r.train_loss, r.val_loss, r.val_error, r.test_loss, r.test_error)
            for r in cell.records]


@pytest.mark.parametrize("name", ["debug-mnist", "kjv-gpt2"])
def test_test_metrics_do_not_depend_on_batch_mates(name):
    """Bit for bit, test metrics included, on a task whose data has a test split; the test
    metrics are measured (error NaN for a language model) and are not validation's."""
    task = _with_test(name)
    configs = [task.space.config(i) for i in range(len(task.space))]
    configs = [c for c in configs if c["optimizer"] == "adam"] if task.kind == "image" \
        else [configs[i] for i in (0, 7, 14)]  # one stack: one optimizer
    alone = run_cell(task, configs[0], 2, seed=0, threads=1)
    stacked = run_cells(task, [*configs[1:], configs[0]], 2, seed=0, threads=1)
    assert stacked[-1].extra["stack_size"] == len(configs)
    assert _full_curve(alone) == _full_curve(stacked[-1])
    for r in alone.records:
        assert math.isfinite(r.test_loss) and r.test_loss != r.val_loss
        assert math.isfinite(r.test_error) == (task.kind == "image")


def test_without_a_test_split_the_test_metrics_are_nan():
    cell = run_cell("debug-mnist", {"lr": 1e-2, "optimizer": "adam"}, 6, seed=0, threads=1)
    assert all(math.isnan(r.test_loss) and math.isnan(r.test_error) for r in cell.records)
    assert all(math.isfinite(r.val_loss) for r in cell.records)


def test_the_test_evaluation_is_not_charged_to_any_clock(monkeypatch):
    """Each test batch moves a fake clock on by 1000 s: the eval and training clocks, which
    read it, stay far below (the runner stops the eval clocks before scoring test)."""
    jump = [0.0]
    fake = SimpleNamespace(perf_counter=lambda: time.perf_counter() + jump[0],
                           thread_time=lambda: time.thread_time() + jump[0])
    monkeypatch.setattr(runner, "time", fake)
    real = image.held_out_batches

    def slow_test_batches(*args):
        for batch in real(*args):
            jump[0] += 1000.0
            yield batch

    monkeypatch.setattr(image, "held_out_batches", slow_test_batches)
    cell = run_cell(_with_test("debug-mnist"), {"lr": 1e-2, "optimizer": "adam"}, 6, seed=0,
                    threads=1)
    assert jump[0] >= 2000.0  # the test split was scored at both records
    for r in cell.records:
        assert r.eval_time_s < 1000.0 and r.eval_cpu_s < 1000.0
        assert r.train_time_s < 1000.0 and r.train_cpu_s < 1000.0


def test_divergence_is_masked_per_config():
    """A config that diverges is recorded as diverged from that epoch on and dropped; its
    batch-mates' curves are exactly those they get alone."""
    task = get_task("debug-mnist")
    absurd = dataclasses.replace(
        task, name="debug-mnist-absurd",
        space=SearchSpace.from_dict({"lr": [1e-2, 1e8], "optimizer": ["sgd"]}))
    sane, wild = {"lr": 1e-2, "optimizer": "sgd"}, {"lr": 1e8, "optimizer": "sgd"}
    cells = run_cells(absurd, [wild, sane, wild], 6, seed=0, threads=1)
    alone = run_cell(absurd, sane, 6, seed=0, threads=1)
    assert [c.status for c in cells] == ["diverged", "ok", "diverged"]
    assert len(cells[0].records) == 1 and not math.isfinite(cells[0].records[0].train_loss)
    assert _curve(cells[1]) == _curve(alone) and len(alone.records) == 2


def test_configs_with_different_optimizers_train_in_separate_stacks():
    task = get_task("debug-mnist")
    configs = [{"lr": 1e-2, "optimizer": "sgd"}, {"lr": 1e-2, "optimizer": "adam"},
               {"lr": 1e-3, "optimizer": "sgd"}]
    cells = run_cells(task, configs, 2, seed=0, threads=1)
    assert [c.config["optimizer"] for c in cells] == ["sgd", "adam", "sgd"]
    assert [c.extra["stack_size"] for c in cells] == [2, 1, 2]
    assert _curve(cells[1]) == _curve(run_cell(task, configs[1], 2, seed=0, threads=1))


def test_bad_stacks_are_refused_with_the_valid_values():
    with pytest.raises(InvalidValueError, match="at least one config"):
        run_cells("debug-mnist", [], 2, seed=0)
    with pytest.raises(InvalidValueError, match=r"valid: \['adam', 'adamw', 'sgd'\]"):
        StackedHyperparameters.from_configs("lbfgs", [{"lr": 1.0}])
    with pytest.raises(InvalidValueError, match="no trainable parameters"):
        StackedTrainer(nn.Linear(2, 2).requires_grad_(False),
                       StackedHyperparameters.from_configs("adam", [{}]))


THAW_CASES = [
    ("debug-mnist", [0, 1, 2, 3], None),
    ("kjv-gpt2", [0, 7, 14, 30], 12),
]


@pytest.mark.parametrize(("name", "ids", "budget"), THAW_CASES)
def test_a_thaw_cell_does_not_depend_on_its_batch_mates(name, ids, budget):
    """A linear-thaw cell alone and inside stacks of other thaw cells: bit-identical records;
    each record reports its z, its first record is that of the fixed z = 1 cell (nothing thawed
    yet), and a record's FLOPs are those of its z (re-measured at each thaw)."""
    task = get_task(name)
    if budget is not None:
        task = task.with_budget(budget, n_records=3)
    first = task.space.config(ids[0])
    same = [c for c in (task.space.config(i) for i in ids[1:])
            if task.hyperparameters(c).get("optimizer") == task.hyperparameters(first).get(
                "optimizer")]
    alone = run_cell(task, first, seed=0, schedule="thaw", threads=1)
    in_three = run_cells(task, [first, *same[:2]], seed=0, schedule="thaw", threads=1)
    in_four = run_cells(task, [*same[::-1], first], seed=0, schedule="thaw", threads=1)
    plan = ZSchedule.thaw_linear(task.n_layers, len(task.fidelities.epoch))
    assert [r.z for r in alone.records] == list(plan.z) and plan.z[-1] > plan.z[0]
    assert (alone.key.schedule, alone.key.z) == ("thaw", task.n_layers)
    assert _curve(alone) == _curve(in_three[0]) == _curve(in_four[-1]), name
    assert [r.train_flops for r in alone.records] == [r.train_flops for r in in_four[-1].records]
    fixed = {z: run_cell(task, first, z, seed=0, threads=1) for z in (1, task.n_layers)}
    assert _curve(alone)[0] == _curve(fixed[1])[0]
    assert alone.records[0].train_flops == fixed[1].records[0].train_flops
    last = alone.records[-1].train_flops - alone.records[-2].train_flops
    full = fixed[task.n_layers].records
    assert last == pytest.approx(full[-1].train_flops - full[-2].train_flops, rel=1e-12)
    assert _curve(alone)[-1] != _curve(fixed[task.n_layers])[-1]


def test_schedules_are_checked_before_training():
    with pytest.raises(InvalidValueError, match=r"give z .* or schedule, not both"):
        run_cells("debug-mnist", [{"lr": 1e-2, "optimizer": "sgd"}], 2, seed=0,
                  schedule="thaw")
    with pytest.raises(InvalidValueError, match=r"has 3 entries; the task has 2 records"):
        run_cells("debug-mnist", [{"lr": 1e-2, "optimizer": "sgd"}], seed=0,
                  schedule=ZSchedule("thaw", (1, 2, 3)))
    with pytest.raises(InvalidValueError, match=r"z=7 is out of range"):
        run_cells("debug-mnist", [{"lr": 1e-2, "optimizer": "sgd"}], seed=0,
                  schedule=ZSchedule("thaw", (1, 7)))
