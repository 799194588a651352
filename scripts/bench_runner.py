"""Cells per core-hour: the one-cell runner of before against the batched (stacked) runner, side
by side in one run, on the same cells.

For each task and z, ``--one-cell`` configs are trained one at a time by the former runner (a
plain model, torch.optim, one cell per training loop; kept here and nowhere else, as the
baseline) and ``--k`` configs with the same optimizer by the batched runner
(:func:`frozenbench.tasks.runner.run_cells`, one stacked model). Each side is charged the CPU
time of this thread (``time.thread_time``, one torch thread) for whole cells: model
construction, cost probe, training and evaluation; data loading and imports are warmed up
first. A line per task and z::

    TASK z=Z one-cell N1 cells/core-h batched(K=K) N2 cells/core-h ratio R

then per task the ratio for a whole config (every z measured, both seeds: a cell's cost does not
depend on its seed, so seed 0 is measured and counted for both). ``--quick`` (under a minute):
two tasks, z in {1, n}, short budgets, K = 8.

    PYTHONPATH=. python scripts/bench_runner.py --quick
    PYTHONPATH=. python scripts/bench_runner.py --tasks mnist1d-cnn pystdlib-llama --k 32
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from typing import Any

import torch

from frozenbench import freezing
from frozenbench.tasks import get_task
from frozenbench.tasks.base import Task
from frozenbench.tasks.runner import (
    KINDS,
    build_model,
    load_data,
    lr_factor,
    measure_step,
    run_cells,
)

#: One suite table of each family (fb-30), the default set.
SUITE = ("fb-letter-mlp", "fb-satellite-resmlp", "fb-fashion-cnn", "fb-mnist-vit",
         "fb-mnist1d-cnn", "fb-kjv-gpt2", "fb-pystdlib-llama", "fb-cora-gcn")
QUICK = {"fb-letter-mlp": 2, "fb-pystdlib-llama": 24}  # task: budget (epochs / steps)


def train_one_cell(task: Task, config: Mapping[str, Any], z: int, seed: int) -> list[float]:
    """The former runner's loop for one cell (CPU): a plain model, torch.optim and LambdaLR,
    the cost probe and an evaluation per record. Returns the validation losses."""
    kind = KINDS[task.kind]
    hp = task.hyperparameters(task.space.normalize(config))
    task = task.for_shape(config)
    model, frozen = build_model(task, z, seed)
    dev = torch.device("cpu")
    data = load_data(task, dev, frozen.total_params)
    ends = kind.record_ends(task, data, frozen.total_params)
    model.train()
    batches = kind.batches(task, data, torch.Generator().manual_seed(seed), dev)
    opt = kind.optimizer(hp, freezing.trainable_parameters(model))
    warm, cool = float(hp.get("warmup_frac", 0.0)), float(hp.get("cooldown_frac", 0.0))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: lr_factor(task.schedule, s, ends[-1], warm, cool))
    probe = next(kind.batches(task, data, torch.Generator().manual_seed(seed + 1), dev))
    measure_step(task, model, kind.stack_optimizer(hp), probe, nullcontext())
    val, step = [], 0
    for end in ends:
        for _ in range(end - step):
            x, y = next(batches)
            loss = kind.loss(model, x, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        step = end
        model.eval()
        with torch.inference_mode():
            val.append(kind.evaluate(task, model, data)[0])
        model.train()
    return val


def stack_configs(task: Task, k: int) -> list[dict[str, Any]]:
    """The first ``k`` configs of the design that stack together (one optimizer and one value
    of each shape choice, :attr:`Task.stack_by`), from the largest such group."""
    kind = KINDS[task.kind]
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for c in (task.space.config(i) for i in task.distinct_config_ids()):
        key = (kind.stack_optimizer(task.hyperparameters(c)), *(c[n] for n in task.stack_by))
        groups.setdefault(key, []).append(c)
    return max(groups.values(), key=len)[:k]


def bench_task(task: Task, zs: Sequence[int], k: int, one: int) -> dict[int, tuple[float, float]]:
    """Seconds of thread CPU per cell at each z: (one-cell runner, batched runner)."""
    configs = stack_configs(task, k)
    train_one_cell(task, configs[0], zs[0], 0)  # warm-up: imports, data, first-step costs
    run_cells(task, configs[:2], zs[0], 0)
    out = {}
    for z in zs:
        c0 = time.thread_time()
        for config in configs[:one]:
            train_one_cell(task, config, z, 0)
        c1 = time.thread_time()
        run_cells(task, configs, z, 0)
        single, batched = (c1 - c0) / one, (time.thread_time() - c1) / len(configs)
        out[z] = (single, batched)
        print(f"{task.name} z={z} one-cell {3600 / single:.0f} cells/core-h "
              f"batched(K={len(configs)}) {3600 / batched:.0f} cells/core-h "
              f"ratio {single / batched:.1f}", flush=True)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tasks", nargs="+", default=list(SUITE))
    p.add_argument("--k", type=int, default=32, help="configs per stack")
    p.add_argument("--one-cell", type=int, default=2, help="configs the one-cell runner trains")
    p.add_argument("--z", type=int, nargs="+", help="z values (default: every z)")
    p.add_argument("--budget", type=int, help="epochs (image) or steps (lm) instead of the task's")
    p.add_argument("--quick", action="store_true", help="two tasks, short budgets, z in {1, n}")
    args = p.parse_args()
    torch.set_num_threads(1)
    tasks = list(QUICK) if args.quick else args.tasks
    results = {}
    for name in tasks:
        task = get_task(name)
        budget = QUICK[name] if args.quick else args.budget
        if budget:
            task = task.with_budget(budget, n_records=2) if task.kind == "lm" else \
                task.with_budget(budget)
        zs = args.z or ((1, task.n_layers) if args.quick else task.fidelities.z)
        results[name] = (task, bench_task(task, [z for z in zs if z <= task.n_layers],
                                          8 if args.quick else args.k,
                                          1 if args.quick else args.one_cell))
    print("\nwhole config (the z measured, seeds 0 and 1):")
    ratios = []
    for name, (task, per_z) in results.items():
        single = 2 * sum(s for s, _ in per_z.values())
        batched = 2 * sum(b for _, b in per_z.values())
        low = [z for z in per_z if z <= task.n_layers / 2]
        low_ratio = (sum(per_z[z][0] for z in low) / sum(per_z[z][1] for z in low)
                     if low else math.nan)
        ratios.append(single / batched)
        print(f"{name} one-cell {single:.2f} s batched {batched:.2f} s ratio "
              f"{single / batched:.1f} (z <= n/2: {low_ratio:.1f})")
    print(f"median task ratio {statistics.median(ratios):.1f}")


if __name__ == "__main__":
    main()
