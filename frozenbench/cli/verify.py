"""``frozenbench verify``: re-run cells live and compare them with the table.

    frozenbench verify --benchmark mnist-resnet --sample 2
    frozenbench verify --benchmark mnist-resnet --config-id 92 --z 3 --seed 0
"""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--benchmark", required=True, help="benchmark name or directory")
    parser.add_argument("--config-id", type=int, help="grid index of the config to re-run")
    parser.add_argument("--z", type=int, help="with --config-id: trailing layers trained")
    parser.add_argument("--seed", type=int, default=0, help="with --config-id (default 0)")
    parser.add_argument("--sample", type=int, default=1,
                        help="without --config-id: re-run this many random cells (default 1)")
    parser.add_argument("--sample-seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tolerance", type=float, default=0.0,
                        help="largest accepted |live - table| of the losses (default 0: "
                             "bit for bit, as on the same CPU and library versions)")


def run(args: argparse.Namespace) -> int:
    from frozenbench.errors import InvalidValueError
    from frozenbench.registry import load
    from frozenbench.verify import CellRef, sample_cells, verify_cells

    bench = load(args.benchmark)
    if args.config_id is not None:
        if args.z is None:
            raise InvalidValueError("--config-id needs --z")
        cells = [CellRef(args.config_id, args.z, args.seed)]
    else:
        cells = sample_cells(bench, args.sample, seed=args.sample_seed)
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
