"""``frozenbench report BENCHMARK``: one self-contained HTML page (plots embedded) with the
table's description, cost per z, correlations with intervals, the paper's numbers beside the
table's and an HPO comparison; see :mod:`frozenbench.report`."""

from __future__ import annotations

import argparse

from frozenbench.cli.args import add_benchmark, positive, raise_problems

#: Where ``report`` writes without ``--out``.
DEFAULT_OUT = "report.html"


def configure(parser: argparse.ArgumentParser) -> None:
    add_benchmark(parser)
    parser.add_argument("--out", default=None,
                        help="the HTML file to write (default: report.html in the current "
                             "directory; never a name taken from the table)")
    parser.add_argument("--runs", type=int, default=10, help="replay seeds per method")
    parser.add_argument("--budget", type=float, default=100.0,
                        help="replay budget in units of the median full-fidelity cost (default "
                             "100: regret against budget from 0.1x to 100x, tables at 1x, 10x "
                             "and 100x)")
    parser.add_argument("--workers", type=int, default=4, help="simulated workers")
    parser.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                        help="bootstrap resamples for the intervals (>= 10)")


def run(args: argparse.Namespace) -> int:
    from frozenbench.registry import load
    from frozenbench.report import write_report

    problems: list[str] = []
    positive(problems, "--runs", args.runs)
    positive(problems, "--budget", args.budget)
    positive(problems, "--workers", args.workers)
    if args.bootstrap < 10:
        problems.append(f"--bootstrap {args.bootstrap} must be >= 10")
    raise_problems(problems)
    bench = load(args.benchmark)
    # The default is fixed: a path built from the table's contents could point anywhere.
    path = write_report(bench, args.out or DEFAULT_OUT, runs=args.runs,
                        n_boot=args.bootstrap, budget_units=args.budget,
                        n_workers=args.workers)
    print(f"wrote {path}")
    return 0
