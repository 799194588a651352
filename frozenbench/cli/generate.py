"""``frozenbench generate run|status|merge|compact SPEC ...``: make a table with the generation
pipeline (:mod:`frozenbench.generation`, the ``generation`` extra).

    frozenbench generate run resnet18-cifar100 --executor slurm
    frozenbench generate status resnet18-cifar100
    frozenbench generate merge resnet18-cifar100 --dest tables/resnet18-cifar100
    frozenbench generate compact resnet18-cifar100

SPEC is a TOML file or the name of a grid spec shipped in ``frozenbench/generation/grids``.
``--out`` is the directory of the shards (default: the spec's ``output``); ``merge`` writes the
table into ``--dest`` and nowhere else. The pipeline returns values; this module prints them.
Exit status: 0 when done, 1 when cells are left pending or failed (or on a frozenbench error).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from frozenbench.cell import Cell
    from frozenbench.generation.executors import Progress
    from frozenbench.generation.store import BadShard

SPEC_HELP = "grid spec: a TOML file or the name of a shipped spec (e.g. debug-mnist)"
OUT_HELP = "directory of the shards (default: the spec's `output`)"
#: failed cells listed by ``status`` (the rest are counted).
SHOW_FAILED = 10


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="generate_command", required=True, metavar="ACTION")

    run = sub.add_parser("run", help="train every cell without a shard (idempotent, resumable)")
    run.add_argument("spec", metavar="SPEC", help=SPEC_HELP)
    run.add_argument("--executor", choices=["slurm", "local", "debug"], default="local")
    run.add_argument("--out", metavar="DIR", help=OUT_HELP)
    run.add_argument("--max-jobs", type=int, default=None,
                     help="jobs running at once (SLURM array parallelism; local processes)")
    run.add_argument("--no-wait", action="store_true",
                     help="submit and return; rerun `status` to follow")
    run.add_argument("--quiet", action="store_true", help="no progress bars")

    st = sub.add_parser("status", help="ok / diverged / failed / pending counts")
    st.add_argument("spec", metavar="SPEC", help=SPEC_HELP)
    st.add_argument("--out", metavar="DIR", help=OUT_HELP)

    mg = sub.add_parser("merge", help="shards -> validated table.parquet + manifest.json")
    mg.add_argument("spec", metavar="SPEC", help=SPEC_HELP)
    mg.add_argument("--out", metavar="DIR", help=OUT_HELP)
    mg.add_argument("--dest", required=True, metavar="DIR",
                    help="directory of the merged table (new, or holding this benchmark's table)")
    mg.add_argument("--allow-missing", action="store_true",
                    help="merge despite failed/missing cells; they are listed in the manifest")
    mg.add_argument("--allow-code-versions", action="store_true",
                    help="merge shards from uncommitted or several code versions (recorded)")
    mg.add_argument("--quiet", action="store_true", help="no progress bar")

    cp = sub.add_parser("compact", help="move finished per-cell shards into one new pack")
    cp.add_argument("spec", metavar="SPEC", help=SPEC_HELP)
    cp.add_argument("--out", metavar="DIR", help=OUT_HELP)

    pf = sub.add_parser("prefetch", help="download and tokenize each dataset once into the "
                        "shared cache ($FROZENBENCH_DATA) before any job starts")
    pf.add_argument("spec", metavar="SPEC", nargs="+",
                    help=SPEC_HELP + "; or a task name")


def format_counts(counts: Mapping[str, int]) -> str:
    """``{"ok": 8, "failed": 1}`` -> ``'ok 8, failed 1'``.

    >>> format_counts({"ok": 8, "diverged": 4, "failed": 0, "pending": 0})
    'ok 8, diverged 4, failed 0, pending 0'
    """
    return ", ".join(f"{k} {v}" for k, v in counts.items())


class ProgressBar:
    """A bar of cells on stderr, drawn from the pipeline's progress callbacks (the library
    reports values; the command line draws them)."""

    def __init__(self, desc: str = "cells done") -> None:
        self.desc = desc
        self.bar: Any = None

    def __call__(self, progress: Progress) -> None:
        """A run's callback (:class:`~frozenbench.generation.executors.Progress`)."""
        self.count(progress.done, progress.total)

    def count(self, done: int, total: int) -> None:
        """``done`` of ``total`` cells (the merge's callback)."""
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=done, desc=self.desc, unit="cell",
                            file=sys.stderr)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run(args: argparse.Namespace) -> int:
    from frozenbench.generation.spec import load_spec

    if args.generate_command == "prefetch":
        return _prefetch(args.spec)
    spec = load_spec(args.spec)
    action = {"run": _run, "status": _status, "merge": _merge, "compact": _compact}
    return action[args.generate_command](spec, args)


def _run(spec: Any, args: argparse.Namespace) -> int:
    from frozenbench.generation.launch import run

    if args.max_jobs is not None and args.max_jobs < 1:
        from frozenbench.errors import InvalidValueError

        raise InvalidValueError(f"--max-jobs {args.max_jobs}: must be at least 1")
    bar = None if args.quiet or args.no_wait else ProgressBar()
    res = run(spec, args.executor, out=args.out, max_jobs=args.max_jobs,
              wait=not args.no_wait, on_progress=bar)
    if bar is not None:
        bar.close()
    for bad in res.quarantined:
        print(f"warning: {set_aside(bad, res.retrained)}: {bad}", file=sys.stderr)
    for err in res.job_errors:
        print(f"warning: {err}", file=sys.stderr)
    for lock in res.locks:
        print(f"warning: pending, locked {lock}", file=sys.stderr)
    if args.no_wait:
        ids = sorted({str(j.job_id).split("_")[0] for j in res.jobs})
        print(f"submitted {res.submitted_cells} cells in {len(res.jobs)} jobs {ids}")
        return 0
    print(f"{spec.benchmark}: {format_counts(res.counts or {})} (shards in {res.out})")
    if res.complete:
        return 0
    print(f"frozenbench generate run: error: {_unfinished(spec, res.out)}", file=sys.stderr)
    return 1


def _unfinished(spec: Any, out: Path) -> str:
    """Why a run ended with cells left: how many failed (the first one's error) or are pending,
    and what to do."""
    from frozenbench.generation.launch import status

    st = status(spec, out)
    failed, pending = st.counts.get("failed", 0), st.counts.get("pending", 0)
    first = f" (first: {st.failures[0].cell}: {st.failures[0].error})" if st.failures else ""
    return (f"{failed} cell(s) failed{first} and {pending} are pending; `frozenbench generate "
            f"status` lists them, and the same command trains them again")


def _status(spec: Any, args: argparse.Namespace) -> int:
    from frozenbench.generation.launch import status

    st = status(spec, args.out)
    print(f"{st.benchmark} ({st.out}): {st.cells} cells: {format_counts(st.counts)}")
    for f in st.failures[:SHOW_FAILED]:
        print(f"  failed {f.cell} (attempts {f.attempts}): {f.error}")
    if len(st.failures) > SHOW_FAILED:
        print(f"  ... and {len(st.failures) - SHOW_FAILED} more failed cells in "
              f"{st.out / 'failed'}")
    for kind, items, note in (
            ("corrupt", st.corrupt, "`run` quarantines them and trains their cells again "
                                    "unless another verified copy holds them"),
            ("unreadable", st.unreadable, "not judged: this user cannot read them; `run` and "
                                          "`merge` stop until they are readable"),
            ("duplicate", st.duplicates, "a verified copy of each cell is used; `run` sets "
                                         "them aside")):
        for bad in items[:SHOW_FAILED]:
            print(f"  {kind} {bad}")
        if len(items) > SHOW_FAILED:
            print(f"  ... and {len(items) - SHOW_FAILED} more {kind} files")
        if items:
            print(f"  ({len(items)} {kind}: {note})")
    for lock in st.locks[:SHOW_FAILED]:
        print(f"  locked {lock}")
    if len(st.locks) > SHOW_FAILED:
        print(f"  ... and {len(st.locks) - SHOW_FAILED} more locked cells in {st.out / 'locks'}")
    trouble = st.counts.get("failed", 0) or st.corrupt or st.unreadable
    return 1 if trouble else 0


def set_aside(bad: BadShard, retrained: Collection[Cell]) -> str:
    """What ``run`` did with a stored file it moved to quarantine/, truthfully: whether the
    cell is trained again or another verified copy of it is used.

    >>> from pathlib import Path
    >>> from frozenbench.cell import Cell
    >>> from frozenbench.generation.store import BadShard
    >>> set_aside(BadShard(Cell(0, 1, 0), Path("x.diverged.parquet"), "duplicate", "duplicate"),
    ...           retrained=set())
    'set aside (a verified copy of the cell is used; nothing to train)'
    """
    if bad.kind == "duplicate":
        return "set aside (a verified copy of the cell is used; nothing to train)"
    if bad.cell is None:
        return "quarantined (failed verification; its sound cells were kept as shards)"
    if bad.cell in retrained:
        return "quarantined (failed verification); the cell is trained again"
    return "quarantined (failed verification); a verified copy of the cell is used"


def _merge(spec: Any, args: argparse.Namespace) -> int:
    from frozenbench.generation.merge import merge

    bar = None if args.quiet else ProgressBar("merging shards")
    manifest = merge(spec, dest=args.dest, out=args.out, allow_missing=args.allow_missing,
                     allow_code_versions=args.allow_code_versions,
                     on_progress=None if bar is None else bar.count)
    if bar is not None:
        bar.close()
    print(f"{manifest.benchmark}: {manifest.rows} rows, cells {dict(manifest.cells)} "
          f"-> {args.dest}")
    return 0


def _compact(spec: Any, args: argparse.Namespace) -> int:
    from frozenbench.generation.store import ShardStore

    pack = ShardStore(spec.output_dir(args.out)).compact()
    print(f"{spec.benchmark}: " + (f"compacted into {pack}" if pack else "no shard to compact"))
    return 0


def _prefetch(names: list[str]) -> int:
    from frozenbench.generation.prefetch import prefetch_name

    for name in names:
        done = prefetch_name(name)
        print(f"{done.task}: {', '.join(str(p) for p in done.paths) or 'nothing to fetch'}")
    return 0
