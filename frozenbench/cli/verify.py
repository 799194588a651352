"""``frozenbench verify``: re-run cells live and compare them with the table.

    frozenbench verify mnist-resnet --sample 2
    frozenbench verify mnist-resnet --config-id 92 --z 3 --seed 0
"""

from __future__ import annotations

import argparse

from frozenbench.cli.args import (
    add_benchmark,
    add_config,
    add_seed,
    config_of,
    device_problem,
    raise_problems,
)


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
    from frozenbench.verify import (
        NOISE_QUANTILE,
        VERDICTS,
        kernel_note,
        noise_threshold,
        sample_cells,
        verdict,
        verify_cells,
    )

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
    raise_problems(problems)
    if config is not None:
        cells = [Cell(bench.config_id(config), bench.fidelity_values.check_z(args.z),
                      args.seed)]
    else:
        cells = sample_cells(bench, args.sample or 1, seed=args.sample_seed)
    result = verify_cells(bench, cells, device=args.device)
    cols = ["config_id", "z", "seed", "epoch", "val_loss_table", "val_loss_live",
            "val_loss_absdiff", "val_loss_units", "time_ratio"]
    print(result[cols].to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    print()
    threshold = noise_threshold(bench)
    verdicts = []
    for (c, z, s), rows in result.groupby(["config_id", "z", "seed"], sort=False):
        verdicts.append(verdict(rows, threshold))
        worst = float(rows[[k for k in rows.columns if k.endswith("_units")]].max().max())
        print(f"config {c} z={z} seed {s}: {verdicts[-1]} (largest difference {worst:.3g} "
              f"seed standard deviations)")
    overall = max(verdicts, key=VERDICTS.index)
    print(f"\n{len(cells)} cell(s) re-run: {overall} (within seed noise: FLOPs equal and every "
          f"loss and error within {threshold:.3g} seed standard deviations of the table, as close "
          f"as the seeds of {NOISE_QUANTILE:.0%} of the table's repeated cells); median time "
          f"ratio live/table {result['time_ratio'].median():.2f}")
    note = kernel_note(bench, args.device)
    if note:
        print(note)
    return 1 if overall == "differs" else 0
