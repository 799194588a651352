"""``frozenbench list``: every benchmark you can load, one line each with its shape (read from
the manifests: :func:`frozenbench.benchmarks`), plus any directories given (one that is not a
benchmark directory is listed as unreadable, with the reason)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from frozenbench.info import BenchmarkInfo

#: The columns of the listing, in order.
COLUMNS = ("name", "where", "family", "n", "configs", "seeds", "epochs", "z", "metric", "size")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", help="benchmark directories to describe as well")


def run(args: argparse.Namespace) -> int:
    from frozenbench.errors import FrozenbenchError
    from frozenbench.info import describe
    from frozenbench.registry import benchmarks

    listed = benchmarks()
    rows = [_row(b) for b in listed if b.where in ("shipped", "checkout")]
    unreadable: list[str] = []
    for path in args.paths:
        try:
            rows.append(_row(describe(path, where="directory", name=str(path))))
        except (FrozenbenchError, OSError) as exc:
            unreadable.append(f"{path}: unreadable: {exc}")
    rows += [_row(b) for b in listed if b.where == "hub"]
    if not rows and not unreadable:
        print("no benchmarks found (none shipped in this installation; pass a directory)")
        return 0
    if rows:
        print(format_table(COLUMNS, rows))
    for line in unreadable:
        print(line)
    if any(b.where == "hub" and not b.known for b in listed):
        print("(?: a Hub table not downloaded yet; frozenbench download NAME fetches it)")
    return 0


def _span(values: Sequence[int] | None) -> str:
    """``(1, 2, 3)`` -> ``1..3``; a gap or a single value lists them."""
    if values is None:
        return "?"
    if len(values) > 2 and list(values) == list(range(values[0], values[-1] + 1)):
        return f"{values[0]}..{values[-1]}"
    return ",".join(str(v) for v in values)


def _row(b: BenchmarkInfo) -> tuple[str, ...]:
    from frozenbench.sim.workers import format_bytes

    def known(value: object) -> str:
        return "?" if value is None else str(value)

    configs = "?" if b.n_configs is None else (
        str(b.n_configs) if b.n_configs == b.grid_size else f"{b.n_configs}/{b.grid_size}")
    return (b.name, b.where, known(b.family), known(b.n_layers), configs, _span(b.seeds),
            _span(b.epochs), _span(b.z), known(b.metric),
            "?" if b.size_bytes is None else format_bytes(b.size_bytes))


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns separated by two spaces, under a header.

    >>> print(format_table(("name", "n"), [("a", "10"), ("bcd", "5")]))
    name  n
    a     10
    bcd   5
    """
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(f"{c:<{w}}" for c, w in zip(r, widths, strict=True)).rstrip()
             for r in [header, *rows]]
    return "\n".join(lines)
