"""Sizing experiments for the CPU-scale tasks (mnist-resnet, kjv-gpt2).

Question: which model/data/budget makes one full-z cell cheap on one core with one torch thread
AND separates configs far beyond seed noise (seed-vs-seed Spearman >= 0.9 over 30+ configs)?

Usage (one process, one thread; each cell is appended to a JSON-lines file as it finishes):

    .venv/bin/python scripts/sizing_cpu_tasks.py run VARIANT [--configs 32] [--low-z 1,2,3]
    .venv/bin/python scripts/sizing_cpu_tasks.py report /tmp/sizing_VARIANT.jsonl

``run`` trains a seeded subset of the grid (``space.subset(n, seed=0)``) at full z with seeds 0
and 1, then (``--low-z``) seed 0 at the given z. ``report`` prints per-cell times, best/worst
scores, the seed-vs-seed ceiling for val_error and val_loss, and Spearman vs full z per low z.

Results are recorded at the bottom of this file.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np


def variants() -> dict[str, Any]:
    from frozenbench.tasks import get_task

    mnist, kjv = get_task("mnist-resnet"), get_task("kjv-gpt2")

    def mn(widths: tuple[int, ...], epochs: int, n_train: int = 3000, n_val: int = 2000,
           **kw: Any) -> Any:
        t = mnist.with_budget(epochs)
        return dataclasses.replace(
            t, model_args={**t.model_args, "widths": widths},
            data_args={**t.data_args, "n_train": n_train, "n_val": n_val}, **kw)

    def kj(n_embd: int, steps: int, records: int, **kw: Any) -> Any:
        t = kjv.with_budget(steps, records)
        return dataclasses.replace(t, model_args={**t.model_args, "n_embd": n_embd}, **kw)

    return {
        "mnist-shipped": mnist,
        "mnist-w8-e6": mn((8, 16, 32), 6),
        "mnist-w8-e6-cos": mn((8, 16, 32), 6, schedule="cosine"),
        "mnist-w8-e8": mn((8, 16, 32), 8),
        "mnist-w16-e6": mn((16, 32, 64), 6),
        "kjv-shipped": kjv,
        "kjv-d32-s120": kj(32, 120, 6),  # measured with GPT-2's tanh GELU (before the switch)
        "kjv-d32-s160": kj(32, 160, 8),
    }


def run(variant: str, n_configs: int, low_z: list[int], out: Path, full: bool = True) -> None:
    import torch

    from frozenbench.tasks import run_cell

    torch.set_num_threads(1)
    task = variants()[variant]
    ids = task.space.subset(n_configs, seed=0)
    n = task.n_layers
    jobs = [(c, n, s) for c in ids for s in (0, 1)] if full else []
    jobs += [(c, z, 0) for z in low_z for c in ids]
    done = set()
    if out.exists():  # resume: skip cells already in the file
        for line in out.read_text().splitlines():
            r = json.loads(line)
            done.add((r["config_id"], r["z"], r["seed"]))
    with out.open("a") as f:
        for config_id, z, seed in jobs:
            if (config_id, z, seed) in done:
                continue
            t0 = time.perf_counter()
            cell = run_cell(task, task.space.config(config_id), z, seed)
            wall = time.perf_counter() - t0
            last = cell.records[-1]
            f.write(json.dumps({
                "variant": variant, "config_id": config_id, "z": z, "n": n, "seed": seed,
                "status": cell.status, "wall_s": wall, "train_s": last.train_time_s,
                "eval_s": sum(r.eval_time_s for r in cell.records),
                "val_error": [r.val_error for r in cell.records],
                "val_loss": [r.val_loss for r in cell.records],
            }) + "\n")
            f.flush()


def report(path: Path) -> None:
    from scipy.stats import spearmanr

    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    n = rows[0]["n"]
    score: dict[tuple[str, int, int], dict[int, float]] = defaultdict(dict)
    times: dict[int, list[float]] = defaultdict(list)
    for r in rows:
        times[r["z"]].append(r["wall_s"])
        for metric in ("val_error", "val_loss"):
            v = r[metric][-1] if r["status"] == "ok" else np.inf
            score[metric, r["z"], r["seed"]][r["config_id"]] = v
    print(f"{path.name}: {len(rows)} cells")
    for z in sorted(times):
        t = np.array(times[z])
        print(f"  z={z}: wall per cell mean {t.mean():.2f} s, max {t.max():.2f} s ({len(t)} cells)")
    for metric in ("val_error", "val_loss"):
        a, b = score[metric, n, 0], score[metric, n, 1]
        common = sorted(set(a) & set(b))
        if len(common) < 3:
            continue
        va, vb = np.array([a[c] for c in common]), np.array([b[c] for c in common])
        rho = spearmanr(va, vb).statistic
        print(f"  {metric}: ceiling (seed 0 vs 1, full z, {len(common)} configs) {rho:.3f}; "
              f"best {va.min():.4f} median {np.median(va):.4f} worst {va.max():.4f}; "
              f"mean |seed diff| {np.mean(np.abs(va - vb)):.4f}")
        for z in sorted(times):
            if z == n:
                continue
            low = score[metric, z, 0]
            cz = sorted(set(low) & set(a))
            if len(cz) >= 3:
                rz = spearmanr([low[c] for c in cz], [a[c] for c in cz]).statistic
                print(f"    z={z}: Spearman vs full (seed 0) {rz:.3f} ({len(cz)} configs)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("variant")
    r.add_argument("--configs", type=int, default=32)
    r.add_argument("--low-z", default="")
    r.add_argument("--out", default=None)
    r.add_argument("--skip-full", action="store_true", help="only the --low-z cells")
    q = sub.add_parser("report")
    q.add_argument("path", nargs="+")
    args = p.parse_args()
    if args.cmd == "run":
        low = [int(z) for z in args.low_z.split(",") if z]
        out = Path(args.out or f"/tmp/sizing_{args.variant}.jsonl")
        run(args.variant, args.configs, low, out, full=not args.skip_full)
    else:
        for path in args.path:
            report(Path(path))


if __name__ == "__main__":
    main()

# Results (this machine, 2 cores shared with other jobs, 1 torch thread):
# wall = whole cell incl. evaluation; the machine was shared with 3 other agents' jobs (load 2-3.5
# on 2 cores), so means are inflated ~1.3-2x over a free core. Free-core single cells:
# mnist-w8-e6(-cos) 3.4 s at z=6; mnist 16/32/64 widths 6.6 s; kjv (tanh GELU) 9.9 s at z=6,
# 4.5 s at z=1.
#
# mnist-w8-e6 (constant lr), 32 configs x 2 seeds at z=6: 5.2 s/cell (loaded)
#   val_error ceiling 0.884 (best 0.042, worst 0.794); val_loss ceiling 0.922. The lr=1e-2
#   configs end on a noisy step (val loss jumps 0.15 <-> 0.37 between seeds).
# mnist-w8-e6-cos (cosine to 0): 3.9 s/cell (loaded)          <- shipped as mnist-resnet
#   val_error ceiling 0.965 (best 0.034, median 0.19, worst 0.851, mean |seed diff| 0.015);
#   val_loss ceiling 0.998.
# kjv-d32-s120 (tanh GELU), 17 configs x 2 seeds: 20 s/cell (load 3.5);
#   val_loss ceiling 0.995 (best 2.352, worst 2.441, mean |seed diff| 0.005).
# kjv-shipped (exact GELU; otherwise as kjv-d32-s120), 32 configs x 2 seeds at z=6:
#   15.6 s/cell (load ~3.5; ~8-10 s on a free core)           <- shipped as kjv-gpt2
#   val_loss ceiling 0.980 (best 2.352, median 2.385, worst 2.462; mean |seed diff| 0.006).
#   Exact vs tanh GELU changes the losses by ~1e-5: the two runs agree config by config.
#
# Low z (seed 0, same 32 configs; Spearman of the final score vs full z, seed 0):
#   mnist-resnet  val_error z=1 0.889, z=2 0.953, z=3 0.994  (val_loss 0.933, 0.994, 0.997)
#                 wall per cell z=1 2.0 s, z=2 1.9 s, z=3 2.3 s, z=6 3.9 s (loaded)
#   kjv-gpt2      val_loss  z=1 0.813 (32 configs), z=3 0.935 (19 configs: the run was stopped
#                 to free the CPU for table generation); wall z=1 3.9 s, z=3 7.3 s (loaded)
#   Same-seed comparisons share initialisation and data order, so they can exceed the
#   seed-vs-seed ceiling (mnist z=3: 0.994 > 0.965); the tables' analysis should compare
#   across seeds.
