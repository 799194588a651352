"""The prepared GPU call (issue 13, points 4 and 5): CPU-scale tables packed on one GPU, then
the freezing-cost profile, in one run under one time budget.

Run it on the device machine (the `run` tool, ``timeout_s=600``) from the repository root;
nothing is installed there and nothing is fetched (no submitit, mlxtend or mnist1d: the data
comes from ``generation/portable/``)::

    set -o pipefail; mkdir -p "$OUT"; FROZENBENCH_CODE_VERSION=<commit> PYTHONUNBUFFERED=1 \\
        PYTHONPATH=. python3 scripts/gpu_prepared.py --out "$OUT" 2>&1 | tee "$OUT/gpu_prepared.log"

``<commit>``: ``git rev-parse --short=12 HEAD`` of a tree whose ``frozenbench/`` and
``scripts/`` have no uncommitted change (the device copy has no ``.git``, and the merge refuses
shards of an unknown or dirty code version: such a table is merged with the override, which its
manifest records). Within ``--budget`` seconds (570: the call's 600 s less a margin):

1. Checks before any work: the device, the specs, every table's data (package or portable).
2. Tables, in order (``--tables``: mnist1d-cnn-h200, then mnist-resnet-h200 with the time
   left, if at least ``--min-table`` s), until ``--budget`` less ``--reserve`` s: each one's
   isolated per-z cost profile alone on the GPU, then its cells in processes sharing the GPU,
   each training stacks of up to ``--stack`` cells of one z and seed as one stacked model
   (:mod:`frozenbench.generation.gpu_pack`, :mod:`frozenbench.tasks.stacked`), then, when
   complete, its merge into ``frozenbench/data/<benchmark>`` (default cost from the profile;
   CUDA peak memory per cell). Shards are compacted into a pack. Everything lands in
   ``$OUT/<benchmark>.tar`` with repository paths: ``tar -xf <benchmark>.tar`` at the
   repository root, then commit the packs (and the table). A table cut short by the budget
   leaves its packs: the next run resumes it.
3. Point 4: ``scripts/freezing_cost.py --device cuda --out $OUT/freezing_cost`` with the time
   that is left as its ``--time-budget`` (its own time guard skips what does not fit).
4. ``$OUT/gpu_prepared.json``: what ran, how long, the counts, the profiles' step times.

Exit status 0 when the first table is complete and point 4 succeeded, 1 otherwise, 2 when a
check failed before any work. Without a GPU the same script runs its CPU path, which the tests
run on a tiny spec: ``--device cpu --tables SPEC.toml --workers 2 --work DIR
--profile-warmup 1 --profile-iters 2 --freezing-cost-args "--plan cpu ..."``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from frozenbench.generation import gpu_pack, portable
from frozenbench.generation.cost_profile import CostProfile
from frozenbench.generation.merge import merge
from frozenbench.generation.spec import GridSpec, SpecError, load_spec
from frozenbench.generation.store import ShardStore
from frozenbench.provenance import code_version, is_clean

REPO = Path(__file__).resolve().parent.parent
DEFAULT_TABLES = ("mnist1d-cnn-h200", "mnist-resnet-h200")
SUMMARY = "gpu_prepared.json"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--out", default=os.environ.get("OUT"),
                        help="where the results go (default: $OUT; none: only --work)")
    parser.add_argument("--work", default=str(REPO),
                        help="root of generation/output/ and frozenbench/data/ (the repo)")
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    parser.add_argument("--tables", default=",".join(DEFAULT_TABLES),
                        help="comma list of specs (names or files), in order")
    parser.add_argument("--workers", type=int, help="processes per table (spec's concurrent)")
    parser.add_argument("--budget", type=float, default=570.0, help="seconds for everything")
    parser.add_argument("--reserve", type=float, default=180.0,
                        help="seconds of --budget kept for point 4 (it also gets what is left)")
    parser.add_argument("--min-table", type=float, default=60.0,
                        help="a table after the first starts only with this many seconds left")
    parser.add_argument("--stack", type=int, default=1024,
                        help="cells of one z and seed each worker trains as one stacked model")
    parser.add_argument("--profile-warmup", type=int, default=100)
    parser.add_argument("--profile-iters", type=int, default=100)
    parser.add_argument("--freezing-cost-args", default="",
                        help="extra arguments for scripts/freezing_cost.py (shell words)")
    parser.add_argument("--no-freezing-cost", action="store_true", help="skip point 4")
    return parser


@dataclass(frozen=True)
class Clock:
    """The run's deadlines (time.monotonic values)."""

    started: float
    tables_until: float
    until: float

    def left(self, until: float | None = None) -> float:
        return (self.until if until is None else until) - time.monotonic()


def problems_before_work(args: argparse.Namespace) -> tuple[list[GridSpec], list[str]]:
    """The specs, and every problem found before any work (all reported together)."""
    problems: list[str] = []
    specs: list[GridSpec] = []
    for name in [t.strip() for t in args.tables.split(",") if t.strip()]:
        try:
            spec = load_spec(name)
            specs.append(spec)
        except SpecError as exc:
            problems.append(str(exc))
            continue
        why = portable.unavailable(spec.tasks_api().get_task(spec.task))
        if why:
            problems.append(why)
    if not specs and not problems:
        problems.append("--tables names no spec")
    try:
        gpu_pack.check_device(args.device)
    except Exception as exc:
        problems.append(str(exc))
    return specs, problems


def profile_lines(profile: CostProfile) -> list[str]:
    """The profile as lines: z, cost factors, median step time, spread, peak memory."""
    lines = [f"  isolated per-z profile on {profile.device_name} ({profile.timer}, "
             f"{profile.warmup}+{profile.iters} steps, {profile.elapsed_s:.0f} s):"]
    for e in sorted(profile.entries, key=lambda e: (str(e.factors), e.z)):
        factors = " ".join(f"{k}={v}" for k, v in e.factors.items())
        lines.append(f"    z={e.z:<2} {factors:<16} {1000 * e.step_s:8.3f} ms/step "
                     f"(p10 {1000 * e.step_s_p10:.3f}, p90 {1000 * e.step_s_p90:.3f})  "
                     f"peak {e.peak_memory_bytes / 2**20:8.2f} MiB")
    return lines


def run_table(spec: GridSpec, args: argparse.Namespace, clock: Clock,
              version_clean: bool) -> dict[str, Any]:
    """Profile, pack and (when complete) merge one table; tar it into --out."""
    work = Path(args.work)
    rel_out = Path("generation") / "output" / spec.benchmark
    rel_dest = Path("frozenbench") / "data" / spec.benchmark
    print(f"\n== table {spec.benchmark} ({spec.task}) on {args.device}, "
          f"{clock.left(clock.tables_until):.0f} s of table time left", flush=True)
    res = gpu_pack.pack(spec, device=args.device, workers=args.workers, out=work / rel_out,
                        time_limit_s=max(0.0, clock.left(clock.tables_until)),
                        profile_warmup=args.profile_warmup, profile_iters=args.profile_iters,
                        stack=args.stack,
                        on_progress=lambda p: print(f"  {p.line()}", flush=True),
                        report_every_s=15.0)
    if res.profile is not None:
        print("\n".join(profile_lines(res.profile)), flush=True)
    summary: dict[str, Any] = {
        "benchmark": spec.benchmark, "task": spec.task, "cells": res.cells,
        "trained": res.submitted, "counts": dict(res.counts), "seconds": round(res.elapsed_s, 1),
        "stopped_early": res.stopped_early, "errors": list(res.errors), "merged": False,
        "profile": None if res.profile is None else {
            "device": res.profile.device_name,
            "step_ms": {f"z{e.z} {' '.join(map(str, e.factors.values()))}".strip():
                        round(1000 * e.step_s, 4) for e in res.profile.entries},
            "peak_mib": {f"z{e.z}": round(e.peak_memory_bytes / 2**20, 2)
                         for e in res.profile.entries}}}
    print(f"  {spec.benchmark}: {dict(res.counts)} in {res.elapsed_s:.0f} s"
          + (" (stopped by the time limit: resumable)" if res.stopped_early else ""), flush=True)
    for error in res.errors:
        print(f"  error: {error}", flush=True)
    if res.complete:
        manifest = merge(spec, dest=work / rel_dest, out=work / rel_out,
                         allow_code_versions=not version_clean)
        summary.update(merged=True, rows=manifest.rows, table=str(rel_dest))
        print(f"  merged {manifest.rows} rows into {rel_dest} (default cost: "
              f"{manifest.provenance['default_cost']['source']})", flush=True)
    ShardStore(work / rel_out).compact()
    if args.out:
        summary["tar"] = _tar(work, [rel_out, rel_dest], Path(args.out) / f"{spec.benchmark}.tar")
    return summary


def _tar(work: Path, dirs: list[Path], dest: Path) -> str:
    """The table's files under their repository paths (no per-cell shards, locks or logs)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(dest, "w") as tar:
        for rel in dirs:
            root = work / rel
            if not root.is_dir():
                continue
            for path in sorted(root.rglob("*")):
                parts = path.relative_to(root).parts
                if path.is_file() and parts[0] not in ("shards", "locks", "logs", "quarantine") \
                        and not path.name.startswith("."):
                    tar.add(path, arcname=str(rel / path.relative_to(root)))
    return dest.name


def run_freezing_cost(args: argparse.Namespace, clock: Clock) -> dict[str, Any]:
    """Point 4's prepared call with the time that is left (its own guard skips what would
    not fit)."""
    left = clock.left() - 15.0  # its table is written after every row; leave room to exit
    if args.no_freezing_cost or left < 30.0:
        why = "--no-freezing-cost" if args.no_freezing_cost else f"{left:.0f} s left"
        print(f"\n== point 4 skipped ({why})", flush=True)
        return {"ran": False}
    out = Path(args.out or Path(args.work) / "out") / "freezing_cost"
    cmd = [sys.executable, str(REPO / "scripts" / "freezing_cost.py"), "--device", args.device,
           "--out", str(out), "--time-budget", f"{left - 10:.0f}",
           *shlex.split(args.freezing_cost_args)]
    print(f"\n== point 4: {' '.join(cmd[1:])}", flush=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)}
    started = time.monotonic()
    try:
        rc = subprocess.run(cmd, env=env, timeout=left + 10, check=False).returncode
    except subprocess.TimeoutExpired:
        rc = 124
    return {"ran": True, "returncode": rc, "seconds": round(time.monotonic() - started, 1),
            "out": str(out)}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    now = time.monotonic()
    clock = Clock(now, now + args.budget - args.reserve, now + args.budget)
    specs, problems = problems_before_work(args)
    if problems:
        print("gpu_prepared: nothing done:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    version = code_version()
    print(f"gpu_prepared: device {args.device}, tables {[s.benchmark for s in specs]}, budget "
          f"{args.budget:.0f} s ({args.reserve:.0f} s kept for point 4), code {version}"
          + ("" if is_clean(version) else " (not a clean commit: merged with the override)"),
          flush=True)
    for spec in specs:
        print(f"  data of {spec.task}: {portable.origin(spec.tasks_api().get_task(spec.task))}")
    tables: list[dict[str, Any]] = []
    for i, spec in enumerate(specs):
        left = clock.left(clock.tables_until)
        if i and (left < args.min_table or not tables[-1]["merged"]):
            print(f"\n== table {spec.benchmark} skipped ({left:.0f} s of table time left)")
            continue
        tables.append(run_table(spec, args, clock, is_clean(version)))
    point4 = run_freezing_cost(args, clock)
    summary = {"device": args.device, "code_version": version, "tables": tables,
               "freezing_cost": point4, "seconds": round(time.monotonic() - clock.started, 1)}
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / SUMMARY).write_text(json.dumps(summary, indent=1) + "\n")
    point4_ok = args.no_freezing_cost or point4.get("returncode") == 0
    ok = bool(tables) and tables[0]["merged"] and point4_ok
    print(f"\ngpu_prepared: {'done' if ok else 'incomplete'} in {summary['seconds']:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
