"""Run N fuzz cases per target and print how many ran and how each ended.

    python scripts/fuzz_report.py --cases 200 --seed 0

Targets (see tests/fuzz_cases.py): a corrupted ``table.parquet`` loaded with and without the
sha256 checks, an edited ``manifest.json``, random command lines; and generation output
folders (tests/fuzz_generation_cases.py) with planted links, a full disk, or files private to
another user of a group-shared folder. Outcomes: ``ok``,
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
    cli_argv,
    cli_case,
    manifest_case,
    run_case,
    table_case,
    warm_up,
)
from fuzz_generation_cases import generation_targets  # type: ignore[import-not-found]

from frozenbench.synthetic import write_benchmark


def remember(seen: list[list[str]], argv: list[str]) -> list[str]:
    """Keep a generated command line (to print the failing ones) and return it."""
    seen.append(argv)
    return argv


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100, help="cases per target")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds per case")
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
            **generation_targets(root / "generation"),
        }
        argvs: list[list[str]] = []
        for name, make in targets.items():
            counts[name] = Counter()
            for _ in range(args.cases):
                case_rng = random.Random(rng.getrandbits(64))
                outcome = run_case(make(case_rng), args.time_limit)
                counts[name][outcome.kind] += 1
                if outcome.bug and len(examples) < 20:
                    what = f" (argv {argvs[-1]})" if name == "cli" else ""
                    examples.append(f"{name}: {outcome.kind}: {outcome.detail}{what}")
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
