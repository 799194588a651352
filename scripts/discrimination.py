"""Does a table tell HPO methods apart? Final regret of random search at full fidelity against
the best multi-fidelity method, at 1x, 3x and 10x the median full-fidelity cost
(:mod:`frozenbench.analysis.discrimination`).

    python scripts/discrimination.py --runs 100
"""

from __future__ import annotations

import argparse

import frozenbench as fb
from frozenbench.analysis.discrimination import discrimination


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("benchmarks", nargs="*", help="default: every shipped table")
    p.add_argument("--runs", type=int, default=100)
    args = p.parse_args()
    for name in args.benchmarks or fb.benchmark_names():
        bench = fb.load(name)
        out = discrimination(bench, runs=args.runs)
        print(f"\n{name}: median full-fidelity cost {out.full_cost:.3g} ({bench.default_cost}); "
              f"final regret over {args.runs} runs, mean [95% CI]")
        for b in out.budgets:
            cells = "  ".join(f"{m} {e.value:.4f} [{e.low:.4f}, {e.high:.4f}]"
                              for m, e in b.regret.items())
            print(f"  {b.multiple:4g}x: {cells}")
            if b.empty:
                print(f"        runs without any finished job (left out): {b.empty}")
            print(f"        best multi-fidelity: {b.best}; random:full vs {b.best}: "
                  f"{'SEPARATE' if b.separate else 'overlap'}")
        print(f"  {name}: {'discriminates' if out.discriminates else 'DOES NOT discriminate'} "
              f"(intervals separate at {sum(b.separate for b in out.budgets)} of "
              f"{len(out.budgets)} budgets)")


if __name__ == "__main__":
    main()
