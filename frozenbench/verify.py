"""Live verification: re-run cells of a table with the same training code and compare.

The table and the re-run share one code path (:func:`frozenbench.tasks.run_cell`), so on the
same device, library versions and thread count a CPU re-run reproduces the table's losses bit
for bit; elsewhere the difference measures how far the table is from a fresh run. Timing
columns are compared as ratios (they depend on the machine, not on the code).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from frozenbench.errors import InvalidValueError
from frozenbench.table import Benchmark

#: Columns compared value by value, table vs live.
COMPARED = ("train_loss", "val_loss", "val_error", "train_flops")


@dataclass(frozen=True)
class CellRef:
    """A cell of a table: grid index of the config, z and seed."""

    config_id: int
    z: int
    seed: int


def sample_cells(bench: Benchmark, n: int, *, seed: int = 0) -> list[CellRef]:
    """``n`` distinct cells of ``bench`` that exist in the table, drawn reproducibly.

    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=4, n_z=2, n_epochs=3, diverge_frac=0.0)
    >>> len(sample_cells(bench, 3)) == len(set(sample_cells(bench, 3))) == 3
    True
    """
    present = bench.seed_mask()  # (configs, z, seeds): the cell has rows
    cells = np.argwhere(present)
    if n < 1 or n > len(cells):
        raise InvalidValueError(f"n={n} cells requested; {bench.name} has 1..{len(cells)}")
    rng = np.random.default_rng(seed)
    pick = cells[np.sort(rng.choice(len(cells), size=n, replace=False))]
    z_values, seeds = bench.fidelities["z"], bench.seeds
    return [CellRef(int(bench.config_ids[c]), int(z_values[zi]), int(seeds[si]))
            for c, zi, si in pick]


def verify_cells(
    bench: Benchmark,
    cells: Sequence[CellRef],
    *,
    device: str = "cpu",
    threads: int = 1,
) -> pd.DataFrame:
    """Re-run ``cells`` live and return one row per (cell, epoch): table vs live values.

    Columns: ``config_id, z, seed, epoch``, then ``<col>_table``, ``<col>_live`` and
    ``<col>_absdiff`` for each of :data:`COMPARED`, and ``time_ratio`` (live / table
    cumulative training time). Needs the ``train`` extra.
    """
    from frozenbench.tasks import run_cell

    frames = []
    for cell in cells:
        config = bench.space.config(cell.config_id)
        bench.query(config, cell.z, seed=cell.seed)  # a clear error if the table lacks it
        live = run_cell(bench.manifest.task, config, cell.z, cell.seed, device=device,
                        threads=threads).to_frame().set_index("epoch")
        table = bench.curve(config, cell.z, seed=cell.seed)
        out = pd.DataFrame(index=table.index)
        for col in COMPARED:
            out[f"{col}_table"] = table[col]
            out[f"{col}_live"] = live[col].reindex(table.index)
            out[f"{col}_absdiff"] = (out[f"{col}_live"] - out[f"{col}_table"]).abs()
        out["time_ratio"] = live["train_time_s"].reindex(table.index) / table["train_time_s"]
        out.insert(0, "seed", cell.seed)
        out.insert(0, "z", cell.z)
        out.insert(0, "config_id", cell.config_id)
        frames.append(out.reset_index())
    return pd.concat(frames, ignore_index=True)
