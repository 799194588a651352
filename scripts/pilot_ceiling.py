"""Pilot for sizing a CPU-scale task before its table is generated.

Trains a sample of configs at full z with two seeds and at a few low z with one seed, then
prints seconds per cell (training-thread CPU time), the spread of the metric, the seed-vs-seed
Spearman ceiling at full fidelity and the Spearman of each low z against full:

    python scripts/pilot_ceiling.py mnist-resnet --configs 24 --z 1 3 --workers 2 \\
        --set data_args.size=7 --set batch_size=256

``--set`` overrides a task field (``model_args.K``, ``data_args.K`` or a top-level field) so
that candidate sizes are compared without editing the catalog. ``--grid`` replaces the search
space with a candidate grid (a JSON object; hyperparameters it drops need ``--set
defaults.K=V``), ``--configs 0`` trains every config of it, and the pilot then prints each
hyperparameter's effect against seed noise (:mod:`frozenbench.analysis.effects`) and can write
every cell's score to ``--csv`` for a closer look:

    python scripts/pilot_ceiling.py vit-mnist --configs 0 --z 1 --workers 1 \
        --grid '{"lr": [1e-3, 1e-2], "beta1": [0.5, 0.9]}' --set defaults.beta2=0.99 \
        --set defaults.warmup_frac=0.1 --set defaults.cooldown_frac=0.5 --csv out/pilot.csv
"""

from __future__ import annotations

import argparse
import ast
import csv
import dataclasses
import json
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from frozenbench.analysis.effects import effects_from_scores
from frozenbench.space import SearchSpace
from frozenbench.tasks import Task, get_task, run_cell


def with_overrides(task: Task, sets: list[str], grid: str | None = None) -> Task:
    changes: dict[str, Any] = {}
    if grid is not None:
        values = json.loads(grid)
        space = SearchSpace.from_dict(values, log=[  # positive lr / weight decay: log scale
            k for k in ("lr", "weight_decay") if k in values and min(values[k]) > 0])
        changes["space"] = space
        changes["defaults"] = {k: v for k, v in task.defaults.items() if k not in space.names}
        changes["conditions"] = tuple(c for c in task.conditions
                                      if {c.child, c.parent} <= set(space.names))
        changes["cost_factors"] = tuple(f for f in task.cost_factors if f in space.names)
    for item in sets:
        key, _, raw = item.partition("=")
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw
        if "." in key:
            field, sub = key.split(".", 1)
            base = dict(changes.get(field, getattr(task, field)))
            base[sub] = value
            changes[field] = base
        else:
            changes[key] = value
    return dataclasses.replace(task, **changes)


def one(args: tuple[Task, int, int, int]) -> tuple[int, int, int, float, float, float]:
    task, cid, z, seed = args
    t0 = time.perf_counter()
    cell = run_cell(task, task.space.config(cid), z, seed, threads=1)
    last = cell.records[-1]
    score = getattr(last, task.metric)
    return cid, z, seed, float(score), last.train_cpu_s, time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("task")
    p.add_argument("--configs", type=int, default=24)
    p.add_argument("--z", type=int, nargs="+", default=[1])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--set", action="append", default=[])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--grid", help="a candidate grid as a JSON object (replaces the space)")
    p.add_argument("--csv", help="write every cell's score and CPU time here")
    args = p.parse_args()
    task = with_overrides(get_task(args.task), args.set, args.grid)
    ids = task.distinct_config_ids()
    if args.configs:
        rng = np.random.default_rng(args.seed)
        ids = sorted(rng.choice(ids, size=min(args.configs, len(ids)), replace=False).tolist())
    n = task.n_layers
    jobs = [(task, c, n, s) for c in ids for s in (0, 1)]
    jobs += [(task, c, z, 0) for c in ids for z in args.z if z != n]
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(pool.map(one, jobs))
    score = {(c, z, s): v for c, z, s, v, _, _ in results}
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            out = csv.writer(f)
            out.writerow([*task.space.names, "z", "seed", task.metric, "train_cpu_s"])
            for c, z, s, v, t, _ in results:
                out.writerow([*task.space.config(c).values(), z, s, v, t])
    cpu: dict[int, list[float]] = {}
    for _, z, _, _, t, _ in results:
        cpu.setdefault(z, []).append(t)
    full0 = np.array([score[c, n, 0] for c in ids])
    full1 = np.array([score[c, n, 1] for c in ids])
    ref = (full0 + full1) / 2
    print(f"{task.name}: {len(ids)} configs, n={n}, overrides {args.set}")
    for z in sorted(cpu):
        print(f"  z={z:2d}: median training CPU {np.median(cpu[z]):.2f} s per cell")
    print(f"  full-z {task.metric}: best {ref.min():.4f} median {np.median(ref):.4f} "
          f"worst {ref.max():.4f}; mean |seed diff| {np.mean(np.abs(full0 - full1)):.4f}")
    print(f"  seed-vs-seed Spearman at full z: {spearmanr(full0, full1)[0]:.3f}")
    for z in args.z:
        if z == n:
            continue
        low = np.array([score[c, z, 0] for c in ids])
        print(f"  Spearman z={z} (seed 0) vs full (seed 1): {spearmanr(low, full1)[0]:.3f}; "
              f"vs mean of seeds: {spearmanr(low, ref)[0]:.3f}")
    if len(ids) == len(task.space):  # the whole grid: every hyperparameter's effect
        effects = effects_from_scores([task.space.config(c) for c in ids], full0, full1,
                                      names=task.space.names)
        print(effects.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
