"""The README's row of key numbers for every shipped table, computed from the tables.

    .venv/bin/python scripts/readme_table.py

Columns: configs; the seed-noise ceiling at full fidelity; cross-seed Spearman with full
fidelity at the last epoch at the lowest z and at z=2 (95% bootstrap intervals over configs);
the default cost of the lowest z relative to full (median over configs, last epoch); best /
median / worst config at full fidelity.
"""

from __future__ import annotations

import numpy as np

import frozenbench as fb
from frozenbench.analysis.correlation import correlation_grid
from frozenbench.analysis.seeds import reference_scores


def row(name: str) -> str:
    bench = fb.load(name)
    grid = correlation_grid(bench)
    last = bench.fidelities["epoch"][-1]

    def at(z: int) -> str:
        r = grid.at(z, last, "cross")
        return f"{r['spearman']:.3f} [{r['spearman_low']:.3f}, {r['spearman_high']:.3f}]"

    c = grid.ceiling.spearman
    cost = bench.cost_array()[:, :, -1]
    ratio = float(np.nanmedian(cost[:, 0] / cost[:, -1]))
    ref = reference_scores(bench)
    zs = bench.fidelities["z"]
    return (f"| `{name}` ({bench.metric.replace('_', ' ')}) | {len(bench)} | "
            f"{c.value:.3f} [{c.low:.3f}, {c.high:.3f}] | {at(zs[0])} | {at(zs[1])} | "
            f"{ratio:.2f} | {np.nanmin(ref):.3f} / {np.nanmedian(ref):.3f} / "
            f"{np.nanmax(ref):.3f} |")


def main() -> None:
    for name in fb.benchmark_names():
        print(row(name))


if __name__ == "__main__":
    main()
