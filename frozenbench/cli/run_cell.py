"""``frozenbench run-cell BENCHMARK CONFIG --z Z --seed S``: train one cell, print its curve.

BENCHMARK is a task name (``frozenbench.tasks.task_names()``, e.g. ``debug-mnist``) or a
benchmark (name, ``./path`` or ``hub:`` reference), whose task is trained. The config is
``NAME=VALUE`` pairs, ``--config JSON`` or ``--config-id N``. ``--out DIR`` also writes the
rows into ``DIR/cell.parquet``. Example::

    frozenbench run-cell debug-mnist --config '{"lr": 0.01, "optimizer": "adam"}' --z 3 --seed 0
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from frozenbench.atomic import write_frame_atomic
from frozenbench.cli.args import (
    add_benchmark,
    add_config,
    add_out,
    add_seed,
    config_of,
    out_problem,
    raise_problems,
)

#: The file ``--out DIR`` receives: the cell's rows, one per epoch or checkpoint.
ROWS = "cell.parquet"


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``run-cell``."""
    add_benchmark(parser, help="a task name, or a benchmark (name, ./path, hub:...) whose "
                               "task to train")
    add_config(parser)
    parser.add_argument("--z", type=int, required=True, help="layers trained (1..n)")
    add_seed(parser, required=True)
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    add_out(parser, [ROWS])
    parser.add_argument("--progress", action="store_true", help="log each epoch to stderr")


def run(args: argparse.Namespace) -> int:
    """Train the cell and print one row per epoch or checkpoint."""
    from frozenbench.tasks import get_task, run_cell, task_names

    if args.benchmark in task_names():
        task = get_task(args.benchmark)
    else:
        from frozenbench.manifest import Manifest
        from frozenbench.registry import resolve

        task = get_task(Manifest.read(resolve(args.benchmark)).task)
    raise_problems([p for p in [args.out and out_problem(args.out, [ROWS])] if p])
    named = config_of(args, task.space)  # required: never None
    config = task.space.config(named) if isinstance(named, int) else dict(named or {})
    task.space.normalize(config)  # fails fast, before torch is imported
    task.fidelities.check_z(args.z)
    cell = run_cell(task, config, args.z, args.seed, device=args.device, threads=args.threads,
                    progress=args.progress)
    frame = cell.to_frame()
    print(f"{cell.key}  config={json.dumps(dict(cell.config))}  status={cell.status}  "
          f"trainable={cell.trainable_params}/{cell.total_params}  device={cell.device}")
    columns = ["epoch", "samples_seen", "train_loss", "val_loss", "val_error", "train_time_s",
               "eval_time_s", "peak_memory_bytes", "train_flops"]
    print(frame[columns].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        print(f"wrote {write_frame_atomic(frame, Path(args.out) / ROWS)}")
    return 0 if cell.status == "ok" else 1
