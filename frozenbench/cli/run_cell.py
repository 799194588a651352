"""``frozenbench run-cell TASK --config JSON --z Z --seed S``: train one cell, print its curve.

Example::

    frozenbench run-cell debug-mnist --config '{"lr": 0.01, "optimizer": "adam"}' --z 3 --seed 0
"""

from __future__ import annotations

import argparse
import json

from frozenbench.errors import InvalidValueError


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``run-cell``."""
    parser.add_argument("task", help="task name (see frozenbench.tasks.task_names())")
    parser.add_argument("--config", required=True,
                        help='hyperparameters as JSON, e.g. \'{"lr": 0.001, ...}\'')
    parser.add_argument("--z", type=int, required=True, help="layers trained (1..n)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--output", default=None, help="also write the rows to this Parquet/CSV")
    parser.add_argument("--progress", action="store_true", help="log each epoch to stderr")


def run(args: argparse.Namespace) -> int:
    """Train the cell and print one row per epoch or checkpoint."""
    try:
        config = json.loads(args.config)
    except json.JSONDecodeError as exc:
        raise InvalidValueError(f"--config is not valid JSON ({exc}): {args.config!r}") from None
    from frozenbench.tasks import get_task, run_cell

    task = get_task(args.task)  # fails fast, before torch is imported
    task.space.normalize(config)
    task.fidelities.check_z(args.z)
    cell = run_cell(task, config, args.z, args.seed, device=args.device, threads=args.threads,
                    progress=args.progress)
    frame = cell.to_frame()
    print(f"{cell.key}  config={json.dumps(dict(cell.config))}  status={cell.status}  "
          f"trainable={cell.trainable_params}/{cell.total_params}  device={cell.device}")
    columns = ["epoch", "samples_seen", "train_loss", "val_loss", "val_error", "train_time_s",
               "eval_time_s", "peak_memory_bytes", "train_flops"]
    print(frame[columns].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if args.output:
        if str(args.output).endswith(".csv"):
            frame.to_csv(args.output, index=False)
        else:
            frame.to_parquet(args.output, index=False)
    return 0 if cell.status == "ok" else 1
