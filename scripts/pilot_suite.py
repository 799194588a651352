"""Pilot of a suite task before its table is generated: cost, ceiling, low-z ranking, effects.

Trains ``--configs`` configs of the task's sampled design (a seeded random subset of its ids)
at z in {1, n//2, n} with seeds 0 and 1, every call one ``run_cells`` on one torch thread (the
stacked runner; the configs of one optimizer and shape train as one stack), and prints per task:

* ``cpu_s[z]``: CPU seconds per cell (``time.process_time`` around ``run_cells``, divided by the
  configs). The pilot's stacks are small (its configs spread over the shape groups), so this is
  an UPPER bound of the cost in the generated table, where stacks hold up to 32 configs.
Each of the following is printed for the validation error and the validation loss:

* ``ceiling``: Spearman of the final score between seeds 0 and 1 at full z.
* ``rho_z1``: Spearman between the seed-mean final score at z = 1 and at full z.
* ``effect/noise`` per hyperparameter: the configs' seed-mean full-z scores are put in bins of
  the hyperparameter (its values for a choice, tertiles of its value for a range); the effect is
  the range (max - min) of the bin means; the noise is the mean |seed 0 - seed 1| of a cell
  (as in :mod:`frozenbench.analysis.effects`). ``chance/noise`` is the same range for randomly
  permuted values of the hyperparameter (mean of 200 permutations): with few configs the other
  hyperparameters alone spread the bin means, so an effect is convincing only well above it.
* ``core_h``: the projected core-hours of the full table: per-cell cost interpolated linearly
  over z, times the design's configs x 2 seeds at every z, plus one thaw cell per (config, seed)
  charged the mean cost over z.

The score is the task's metric at the last epoch (a diverged cell, whose score is not finite,
counts as 1.0 for an error and the worst finite score for a loss).

    PYTHONPATH=. nice -n 5 python scripts/pilot_suite.py fb-letter-mlp fb-letter-resmlp
    PYTHONPATH=. nice -n 5 python scripts/pilot_suite.py --all-tabular --configs 24
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import spearmanr

from frozenbench.analysis.effects import sampled_effects_from_scores
from frozenbench.tasks import Task, get_task, run_cells

SEEDS = (0, 1)
#: Both scores of a classification cell: the pilot reports each.
METRICS = ("val_error", "val_loss")


@dataclass(frozen=True)
class Pilot:
    """The pilot's raw results: per metric and z, the scores (configs x seeds), and per z the
    CPU s per cell."""

    task: Task
    config_ids: list[int]
    scores: dict[str, dict[int, np.ndarray]]
    cpu_s: dict[int, float]


def score(cell: object, metric: str) -> float:
    value = float(getattr(cell.records[-1], metric))  # type: ignore[attr-defined]
    return value if np.isfinite(value) else (1.0 if metric.endswith("error") else np.inf)


def train(task: Task, n_configs: int, seed: int) -> Pilot:
    ids = task.space.subset(min(n_configs, len(task.space)), seed)
    configs = [task.space.config(i) for i in ids]
    n = task.n_layers
    scores: dict[str, dict[int, np.ndarray]] = {m: {} for m in METRICS}
    cpu = {}
    for z in sorted({1, n // 2, n}):
        per_seed, spent = [], 0.0
        for s in SEEDS:
            t0 = time.process_time()
            per_seed.append(run_cells(task, configs, z, s, threads=1))
            spent += time.process_time() - t0
        for m in METRICS:
            got = np.array([[score(c, m) for c in cells] for cells in per_seed]).T
            finite = got[np.isfinite(got)]
            got[~np.isfinite(got)] = finite.max() if finite.size else 1.0
            scores[m][z] = got
        cpu[z] = spent / (len(configs) * len(SEEDS))
    return Pilot(task, ids, scores, cpu)


def effects(p: Pilot, metric: str,
            rng: np.random.Generator) -> dict[str, tuple[float, float]]:
    """Each hyperparameter's (effect, shuffled) over seed noise at full z
    (:func:`frozenbench.analysis.effects.sampled_effects_from_scores`)."""
    full = p.scores[metric][p.task.n_layers]
    configs = [p.task.space.config(i) for i in p.config_ids]
    out = sampled_effects_from_scores(configs, full[:, 0], full[:, 1], p.task.space.names,
                                      seed=int(rng.integers(2**31)))
    return {r["hyperparameter"]: (r["effect_over_noise"], r["shuffled_over_noise"])
            for r in out.to_dict("records")}


def core_hours(p: Pilot, seeds: int = 2) -> float:
    zs = list(p.task.fidelities.z)
    known = sorted(p.cpu_s)
    per_z = np.interp(zs, known, [p.cpu_s[z] for z in known])
    configs = len(p.task.space)
    return float((per_z.sum() + per_z.mean()) * configs * seeds / 3600)


def report(p: Pilot, rng: np.random.Generator) -> str:
    n = p.task.n_layers
    cost = " ".join(f"z{z}={s:.3f}" for z, s in sorted(p.cpu_s.items()))
    lines = [f"{p.task.name}: n={n} epochs={p.task.n_records} configs={len(p.config_ids)} "
             f"metric={p.task.metric} | cpu_s/cell {cost} | core_h {core_hours(p):.2f}"]
    for m in METRICS:
        full = p.scores[m][n]
        ceiling = spearmanr(full[:, 0], full[:, 1]).statistic
        rho1 = spearmanr(p.scores[m][1].mean(axis=1), full.mean(axis=1)).statistic
        eff = " ".join(f"{h}={e:.1f}({c:.1f})" for h, (e, c) in effects(p, m, rng).items())
        lines.append(f"  {m}: ceiling {ceiling:.3f} | rho_z1 {rho1:.3f} | best "
                     f"{full.mean(axis=1).min():.3f} median {np.median(full.mean(axis=1)):.3f}"
                     f" | effect/noise(chance/noise) {eff}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tasks", nargs="*")
    parser.add_argument("--all-tabular", action="store_true")
    parser.add_argument("--configs", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0, help="seed of the config subset")
    args = parser.parse_args(argv)
    names = list(args.tasks)
    if args.all_tabular:
        from frozenbench.tasks.suite_tabular import TABULAR_TASKS
        names += [t.name for t in TABULAR_TASKS]
    rng = np.random.default_rng(0)
    for name in names:
        print(report(train(get_task(name), args.configs, args.seed), rng), flush=True)


if __name__ == "__main__":
    main()
