"""The ``frozenbench`` command line.

One grammar: the benchmark (a shipped name, a path such as ``./dir``, or a Hub reference
``hub:namespace/name@revision``) is the first positional argument of every subcommand that reads
one; a config is ``NAME=VALUE`` pairs, ``--config JSON`` or ``--config-id N``; ``--seed`` is a
cell's training seed, and other randomness has its own name (``--bootstrap-seed``,
``--sample-seed``); the bootstrap count is ``--bootstrap``; results go to the directory ``--out
DIR``; ``--json`` prints one JSON object instead of text (see :mod:`frozenbench.cli.args`).

Exit status: 0 on success, 1 for a frozenbench error (a bad value, an unknown name, a failed
check) or a failed result, 2 for a usage error (argparse).

One module per subcommand in this package; each defines ``configure(parser)`` and
``run(args) -> int`` and imports anything heavy inside ``run`` so that ``frozenbench --help``
stays fast and torch-free. A module may set ``ADD_HELP = False`` to pass ``--help`` on.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence

from frozenbench.errors import FrozenbenchError

#: subcommand -> (module in frozenbench.cli, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "list": ("list_", "list shipped and published benchmarks"),
    "query": ("query", "print the metrics of one cell or its learning curve"),
    "simulate": ("simulate", "replay HPO optimizers on a table with a simulated clock"),
    "suite": ("suite", "replay optimizers across tables: per-task and aggregate regret and ranks"),
    "correlate": ("correlate", "rank correlation of each fidelity with full training"),
    "report": ("report", "write one self-contained HTML report of a benchmark"),
    "verify": ("verify", "re-run cells live and compare them with the table"),
    "run-cell": ("run_cell", "train one cell (task, config, z, seed) and print its curve"),
    "download": ("download", "download a benchmark from the Hugging Face Hub and verify it (a "
                             "shipped one: say where it is)"),
    "publish": ("publish", "upload a benchmark table and its card to the Hugging Face Hub"),
    "card": ("card", "write the dataset card of a benchmark from its manifest"),
    "generate": ("generate", "make a table on a cluster: generate run|status|merge SPEC ..."),
}


def _available() -> dict[str, tuple[str, str]]:
    out = {}
    for name, (module, help_) in COMMANDS.items():
        if importlib.util.find_spec(f"frozenbench.cli.{module}") is not None:
            out[name] = (module, help_)
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="frozenbench",
        description="frozenbench: layer-freezing HPO benchmark tables, queries and replays.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_) in _available().items():
        mod = importlib.import_module(f"frozenbench.cli.{module}")
        p = sub.add_parser(name, help=help_, description=help_,
                           add_help=getattr(mod, "ADD_HELP", True))
        mod.configure(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``frozenbench`` command."""
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args))
    except FrozenbenchError as exc:
        print(f"frozenbench {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a file the command reads or writes: --out, a full disk, ...
        print(f"frozenbench {args.command}: error: {os_error(exc)}", file=sys.stderr)
        return 1


def os_error(exc: OSError) -> str:
    """An operating-system error as one line naming the file(s) and the reason, e.g.
    ``cannot use /proc/x/out.csv: No such file or directory (errno 2)``.

    >>> os_error(FileNotFoundError(2, "No such file or directory", "/proc/x"))
    'cannot use /proc/x: No such file or directory (errno 2)'
    """
    where = " -> ".join(str(f)[:300] for f in (exc.filename, exc.filename2) if f is not None)
    reason = exc.strerror or str(exc) or type(exc).__name__
    code = f" (errno {exc.errno})" if exc.errno is not None else ""
    return f"cannot use {where}: {reason}{code}" if where else f"{reason}{code}"


if __name__ == "__main__":
    sys.exit(main())
