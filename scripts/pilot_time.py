"""Pilot: seconds per cell (CPU time of the training thread and wall) at several z.

    python scripts/pilot_time.py mnist-resnet --z 1 2 6 11 --config-id 0
"""

from __future__ import annotations

import argparse
import time

from frozenbench.tasks import get_task, run_cell


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("task")
    p.add_argument("--z", type=int, nargs="+")
    p.add_argument("--config-id", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    task = get_task(args.task)
    config = task.space.config(args.config_id)
    for z in args.z or list(task.fidelities.z):
        t0 = time.perf_counter()
        cell = run_cell(task, config, z, args.seed, threads=1)
        last = cell.records[-1]
        print(f"z={z:2d} cpu {last.train_cpu_s:6.2f}s wall {last.train_time_s:6.2f}s "
              f"eval {last.eval_cpu_s:5.2f}s total {time.perf_counter() - t0:6.2f}s "
              f"probe {cell.extra['probe_time_s']:.2f}s flops {last.train_flops:.3g} "
              f"val_error {last.val_error:.3f} val_loss {last.val_loss:.3f}", flush=True)


if __name__ == "__main__":
    main()
