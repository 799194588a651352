"""Cost of the layer-freezing fidelity, side by side per z: step time, peak memory, FLOPs.

Not a test: a benchmark and the project's GPU profiling script.

CPU (default; ``make demo``)::

    .venv/bin/python scripts/freezing_cost.py --out out/demo

    torchvision ResNet-18 (32x32 input, 100 classes, batch 128) and a small GPT-2 (transformers,
    6 layers, d=128, 2 heads, vocab 256, context 256, batch 32), one torch thread, z in
    {1, 2, 3, n/2, n} (``--z all`` for every z), 3 warm-up and 5 measured steps per z (``--warmup``,
    ``--iters``). Step time is wall clock (median, p10, p90 of the measured steps). Peak memory
    on CPU is the analytic estimate of :func:`frozenbench.costs.cpu_memory_estimate` (params +
    grads + AdamW state + saved-for-backward bytes, measured with saved-tensor hooks); no
    allocator statistic is used (``memory_method`` column says so).

GPU (one run on the H200 of the appendix-E profile)::

    PYTHONPATH=. python3 scripts/freezing_cost.py --device cuda --out $OUT

    every z, batch sizes 1, 32 and 128, 20 warm-up and 50 measured steps per z, bf16 autocast;
    ResNet-18 (CIFAR-100: 100 classes, 32x32) and the GPT-2 14M model (d=128, 8 layers, 2
    heads, context 1024, vocab 50257), then a larger GPT-2 (d=768, 12 layers, 12 heads, context
    1024, vocab 50257; batch 1 and 32, z in {1, 2, 3, n/2, n}) while the time budget
    (``--time-budget``, default 300 s) lasts. Timing uses CUDA events; peak memory is
    ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats`` per (model, batch, z).

A step is what the cell runner does: forward, loss, backward, AdamW step on the trainable
parameters only, ``zero_grad(set_to_none=True)``. At batch size 1 ResNet's BatchNorm layers run in
eval mode (one 32x32 image leaves a 1x1 map in the last stage, where batch statistics are
undefined); the ``note`` column says so. Dropout is 0 in the GPT-2 models (it would
dominate CPU time and is not part of the freezing cost). FLOPs per step come from
:func:`frozenbench.costs.measure_step` (FlopCounterMode, forward + backward) on one extra step.

Output: a per-z table printed and written as Parquet (``DIR/freezing_cost.parquet``), and the
ratio of full z to the lowest z for time and memory per model and batch size. Needs only torch,
torchvision, transformers, numpy, pandas and pyarrow.
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from frozenbench.costs import StepCost, cpu_memory_estimate, measure_step
from frozenbench.freezing import freeze, split, trainable_parameters

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ModelSpec:
    """One model to profile: a builder, the batch it eats, and the batch sizes / z to use."""

    name: str
    build: Callable[[], Any]
    make_batch: Callable[[int, str], tuple[Any, Any]]
    loss: Callable[[Any, Any, Any], Any]
    batch_sizes: tuple[int, ...]
    z_choice: str  # "all" or "spread"
    input_desc: str


def _resnet18(num_classes: int = 100) -> ModelSpec:
    def build() -> Any:
        import torchvision

        return torchvision.models.resnet18(num_classes=num_classes)

    def make_batch(b: int, device: str) -> tuple[Any, Any]:
        x = torch.randn(b, 3, 32, 32, device=device)
        y = torch.randint(0, num_classes, (b,), device=device)
        return x, y

    def loss(model: Any, x: Any, y: Any) -> Any:
        return torch.nn.functional.cross_entropy(model(x), y)

    return ModelSpec(
        "resnet18-cifar100", build, make_batch, loss, (128,), "spread", "3x32x32, 100 classes"
    )


def _gpt2(name: str, *, n_layer: int, d: int, heads: int, ctx: int, vocab: int) -> ModelSpec:
    def build() -> Any:
        from transformers import GPT2Config, GPT2LMHeadModel

        config = GPT2Config(
            n_layer=n_layer,
            n_embd=d,
            n_head=heads,
            n_positions=ctx,
            vocab_size=vocab,
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
            bos_token_id=vocab - 1,
            eos_token_id=vocab - 1,
        )
        return GPT2LMHeadModel(config)

    def make_batch(b: int, device: str) -> tuple[Any, Any]:
        ids = torch.randint(0, vocab, (b, ctx), device=device)
        return ids, ids

    def loss(model: Any, x: Any, y: Any) -> Any:
        return model(input_ids=x, labels=y).loss

    return ModelSpec(name, build, make_batch, loss, (32,), "spread", f"{ctx} tokens, vocab {vocab}")


def _z_values(n: int, choice: str) -> list[int]:
    if choice == "all":
        return list(range(n, 0, -1))
    return sorted({1, 2, 3, max(1, n // 2), n} & set(range(1, n + 1)), reverse=True)


def _quantile(values: list[float], q: float) -> float:
    return float(np.quantile(np.asarray(values), q))


def profile(
    spec: ModelSpec,
    *,
    device: str,
    batch_size: int,
    warmup: int,
    iters: int,
    autocast: str,
    deadline: float,
) -> list[dict[str, Any]]:
    """Profile one model at one batch size for its z values; one row per z."""
    torch.manual_seed(0)
    model = spec.build().to(device)
    model.train()
    note = ""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if batch_size == 1 and norms:
        # One 32x32 image leaves ResNet's last stage a 1x1 map: batch statistics are undefined
        # there, so BatchNorm uses its running statistics (the same kernels' cost, no update).
        for m in norms:
            m.eval()
        note = "batch 1: BatchNorm in eval mode"
    n = len(split(model))
    rows: list[dict[str, Any]] = []
    x, y = spec.make_batch(batch_size, device)
    use_amp = autocast == "bf16"
    cuda = device.startswith("cuda")

    for z in _z_values(n, spec.z_choice):
        if time.monotonic() > deadline:
            print(f"  time budget spent: skipping {spec.name} b={batch_size} z<={z}", flush=True)
            break
        record = freeze(model, z)
        cost, times_ms, peak, status = _measure_z(
            spec, model, x, y, warmup=warmup, iters=iters, use_amp=use_amp, cuda=cuda
        )
        row = {
            "schema_version": SCHEMA_VERSION,
            "model": spec.name,
            "input": spec.input_desc,
            "device": device,
            "device_name": torch.cuda.get_device_name() if cuda else platform.processor() or "cpu",
            "batch_size": batch_size,
            "z": z,
            "n_layers": n,
            "step_time_ms_median": statistics.median(times_ms),
            "step_time_ms_p10": _quantile(times_ms, 0.1),
            "step_time_ms_p90": _quantile(times_ms, 0.9),
            "peak_memory_bytes": peak,
            "memory_method": "cuda.max_memory_allocated" if cuda else "estimate",
            "memory_estimate_bytes": cpu_memory_estimate(cost) if cost else -1,
            "saved_bytes": cost.saved_bytes if cost else -1,
            "trainable_params": record.trainable_params,
            "total_params": record.total_params,
            "flops_per_step": cost.flops if cost else -1,
            "warmup": warmup,
            "iters": iters,
            "autocast": autocast,
            "torch_threads": torch.get_num_threads(),
            "torch_version": torch.__version__,
            "status": status,
            "note": note,
        }
        rows.append(row)
        print(
            f"  {spec.name:<22} b={batch_size:<4} z={z:>2}/{n:<2} "
            f"{row['step_time_ms_median']:9.1f} ms  peak {peak / 2**20:9.1f} MiB  "
            f"{(cost.flops if cost else 0) / 1e9:9.2f} GFLOP  {status}",
            flush=True,
        )
    return rows


def _measure_z(
    spec: ModelSpec,
    model: Any,
    x: Any,
    y: Any,
    *,
    warmup: int,
    iters: int,
    use_amp: bool,
    cuda: bool,
) -> tuple[StepCost | None, list[float], int, str]:
    """FLOPs step, warm-up, measured steps at the model's current freezing level."""
    opt = torch.optim.AdamW(trainable_parameters(model), lr=1e-4)

    def fwd_bwd() -> None:
        with torch.autocast(
            device_type="cuda" if cuda else "cpu", dtype=torch.bfloat16, enabled=use_amp
        ):
            loss = spec.loss(model, x, y)
        loss.backward()

    def step() -> None:
        fwd_bwd()
        opt.step()
        opt.zero_grad(set_to_none=True)

    try:
        cost = measure_step(model, fwd_bwd, optimizer="adamw")
        opt.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        for _ in range(warmup):
            step()
        times_ms: list[float] = []
        for _ in range(iters):
            if cuda:
                start = torch.cuda.Event(enable_timing=True)
                end = torch.cuda.Event(enable_timing=True)
                start.record()
                step()
                end.record()
                end.synchronize()
                times_ms.append(float(start.elapsed_time(end)))
            else:
                t0 = time.perf_counter()
                step()
                times_ms.append((time.perf_counter() - t0) * 1000.0)
        peak = int(torch.cuda.max_memory_allocated()) if cuda else cpu_memory_estimate(cost)
        return cost, times_ms, peak, "ok"
    except torch.OutOfMemoryError:
        return None, [math.nan], -1, "oom"
    except Exception as exc:  # one failing configuration must not lose the whole profile
        print(f"  error: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return None, [math.nan], -1, f"error: {type(exc).__name__}"
    finally:
        model.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.empty_cache()


def ratios(table: pd.DataFrame) -> pd.DataFrame:
    """Full z over lowest z, per model and batch size, for time, memory and FLOPs."""
    out: list[dict[str, Any]] = []
    if table.empty:
        return pd.DataFrame(out)
    for (model, batch), group in table[table["status"] == "ok"].groupby(["model", "batch_size"]):
        ordered = group.sort_values("z")
        low, full = ordered.iloc[0], ordered.iloc[-1]
        out.append(
            {
                "model": model,
                "batch_size": batch,
                "z_full": int(full["z"]),
                "z_low": int(low["z"]),
                "time_ratio": full["step_time_ms_median"] / low["step_time_ms_median"],
                "memory_ratio": full["peak_memory_bytes"] / low["peak_memory_bytes"],
                "flops_ratio": full["flops_per_step"] / low["flops_per_step"],
            }
        )
    return pd.DataFrame(out)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--out", default="out/freezing_cost", help="output directory")
    parser.add_argument(
        "--plan",
        choices=["cpu", "gpu"],
        help="which models and batch sizes: cpu (small, default on cpu) or gpu (appendix E)",
    )
    parser.add_argument("--warmup", type=int, help="warm-up steps per z (cpu 3, cuda 20)")
    parser.add_argument("--iters", type=int, help="measured steps per z (cpu 5, cuda 50)")
    parser.add_argument(
        "--z",
        choices=["spread", "all"],
        help="z values: spread = {1,2,3,n/2,n} (cpu plan default), all (gpu plan default)",
    )
    parser.add_argument("--batch-sizes", help="comma list overriding every model's batch sizes")
    parser.add_argument(
        "--autocast",
        choices=["none", "bf16"],
        help="bf16 autocast (cuda default) or none (cpu default)",
    )
    parser.add_argument(
        "--time-budget",
        type=float,
        default=300.0,
        help="seconds (default 300); later configurations are skipped once it is spent",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads on cpu")
    parser.add_argument("--no-large", action="store_true", help="gpu plan: no larger GPT-2")
    return parser


def plan(name: str, *, z_choice: str | None, large: bool) -> list[ModelSpec]:
    """The models, batch sizes and z values of the cpu or gpu plan."""
    if name == "cpu":
        specs = [
            _resnet18(),
            _gpt2("gpt2-small-cpu", n_layer=6, d=128, heads=2, ctx=256, vocab=256),
        ]
        return [replace(s, z_choice=z_choice or "spread") for s in specs]
    specs = [
        replace(_resnet18(), batch_sizes=(1, 32, 128)),
        replace(
            _gpt2("gpt2-14m", n_layer=8, d=128, heads=2, ctx=1024, vocab=50257),
            batch_sizes=(1, 32, 128),
        ),
    ]
    specs = [replace(s, z_choice=z_choice or "all") for s in specs]
    if large:
        big = _gpt2("gpt2-124m", n_layer=12, d=768, heads=12, ctx=1024, vocab=50257)
        specs.append(replace(big, batch_sizes=(1, 32), z_choice=z_choice or "spread"))
    return specs


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cuda = args.device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        print("--device cuda but torch.cuda.is_available() is False", file=sys.stderr)
        return 2
    if cuda:
        torch.set_float32_matmul_precision("high")  # TF32 where fp32 remains
        torch.backends.cudnn.benchmark = True
    else:
        torch.set_num_threads(args.threads)
    warmup = args.warmup if args.warmup is not None else (20 if cuda else 3)
    iters = args.iters if args.iters is not None else (50 if cuda else 5)
    autocast = args.autocast or ("bf16" if cuda else "none")
    specs = plan(args.plan or ("gpu" if cuda else "cpu"), z_choice=args.z, large=not args.no_large)
    if args.batch_sizes:
        sizes = tuple(int(b) for b in args.batch_sizes.split(","))
        specs = [replace(s, batch_sizes=sizes) for s in specs]

    started = time.monotonic()
    deadline = started + args.time_budget
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(
        f"freezing cost on {args.device}: warmup {warmup}, iters {iters}, autocast {autocast}, "
        f"torch {torch.__version__}, threads {torch.get_num_threads()}",
        flush=True,
    )
    rows: list[dict[str, Any]] = []
    for spec in specs:
        for batch_size in spec.batch_sizes:
            if time.monotonic() > deadline:
                print(f"time budget spent: skipping {spec.name} b={batch_size}", flush=True)
                continue
            rows += profile(
                spec,
                device=args.device,
                batch_size=batch_size,
                warmup=warmup,
                iters=iters,
                autocast=autocast,
                deadline=deadline,
            )
            # Written after every (model, batch): a run cut short still leaves its table.
            pd.DataFrame(rows).to_parquet(out / "freezing_cost.parquet", index=False)
    table = pd.DataFrame(rows)
    table.to_parquet(out / "freezing_cost.parquet", index=False)
    if table.empty:
        print("nothing measured (time budget too small?)")
        return 1
    summary = ratios(table)
    summary.to_parquet(out / "freezing_cost_ratios.parquet", index=False)
    method = "cuda.max_memory_allocated" if cuda else "estimate: params+grads+AdamW+saved"
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        cols = [
            "model",
            "batch_size",
            "z",
            "n_layers",
            "step_time_ms_median",
            "peak_memory_bytes",
            "trainable_params",
            "flops_per_step",
            "status",
        ]
        print(table[cols].to_string(index=False))
        print(f"\nfull z / lowest z (time: median step; memory: {method}):")
        print(summary.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print(
        f"\nwrote {out / 'freezing_cost.parquet'} ({len(table)} rows) in "
        f"{time.monotonic() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
