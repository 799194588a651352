"""``python -m generation``: run, status and merge a grid spec.

    python -m generation run SPEC --executor slurm|local|debug [--out DIR] [--max-jobs N]
    python -m generation status SPEC [--out DIR]
    python -m generation merge SPEC [--out DIR] [--dest DIR] [--allow-missing]
                                    [--allow-code-versions]
    python -m generation compact SPEC [--out DIR]

SPEC is a TOML file or the name of a spec in generation/grids (e.g. ``debug-mnist``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from frozenbench.errors import FrozenbenchError
from generation.spec import available_specs, load_spec


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m generation", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    spec_help = f"grid spec: a TOML file or one of {available_specs()}"

    run = sub.add_parser("run", help="train every cell without a shard (idempotent, resumable)")
    run.add_argument("spec", help=spec_help)
    run.add_argument("--executor", choices=["slurm", "local", "debug"], default="local")
    run.add_argument("--out", help="output directory (default: the spec's `output`)")
    run.add_argument("--max-jobs", type=int, default=None,
                     help="jobs running at once (SLURM array parallelism; local processes)")
    run.add_argument("--no-wait", action="store_true",
                     help="submit and return (SLURM); rerun `status` to follow")
    run.add_argument("--quiet", action="store_true", help="no progress bars")

    st = sub.add_parser("status", help="done / failed / diverged / pending counts")
    st.add_argument("spec", help=spec_help)
    st.add_argument("--out")

    mg = sub.add_parser("merge", help="shards -> validated table.parquet + manifest.json")
    mg.add_argument("spec", help=spec_help)
    mg.add_argument("--out")
    mg.add_argument("--dest", help="destination (default: frozenbench/data/<benchmark>/)")
    mg.add_argument("--allow-missing", action="store_true",
                    help="merge despite failed/missing cells; they are listed in the manifest")
    mg.add_argument("--allow-code-versions", action="store_true",
                    help="merge shards from uncommitted or several code versions (recorded)")

    cp = sub.add_parser("compact", help="move finished per-cell shards into one new pack")
    cp.add_argument("spec", help=spec_help)
    cp.add_argument("--out")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (1 when cells are left pending or failed)."""
    args = build_parser().parse_args(argv)
    try:
        spec = load_spec(args.spec)
        if args.command == "run":
            from generation.launch import run

            res = run(spec, args.executor, out=args.out, max_jobs=args.max_jobs,
                      wait=not args.no_wait, progress=not args.quiet)
            for err in res.job_errors:
                print(f"warning: {err}", file=sys.stderr)
            if args.no_wait and args.executor == "slurm":
                ids = sorted({str(j.job_id).split("_")[0] for j in res.jobs})
                print(f"submitted {res.submitted_cells} cells in {len(res.jobs)} jobs {ids}")
                return 0
            print(f"{spec.benchmark}: " + ", ".join(f"{k} {v}" for k, v in res.counts.items())
                  + f" (shards in {res.out})")
            return 0 if res.complete else 1
        if args.command == "status":
            from generation.launch import status

            counts = status(spec, args.out)
            return 0 if counts["failed"] == 0 else 1
        if args.command == "compact":
            from generation.store import ShardStore

            pack = ShardStore(spec.output_dir(args.out)).compact()
            print(f"{spec.benchmark}: " + (f"compacted into {pack}" if pack else "no shard"))
            return 0
        from generation.merge import default_dest, merge

        manifest = merge(spec, out=args.out, dest=args.dest, allow_missing=args.allow_missing,
                         allow_code_versions=args.allow_code_versions)
        dest = args.dest or default_dest(spec.benchmark)
        print(f"{manifest.benchmark}: {manifest.rows} rows, cells {dict(manifest.cells)} "
              f"-> {dest}")
        return 0
    except FrozenbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
