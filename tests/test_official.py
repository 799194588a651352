"""Official tables are pinned, and a tampered table cannot steer ``verify`` (issue 24, item 2).

The attack: shift one cell of a copy of a shipped table by 0.15 nats and re-sign the manifest;
``verify`` re-runs that cell and finds it 6 seed standard deviations off (``differs``). Add
noise to the rows of the other seeds as well and the table's own seed-noise yardstick widens
until the same cell is ``within seed noise`` (0.7 to 2 units). These tests replay a re-run
with the untampered table's rows (no training): the original seed 0 is the live re-run of the
shifted cell, the original seed 1 the live second seed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from frozenbench.cell import Cell
from frozenbench.manifest import MANIFEST_NAME, Manifest, describe_files
from frozenbench.official import OFFICIAL, describe, manifest_digest
from frozenbench.registry import DATA_DIR, load, shipped
from frozenbench.table import Benchmark
from frozenbench.verify import SECOND_SEED_RATIO, Yardstick, judge, seed_ratio


def test_every_shipped_table_is_pinned_and_the_pins_match_the_files():
    # A regenerated table must update its pin in frozenbench/official.py.
    assert set(shipped()) <= set(OFFICIAL)
    for name in shipped():
        stored = json.loads((DATA_DIR / name / MANIFEST_NAME).read_text())["manifest_sha256"]
        assert OFFICIAL[name] == stored == manifest_digest(Manifest.read(DATA_DIR / name)), name
        assert load(name).official, name


def copy_of(name: str, dest: Path, *, shift: tuple[int, int, float] | None = None,
            noise: float = 0.0) -> Path:
    """A copy of a shipped table: ``shift`` = (config_id, z, nats) added to seed 0's val_loss
    of that cell; ``noise``: a normal draw of that sd added to the losses of every row of the
    other seeds. The manifest is re-signed (new file sha256, new digest)."""
    shutil.copytree(DATA_DIR / name, dest)
    if shift is None and not noise:
        return dest
    t = pq.read_table(dest / "table.parquet")
    if shift is not None:
        config_id, z, nats = shift
        hit = pc.and_(pc.and_(pc.equal(t["config_id"], config_id), pc.equal(t["z"], z)),
                      pc.equal(t["seed"], 0))
        t = t.set_column(t.schema.get_field_index("val_loss"), "val_loss",
                         pc.if_else(hit, pc.add(t["val_loss"], nats), t["val_loss"]))
    if noise:
        rng = np.random.default_rng(0)
        other = pc.not_equal(t["seed"], 0).to_numpy(zero_copy_only=False)
        for col in ("val_loss", "train_loss"):
            values = t[col].to_numpy().copy()
            values[other] += rng.normal(0.0, noise, int(other.sum()))
            t = t.set_column(t.schema.get_field_index(col), col, pa.array(values))
    pq.write_table(t, dest / "table.parquet")
    m = Manifest.read(dest)
    Manifest(**{**m.__dict__, "files": describe_files(dest, ["table.parquet"])}).write(dest)
    return dest


def test_a_copy_is_official_and_an_edited_table_is_not(tmp_path):
    same = Benchmark.from_directory(copy_of("kjv-gpt2", tmp_path / "same"))
    assert same.official
    edited = Benchmark.from_directory(copy_of("kjv-gpt2", tmp_path / "edited", noise=1e-9))
    assert not edited.official
    text = describe(edited.manifest, edited.official)
    assert "unofficial table kjv-gpt2: named like an official table" in text
    # The official manifest beside a table file that does not match it: not official.
    d = copy_of("kjv-gpt2", tmp_path / "swapped")
    shutil.copyfile(tmp_path / "edited" / "table.parquet", d / "table.parquet")
    assert not Benchmark.from_directory(d, verify=False).official


def median_cell(bench: Benchmark) -> Cell:
    """The cell at full z with seeds 0 and 1 whose seeds lie apart by the median amount."""
    zi = len(bench.fidelities["z"]) - 1
    v = bench.objective("val_loss", per_seed=True)[:, zi]
    both = np.isfinite(v[..., 0]).all(axis=1) & np.isfinite(v[..., 1]).all(axis=1)
    apart = np.sqrt(np.nanmean((v[..., 0] - v[..., 1]) ** 2, axis=1))
    rows = np.flatnonzero(both)
    pick = rows[np.argsort(apart[rows])[len(rows) // 2]]
    return Cell(int(bench.config_ids[pick]), int(bench.fidelities["z"][zi]), 0)


@pytest.mark.parametrize("noise", [0.0, 0.1, 0.3])
def test_a_shifted_cell_differs_whatever_noise_is_added_to_other_rows(tmp_path, noise):
    original = load("kjv-gpt2")
    cell = median_cell(original)
    config = original.space.config(cell.config_id)
    live = original.curve(config, cell.z, seed=0)  # the re-run of the shifted cell
    other = original.curve(config, cell.z, seed=1)  # the live second seed
    tampered = Benchmark.from_directory(
        copy_of("kjv-gpt2", tmp_path / "t", shift=(cell.config_id, cell.z, 0.15), noise=noise))
    assert not tampered.official
    stick = Yardstick.of(tampered)
    table = tampered.curve(config, cell.z, seed=0)
    _, first = judge(stick, cell, table, live)  # steps 1-2: the table's own yardstick
    _, full = judge(stick, cell, table, live, other=other, other_seed=1)
    if noise:  # the attack works on the table's yardstick alone ...
        assert first.verdict == "within seed noise", first
    assert full.verdict == "differs", (first, full)  # ... not past a live second seed
    assert full.seed_ratio is None or full.seed_ratio > SECOND_SEED_RATIO


def test_honest_reruns_pass_the_second_seed():
    # A re-run on another machine class is modelled as another seed (pessimistic): table seed
    # 0, re-run seed 1, live second seed 2, at every cell with three seeds.
    for name in ("kjv-gpt2", "pystdlib-llama"):
        bench = load(name)
        stick = Yardstick.of(bench)
        mask = bench.seed_mask()
        verdicts = []
        for ci, zi in np.argwhere(mask.all(axis=2)):
            config = bench.space.config(int(bench.config_ids[ci]))
            z = int(bench.fidelities["z"][zi])
            t0, t1, t2 = (bench.curve(config, z, seed=s) for s in (0, 1, 2))
            cell = Cell(int(bench.config_ids[ci]), z, 0)
            verdicts.append(judge(stick, cell, t0, t1, other=t2, other_seed=2)[1].verdict)
        within = np.mean([v == "within seed noise" for v in verdicts])
        assert len(verdicts) >= 20 and within >= 0.9, (name, within)


def test_a_rerun_on_the_tables_machine_class_must_be_identical():
    bench = load("kjv-gpt2")
    stick = Yardstick.of(bench)
    cell = median_cell(bench)
    config = bench.space.config(cell.config_id)
    table = bench.curve(config, cell.z, seed=0)
    nudged = table.assign(val_loss=table["val_loss"] + 1e-6)  # far within seed noise
    assert judge(stick, cell, table, nudged)[1].verdict == "within seed noise"
    assert judge(stick, cell, table, nudged, same_class=True)[1].verdict == "differs"
    assert judge(stick, cell, table, table, same_class=True)[1].verdict == "identical"


def test_seed_ratio_edge_cases():
    import pandas as pd

    idx = pd.Index([1, 2], name="epoch")
    table = pd.DataFrame({"val_loss": [2.0, 1.5], "val_error": [np.nan, np.nan]}, index=idx)
    assert seed_ratio(table, table, table.assign(val_loss=[2.1, 1.4])) == {"val_loss": 0.0}
    assert seed_ratio(table, table.assign(val_loss=[2.1, 1.4]), table.assign(
        val_loss=[2.1, 1.4]))["val_loss"] == np.inf
