"""Live verification: re-run cells of a table with the same training code and compare.

The table and the re-run share one code path (:func:`frozenbench.tasks.run_cell`), so on the
same CPU instruction-set level, library versions and thread count a CPU re-run reproduces the
table's losses bit for bit. Elsewhere rounding can differ (the shipped tables ran torch's AVX2
kernels; AVX-512 ones gave losses 1e-7 apart) and training can amplify it: the same code then
gives a curve that differs from the table's as a curve of another seed would. A cell is judged
in up to three steps (:func:`judge`):

1. **Same machine class.** Where the table's provenance says its cells ran on the re-run's
   machine class (the CPU kernels torch dispatches to, its thread count and every recorded
   library version, :func:`same_machine_class`), the re-run must agree to a relative
   :data:`SAME_CLASS_RTOL`: anything more *differs*, however noisy the table says it is.
2. **The table's seed noise.** Otherwise each difference is measured in units of the
   seed-to-seed spread at that z and epoch (:func:`seed_spread`), and the largest is compared
   with how far the table's own seeds of one cell lie apart in the same units
   (:func:`noise_threshold`).
3. **A live second seed**, where that verdict is *within seed noise* and the table is not
   official (:mod:`frozenbench.official`): the yardstick of step 2 comes from the table itself,
   so noise added to other rows of a tampered table would widen it and hide a shifted cell.
   The same cell is re-run with another seed, and the re-run's difference from the table may
   be at most :data:`SECOND_SEED_RATIO` times its difference from that live seed
   (:func:`seed_ratio`): a yardstick the table cannot move. An official table's yardstick is
   pinned with it, so step 3 is skipped there.

Verdicts:

* ``identical``: every compared value equal;
* ``within seed noise``: FLOPs equal and every difference within the yardsticks above;
* ``differs``: a larger difference: the table and this code disagree.

Timing columns are compared as ratios (they depend on the machine, not on the code).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from frozenbench.cell import Cell
from frozenbench.errors import InvalidValueError
from frozenbench.table import Benchmark

#: Columns compared value by value, table vs live.
COMPARED = ("train_loss", "val_loss", "val_error", "train_flops")
#: Metrics judged against seed noise (FLOPs do not depend on the seed: any difference differs).
NOISY = ("train_loss", "val_loss", "val_error")
#: The least threshold of "within seed noise", in seed standard deviations (also the threshold
#: of a table with no repeated seeds, where any difference is infinitely many units).
NOISE_UNITS = 2.0
#: The threshold is this quantile of the largest difference between two seeds of one cell.
NOISE_QUANTILE = 0.95
VERDICTS = ("identical", "within seed noise", "differs")
#: A re-run on the table's machine class (:func:`same_machine_class`) may differ from the table
#: by at most this fraction of a value (in practice it is bit-identical).
SAME_CLASS_RTOL = 1e-9
#: With a live second seed (step 3 of the module docstring): a re-run's RMS difference from the
#: table may be at most this many times its RMS difference from the live second seed. Modelling
#: an honest re-run as another seed of the table (the pessimistic case), 1.4% of the 351 cells
#: with three seeds of the five shipped tables exceed 10 (median 2.8).
SECOND_SEED_RATIO = 10.0


def seed_spread(bench: Benchmark, metric: str) -> np.ndarray:
    """Seed-to-seed standard deviation of ``metric`` per ``[z, epoch]``: the pooled standard
    deviation (root mean variance across seeds) over the configs that have two or more seeds
    there, NaN where no config has two seeds. Pooled, not a median: on tables where most
    configs barely train, their near-zero spread would make the median a scale that the
    configs that do train exceed by thousands.

    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=6, n_z=2, n_epochs=3)
    >>> spread = seed_spread(bench, "val_loss")
    >>> spread.shape, bool((spread[-1] > 0).all())
    ((2, 3), True)
    """
    return _pooled_sd(bench.objective(metric, per_seed=True))


def _noisy_values(bench: Benchmark) -> dict[str, np.ndarray]:
    """``[config, z, epoch, seed]`` values (NaN = absent) of each metric of :data:`NOISY` that
    the table has."""
    values = {}
    for metric in NOISY:
        try:
            values[metric] = bench.objective(metric, per_seed=True)
        except ValueError:  # a metric the table does not have
            continue
    return values


def _pooled_sd(vals: np.ndarray) -> np.ndarray:
    """:func:`seed_spread` of ``[config, z, epoch, seed]`` values."""
    n = np.isfinite(vals).sum(axis=3)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        var = np.nanvar(vals, axis=3, ddof=1)
        var[n < 2] = np.nan
        return np.sqrt(np.nanmean(var, axis=0))


def noise_threshold(bench: Benchmark, quantile: float = NOISE_QUANTILE) -> float:
    """How far two seeds of one cell of ``bench`` lie apart: the ``quantile`` over the cells
    with repeated seeds of their largest difference (over epochs, metrics of :data:`NOISY` and
    pairs of seeds) in seed standard deviations (:func:`seed_spread`), and at least
    :data:`NOISE_UNITS`. A table without repeated seeds gets :data:`NOISE_UNITS`.

    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=8, n_z=3, n_epochs=4)
    >>> bool(noise_threshold(bench) >= NOISE_UNITS)
    True
    """
    if not 0.0 < quantile <= 1.0:
        raise InvalidValueError(f"quantile={quantile!r} must lie in (0, 1]")
    largest = None
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for vals in _noisy_values(bench).values():
            sd = _pooled_sd(vals)[None]
            for i, j in itertools.combinations(range(vals.shape[3]), 2):
                units = np.nanmax(np.abs(vals[..., i] - vals[..., j]) / sd, axis=2)
                largest = units if largest is None else np.fmax(largest, units)
    finite = largest[np.isfinite(largest)] if largest is not None else np.array([])
    if not finite.size:
        return NOISE_UNITS
    return max(NOISE_UNITS, float(np.quantile(finite, quantile)))


def verdict(result: pd.DataFrame, threshold: float = NOISE_UNITS) -> str:
    """The verdict of :func:`verify_cells`'s rows (see the module docstring): differences of
    at most ``threshold`` seed standard deviations (:func:`noise_threshold`) are seed noise.

    >>> rows = pd.DataFrame({"val_loss_absdiff": [0.0], "val_loss_units": [0.0],
    ...                      "train_flops_absdiff": [0.0]})
    >>> verdict(rows), verdict(rows.assign(val_loss_absdiff=1e-4, val_loss_units=0.3))
    ('identical', 'within seed noise')
    >>> far = rows.assign(val_loss_absdiff=0.2, val_loss_units=9.0)
    >>> verdict(far), verdict(far, threshold=12.0)
    ('differs', 'within seed noise')
    """
    diffs = result[[c for c in result.columns if c.endswith("_absdiff")]]
    if bool((diffs.fillna(0.0) == 0).all().all()):
        return "identical"
    units = result[[c for c in result.columns if c.endswith("_units")]]
    exact = [c for c in diffs.columns if c.removesuffix("_absdiff") not in NOISY]
    if bool((result[exact].fillna(0.0) == 0).all().all()) and \
            bool((units.fillna(0.0) <= threshold).all().all()):
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


def compare_curves(table: pd.DataFrame, live: pd.DataFrame,
                   spread: dict[str, np.ndarray]) -> pd.DataFrame:
    """Compare one cell's curve from the table with its live re-run, epoch by epoch.

    ``table`` and ``live`` are indexed by epoch; ``spread`` holds, per metric of :data:`NOISY`
    that the table has, the seed standard deviation at each of ``table``'s epochs. Returns
    ``<col>_table``, ``<col>_live`` and ``<col>_absdiff`` for each of :data:`COMPARED` and
    ``<col>_units`` (the difference in seed standard deviations) for each metric in ``spread``.

    >>> table = pd.DataFrame({"val_loss": [2.0, 1.5], "train_loss": [2.1, 1.6],
    ...                       "val_error": [0.5, 0.4], "train_flops": [1e9, 2e9]},
    ...                      index=pd.Index([1, 2], name="epoch"))
    >>> out = compare_curves(table, table.assign(val_loss=[2.0, 1.51]),
    ...                      {"val_loss": np.array([0.02, 0.02])})
    >>> out["val_loss_units"].round(2).tolist(), verdict(out)
    ([0.0, 0.5], 'within seed noise')
    """
    out = pd.DataFrame(index=table.index)
    for col in COMPARED:
        out[f"{col}_table"] = table[col]
        out[f"{col}_live"] = live[col].reindex(table.index)
        absent = out[f"{col}_live"].isna() & out[f"{col}_table"].isna()
        lost = out[f"{col}_live"].isna() ^ out[f"{col}_table"].isna()
        # Absent on both sides (a language model has no val_error) agrees; a value on one
        # side only is a difference.
        diff = (out[f"{col}_live"] - out[f"{col}_table"]).abs()
        out[f"{col}_absdiff"] = diff.mask(absent, 0.0).mask(lost, np.inf)
        if col in spread:
            with np.errstate(divide="ignore", invalid="ignore"):
                units = out[f"{col}_absdiff"].to_numpy() / spread[col]
            # No spread known (a single-seed table): any difference counts as a difference.
            out[f"{col}_units"] = np.where(out[f"{col}_absdiff"] == 0, 0.0,
                                           np.where(np.isfinite(units), units, np.inf))
    return out


@dataclass(frozen=True, eq=False)
class Yardstick:
    """What step 2 of the module docstring measures a cell with: the seed spread per metric of
    :data:`NOISY` at each ``[z, epoch]`` (:func:`seed_spread`) and the threshold in those units
    (:func:`noise_threshold`), both from the table; ``official`` says whether the table is
    pinned (:mod:`frozenbench.official`), so whether they can be trusted without step 3."""

    spreads: Mapping[str, np.ndarray]
    threshold: float
    z_values: tuple[int, ...]
    epochs: tuple[int, ...]
    official: bool

    @classmethod
    def of(cls, bench: Benchmark) -> Yardstick:
        """The yardstick of ``bench``.

        >>> from frozenbench.synthetic import make_benchmark
        >>> stick = Yardstick.of(make_benchmark(n_configs=6, n_z=2, n_epochs=3))
        >>> stick.official, stick.threshold >= NOISE_UNITS
        (False, True)
        """
        return cls({m: _pooled_sd(v) for m, v in _noisy_values(bench).items()},
                   noise_threshold(bench), tuple(bench.fidelities["z"]),
                   tuple(bench.fidelities["epoch"]), bench.official)

    def at(self, z: int, epochs: Sequence[int]) -> dict[str, np.ndarray]:
        """The spread of each metric at ``z`` and each of ``epochs`` (for
        :func:`compare_curves`)."""
        zi = self.z_values.index(z)
        pos = [self.epochs.index(int(e)) for e in epochs]
        return {m: sd[zi, pos] for m, sd in self.spreads.items()}


@dataclass(frozen=True)
class CellVerdict:
    """The verdict on one re-run cell: ``largest_units`` is its largest difference in seed
    standard deviations (step 2); ``same_class`` whether step 1 applied; ``second_seed`` the
    seed of step 3's live run and ``seed_ratio`` its largest ratio, if step 3 ran."""

    cell: Cell
    verdict: str
    largest_units: float
    same_class: bool = False
    second_seed: int | None = None
    seed_ratio: float | None = None


def seed_ratio(table: pd.DataFrame, live: pd.DataFrame,
               other: pd.DataFrame) -> dict[str, float]:
    """Per metric of :data:`NOISY` that has values: the RMS over epochs of the re-run's
    difference from the table, over the RMS of its difference from a live run of another seed
    (frames indexed by epoch). 0 where the re-run equals the table, inf where it differs from
    the table but equals the other seed.

    >>> idx = pd.Index([1, 2], name="epoch")
    >>> table = pd.DataFrame({"val_loss": [2.15, 1.65]}, index=idx)
    >>> live = pd.DataFrame({"val_loss": [2.0, 1.5]}, index=idx)
    >>> other = pd.DataFrame({"val_loss": [2.01, 1.49]}, index=idx)
    >>> round(seed_ratio(table, live, other)["val_loss"], 1)
    15.0
    """
    out = {}
    for col in NOISY:
        if col not in table or col not in live or col not in other:
            continue
        t, lv = table[col].to_numpy(float), live[col].reindex(table.index).to_numpy(float)
        o = other[col].reindex(table.index).to_numpy(float)
        keep = np.isfinite(t) & np.isfinite(lv) & np.isfinite(o)
        if not keep.any():
            continue
        off = float(np.sqrt(np.mean((lv[keep] - t[keep]) ** 2)))
        noise = float(np.sqrt(np.mean((lv[keep] - o[keep]) ** 2)))
        out[col] = 0.0 if off == 0 else (off / noise if noise > 0 else np.inf)
    return out


#: The entry of a cell's recorded versions that names the runner's training arithmetic.
ARITHMETIC_KEY = "frozenbench-arithmetic"


def same_machine_class(bench: Benchmark, hardware: Mapping[str, str],
                       versions: Mapping[str, str]) -> bool:
    """Whether every cell of ``bench`` ran, as its provenance records, on the machine class of
    a re-run with ``hardware`` and ``versions`` (:class:`~frozenbench.cell.CellResult`'s):
    the same torch CPU kernels and thread count, the same version of every recorded library,
    and the same training arithmetic of the runner
    (:data:`frozenbench.provenance.ARITHMETIC`). False where the table records none of these
    (tables made before the arithmetic was recorded are judged against seed noise).

    >>> from frozenbench.synthetic import make_benchmark
    >>> same_machine_class(make_benchmark(n_configs=4, n_z=2, n_epochs=2), {}, {})
    False
    """
    prov = bench.manifest.provenance
    machines, libraries = prov.get("hardware") or [], prov.get("libraries") or []
    if not machines or not libraries:
        return False
    if any(lib.get(ARITHMETIC_KEY) != versions.get(ARITHMETIC_KEY) for lib in libraries):
        return False
    for made in machines:
        if any(str(made.get(k)) != str(hardware.get(k))
               for k in ("cpu_capability", "torch_threads")):
            return False
    return all(str(versions.get(k)) == str(v)
               for lib in libraries for k, v in lib.items() if k != "cells")


def judge(stick: Yardstick, cell: Cell, table: pd.DataFrame, live: pd.DataFrame, *,
          same_class: bool = False, other: pd.DataFrame | None = None,
          other_seed: int | None = None) -> tuple[pd.DataFrame, CellVerdict]:
    """Compare one cell's curve from the table with its live re-run (frames indexed by epoch)
    and judge it as the module docstring says: step 1 when ``same_class``, step 2 always,
    step 3 when ``other`` (a live run of the same config and z with seed ``other_seed``) is
    given and step 2 found the cell within seed noise. Returns :func:`compare_curves`'s rows
    and the verdict.
    """
    rows = compare_curves(table, live, stick.at(cell.z, list(table.index)))
    units = rows[[c for c in rows.columns if c.endswith("_units")]]
    largest = float(units.max().max()) if units.size else 0.0
    result = verdict(rows, stick.threshold)
    if same_class and result != "identical":
        off = [(rows[f"{c}_absdiff"] > SAME_CLASS_RTOL * rows[f"{c}_table"].abs().clip(lower=1))
               .any() for c in COMPARED]
        if any(off):
            result = "differs"
    ratio = None
    if other is not None and result == "within seed noise":
        ratio = max(seed_ratio(table, live, other).values(), default=0.0)
        if ratio > SECOND_SEED_RATIO:
            result = "differs"
    return rows, CellVerdict(cell, result, largest, same_class,
                             other_seed if other is not None else None, ratio)


@dataclass(frozen=True, eq=False)
class Verification:
    """The outcome of :func:`verify`: one row per (cell, epoch) (see :func:`verify_cells`),
    one :class:`CellVerdict` per cell, the yardstick used and whether the table is official."""

    rows: pd.DataFrame
    cells: tuple[CellVerdict, ...]
    yardstick: Yardstick

    @property
    def verdict(self) -> str:
        """The worst verdict over the cells (in :data:`VERDICTS` order)."""
        return max((c.verdict for c in self.cells), key=VERDICTS.index)


def verify(
    bench: Benchmark,
    cells: Sequence[Cell],
    *,
    device: str = "cpu",
    threads: int = 1,
    second_seed: bool | None = None,
) -> Verification:
    """Re-run ``cells`` live and judge each (see the module docstring). ``second_seed``: run
    step 3 where step 2 finds a cell within seed noise; by default for a table that is not
    official. Needs the ``train`` extra.
    """
    stick = Yardstick.of(bench)
    check = (not stick.official) if second_seed is None else second_seed
    frames, verdicts = [], []
    for cell in cells:
        config = bench.space.config(cell.config_id)
        bench.query(config, cell.z, seed=cell.seed)  # a clear error if the table lacks it
        result = _rerun(bench, cell, cell.seed, device, threads)
        live = result.to_frame().set_index("epoch")
        table = bench.curve(config, cell.z, seed=cell.seed)
        same = device == "cpu" and same_machine_class(bench, result.hardware, result.versions)
        out, judged = judge(stick, cell, table, live, same_class=same)
        if check and judged.verdict == "within seed noise":
            other_seed = cell.seed + 1
            other = _rerun(bench, cell, other_seed, device, threads).to_frame() \
                .set_index("epoch")
            out, judged = judge(stick, cell, table, live, same_class=same, other=other,
                                other_seed=other_seed)
        verdicts.append(judged)
        out["time_ratio"] = live["train_time_s"].reindex(table.index) / table["train_time_s"]
        out.insert(0, "seed", cell.seed)
        out.insert(0, "z", cell.z)
        out.insert(0, "config_id", cell.config_id)
        frames.append(out.reset_index())
    return Verification(pd.concat(frames, ignore_index=True), tuple(verdicts), stick)


def _rerun(bench: Benchmark, cell: Cell, seed: int, device: str, threads: int) -> Any:
    """:func:`~frozenbench.tasks.run_cell` of ``cell``'s config and z with ``seed``."""
    from frozenbench.tasks import run_cell

    return run_cell(bench.manifest.task, bench.space.config(cell.config_id), cell.z, seed,
                    device=device, threads=threads)


def verify_cells(
    bench: Benchmark,
    cells: Sequence[Cell],
    *,
    device: str = "cpu",
    threads: int = 1,
) -> pd.DataFrame:
    """Re-run ``cells`` live and return one row per (cell, epoch): table vs live values
    (:attr:`Verification.rows` of :func:`verify`, without its step 3).

    Columns: ``config_id, z, seed, epoch``, then ``<col>_table``, ``<col>_live`` and
    ``<col>_absdiff`` for each of :data:`COMPARED`, ``<col>_units`` (the difference in seed
    standard deviations at that z and epoch, :func:`seed_spread`) for :data:`NOISY`, and
    ``time_ratio`` (live / table cumulative training time). Needs the ``train`` extra.
    """
    return verify(bench, cells, device=device, threads=threads, second_seed=False).rows


def kernel_note(bench: Benchmark, device: str = "cpu") -> str | None:
    """A note when ``bench``'s cells ran other torch CPU kernels (the instruction-set level its
    provenance records) than a re-run on ``device`` here would: rounding differs then, so
    expect ``within seed noise`` rather than ``identical``. None when they match, on a GPU, or
    when the table does not record it. Needs the ``train`` extra.
    """
    made_on = sorted({h.get("cpu_capability", "?")
                      for h in bench.manifest.provenance.get("hardware", [])})
    if device != "cpu" or not made_on:
        return None
    import torch

    from frozenbench.tasks.runner import hardware

    here = hardware(torch.device("cpu"))["cpu_capability"]
    if made_on == [here]:
        return None
    return (f"the table's cells ran torch's {'/'.join(made_on)} CPU kernels, this re-run "
            f"{here}: rounding differs, so expect 'within seed noise' rather than 'identical'")
