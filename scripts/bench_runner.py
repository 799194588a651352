"""Cells per core-hour of the cell runner, before and after a change, side by side in one run.

The runner of an older commit (``--old``: a checkout of it, e.g. made with
``git worktree add /tmp/old-runner 8764a81``) and the current one train the SAME cells (the
task definitions of the older commit, rebuilt here for the current code) in alternating
subprocesses with one torch thread each; each cell is charged its process CPU time (training,
evaluation, cost probe, model construction), so a load on the other core does not bias the
comparison.

    python scripts/bench_runner.py --old /tmp/old-runner --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

# The cells: mnist-resnet and kjv-gpt2 as defined at commit 8764a81 (6 layers each), one config,
# every z, seed 0.
CHILD = r'''
import dataclasses, json, sys, time, torch
torch.set_num_threads(1)
from frozenbench.tasks import get_task, run_cell
from frozenbench.space import Fidelities
import os
new = os.path.exists(sys.modules["frozenbench.tasks"].__file__.replace("__init__.py", "image.py"))
out = {}
for name in ("mnist-resnet", "kjv-gpt2"):
    task = get_task(name)
    if new:  # rebuild the old definition with the current code
        fid = Fidelities(z=tuple(range(1, 7)), epoch=tuple(range(1, 7)), benchmark=name)
        if name == "mnist-resnet":
            task = dataclasses.replace(task, fidelities=fid, batch_size=128,
                model_args={"widths": (8, 16, 32), "in_channels": 1, "num_classes": 10},
                data_args={"n_train": 3000, "n_val": 2000, "size": 14, "split_seed": 0})
        else:
            task = dataclasses.replace(task, fidelities=fid,
                model_args={k: v for k, v in task.model_args.items()
                            if k != "embeddings_join_first_block"})
    config = {"lr": 1e-2, "weight_decay": 1e-4, "optimizer": "adam", "beta1": 0.9, "beta2": 0.99} \
        if name == "mnist-resnet" else {"beta1": 0.9, "beta2": 0.95, "warmup_frac": 0.1,
                                        "cooldown_frac": 0.25}
    if name == "kjv-gpt2" and not new:
        config["weight_decay"] = 0.0
    run_cell(task, config, 1, 0, threads=1)  # warm-up: imports, data
    cpu = []
    for z in range(1, 7):
        t0 = time.process_time()
        run_cell(task, config, z, 0, threads=1)
        cpu.append(time.process_time() - t0)
    out[name] = cpu
print(json.dumps(out))
'''


def side(root: Path) -> dict[str, list[float]]:
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, "-c", CHILD], env=env, cwd=root, capture_output=True,
                         text=True)
    if res.returncode != 0:
        raise SystemExit(f"the runner in {root} failed:\n{res.stderr[-3000:]}")
    return dict(json.loads(res.stdout.strip().splitlines()[-1]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--old", required=True, type=Path, help="checkout of the older runner")
    p.add_argument("--new", type=Path, default=Path(__file__).resolve().parent.parent)
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()
    runs: dict[str, dict[str, list[float]]] = {"old": {}, "new": {}}
    for _ in range(args.rounds):
        for label, root in (("old", args.old), ("new", args.new)):
            for task, cpu in side(root).items():
                runs[label].setdefault(task, []).extend(cpu)
    print(f"process CPU seconds per cell (z = 1..6, {args.rounds} rounds, alternating)")
    print(f"{'task':14s} {'old s/cell':>11s} {'new s/cell':>11s} {'old cells/core-h':>17s} "
          f"{'new cells/core-h':>17s} {'speed-up':>9s}")
    for task in runs["old"]:
        old, new = statistics.mean(runs["old"][task]), statistics.mean(runs["new"][task])
        print(f"{task:14s} {old:11.2f} {new:11.2f} {3600 / old:17.0f} {3600 / new:17.0f} "
              f"{old / new:9.2f}x")


if __name__ == "__main__":
    main()
