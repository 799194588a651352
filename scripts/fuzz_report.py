"""Run N fuzz cases per target and print how many ran and how each ended.

    python scripts/fuzz_report.py --cases 200 --seed 0

Targets (see tests/fuzz_cases.py): a corrupted ``table.parquet`` loaded with and without the
sha256 checks, an edited ``manifest.json``, random command lines, and hostile Hub repos
(``hub: KIND``, one row per kind of :data:`HUB_KINDS`, fetched from the test Hub server in a
client process under a 3 GiB address-space limit). Outcomes: ``ok``,
``frozenbench error``, ``usage error`` (argparse), and the bugs ``raw exception``, ``timeout``,
``wrong number``. Exit status 1 when any case ended in a bug.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fuzz_cases import (  # type: ignore[import-not-found]
    BUGS,
    GOOD,
    HUB_KINDS,
    cli_argv,
    cli_case,
    hub_repo,
    manifest_case,
    run_case,
    run_hub_cases,
    table_case,
    warm_up,
)
from hub_server import HubServer  # type: ignore[import-not-found]

from frozenbench.registry import DATA_DIR
from frozenbench.synthetic import write_benchmark


def remember(seen: list[list[str]], argv: list[str]) -> list[str]:
    """Keep a generated command line (to print the failing ones) and return it."""
    seen.append(argv)
    return argv


def hub_counts(root: Path, rng: random.Random, args: argparse.Namespace,
               counts: dict[str, Counter[str]], examples: list[str]) -> None:
    """``--cases`` hostile repos of each kind of :data:`HUB_KINDS`, made from the shipped
    kjv-gpt2 (an official table), served by the test Hub server and fetched."""
    source = DATA_DIR / "kjv-gpt2"
    repos = [hub_repo(source, random.Random(rng.getrandbits(64)), kind)
             for kind in sorted(HUB_KINDS) for _ in range(args.cases)]
    with HubServer() as server:
        outcomes = run_hub_cases(server, source, repos, root / "hf", seconds=args.time_limit)
    for repo, outcome in zip(repos, outcomes, strict=True):
        counts.setdefault(f"hub: {repo.kind}", Counter())[outcome.kind] += 1
        if outcome.bug and len(examples) < 20:
            examples.append(f"hub: {repo.kind}: {outcome.kind}: {outcome.detail}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100, help="cases per target")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds per case")
    parser.add_argument("--only-hub", action="store_true", help="only the hostile Hub repos")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    counts: dict[str, Counter[str]] = {}
    examples: list[str] = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        source = write_benchmark(root / "src", n_configs=5, n_z=2, n_epochs=3,
                                 diverge_frac=0.2, seed=4)
        warm_up(source)
        targets = {
            "parquet (verified)": lambda r: table_case(source, root / "w", r, verify=True),
            "parquet (unverified)": lambda r: table_case(source, root / "w", r, verify=False),
            "manifest": lambda r: manifest_case(source, root / "w", r),
            "cli": lambda r: cli_case(remember(argvs, cli_argv(source, r))),
        }
        argvs: list[list[str]] = []
        if args.only_hub:
            targets = {}
        for name, make in targets.items():
            counts[name] = Counter()
            for _ in range(args.cases):
                case_rng = random.Random(rng.getrandbits(64))
                outcome = run_case(make(case_rng), args.time_limit)
                counts[name][outcome.kind] += 1
                if outcome.bug and len(examples) < 20:
                    what = f" (argv {argvs[-1]})" if name == "cli" else ""
                    examples.append(f"{name}: {outcome.kind}: {outcome.detail}{what}")
        hub_counts(root, rng, args, counts, examples)
    kinds = [*GOOD, *BUGS]
    width = max(map(len, counts)) + 2
    print(f"{'target':<{width}}" + "".join(f"{k:>19}" for k in ["cases", *kinds]))
    total: Counter[str] = Counter()
    for name, c in counts.items():
        total.update(c)
        print(f"{name:<{width}}{sum(c.values()):>19}" + "".join(f"{c[k]:>19}" for k in kinds))
    print(f"{'all':<{width}}{sum(total.values()):>19}" + "".join(f"{total[k]:>19}"
                                                              for k in kinds))
    print(f"\n{sum(total.values())} cases in {time.perf_counter() - start:.0f} s; "
          f"bugs: {sum(total[k] for k in BUGS)}")
    for line in examples:
        print("  " + line)
    return 1 if any(total[k] for k in BUGS) else 0


if __name__ == "__main__":
    sys.exit(main())
