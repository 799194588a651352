"""Does each hyperparameter of a table measurably matter? Its effect against seed noise.

For every hyperparameter h: the mean absolute difference of the full-fidelity score between
configs that differ in h only (both in the table), beside the mean absolute difference between
two seeds of the same config. An effect near the seed noise means h does not matter at this
scale (it makes configs that are duplicates in effect).

    python scripts/hp_effects.py frozenbench/data/kjv-gpt2
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd


def effects(frame: pd.DataFrame, grid: dict[str, list[object]], metric: str) -> pd.DataFrame:
    """One row per hyperparameter: pairs compared, mean |effect|, seed noise and their ratio."""
    full = frame[(frame.z == frame.z.max()) & (frame.epoch == frame.epoch.max())]
    common = sorted(set.intersection(*(set(g.seed) for _, g in full.groupby("config_id"))))
    if len(common) < 2:
        raise SystemExit(f"need two seeds shared by every config at full fidelity: {common}")
    per_seed = full[full.seed.isin(common[:2])].pivot_table(
        index=[*grid], columns="seed", values=metric)
    noise = float(np.nanmean(np.abs(per_seed.iloc[:, 0] - per_seed.iloc[:, 1])))
    score = per_seed.mean(axis=1)
    rows = []
    for h in grid:
        others = [k for k in grid if k != h]
        diffs = []
        for _, group in score.groupby(level=others) if others else [(None, score)]:
            values = group.to_numpy()
            diffs += [abs(a - b) for a, b in itertools.combinations(values, 2)]
        effect = float(np.mean(diffs)) if diffs else float("nan")
        rows.append({"hyperparameter": h, "pairs": len(diffs), "mean_abs_effect": effect,
                     "seed_noise": noise, "effect_over_noise": effect / noise})
    return pd.DataFrame(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("table_dir", help="a directory with table.parquet and manifest.json")
    args = p.parse_args()
    root = Path(args.table_dir)
    manifest = json.loads((root / "manifest.json").read_text())
    frame = pd.read_parquet(root / "table.parquet")
    out = effects(frame, manifest["grid"], manifest["metric"])
    print(f"{manifest['benchmark']} ({manifest['metric']}, full fidelity, mean of 2 seeds)")
    print(out.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
