"""``frozenbench verify``: re-run cells live and compare them with the table.

    frozenbench verify mnist-resnet --sample 2
    frozenbench verify mnist-resnet --config-id 92 --z 3 --seed 0
"""

from __future__ import annotations

import argparse

from frozenbench.cli.args import add_benchmark, add_config, add_seed, config_of, raise_problems


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
    parser.add_argument("--tolerance", type=float, default=0.0,
                        help="largest accepted |live - table| of the losses (default 0: "
                             "bit for bit, as on the same CPU and library versions)")


def run(args: argparse.Namespace) -> int:
    from frozenbench.registry import load
    from frozenbench.verify import CellRef, sample_cells, verify_cells

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
    if args.tolerance < 0:
        problems.append(f"--tolerance {args.tolerance:g} must be >= 0")
    raise_problems(problems)
    if config is not None:
        cells = [CellRef(bench.config_id(config), bench.fidelity_values.check_z(args.z),
                         args.seed)]
    else:
        cells = sample_cells(bench, args.sample or 1, seed=args.sample_seed)
    result = verify_cells(bench, cells, device=args.device)
    cols = ["config_id", "z", "seed", "epoch", "val_loss_table", "val_loss_live",
            "val_loss_absdiff", "time_ratio"]
    print(result[cols].to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    worst = float(result[["train_loss_absdiff", "val_loss_absdiff"]].max().max())
    ok = worst <= args.tolerance
    print(f"\n{len(cells)} cell(s) re-run; largest |live - table| loss difference {worst:.3g} "
          f"({'within' if ok else 'ABOVE'} tolerance {args.tolerance:g}); median time ratio "
          f"live/table {result['time_ratio'].median():.2f}")
    return 0 if ok else 1
