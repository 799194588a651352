"""``frozenbench verify``: re-run cells live and compare them with the table.

    frozenbench verify mnist-resnet --sample 2
    frozenbench verify mnist-resnet --config-id 92 --z 3 --seed 0
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from frozenbench.cli.args import (
    add_benchmark,
    add_config,
    add_seed,
    config_of,
    device_problem,
    raise_problems,
)

if TYPE_CHECKING:
    from frozenbench.table import Benchmark
    from frozenbench.verify import Verification


def configure(parser: argparse.ArgumentParser) -> None:
    add_benchmark(parser)
    add_config(parser, required=False)
    parser.add_argument("--z", type=int, help="with a config: trailing layers trained")
    add_seed(parser, help="with a config: training seed of the cell to re-run")
    parser.add_argument("--sample", type=int, default=None,
                        help="without a config: re-run this many random cells (default 1)")
    parser.add_argument("--sample-seed", type=int, default=0,
                        help="seed of the random choice of --sample cells")
    parser.add_argument("--device", default="cpu")


def run(args: argparse.Namespace) -> int:
    from frozenbench.cell import Cell
    from frozenbench.registry import load

    bench = load(args.benchmark)
    config = config_of(args, bench.space)
    problems = []
    if config is not None:
        if args.z is None or args.seed is None:
            problems.append("a config needs --z and --seed (the cell to re-run)")
        if args.sample is not None:
            problems.append("give a config or --sample, not both")
    elif args.z is not None or args.seed is not None:
        problems.append("--z and --seed name a cell together with a config "
                        "(NAME=VALUE, --config or --config-id)")
    if args.sample is not None and args.sample < 1:
        problems.append(f"--sample {args.sample} must be at least 1")
    bad_device = device_problem(args.device)
    if bad_device:
        problems.append(bad_device)
    raise_problems(problems, "frozenbench verify")
    from frozenbench.verify import sample_cells, verify

    if config is not None:
        cells = [Cell(bench.config_id(config), bench.fidelity_values.check_z(args.z),
                      args.seed)]
    else:
        cells = sample_cells(bench, args.sample or 1, seed=args.sample_seed)
    result = verify(bench, cells, device=args.device)
    _print(bench, result, args.device)
    return 1 if result.verdict == "differs" else 0


def _print(bench: Benchmark, result: Verification, device: str) -> None:
    from frozenbench.official import describe
    from frozenbench.verify import NOISE_QUANTILE, SECOND_SEED_RATIO, kernel_note

    rows, stick = result.rows, result.yardstick
    cols = ["config_id", "z", "seed", "epoch", "val_loss_table", "val_loss_live",
            "val_loss_absdiff", "val_loss_units", "time_ratio"]
    print(rows[cols].to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    print()
    for v in result.cells:
        c = v.cell
        how = f"largest difference {v.largest_units:.3g} seed standard deviations"
        if v.same_class:
            how += "; same machine class as the table, so it must be bit-identical"
        if v.second_seed is not None:
            how += (f"; {v.seed_ratio:.3g}x its difference from a live run of seed "
                    f"{v.second_seed}")
        print(f"config {c.config_id} z={c.z} seed {c.seed}: {v.verdict} ({how})")
    print(f"\n{len(result.cells)} cell(s) re-run: {result.verdict} (within seed noise: FLOPs "
          f"equal and every loss and error within {stick.threshold:.3g} seed standard "
          f"deviations of the table, as close as the seeds of {NOISE_QUANTILE:.0%} of the "
          f"table's repeated cells); median time ratio live/table "
          f"{rows['time_ratio'].median():.2f}")
    print(describe(bench.manifest, stick.official) + ".")
    if not stick.official:
        print("Its seed-noise yardstick comes from the table itself, so a cell within it was "
              "also re-run with a second seed: the re-run may differ from the table by at most "
              f"{SECOND_SEED_RATIO:g}x its difference from that live seed.")
    note = kernel_note(bench, device)
    if note:
        print(note)
