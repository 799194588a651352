"""Run the fuzz cases and print, per class, how many ran and how they ended.

    python scripts/fuzz_report.py --cases 200 --seed 0

Classes (see tests/fuzz_cases.py): random ones, ``--cases`` cases each (a corrupted
``table.parquet`` loaded with and without the sha256 checks, an edited ``manifest.json``, random
command lines), and fixed ones, every named case once (allocation bombs loaded under a memory
limit, inputs that once gave raw tracebacks, replays that once crawled), and hostile Hub repos
(``hub: KIND``, ``--cases`` repos per kind of :data:`HUB_KINDS`, made from the shipped kjv-gpt2,
served by the test Hub server and fetched in a client process under a 3 GiB address-space
limit; ``--only hub`` runs just these), and generation output folders
(tests/fuzz_generation_cases.py: planted links, a full disk, files private to another user of a
group-shared folder). The summary counts per
class: cases, correct (``ok``), clear errors (``frozenbench error``, argparse's ``usage
error``) and anything else (``raw exception``, ``timeout``, ``wrong number``, ``over memory``),
which must be zero; a second table splits every outcome. Exit status 1 when any case ended in
anything else.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fuzz_cases import (  # type: ignore[import-not-found]
    BUGS,
    GOOD,
    HUB_KINDS,
    FixedCase,
    Outcome,
    bomb_cases,
    cli_argv,
    cli_case,
    hub_repo,
    manifest_case,
    replay_cases,
    run_case,
    run_hub_cases,
    table_case,
    traceback_cases,
    warm_up,
)
from fuzz_generation_cases import generation_targets  # type: ignore[import-not-found]
from hub_server import HubServer  # type: ignore[import-not-found]

from frozenbench.registry import DATA_DIR
from frozenbench.synthetic import write_benchmark

#: The fixed classes: name -> the cases, built from the source table and a scratch folder.
FIXED: dict[str, Callable[[Path, Path], list[FixedCase]]] = {
    "allocation bombs": bomb_cases,
    "raw-traceback inputs": traceback_cases,
    "replays": lambda source, root: replay_cases(source),
}


def remember(seen: list[list[str]], argv: list[str]) -> list[str]:
    """Keep a generated command line (to print the failing ones) and return it."""
    seen.append(argv)
    return argv


class Tally:
    """Outcomes per class, and up to 20 examples of anything else."""

    def __init__(self) -> None:
        self.counts: dict[str, Counter[str]] = {}
        self.examples: list[str] = []

    def add(self, klass: str, outcome: Outcome, what: str = "") -> None:
        self.counts.setdefault(klass, Counter())[outcome.kind] += 1
        if outcome.bug and len(self.examples) < 20:
            self.examples.append(f"{klass}: {outcome.kind}: {outcome.detail}{what}")

    def print(self) -> int:
        """Print both tables; the number of cases that ended in anything else."""
        width = max(map(len, self.counts)) + 2
        total: Counter[str] = Counter()
        columns = ["cases", "correct", "clear errors", "anything else"]
        print(f"{'class':<{width}}" + "".join(f"{k:>15}" for k in columns))
        for name, c in [*self.counts.items(), ("all", total)]:
            if name != "all":
                total.update(c)
            row = [sum(c.values()), c["ok"], c["frozenbench error"] + c["usage error"],
                   sum(c[k] for k in BUGS)]
            print(f"{name:<{width}}" + "".join(f"{v:>15}" for v in row))
        kinds = [*GOOD, *BUGS]
        print(f"\n{'class':<{width}}" + "".join(f"{k:>18}" for k in kinds))
        for name, c in self.counts.items():
            print(f"{name:<{width}}" + "".join(f"{c[k]:>18}" for k in kinds))
        for line in self.examples:
            print("  " + line)
        return sum(total[k] for k in BUGS)


def hub_cases(root: Path, rng: random.Random, args: argparse.Namespace, tally: Tally) -> None:
    """``--cases`` hostile repos of each kind of :data:`HUB_KINDS`, made from the shipped
    kjv-gpt2 (an official table), served by the test Hub server and fetched."""
    source = DATA_DIR / "kjv-gpt2"
    repos = [hub_repo(source, random.Random(rng.getrandbits(64)), kind)
             for kind in sorted(HUB_KINDS) for _ in range(args.cases)]
    with HubServer() as server:
        outcomes = run_hub_cases(server, source, repos, root / "hf", seconds=args.time_limit)
    for repo, outcome in zip(repos, outcomes, strict=True):
        tally.add(f"hub: {repo.kind}", outcome)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100, help="cases per random class")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds per case")
    parser.add_argument("--only", nargs="*", default=None, metavar="CLASS",
                        help="run only these classes (default: all)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    tally = Tally()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        source = write_benchmark(root / "src", n_configs=5, n_z=2, n_epochs=3,
                                 diverge_frac=0.2, seed=4)
        warm_up(source)
        argvs: list[list[str]] = []
        targets = {
            "parquet (verified)": lambda r: table_case(source, root / "w", r, verify=True),
            "parquet (unverified)": lambda r: table_case(source, root / "w", r, verify=False),
            "manifest": lambda r: manifest_case(source, root / "w", r),
            "cli": lambda r: cli_case(remember(argvs, cli_argv(source, r))),
            **generation_targets(root / "generation"),
        }
        for name, make in targets.items():
            if args.only is not None and name not in args.only:
                continue
            for _ in range(args.cases):
                case_rng = random.Random(rng.getrandbits(64))
                outcome = run_case(make(case_rng), args.time_limit)
                tally.add(name, outcome, f" (argv {argvs[-1]})" if name == "cli" else "")
        for name, build in FIXED.items():
            if args.only is not None and name not in args.only:
                continue
            for case in build(source, root / "fixed"):
                tally.add(name, case.run(), f" ({case.name})")
        if args.only is None or "hub" in args.only:
            hub_cases(root, rng, args, tally)
    bugs = tally.print()
    print(f"\n{sum(sum(c.values()) for c in tally.counts.values())} cases in "
          f"{time.perf_counter() - start:.0f} s; anything else: {bugs}")
    return 1 if bugs else 0


if __name__ == "__main__":
    sys.exit(main())
