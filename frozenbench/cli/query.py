"""``frozenbench query``: the metrics of one cell, or its learning curve.

    frozenbench query --benchmark mnist-resnet lr=1e-3 weight_decay=1e-4 optimizer=adam \\
        beta1=0.9 beta2=0.99 --z 3 --epoch 5
"""

from __future__ import annotations

import argparse
from typing import Any


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--benchmark", required=True, help="benchmark name or directory")
    parser.add_argument("config", nargs="*", metavar="NAME=VALUE",
                        help="hyperparameter values (all of them), or use --config-id")
    parser.add_argument("--config-id", type=int, default=None, help="grid index of the config")
    parser.add_argument("--z", type=int, required=True, help="trailing layers trained")
    parser.add_argument("--epoch", type=int, default=None, help="default: the last epoch")
    parser.add_argument("--seed", type=int, default=None,
                        help="default: the mean over the seeds available for the cell")
    parser.add_argument("--curve", action="store_true", help="print every epoch")


def parse_config(pairs: list[str], space: Any) -> dict[str, Any]:
    """``["lr=1e-3", "optimizer=adam"]`` -> ``{"lr": 0.001, "optimizer": "adam"}``, converting
    each value to the type of its hyperparameter's grid values."""
    from frozenbench.errors import InvalidValueError

    config: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise InvalidValueError(f"write hyperparameters as NAME=VALUE, got {pair!r}")
        values = space.to_dict().get(name)
        value: Any = text
        if values and not isinstance(values[0], str):
            if isinstance(values[0], bool):
                value = {"true": True, "false": False}.get(text.lower(), text)
            else:
                try:
                    value = float(text)
                except ValueError:
                    raise InvalidValueError(
                        f"{name}={text!r} is not a number; valid: {values}") from None
        config[name] = value
    return config


def run(args: argparse.Namespace) -> int:
    from frozenbench.errors import InvalidValueError
    from frozenbench.registry import load

    bench = load(args.benchmark)
    if args.config_id is not None:
        if args.config:
            raise InvalidValueError("give NAME=VALUE pairs or --config-id, not both")
        config: Any = args.config_id
    else:
        if not args.config:
            raise InvalidValueError(
                f"name a config: {' '.join(f'{n}=...' for n in bench.space.names)} "
                f"(or --config-id)")
        config = parse_config(args.config, bench.space)
    cid = bench.config_id(config)
    header = (f"{bench.name}: config {cid} {bench.space.config(cid)}, z={args.z}, "
              f"seed={'mean' if args.seed is None else args.seed}")
    if args.curve:
        curve = bench.curve(config, args.z, seed=args.seed)
        print(header)
        print(curve.to_string())
        return 0
    result = bench.query(config, args.z, args.epoch, seed=args.seed)
    epoch = args.epoch if args.epoch is not None else bench.fidelities["epoch"][-1]
    print(f"{header}, epoch {epoch}:")
    for key, value in result._asdict().items():
        print(f"  {key:<18} {value:.6g}" if isinstance(value, float) else f"  {key:<18} {value}")
    return 0
