"""Live verification: re-run cells of a table with the same training code and compare.

The table and the re-run share one code path (:func:`frozenbench.tasks.run_cell`), so on the
same CPU instruction-set level, library versions and thread count a CPU re-run reproduces the
table's losses bit for bit. On another CPU (AVX2 instead of AVX-512, say) rounding differs and
training amplifies it: the same code then gives losses that differ by up to a few hundredths,
as a different seed would. So each difference is judged in units of that cell's seed-to-seed
spread (the standard deviation across the table's repeated seeds at that z and epoch) and the
re-run gets one of three verdicts (:func:`verdict`):

* ``identical``: every compared value equal;
* ``within seed noise``: every difference at most :data:`NOISE_UNITS` seed standard deviations;
* ``differs``: a larger difference: the table and this code disagree.

Timing columns are compared as ratios (they depend on the machine, not on the code).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from frozenbench.cell import Cell
from frozenbench.errors import InvalidValueError
from frozenbench.table import Benchmark

#: Columns compared value by value, table vs live.
COMPARED = ("train_loss", "val_loss", "val_error", "train_flops")
#: Metrics judged against seed noise (FLOPs do not depend on the seed: any difference differs).
NOISY = ("train_loss", "val_loss", "val_error")
#: A difference of at most this many seed standard deviations is "within seed noise" (two
#: standard deviations: a fresh seed lands inside it about 95% of the time).
NOISE_UNITS = 2.0
VERDICTS = ("identical", "within seed noise", "differs")


def seed_spread(bench: Benchmark, metric: str) -> np.ndarray:
    """Seed-to-seed standard deviation of ``metric`` per ``[z, epoch]``: the median over the
    configs that have two or more seeds there of their standard deviation across seeds (NaN
    where no config has two seeds).

    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=6, n_z=2, n_epochs=3)
    >>> spread = seed_spread(bench, "val_loss")
    >>> spread.shape, bool((spread[-1] > 0).all())
    ((2, 3), True)
    """
    vals = bench.objective(metric, per_seed=True)  # [config, z, epoch, seed], NaN = absent
    n = np.isfinite(vals).sum(axis=3)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        std = np.nanstd(vals, axis=3, ddof=1)
        std[n < 2] = np.nan
        return np.nanmedian(std, axis=0)


def verdict(result: pd.DataFrame) -> str:
    """The verdict of :func:`verify_cells`'s rows (see the module docstring).

    >>> rows = pd.DataFrame({"val_loss_absdiff": [0.0], "val_loss_units": [0.0],
    ...                      "train_flops_absdiff": [0.0]})
    >>> verdict(rows), verdict(rows.assign(val_loss_absdiff=1e-4, val_loss_units=0.3))
    ('identical', 'within seed noise')
    >>> verdict(rows.assign(val_loss_absdiff=0.2, val_loss_units=9.0))
    'differs'
    """
    diffs = result[[c for c in result.columns if c.endswith("_absdiff")]]
    if bool((diffs.fillna(0.0) == 0).all().all()):
        return "identical"
    units = result[[c for c in result.columns if c.endswith("_units")]]
    exact = [c for c in diffs.columns if c.removesuffix("_absdiff") not in NOISY]
    if bool((result[exact].fillna(0.0) == 0).all().all()) and \
            bool((units.fillna(0.0) <= NOISE_UNITS).all().all()):
        return "within seed noise"
    return "differs"


def sample_cells(bench: Benchmark, n: int, *, seed: int = 0) -> list[Cell]:
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
    return [Cell(int(bench.config_ids[c]), int(z_values[zi]), int(seeds[si]))
            for c, zi, si in pick]


def verify_cells(
    bench: Benchmark,
    cells: Sequence[Cell],
    *,
    device: str = "cpu",
    threads: int = 1,
) -> pd.DataFrame:
    """Re-run ``cells`` live and return one row per (cell, epoch): table vs live values.

    Columns: ``config_id, z, seed, epoch``, then ``<col>_table``, ``<col>_live`` and
    ``<col>_absdiff`` for each of :data:`COMPARED`, ``<col>_units`` (the difference in seed
    standard deviations at that z and epoch, :func:`seed_spread`) for :data:`NOISY`, and
    ``time_ratio`` (live / table cumulative training time). Needs the ``train`` extra.
    """
    from frozenbench.tasks import run_cell

    z_pos = {z: i for i, z in enumerate(bench.fidelities["z"])}
    e_pos = {e: i for i, e in enumerate(bench.fidelities["epoch"])}
    spreads = {}
    for col in NOISY:
        try:
            spreads[col] = seed_spread(bench, col)
        except ValueError:  # a metric the table does not have
            continue
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
            if col in spreads:
                sd = np.array([spreads[col][z_pos[cell.z], e_pos[int(e)]] for e in out.index])
                with np.errstate(divide="ignore", invalid="ignore"):
                    units = out[f"{col}_absdiff"].to_numpy() / sd
                # No spread known (a single-seed table): any difference counts as a difference.
                out[f"{col}_units"] = np.where(out[f"{col}_absdiff"] == 0, 0.0,
                                               np.where(np.isfinite(units), units, np.inf))
        out["time_ratio"] = live["train_time_s"].reindex(table.index) / table["train_time_s"]
        out.insert(0, "seed", cell.seed)
        out.insert(0, "z", cell.z)
        out.insert(0, "config_id", cell.config_id)
        frames.append(out.reset_index())
    return pd.concat(frames, ignore_index=True)
