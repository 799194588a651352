"""Cost monotonicity of the freezing fidelity, measured: FLOPs and saved bytes fall with z."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import pytest
import torch
import torchvision
import transformers
from torch import nn

from frozenbench.costs import (
    OPTIMIZER_STATE_FACTOR,
    StepCost,
    cpu_memory_estimate,
    measure_step,
    parameter_bytes,
)
from frozenbench.errors import InvalidValueError, UnknownNameError
from frozenbench.freezing import freeze, split, unfreeze

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[1]


def costs_per_z(model, step):
    n = len(split(model))
    out = {}
    for z in range(n, 0, -1):
        freeze(model, z)
        out[z] = measure_step(model, step)
        model.zero_grad(set_to_none=True)
    unfreeze(model)
    return n, out


def assert_strictly_decreasing(n, costs, attr):
    values = [getattr(costs[z], attr) for z in range(n, 0, -1)]
    assert all(a > b for a, b in itertools.pairwise(values)), f"{attr} by z={n}..1: {values}"


def test_resnet18_costs_strictly_decrease_as_z_decreases():
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=100)
    x, y = torch.randn(2, 3, 32, 32), torch.randint(0, 100, (2,))

    def step():
        nn.functional.cross_entropy(model(x), y).backward()

    n, costs = costs_per_z(model, step)
    assert n == 11
    for attr in ("flops", "saved_bytes", "grad_bytes", "optimizer_state_bytes"):
        assert_strictly_decreasing(n, costs, attr)
    estimates = [cpu_memory_estimate(costs[z]) for z in range(n, 0, -1)]
    assert all(a > b for a, b in itertools.pairwise(estimates))
    assert len({c.param_bytes for c in costs.values()}) == 1  # all weights stay resident
    # Full backward costs about twice the forward: full z is 2-3x the z=1 FLOPs here.
    assert 2.0 < costs[n].flops / costs[1].flops < 3.2


def test_gpt2_costs_strictly_decrease_as_z_decreases():
    config = transformers.GPT2Config(
        n_layer=4, n_embd=32, n_head=2, n_positions=32, vocab_size=64,
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=0, eos_token_id=0,
    )
    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel(config)
    ids = torch.randint(0, 64, (2, 32))

    def step():
        model(input_ids=ids, labels=ids).loss.backward()

    n, costs = costs_per_z(model, step)
    assert n == 6
    for attr in ("flops", "saved_bytes"):
        assert_strictly_decreasing(n, costs, attr)
    # The tied embedding stays trainable at every z (through the head), counted once.
    wte = model.transformer.wte.weight
    assert all(c.grad_bytes >= wte.numel() * 4 for c in costs.values())
    assert costs[n].param_bytes == 4 * sum(p.numel() for p in model.parameters())


def test_normalisation_layers_are_counted():
    model = nn.Sequential(nn.BatchNorm1d(4), nn.LayerNorm(4))
    x = torch.randn(8, 4)
    cost = measure_step(model, lambda: model(x).sum().backward())
    # forward 5 + 5 per element; backward: LayerNorm input+affine 7, BatchNorm affine only 2.
    assert cost.flops == 32 * (5 + 5 + 7 + 2)


def test_saved_bytes_count_unique_storages_not_parameters():
    lin = nn.Linear(16, 16, bias=False)
    x = torch.randn(4, 16, requires_grad=True)

    def step():
        h = lin(x)
        (h[:2] * h[:2]).sum().backward()  # two views of one storage: counted once

    cost = measure_step(lin, step)
    # x (saved for the weight grad) and h (saved by the square), each 4*16 float32;
    # the weight itself is resident, not "saved".
    assert cost.saved_bytes == 2 * 4 * 16 * 4


def test_optimizer_state_and_estimate():
    model = nn.Linear(10, 10)  # 110 parameters, 440 bytes
    for name, factor in OPTIMIZER_STATE_FACTOR.items():
        cost = measure_step(model, lambda: model(torch.randn(3, 10)).sum().backward(),
                            optimizer=name)
        assert cost.optimizer_state_bytes == factor * 440
        assert cost.memory_estimate_bytes == 440 + 440 + factor * 440 + cost.saved_bytes
    with pytest.raises(UnknownNameError, match=r"'adagrad'.*'adam'"):
        measure_step(model, lambda: None, optimizer="adagrad")
    with pytest.raises(InvalidValueError, match="saved_bytes=-1"):
        StepCost(flops=0, saved_bytes=-1, param_bytes=0, grad_bytes=0, optimizer_state_bytes=0,
                 trainable_params=0)
    model.weight.requires_grad_(False)
    assert parameter_bytes(model) == (440, 40, 10)


def test_costs_module_is_light():
    import subprocess
    import sys

    code = "import frozenbench.costs, sys; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout
    assert out.strip() == "False"


def _script(monkeypatch):
    import sys

    spec = importlib.util.spec_from_file_location("freezing_cost", ROOT / "scripts" /
                                                  "freezing_cost.py")
    script = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "freezing_cost", script)  # dataclasses look it up
    spec.loader.exec_module(script)
    return script


@pytest.mark.slow
def test_benchmark_script_profiles_the_task_models_and_writes_its_table(tmp_path, capsys,
                                                                        monkeypatch):
    import pandas as pd

    from frozenbench.tasks import get_task
    from frozenbench.tasks.base import resolve

    script = _script(monkeypatch)
    rc = script.main(["--out", str(tmp_path), "--batch-sizes", "2", "--warmup", "1",
                      "--iters", "2"])
    assert rc == 0
    table = pd.read_parquet(tmp_path / "freezing_cost.parquet")
    assert set(table["model"]) == {"mnist-resnet", "kjv-gpt2"}
    assert {"step_time_ms_median", "step_time_ms_p10", "step_time_ms_p90", "peak_memory_bytes",
            "trainable_params", "flops_per_step", "n_layers", "batch_size", "z"} <= set(table)
    assert (table[["warmup", "iters"]] == [1, 2]).all().all()
    for name, group in table.groupby("model"):
        task = get_task(name)
        built = resolve(task.model)(**task.model_args)  # exactly the task's model
        assert (group["total_params"] == sum(p.numel() for p in built.model.parameters())).all()
        assert (group["n_layers"] == task.n_layers).all()
        group = group.sort_values("z")
        assert group["flops_per_step"].is_monotonic_increasing
        assert group["peak_memory_bytes"].is_monotonic_increasing
    ratios = pd.read_parquet(tmp_path / "freezing_cost_ratios.parquet")
    assert (ratios["memory_ratio"] > 1).all() and (ratios["flops_ratio"] > 1).all()
    assert "full z / lowest z" in capsys.readouterr().out


@pytest.mark.slow
def test_gpu_plan_runs_the_paper_task_models_on_cpu(tmp_path, monkeypatch):
    """The GPU profile (appendix E plan) minus the CUDA-only calls, at a short context: the
    paper tasks' own models (untied 14.58M GPT: 44% trainable at z=1), every z, in order."""
    import pandas as pd

    script = _script(monkeypatch)
    assert [(s.name, b) for s, b in script.plan("gpu", z_choice=None, large_models=True)] == [
        ("resnet18-cifar100", 1), ("gpt2-14m-slimpajama", 1), ("gpt2-600m", 1),
        ("pythia-1.4b-shaped", 1), ("resnet18-cifar100", 32), ("gpt2-14m-slimpajama", 32),
        ("resnet18-cifar100", 128), ("gpt2-14m-slimpajama", 128)]
    defaults = script.build_parser().parse_args([])
    assert (defaults.warmup, defaults.iters, defaults.time_budget) == (100, 100, 420.0)
    rc = script.main(["--plan", "gpu", "--batch-sizes", "1", "--warmup", "0", "--iters", "1",
                      "--z", "spread", "--no-large", "--context", "16", "--time-budget", "600",
                      "--out", str(tmp_path)])
    assert rc == 0
    table = pd.read_parquet(tmp_path / "freezing_cost.parquet")
    assert (table["status"] == "ok").all()
    n = table.groupby("model")["n_layers"].first().to_dict()
    assert n == {"resnet18-cifar100": 11, "gpt2-14m-slimpajama": 10}
    gpt = table[table["model"] == "gpt2-14m-slimpajama"].set_index("z")
    assert 14_500_000 < gpt.loc[10, "total_params"] < 14_700_000  # untied head
    assert 0.40 < gpt.loc[1, "trainable_params"] / gpt.loc[1, "total_params"] < 0.48
    assert table.groupby("model")["z"].nunique().min() >= 5


def test_large_shapes_are_the_papers_sizes(monkeypatch):
    from frozenbench.freezing import split
    from frozenbench.tasks.models import gpt2

    script = _script(monkeypatch)
    sizes = {"gpt2-600m": (5.8e8, 6.2e8), "pythia-1.4b-shaped": (1.35e9, 1.5e9)}
    assert set(script.LARGE_SHAPES) == set(sizes)
    for name, (lo, hi) in sizes.items():
        with torch.device("meta"):  # shapes only: no memory, no initialisation cost
            built = gpt2(**script.LARGE_SHAPES[name])
        total = sum(p.numel() for p in built.model.parameters())
        assert lo < total < hi, (name, total)
        assert len(split(built.model)) == 26
