"""How much each cost column of a cell moves when the machine is loaded.

Runs the same cell (same task, config, z, seed: bit-identical training) alone and beside a
full load (one busy process per core), alternating, and prints per cost column the median
ratio loaded / alone. The contention-robust clock (``train_cpu_s``, CPU time of the training
thread) should stay within ~10% while wall time (``train_time_s``) about doubles; FLOPs are
exact (ratio 1).

    python scripts/bench_clock.py mnist-resnet --z 10 --repeats 3
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager

from frozenbench.tasks import get_task, run_cell

COLUMNS = ("train_time_s", "train_cpu_s", "train_flops")


def _spin(stop: mp.synchronize.Event) -> None:
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x += 1


@contextmanager
def load(n: int) -> Iterator[None]:
    """``n`` busy processes for the duration of the block."""
    stop = mp.Event()
    procs = [mp.Process(target=_spin, args=(stop,), daemon=True) for _ in range(n)]
    for p in procs:
        p.start()
    time.sleep(0.5)
    try:
        yield
    finally:
        stop.set()
        for p in procs:
            p.join()


def measure(task: str, config_id: int, z: int) -> dict[str, float]:
    t = get_task(task)
    last = run_cell(t, t.space.config(config_id), z, 0, threads=1).records[-1]
    return {c: float(getattr(last, c)) for c in COLUMNS}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("task", nargs="?", default="mnist-resnet")
    p.add_argument("--config-id", type=int, default=None)
    p.add_argument("--z", type=int, default=None, help="default: full z")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--load", type=int, default=mp.cpu_count(),
                   help="busy processes beside the loaded run (default: one per core)")
    args = p.parse_args()
    task = get_task(args.task)
    cid = args.config_id if args.config_id is not None else task.distinct_config_ids()[0]
    z = args.z or task.n_layers
    measure(args.task, cid, 1)  # warm-up: imports, data loading
    alone: list[dict[str, float]] = []
    loaded: list[dict[str, float]] = []
    for _ in range(args.repeats):
        alone.append(measure(args.task, cid, z))
        with load(args.load):
            loaded.append(measure(args.task, cid, z))
    print(f"{args.task} config {cid} z={z}: {args.repeats} runs alone and beside {args.load} "
          f"busy processes ({mp.cpu_count()} cores)")
    print(f"{'column':14s} {'alone (median)':>15s} {'loaded (median)':>16s} {'ratio':>7s}")
    for c in COLUMNS:
        a = statistics.median(r[c] for r in alone)
        b = statistics.median(r[c] for r in loaded)
        print(f"{c:14s} {a:15.4g} {b:16.4g} {b / a:7.3f}")


if __name__ == "__main__":
    main()
