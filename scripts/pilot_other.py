"""Pilot of a suite table before it is generated: cost per cell with the stacked runner, the
seed-vs-seed ceiling, how well z=1 ranks, and each hyperparameter's effect against seed noise.

    python scripts/pilot_other.py fb-cora-gcn --configs 16 --stack 16

Cost: the first ``--configs`` configs of the table's Sobol design trained in one stack (one
torch thread) at z = 1, the middle z and z = n with seed 0, and at z = n with seed 1; a cell's
cost is its training plus evaluation CPU time (``train_cpu_s + eval_cpu_s`` of its last
record), averaged over the configs; the per-cell mean over z interpolates linearly between the
three measured z. Quality: Spearman of the final score between seeds 0 and 1 at z = n (the
ceiling), and of z = 1 (seed 0) against z = n (mean of both seeds). Effects: one hyperparameter
at a time around the design's centre (a numeric one at the low and high end of its range, a
categorical one at each choice), at z = n with seeds 0 and 1; its effect is the largest
difference of the seed-mean score between its settings and the centre, over the seed noise
(the mean absolute difference between the seeds over every pilot config at z = n).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from frozenbench.space import Sample, SearchSpace
from frozenbench.tasks import Task, get_task
from frozenbench.tasks.runner import run_cells


def centre(space: SearchSpace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for h in space.hyperparameters:
        if h.type == "categorical":
            out[h.name] = h.values[0]
        elif h.log:
            out[h.name] = math.sqrt(float(h.low) * float(h.high))  # type: ignore[arg-type]
        else:
            out[h.name] = (float(h.low) + float(h.high)) / 2  # type: ignore[arg-type]
    return out


def one_at_a_time(space: SearchSpace) -> list[tuple[str, dict[str, Any]]]:
    """The centre (named "") and, per hyperparameter, the centre with it at each end."""
    base = centre(space)
    out: list[tuple[str, dict[str, Any]]] = [("", base)]
    for h in space.hyperparameters:
        settings = h.values if h.type == "categorical" else (h.low, h.high)
        for v in settings:
            out.append((h.name, {**base, h.name: v}))
    return out


def with_configs(task: Task, configs: list[dict[str, Any]]) -> Task:
    """The task with a design holding exactly ``configs`` (inactive values filled)."""
    from frozenbench.space import fill_inactive

    by_name = {h.name: h for h in task.space.hyperparameters}
    rows = []
    for c in configs:
        filled = fill_inactive(dict(c), task.space.conditions, by_name)
        rows.append(tuple(filled[n] for n in task.space.names))
    unique = list(dict.fromkeys(rows))
    space = SearchSpace(task.space.hyperparameters, task.space.conditions,
                        Sample(tuple(unique), "sobol", -1))
    return dataclasses.replace(task, space=space)


def cost(cell: Any) -> float:
    last = cell.records[-1]
    return float(last.train_cpu_s + last.eval_cpu_s)


def score(task: Task, cell: Any, metric: str | None = None) -> float:
    value = float(getattr(cell.records[-1], metric or task.metric))
    return value if math.isfinite(value) and cell.status == "ok" else float("nan")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("task")
    p.add_argument("--configs", type=int, default=16)
    p.add_argument("--no-effects", action="store_true")
    args = p.parse_args()
    task = get_task(args.task)
    n = task.n_layers
    configs = [task.space.config(i) for i in range(args.configs)]
    t0 = time.perf_counter()
    runs = {}
    for z, seed in ((1, 0), ((n + 1) // 2, 0), (n, 0), (n, 1)):
        runs[z, seed] = run_cells(task, configs, z, seed, threads=1)
    per_z = {z: float(np.mean([cost(c) for c in runs[z, 0]])) for z in (1, (n + 1) // 2, n)}
    zs = sorted(per_z)
    mean_cost = float(np.mean(np.interp(range(1, n + 1), zs, [per_z[z] for z in zs])))
    a = np.array([score(task, c) for c in runs[n, 0]])
    b = np.array([score(task, c) for c in runs[n, 1]])
    low = np.array([score(task, c) for c in runs[1, 0]])
    ok = np.isfinite(a) & np.isfinite(b) & np.isfinite(low)
    out: dict[str, Any] = {
        "task": task.name, "n": n, "configs": args.configs,
        "cpu_s_per_cell": {str(z): round(v, 3) for z, v in per_z.items()},
        "cpu_s_per_cell_mean_over_z": round(mean_cost, 3),
        "core_hours_table": round(mean_cost * len(task.space) * n * 2 / 3600, 2),
        "spearman_seed": round(float(spearmanr(a[ok], b[ok])[0]), 3),
        "spearman_z1_vs_full": round(float(spearmanr(low[ok], (a + b)[ok] / 2)[0]), 3),
        "spearman_seed_val_loss": round(float(spearmanr(
            [score(task, c, "val_loss") for c in runs[n, 0]],
            [score(task, c, "val_loss") for c in runs[n, 1]], nan_policy="omit")[0]), 3),
        "score_range": [round(float(np.nanmin((a + b) / 2)), 4),
                        round(float(np.nanmax((a + b) / 2)), 4)],
        "diverged": int((~ok).sum()),
    }
    noise = list(np.abs(a - b)[ok])
    if not args.no_effects:
        oat = one_at_a_time(task.space)
        probe = with_configs(task, [c for _, c in oat])
        cfgs = [c for _, c in oat]
        s0 = [score(probe, c) for c in run_cells(probe, cfgs, n, 0, threads=1)]
        s1 = [score(probe, c) for c in run_cells(probe, cfgs, n, 1, threads=1)]
        noise += [abs(x - y) for x, y in zip(s0, s1) if math.isfinite(x - y)]
        sigma = float(np.mean(noise))
        mid = (s0[0] + s1[0]) / 2
        effects: dict[str, list[float]] = {}
        for (name, _), x, y in zip(oat[1:], s0[1:], s1[1:]):
            effects.setdefault(name, [mid]).append((x + y) / 2)
        out["seed_noise"] = round(sigma, 4)
        out["effect_over_noise"] = {k: round((np.nanmax(v) - np.nanmin(v)) / sigma, 1)
                                    for k, v in effects.items()}
        out["oat_scores"] = {k: [round(x, 4) for x in v] for k, v in effects.items()}
    out["wall_s"] = round(time.perf_counter() - t0, 1)
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
