"""Cost of the layer-freezing fidelity per z: step time, peak memory, FLOPs (appendix E).

Not a test: a benchmark and the project's GPU profiling script.

Every model is built EXACTLY as its task builds it: ``resolve(task.model)(**task.model_args)``
from the task registry, split with the task's unwrap/merge rules, stepped with the task's loss
(:data:`frozenbench.tasks.runner.KINDS`) and AdamW on the trainable parameters only. The paper's
larger cost-profile shapes (a ~600M GPT and a Pythia-1.4B-shaped model, n = 26) go through the
same builder (:func:`frozenbench.tasks.models.gpt2`, :data:`LARGE_SHAPES`) on synthetic tokens.

GPU (the paper's protocol; one prepared call, under 8 minutes on one H200)::

    PYTHONPATH=. python3 scripts/freezing_cost.py --device cuda --out $OUT

    resnet18-cifar100 and gpt2-14m-slimpajama at every z and batch 1, 32, 128; gpt2-600m and
    pythia-1.4b-shaped at batch 1, z in {1, 2, 3, n/2, n}; 100 warm-up + 100 measured steps per
    z; bf16 autocast as the tasks train; CUDA events per step; peak allocated memory reset per
    z. Order: batch 1 of every model first (the paper's memory/runtime claims), then 32, 128.

CPU (``--device cpu``, default): the CPU-scale tasks (mnist-resnet, kjv-gpt2) at batch 32, z in
{1, 2, 3, n/2, n}, wall-clock steps, the analytic memory estimate of
:func:`frozenbench.costs.cpu_memory_estimate`. ``--plan gpu`` on CPU runs the GPU plan's models
(the tests do, with tiny step counts and ``--context``).

A time guard (``--time-budget``, default 420 s) skips a z whose steps would pass the deadline,
estimated from the previous z of the same model and batch. The table is written after every
row (:func:`frozenbench.atomic.write_frame_atomic`), so a run cut short still leaves a valid
Parquet file.
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from frozenbench.atomic import write_frame_atomic
from frozenbench.costs import StepCost, cpu_memory_estimate, measure_step
from frozenbench.freezing import freeze, trainable_parameters
from frozenbench.tasks import get_task
from frozenbench.tasks.base import resolve
from frozenbench.tasks.runner import KINDS

SCHEMA_VERSION = 2
TABLE = "freezing_cost.parquet"

#: The paper's larger GPT shapes for the cost claims, built by the tasks' own GPT-2 builder.
LARGE_SHAPES: dict[str, dict[str, Any]] = {
    # 24 x 12 x 1280^2 + 2 x 50257 x 1280 + 1024 x 1280 = 602M parameters
    "gpt2-600m": {"vocab_size": 50257, "n_positions": 1024, "n_embd": 1280, "n_layer": 24,
                  "n_head": 20},
    # Pythia-1.4B's shape (d=2048, 24 layers, 16 heads, context 2048, vocab 50304): n = 26
    "pythia-1.4b-shaped": {"vocab_size": 50304, "n_positions": 2048, "n_embd": 2048,
                           "n_layer": 24, "n_head": 16},
}
GPT2_BUILDER = "frozenbench.tasks.models:gpt2"


@dataclass(frozen=True)
class ModelSpec:
    """One model to profile: its builder reference and arguments, kind, input, sizes, z."""

    name: str
    builder: str
    model_args: Mapping[str, Any]
    kind: str  # "image" or "lm" (the task's loss)
    input_shape: tuple[int, ...]  # (C, H, W) or (context,)
    n_classes: int  # classes or vocabulary
    batch_sizes: tuple[int, ...]
    z_choice: str  # "all" or "spread"
    n_layers: int = 0  # the task's n (checked against the split); 0 for the large shapes
    source: str = field(default="task registry")


def from_task(name: str, batch_sizes: tuple[int, ...], z_choice: str) -> ModelSpec:
    """The model of a registered task, exactly as its cells build it."""
    task = get_task(name)
    if task.kind == "lm":
        shape: tuple[int, ...] = (int(task.data_args["context"]),)
        classes = int(task.model_args["vocab_size"])
    else:
        size = int(task.data_args.get("size", 32))
        shape = (int(task.model_args.get("in_channels", 3)), size, size)
        classes = int(task.model_args["num_classes"])
    return ModelSpec(name, str(task.model), dict(task.model_args), task.kind, shape, classes,
                     batch_sizes, z_choice, task.n_layers, f"task {name}")


def large(name: str, batch_sizes: tuple[int, ...], z_choice: str) -> ModelSpec:
    args = LARGE_SHAPES[name]
    return ModelSpec(name, GPT2_BUILDER, args, "lm", (int(args["n_positions"]),),
                     int(args["vocab_size"]), batch_sizes, z_choice, 0, "paper shape")


def plan(name: str, *, z_choice: str | None, large_models: bool) -> list[tuple[ModelSpec, int]]:
    """(model, batch size) pairs in run order."""
    if name == "cpu":
        specs = [from_task("mnist-resnet", (32,), z_choice or "spread"),
                 from_task("kjv-gpt2", (32,), z_choice or "spread")]
    else:
        specs = [from_task("resnet18-cifar100", (1, 32, 128), z_choice or "all"),
                 from_task("gpt2-14m-slimpajama", (1, 32, 128), z_choice or "all")]
        if large_models:
            specs += [large(n, (1,), z_choice or "spread") for n in LARGE_SHAPES]
    sizes = sorted({b for s in specs for b in s.batch_sizes})
    return [(s, b) for b in sizes for s in specs if b in s.batch_sizes]


def _z_values(n: int, choice: str) -> list[int]:
    if choice == "all":
        return list(range(n, 0, -1))
    return sorted({1, 2, 3, max(1, n // 2), n} & set(range(1, n + 1)), reverse=True)


def _batch(spec: ModelSpec, b: int, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    if spec.kind == "lm":
        ids = torch.randint(0, spec.n_classes, (b, spec.input_shape[0] + 1), generator=gen)
        return ids[:, :-1].contiguous().to(device), ids[:, 1:].contiguous().to(device)
    x = torch.randn(b, *spec.input_shape, generator=gen)
    y = torch.randint(0, spec.n_classes, (b,), generator=gen)
    return x.to(device), y.to(device)


def _write(rows: list[dict[str, Any]], out: Path) -> None:
    write_frame_atomic(pd.DataFrame(rows), out / TABLE)


@dataclass(frozen=True)
class Settings:
    device: str
    warmup: int
    iters: int
    autocast: str
    deadline: float


def profile(spec: ModelSpec, batch_size: int, s: Settings, rows: list[dict[str, Any]],
            out: Path) -> None:
    """Profile one model at one batch size at its z values; appends and writes one row per z."""
    cuda = s.device.startswith("cuda")
    torch.manual_seed(0)
    built = resolve(spec.builder)(**spec.model_args)
    model = built.model.to(s.device).train()
    note = ""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if batch_size == 1 and norms:
        # One 32x32 image leaves ResNet's last stage a 1x1 map: batch statistics are undefined
        # there, so BatchNorm uses its running statistics (the same kernels' cost, no update).
        for m in norms:
            m.eval()
        note = "batch 1: BatchNorm in eval mode"
    n = freeze(model, 1, built.unwrap, merge=built.merge).n
    if spec.n_layers and n != spec.n_layers:
        raise RuntimeError(f"{spec.name}: the model splits into n={n}, the task says "
                           f"{spec.n_layers}")
    x, y = _batch(spec, batch_size, s.device)
    per_step = 0.0
    for z in _z_values(n, spec.z_choice):
        needed = per_step * (s.warmup + s.iters + 1)
        if time.monotonic() + needed > s.deadline:
            print(f"  time guard: skipping {spec.name} b={batch_size} z<={z}", flush=True)
            break
        record = freeze(model, z, built.unwrap, merge=built.merge)
        cost, times_ms, peak, status = _measure_z(spec, model, x, y, s, cuda)
        if times_ms and not math.isnan(times_ms[0]):
            per_step = statistics.median(times_ms) / 1000.0
        rows.append({
            "schema_version": SCHEMA_VERSION, "model": spec.name, "source": spec.source,
            "builder": spec.builder, "input": "x".join(map(str, spec.input_shape)),
            "device": s.device,
            "device_name": torch.cuda.get_device_name() if cuda else platform.processor() or "cpu",
            "batch_size": batch_size, "z": z, "n_layers": n,
            "step_time_ms_median": statistics.median(times_ms),
            "step_time_ms_p10": float(np.quantile(times_ms, 0.1)),
            "step_time_ms_p90": float(np.quantile(times_ms, 0.9)),
            "timer": "cuda.Event" if cuda else "perf_counter",
            "peak_memory_bytes": peak,
            "memory_method": "cuda.max_memory_allocated, reset per z" if cuda else "estimate",
            "memory_estimate_bytes": cpu_memory_estimate(cost) if cost else -1,
            "saved_bytes": cost.saved_bytes if cost else -1,
            "trainable_params": record.trainable_params, "total_params": record.total_params,
            "flops_per_step": cost.flops if cost else -1,
            "warmup": s.warmup, "iters": s.iters, "autocast": s.autocast,
            "torch_threads": torch.get_num_threads(), "torch_version": torch.__version__,
            "status": status, "note": note,
        })
        _write(rows, out)
        print(f"  {spec.name:<20} b={batch_size:<4} z={z:>2}/{n:<2} "
              f"{rows[-1]['step_time_ms_median']:9.2f} ms  peak {peak / 2**20:9.1f} MiB  "
              f"trainable {record.trainable_params / record.total_params:6.1%}  {status}",
              flush=True)
    del model, built
    if cuda:
        torch.cuda.empty_cache()


def _measure_z(spec: ModelSpec, model: Any, x: Any, y: Any, s: Settings,
               cuda: bool) -> tuple[StepCost | None, list[float], int, str]:
    """FLOPs step, warm-up, measured steps at the model's current freezing level."""
    opt = torch.optim.AdamW(trainable_parameters(model), lr=1e-4)
    loss_fn = KINDS[spec.kind].loss

    def fwd_bwd() -> None:
        with torch.autocast(device_type="cuda" if cuda else "cpu", dtype=torch.bfloat16,
                            enabled=s.autocast == "bf16"):
            loss = loss_fn(model, x, y)
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
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()  # per z: this z's peak only
        for _ in range(s.warmup):
            step()
        times_ms: list[float] = []
        for _ in range(s.iters):
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
        return cost, times_ms or [math.nan], peak, "ok"
    except torch.OutOfMemoryError:
        return None, [math.nan], -1, "oom"
    except Exception as exc:  # one failing configuration must not lose the whole profile
        print(f"  error: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return None, [math.nan], -1, f"error: {type(exc).__name__}"
    finally:
        model.zero_grad(set_to_none=True)


def ratios(table: pd.DataFrame) -> pd.DataFrame:
    """Full z over lowest z, per model and batch size, for time, memory and FLOPs."""
    out: list[dict[str, Any]] = []
    ok = table[table["status"] == "ok"] if not table.empty else table
    for (model, batch), group in (ok.groupby(["model", "batch_size"]) if not ok.empty else []):
        ordered = group.sort_values("z")
        low, full = ordered.iloc[0], ordered.iloc[-1]
        out.append({"model": model, "batch_size": batch, "z_full": int(full["z"]),
                    "z_low": int(low["z"]),
                    "time_ratio": full["step_time_ms_median"] / low["step_time_ms_median"],
                    "memory_ratio": full["peak_memory_bytes"] / low["peak_memory_bytes"],
                    "flops_ratio": full["flops_per_step"] / low["flops_per_step"]})
    return pd.DataFrame(out)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--out", default="out/freezing_cost", help="output directory")
    parser.add_argument("--plan", choices=["cpu", "gpu"],
                        help="cpu: the CPU-scale tasks; gpu: the paper's (default on cuda)")
    parser.add_argument("--warmup", type=int, default=100, help="warm-up steps per z (100)")
    parser.add_argument("--iters", type=int, default=100, help="measured steps per z (100)")
    parser.add_argument("--z", choices=["spread", "all"], help="override every model's z choice")
    parser.add_argument("--batch-sizes", help="comma list overriding every model's batch sizes")
    parser.add_argument("--context", type=int,
                        help="override the LM context (CPU tests only; not the paper's shape)")
    parser.add_argument("--autocast", choices=["none", "bf16"],
                        help="bf16 autocast as the tasks train (cuda default) or none (cpu)")
    parser.add_argument("--time-budget", type=float, default=420.0,
                        help="seconds (default 420); a z that would pass it is skipped")
    parser.add_argument("--threads", type=int, default=1, help="torch threads on cpu")
    parser.add_argument("--no-large", action="store_true", help="gpu plan: no 600M / 1.4B")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cuda = args.device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        print("--device cuda but torch.cuda.is_available() is False", file=sys.stderr)
        return 2
    if cuda:
        torch.backends.cudnn.benchmark = True
    else:
        torch.set_num_threads(args.threads)
    started = time.monotonic()
    s = Settings(args.device, args.warmup, args.iters, args.autocast or
                 ("bf16" if cuda else "none"), started + args.time_budget)
    runs = plan(args.plan or ("gpu" if cuda else "cpu"), z_choice=args.z,
                large_models=not args.no_large)
    if args.batch_sizes:
        sizes = [int(b) for b in args.batch_sizes.split(",")]
        specs = list({spec.name: spec for spec, _ in runs}.values())
        runs = [(spec, b) for b in sizes for spec in specs]
    if args.context:
        runs = [(replace(spec, input_shape=(args.context,)) if spec.kind == "lm" else spec, b)
                for spec, b in runs]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"freezing cost on {args.device}: warmup {s.warmup}, iters {s.iters}, autocast "
          f"{s.autocast}, torch {torch.__version__}, budget {args.time_budget:.0f} s", flush=True)
    rows: list[dict[str, Any]] = []
    for spec, batch_size in runs:
        if time.monotonic() > s.deadline:
            print(f"time guard: skipping {spec.name} b={batch_size}", flush=True)
            continue
        profile(spec, batch_size, s, rows, out)
    table = pd.DataFrame(rows)
    if table.empty:
        print("nothing measured (time budget too small?)")
        return 1
    summary = ratios(table)
    write_frame_atomic(summary, out / "freezing_cost_ratios.parquet")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print("\nfull z / lowest z:")
        print(summary.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print(f"\nwrote {out / TABLE} ({len(table)} rows) in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
