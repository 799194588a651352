"""``frozenbench report BENCHMARK --out DIR``: one self-contained HTML page (plots embedded),
``DIR/report.html``, with the table's description, cost per z, correlations with intervals,
the paper's numbers beside the table's and an HPO comparison; see :mod:`frozenbench.report`.

Like every ``--out``, ``DIR`` is a directory (created if new); without it the page is
``./report.html``, a name that never depends on the table's contents.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from frozenbench.cli.args import (
    add_benchmark,
    add_bootstrap,
    add_out,
    bootstrap_problem,
    out_problem,
    raise_problems,
)
from frozenbench.sim.budget import DEFAULT_BUDGET_UNITS

#: The page ``report`` writes into ``--out DIR``.
PAGE = "report.html"
#: Where ``report`` writes without ``--out``: the current directory.
DEFAULT_OUT = "."


def configure(parser: argparse.ArgumentParser) -> None:
    add_benchmark(parser)
    add_out(parser, [PAGE], extra="; default: the current directory (never a name taken from "
                                  "the table)")
    parser.add_argument("--runs", type=int, default=10, help="replay seeds per method")
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET_UNITS,
                        help="replay budget in units of the median full-fidelity cost (default "
                             f"{DEFAULT_BUDGET_UNITS:g}: regret against budget from 0.1x, tables "
                             "at 1x, 10x and 100x)")
    parser.add_argument("--workers", type=int, default=4, help="simulated workers")
    add_bootstrap(parser, seed=False, what="over configs and seeds")


def run(args: argparse.Namespace) -> int:
    from frozenbench.registry import load
    from frozenbench.report import write_report

    problems: list[str] = []  # the replay's own arguments: checked by write_report, at once
    out = args.out or DEFAULT_OUT
    for problem in (bootstrap_problem(args.bootstrap), out_problem(out, [PAGE])):
        if problem:
            problems.append(problem)
    raise_problems(problems, "frozenbench report")
    bench = load(args.benchmark)
    # The default is fixed: a path built from the table's contents could point anywhere.
    path = write_report(bench, str(Path(out) / PAGE), runs=args.runs, n_boot=args.bootstrap,
                        budget_units=args.budget, n_workers=args.workers)
    print(f"wrote {path}")
    return 0
