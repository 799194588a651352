"""Does a table tell HPO methods apart? Final regret of random search at full fidelity against
the best multi-fidelity method, at 1x, 3x and 10x the median full-fidelity cost.

For each shipped table (or the ones named), each method replays ``--runs`` seeds with 4
workers on the table's default clock; the final regret (incumbent's full-fidelity score minus
the best config's, both on the seeds common to every config) gets a 95% confidence interval
over runs (mean +- 1.96 standard errors). A table discriminates when, at one budget at least,
the interval of random:full and that of the best multi-fidelity method do not overlap.

    python scripts/discrimination.py --runs 100
"""

from __future__ import annotations

import argparse
import math

import numpy as np

import frozenbench as fb

METHODS = ("random:full", "hyperband:z", "hyperband:epoch", "hyperband:z+epoch",
           "asha:z+epoch", "asha:z", "asha:epoch")
BUDGETS = (1.0, 3.0, 10.0)


def final_regrets(bench: fb.Benchmark, method: str, budget: float, runs: int) -> np.ndarray:
    optimizer, _, fidelity = method.partition(":")
    out = []
    for seed in range(runs):
        try:
            traj = fb.simulate(bench, optimizer, fidelity, n_workers=4, budget=budget,
                               seed=seed)
        except fb.InvalidValueError as exc:  # the budget ends before a first job: no incumbent
            if "before any job finished" not in str(exc):
                raise
            out.append(math.nan)
            continue
        out.append(float(traj["regret"].iloc[-1]) if len(traj) else math.nan)
    return np.asarray(out)


def interval(x: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95% interval over the runs that found an incumbent (NaN when none did)."""
    x = x[np.isfinite(x)]
    if not len(x):
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    half = 1.96 * float(x.std(ddof=1)) / math.sqrt(len(x)) if len(x) > 1 else math.inf
    return mean, mean - half, mean + half


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("benchmarks", nargs="*", help="default: every shipped table")
    p.add_argument("--runs", type=int, default=100)
    args = p.parse_args()
    from frozenbench.registry import shipped

    for name in args.benchmarks or shipped():
        bench = fb.load(name)
        full = float(np.nanmedian(bench.cost_array()[:, -1, -1]))
        print(f"\n{name}: median full-fidelity cost {full:.3g} ({bench.default_cost}); "
              f"final regret over {args.runs} runs, mean [95% CI]")
        verdicts = []
        for k in BUDGETS:
            regrets = {m: final_regrets(bench, m, k * full, args.runs) for m in METHODS}
            rows = {m: interval(r) for m, r in regrets.items()}
            best = min((m for m in METHODS if m != "random:full" and math.isfinite(rows[m][0])),
                       key=lambda m: rows[m][0])
            rnd = rows["random:full"]
            separate = rows[best][2] < rnd[1] or rnd[2] < rows[best][1]
            verdicts.append(separate)
            cells = "  ".join(f"{m} {v[0]:.4f} [{v[1]:.4f}, {v[2]:.4f}]"
                              for m, v in rows.items())
            print(f"  {k:4g}x: {cells}")
            empty = {m: int(np.isnan(r).sum()) for m, r in regrets.items() if np.isnan(r).any()}
            if empty:
                print(f"        runs without any finished job (left out): {empty}")
            print(f"        best multi-fidelity: {best}; random:full vs {best}: "
                  f"{'SEPARATE' if separate else 'overlap'}")
        print(f"  {name}: {'discriminates' if any(verdicts) else 'DOES NOT discriminate'} "
              f"(intervals separate at {sum(verdicts)} of {len(BUDGETS)} budgets)")


if __name__ == "__main__":
    main()
