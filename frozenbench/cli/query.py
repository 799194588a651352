"""``frozenbench query``: the metrics of one cell, or its learning curve.

    frozenbench query mnist-resnet lr=1e-3 weight_decay=1e-4 optimizer=adam beta1=0.9 \\
        beta2=0.99 --z 3 --epoch 5
    frozenbench query ./my-table --config-id 92 --z 3 --curve --seed 0
"""

from __future__ import annotations

import argparse
from typing import Any

from frozenbench.cli.args import add_benchmark, add_config, add_seed, config_of
from frozenbench.cli.json_output import print_json


def configure(parser: argparse.ArgumentParser) -> None:
    add_benchmark(parser)
    add_config(parser)
    parser.add_argument("--z", type=int, required=True, help="trailing layers trained")
    parser.add_argument("--epoch", type=int, default=None, help="default: the last epoch")
    add_seed(parser, help="training seed of the cell (default: the mean over the seeds the "
                          "table has for it)")
    parser.add_argument("--curve", action="store_true", help="print every epoch")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object (config, fidelity, metrics; a curve's "
                             "rows under 'curve'; non-finite numbers as null) instead of text")


def run(args: argparse.Namespace) -> int:
    from frozenbench.cli.args import raise_problems
    from frozenbench.registry import load

    if args.curve and args.epoch is not None:
        raise_problems([f"--epoch {args.epoch} does not apply with --curve (a curve lists every "
                        "epoch); give one of them"])
    bench = load(args.benchmark)
    config: Any = config_of(args, bench.space)
    cid = bench.config_id(config)
    bench.fidelity_values.check_z(args.z)
    if args.epoch is not None:
        bench.fidelity_values.check_epoch(args.epoch)
    header = (f"{bench.name}: config {cid} {bench.space.config(cid)}, z={args.z}, "
              f"seed={'mean' if args.seed is None else args.seed}")
    cell = {"benchmark": bench.name, "config_id": cid, "config": bench.space.config(cid),
            "z": args.z, "seed": args.seed}
    if args.curve:
        curve = bench.curve(config, args.z, seed=args.seed)
        if args.json:
            print_json({**cell, "curve": curve.reset_index().to_dict(orient="records")})
            return 0
        print(header)
        print(curve.to_string())
        return 0
    result = bench.query(config, args.z, args.epoch, seed=args.seed)
    epoch = args.epoch if args.epoch is not None else bench.fidelities["epoch"][-1]
    if args.json:
        print_json({**cell, "epoch": epoch, **result._asdict()})
        return 0
    print(f"{header}, epoch {epoch}:")
    for key, value in result._asdict().items():
        print(f"  {key:<18} {value:.6g}" if isinstance(value, float) else f"  {key:<18} {value}")
    return 0
