"""Generate the suite's tables in the background, resumably, from ONE committed code version.

A table must be made by one committed code version, while the checkout keeps changing. So this
script trains from a separate worktree pinned at ``--code-version`` (created on first use, and
again in a fresh sandbox), writes shards outside it (``--work``, so the pinned tree stays clean
and ``git describe`` has no ``-dirty``), and every ``--every`` minutes compacts the finished
shards into a pack and commits the packs (and the spec's ``spec.json``) into the checkout under
``generation/output/<table>/``: a stop at any moment loses at most that many minutes of work.
A rerun seeds the work folder from the committed packs and trains only the missing cells.
When every cell of a table is trained, the pinned tree's code merges it into the checkout's data
directory, ``suite/<table>/`` (where ``fb.load(<table>)`` finds it), and that is committed too
if the table meets the per-table standard (:mod:`frozenbench.analysis.standard`); a table that
misses it is not shipped, and its problems are printed.

Run at low priority on these 2-core machines, one torch thread per worker process::

    nohup nice -n 19 .venv/bin/python scripts/generate_suite.py --code-version COMMIT \\
        --tables fb-letter-mlp fb-dna-mlp > /tmp/gen.log 2>&1 &

The cost columns are the training thread's CPU time (``train_cpu_s``), which a neighbour on the
other core does not inflate; wall time is recorded beside it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GRIDS = ROOT / "frozenbench" / "generation" / "grids"


def sh(*args: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None,
       check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, check=check, text=True,
                          capture_output=True)


def pinned_tree(commit: str, where: Path) -> Path:
    """A detached worktree at ``commit`` (made if missing); refuses one that moved."""
    if not where.exists():
        sh("git", "worktree", "prune")
        sh("git", "worktree", "add", "--detach", where, commit)
    head = sh("git", "rev-parse", "HEAD", cwd=where).stdout.strip()
    want = sh("git", "rev-parse", commit).stdout.strip()
    if head != want:
        sys.exit(f"{where} is at {head[:12]}, not at {want[:12]}: remove it or pick that commit")
    if sh("git", "status", "--porcelain", "--untracked-files=no", cwd=where).stdout.strip():
        sys.exit(f"{where} has local changes: a table must come from a committed tree")
    return where


def seed_from_checkout(table: str, out: Path) -> None:
    """Copy the committed packs (and spec.json) of ``table`` into the work folder."""
    committed = ROOT / "generation" / "output" / table
    (out / "packs").mkdir(parents=True, exist_ok=True)
    for pack in sorted((committed / "packs").glob("pack-*.parquet")):
        if not (out / "packs" / pack.name).exists():
            shutil.copy2(pack, out / "packs" / pack.name)
    if (committed / "spec.json").exists() and not (out / "spec.json").exists():
        shutil.copy2(committed / "spec.json", out / "spec.json")


def spec_of(table: str, tree: Path) -> Path:
    return tree / GRIDS.relative_to(ROOT) / f"{table}.toml"


def publish_packs(table: str, out: Path, tree: Path, env: dict[str, str]) -> int:
    """Compact finished shards into a pack, copy new packs into the checkout and commit them
    (only those paths: a commit never picks up other staged work). Returns the packs copied."""
    sh(sys.executable, "-m", "frozenbench", "generate", "compact", spec_of(table, tree),
       "--out", out, cwd=tree, env=env, check=False)
    dest = ROOT / "generation" / "output" / table
    (dest / "packs").mkdir(parents=True, exist_ok=True)
    new = []
    for pack in sorted((out / "packs").glob("pack-*.parquet")):
        target = dest / "packs" / pack.name
        if not target.exists():
            shutil.copy2(pack, target)
            new.append(target)
    if (out / "spec.json").exists():
        shutil.copy2(out / "spec.json", dest / "spec.json")
    if new:
        sh("git", "add", dest)
        sh("git", "commit", "-q", "-m", f"{table}: {len(new)} more pack(s) of generated cells "
           f"(scripts/generate_suite.py)", "--", dest, check=False)
    return len(new)


def generate(table: str, tree: Path, work: Path, workers: int, every_s: float) -> int:
    out = work / table
    seed_from_checkout(table, out)
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    env.pop("FROZENBENCH_CODE_VERSION", None)  # the pinned tree's own `git describe`
    proc = subprocess.Popen(
        [sys.executable, "-m", "frozenbench", "generate", "run", str(spec_of(table, tree)),
         "--executor",
         "local", "--out", str(out), "--max-jobs", str(workers), "--quiet"],
        cwd=tree, env=env)
    last = time.monotonic()
    while proc.poll() is None:
        time.sleep(10)
        if time.monotonic() - last > every_s:
            print(f"[{time.strftime('%H:%M:%S')}] {table}: committed "
                  f"{publish_packs(table, out, tree, env)} pack(s)", flush=True)
            last = time.monotonic()
    published = publish_packs(table, out, tree, env)
    print(f"[{time.strftime('%H:%M:%S')}] {table}: run exited {proc.returncode}, committed "
          f"{published} pack(s)", flush=True)
    if proc.returncode == 0 and not merge_table(table, out, tree, env):
        return 1
    return proc.returncode


def merge_table(table: str, out: Path, tree: Path, env: dict[str, str]) -> bool:
    """Merge a finished table into ``suite/<table>/`` and commit it; False if the merge
    refused (its message is printed)."""
    dest = ROOT / "suite" / table
    done = sh(sys.executable, "-m", "frozenbench", "generate", "merge", spec_of(table, tree),
              "--out", out, "--dest", dest, "--quiet", cwd=tree, env=env, check=False)
    print(done.stdout + done.stderr, flush=True)
    if done.returncode:
        return False
    # No table below the standard ships: a table that misses it stays out of suite/ (its packs
    # are committed; the problems are printed for the note).
    from frozenbench.analysis.standard import table_standard
    from frozenbench.table import Benchmark

    standard = table_standard(Benchmark.from_directory(dest))
    print(standard, *standard.problems(), sep="\n", flush=True)
    if standard.problems():
        shutil.rmtree(dest)
        return False
    sh("git", "add", dest)
    sh("git", "commit", "-q", "-m", f"{table}: the merged suite table (scripts/generate_suite.py)",
       "--", dest, check=False)
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--code-version", required=True, help="the commit every table is made by")
    ap.add_argument("--tables", nargs="+", required=True, help="suite tables, in order")
    ap.add_argument("--tree", type=Path, default=Path("/work/gen-tree"))
    ap.add_argument("--work", type=Path, default=Path("/work/gen-out"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--every", type=float, default=20.0, help="minutes between commits")
    args = ap.parse_args(argv)
    tree = pinned_tree(args.code_version, args.tree)
    failed = [t for t in args.tables
              if generate(t, tree, args.work, args.workers, args.every * 60)]
    if failed:
        print(f"runs that did not finish: {failed}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
