"""Nothing wrong loads (issue 12, item 3, the load side; item 5, manifest errors).

The manifest verifies itself (a sha256 of its canonical content stored in it), every field of
it is checked, and every value of the table is checked against the schema's ranges and
invariants. Each test edits a valid benchmark directory the way a user or a flipped bit would
and expects a :class:`SchemaError` that names the bad value and what is valid.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import frozenbench as fb
from frozenbench import hub
from frozenbench.errors import SchemaError
from frozenbench.manifest import (
    DIGEST_KEY,
    MANIFEST_NAME,
    Manifest,
    content_digest,
    describe_files,
)
from frozenbench.synthetic import write_benchmark
from frozenbench.table import Benchmark

pytestmark = pytest.mark.timeout(60)

KW = dict(n_configs=8, n_z=3, n_epochs=4, diverge_frac=0.0, seed=2)


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return write_benchmark(tmp_path_factory.mktemp("src") / "syn", **KW)


@pytest.fixture
def copy(source, tmp_path) -> Path:
    dst = tmp_path / "b"
    shutil.copytree(source, dst)
    return dst


def edit_manifest(directory: Path, **changes) -> None:
    """Edit manifest.json as a person would: load the JSON, change fields, dump it."""
    path = directory / MANIFEST_NAME
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data, indent=1))


def rewrite_table(src: Path, dst: Path, frame: pd.DataFrame, **manifest_changes) -> Path:
    """A directory holding ``frame`` as its table and a correctly sealed manifest for it:
    only the values are wrong, every checksum is right."""
    dst.mkdir()
    man = Manifest.read(src)
    schema = pq.read_schema(src / "table.parquet")
    pq.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False),
                   dst / "table.parquet")
    data = {**man.__dict__, "files": describe_files(dst, ["table.parquet"]),
            "rows": len(frame), **manifest_changes}
    Manifest(**data).write(dst)
    return dst


@pytest.fixture(scope="module")
def long(source) -> pd.DataFrame:
    return pq.read_table(source / "table.parquet").to_pandas()


# ---------------------------------------------------------------------- the manifest itself
@pytest.mark.parametrize("changes", [
    {"metric": "val_loss"},
    {"fidelities": {"z": [1, 2, 3], "epoch": [1, 2, 3, 4, 5]}},
    {"fidelities": {"z": [1, 2], "epoch": [1, 2, 3, 4]}},
    {"seeds": [0, 1]},
    {"rows": 1},
])
def test_an_edited_manifest_is_detected(copy, changes):
    edit_manifest(copy, **changes)
    with pytest.raises(SchemaError, match="modified after it was written") as info:
        fb.load(copy)
    assert DIGEST_KEY in str(info.value)


def test_an_edited_manifest_is_detected_in_the_hub_cache(copy, monkeypatch):
    import huggingface_hub
    from huggingface_hub import constants

    # Offline, with the copy standing in for the cached snapshot.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download",
                        lambda repo_id, filename, **kw: str(copy / filename))
    assert hub.fetch("hub:ns/table@main") == copy  # the untouched copy verifies
    edit_manifest(copy, metric="train_loss")
    with pytest.raises(SchemaError, match="modified after it was written"):
        hub.fetch("hub:ns/table@main")


def test_a_manifest_without_its_digest_is_refused(copy):
    data = json.loads((copy / MANIFEST_NAME).read_text())
    del data[DIGEST_KEY]
    (copy / MANIFEST_NAME).write_text(json.dumps(data))
    with pytest.raises(SchemaError, match=f"has no {DIGEST_KEY}"):
        Manifest.read(copy)


def test_manifest_round_trip_keeps_the_digest(source):
    man = Manifest.read(source)
    assert Manifest.from_json(man.to_json()) == man
    assert json.loads(man.to_json())[DIGEST_KEY] == \
        json.loads((source / MANIFEST_NAME).read_text())[DIGEST_KEY]


@pytest.mark.parametrize(("text", "match"), [
    ("{not json", "is not valid JSON"),
    ("[1, 2]", "holds a JSON list, not an object"),
    (b"\xff\xfe\x00", "is not valid JSON"),
])
def test_a_manifest_that_is_not_json(copy, text, match):
    path = copy / MANIFEST_NAME
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(SchemaError, match=match) as info:
        fb.load(copy)
    assert MANIFEST_NAME in str(info.value)


def _sealed(copy: Path, **changes) -> None:
    """Change fields and seal the result with a correct digest (a buggy writer, not an edit)."""
    from frozenbench.manifest import content_digest

    data = json.loads((copy / MANIFEST_NAME).read_text())
    data.update(changes)
    data.pop(DIGEST_KEY)
    data = {k: v for k, v in data.items() if v is not None}
    data[DIGEST_KEY] = content_digest(data)
    (copy / MANIFEST_NAME).write_text(json.dumps(data))


@pytest.mark.parametrize(("changes", "match"), [
    ({"metric": None}, r"missing fields \['metric'\]"),
    ({"fidelities": None, "files": None}, r"missing fields \['fidelities', 'files'\]"),
    ({"metric": "accuracy"}, r"metric 'accuracy' is not a metric; valid: \['val_error'"),
    ({"fidelities": {"z": "123", "epoch": [1, 2]}}, r"fidelities\['z'\] must be increasing"),
    ({"fidelities": {"z": [1, 2, 3]}}, "exactly 'z' and 'epoch'"),
    ({"fidelities": {"z": [3, 2, 1], "epoch": [1]}}, "increasing positive integers"),
    ({"config_ids": [0, 0, 1]}, "distinct grid indices"),
    ({"config_ids": [10**6]}, r"distinct grid indices in 0\.\.215"),
    ({"seeds": "0"}, "seeds must be a non-empty list"),
    ({"rows": -3}, "rows must be a non-negative integer, got -3"),
    ({"files": {"../../etc/passwd": {"sha256": "0" * 64, "bytes": 1}}}, "has no '..'"),
    ({"files": {"table.parquet": {"sha256": 5}}}, r"files\['table.parquet'\] must be"),
    ({"schema_version": 9}, r"schema version 9 is not supported .* reads versions \[1, 2, 3\]"),
    ({"metric": "test_error"}, r"metric 'test_error' is a test metric.* never see it; valid: "
                               r"\['val_error', 'val_loss', 'train_loss'\]"),
    ({"grid": {"lr": []}}, r"grid\['lr'\] must be a non-empty list"),
    ({"cells": {"ok": "many"}}, "cells must be an object"),
    ({"surprise": 1}, r"unknown fields \['surprise'\]"),
])
def test_every_manifest_field_is_checked(copy, changes, match):
    _sealed(copy, **changes)
    with pytest.raises(SchemaError, match=match):
        fb.load(copy, verify=False)


def test_all_manifest_problems_are_listed_together(copy):
    _sealed(copy, metric="acc", rows=-1, seeds=[])
    with pytest.raises(SchemaError, match="3 problems") as info:
        Manifest.read(copy)
    text = str(info.value)
    assert "metric 'acc'" in text and "rows must" in text and "seeds must" in text


# ---------------------------------------------------------------------- the table's values
def _where(long: pd.DataFrame, config_id: int, z: int, epoch: int, seed: int = 0) -> int:
    hit = long.index[(long.config_id == config_id) & (long.z == z) & (long.epoch == epoch)
                     & (long.seed == seed)]
    return int(hit[0])


def _bad(long, column, value, epoch=2):
    frame = long.copy()
    cid = int(frame.config_id.iloc[0])
    frame.loc[_where(frame, cid, 2, epoch), column] = value
    return frame, cid


@pytest.mark.parametrize(("column", "value", "match"), [
    ("val_error", 7.0, r"val_error=7\.0 at config_id=\d+, z=2, epoch=2, seed=0 is not valid; "
                       r"val_error is \[0, 1\]"),
    ("val_error", -5.0, r"val_error=-5\.0 .* is not valid; val_error is \[0, 1\]"),
    ("val_error", np.inf, r"val_error=inf .* is not valid"),
    ("val_error", np.nan, r"val_error is NaN at config_id=\d+, z=2, epoch=2, seed=0, a row of "
                          r"an ok cell"),
    ("val_loss", np.nan, r"val_loss=nan .* finite and >= 0 \(NaN/inf only in a diverged"),
    ("train_loss", -1.0, r"train_loss=-1\.0 .* is not valid; train_loss is finite and >= 0"),
    ("peak_memory_bytes", -1, r"peak_memory_bytes=-1\.0"),
    ("train_time_s", 0.0, r"train_time_s falls from [\d.]+ to 0\.0 at config_id=\d+, z=2, "
                          r"epoch=2, seed=0; it is cumulative"),
    ("train_flops", 1.0, r"train_flops falls from"),
])
def test_values_out_of_range_are_refused(source, long, tmp_path, column, value, match):
    frame, _ = _bad(long, column, value)
    d = rewrite_table(source, tmp_path / "t", frame)
    with pytest.raises(SchemaError, match=match):
        Benchmark.from_directory(d)


def test_a_hole_in_the_epochs_of_an_ok_cell(source, long, tmp_path):
    cid = int(long.config_id.iloc[0])
    frame = long.drop(index=_where(long, cid, 2, 3)).reset_index(drop=True)
    d = rewrite_table(source, tmp_path / "t", frame)
    with pytest.raises(SchemaError, match=rf"the ok cell config_id={cid}, z=2, seed=0 has "
                                          r"epochs \[1, 2, 4\], not all of \[1, 2, 3, 4\]"):
        Benchmark.from_directory(d)


def test_a_cell_with_two_statuses(source, long, tmp_path):
    frame, cid = _bad(long, "status", "diverged", epoch=1)
    d = rewrite_table(source, tmp_path / "t", frame)
    with pytest.raises(SchemaError, match=rf"config_id={cid}, z=2, seed=0 has rows with status "
                                          "ok and rows with status diverged"):
        Benchmark.from_directory(d)


def test_a_diverged_cell_with_a_hole(source, long, tmp_path):
    frame = long.copy()
    cid = int(frame.config_id.iloc[0])
    cell = (frame.config_id == cid) & (frame.z == 2) & (frame.seed == 0)
    frame.loc[cell, "status"] = "diverged"
    frame = frame.drop(index=_where(frame, cid, 2, 2)).reset_index(drop=True)
    d = rewrite_table(source, tmp_path / "t", frame, cells={"ok": Manifest.read(source)
                                                            .cells["ok"] - 1, "diverged": 1})
    with pytest.raises(SchemaError, match=r"has epoch 3 but not epoch 2"):
        Benchmark.from_directory(d)


def test_an_epoch_without_rows(source, long, tmp_path):
    """The manifest is sealed, but it lists an epoch the table never reached."""
    d = rewrite_table(source, tmp_path / "t", long,
                      fidelities={"z": [1, 2, 3], "epoch": [1, 2, 3, 4, 5]})
    with pytest.raises(SchemaError, match=r"lists epochs \[5\] that no row has"):
        Benchmark.from_directory(d)


def test_a_z_without_rows_needs_missing_cells(source, long, tmp_path):
    man = Manifest.read(source)
    frame = long[long.z != 3].reset_index(drop=True)
    n_ok = int(frame.groupby(["config_id", "z", "seed"]).ngroups)
    with pytest.raises(SchemaError, match=r"lists z values \[3\] that no row has, and records "
                                          "no failed or missing cell"):
        Benchmark.from_directory(rewrite_table(source, tmp_path / "a", frame,
                                               cells={"ok": n_ok, "diverged": 0}))
    missing = man.cells["ok"] - n_ok
    bench = Benchmark.from_directory(rewrite_table(
        source, tmp_path / "b", frame, cells={"ok": n_ok, "diverged": 0, "missing": missing}))
    assert bench.fidelities["z"] == [1, 2, 3]


def test_counts_must_match_the_manifest(source, long, tmp_path):
    d = rewrite_table(source, tmp_path / "t", long, cells={"ok": 1, "diverged": 0})
    with pytest.raises(SchemaError, match=r"the manifest counts 1 ok cells, the table has \d+"):
        Benchmark.from_directory(d)


def test_several_problems_are_listed_together(source, long, tmp_path):
    frame, _ = _bad(long, "val_error", 7.0)
    frame.loc[0, "train_loss"] = -2.0
    d = rewrite_table(source, tmp_path / "t", frame)
    with pytest.raises(SchemaError, match="2 problem") as info:
        Benchmark.from_directory(d)
    assert "val_error=7.0" in str(info.value) and "train_loss=-2.0" in str(info.value)


def test_a_language_model_table_has_nan_val_error_everywhere(source, long, tmp_path):
    frame = long.assign(val_error=np.nan)
    ok = Benchmark.from_directory(rewrite_table(source, tmp_path / "lm", frame,
                                                metric="val_loss"))
    assert np.isnan(ok.query(ok.configs[0], 3).val_error)
    with pytest.raises(SchemaError, match=r"val_error is NaN .*this one's is 'val_error'"):
        Benchmark.from_directory(rewrite_table(source, tmp_path / "cls", frame))


def test_diverged_rows_may_hold_nan_and_inf(tmp_path):
    d = write_benchmark(tmp_path / "d", n_configs=8, n_z=3, n_epochs=4, diverge_frac=0.3,
                        seed=1)
    bench = Benchmark.from_directory(d)
    assert bench.manifest.cells["diverged"] > 0


def test_shipped_tables_pass_every_check():
    for name in fb.registry.shipped():
        Benchmark.from_directory(fb.registry.resolve(name))


def test_a_corrupt_parquet_file_without_checksums_is_a_schema_error(copy):
    """Found by the fuzzer: a damaged footer raised a raw OSError with verify=False."""
    data = (copy / "table.parquet").read_bytes()
    (copy / "table.parquet").write_bytes(data[:-40] + b"\x0f" * 32 + data[-8:])
    with pytest.raises(SchemaError, match=r"cannot read table.parquet \(OSError"):
        Benchmark.from_directory(copy, verify=False)


@pytest.mark.parametrize("log_scale", [[["lr"]], [{"a": 1}], [None, 3]])
def test_a_log_scale_of_other_values_than_names_is_a_schema_error(copy, log_scale):
    # Found by the Hub fuzz cases (issue 24, item 10): a re-signed manifest whose log_scale
    # held a list raised a raw TypeError (unhashable type) while its fields were checked.
    data = json.loads((copy / MANIFEST_NAME).read_text())
    data["log_scale"] = log_scale
    data[DIGEST_KEY] = content_digest({k: v for k, v in data.items() if k != DIGEST_KEY})
    (copy / MANIFEST_NAME).write_text(json.dumps(data))
    with pytest.raises(SchemaError, match="log_scale names"):
        fb.load(copy)


@pytest.mark.parametrize("pandas_meta", [b"\xc9\x93 not utf-8", b"{not json",
                                         b'{"columns": [{"name": "x"}]}',
                                         # the parquet fuzz cases: pyarrow's ArrowException
                                         b'{"fOzD\xff\xfe1\xf1\x01!\\e"synthetic"}'])
def test_corrupt_pandas_metadata_in_the_parquet_file_is_a_schema_error(copy, pandas_meta):
    # Found by the Hub fuzz cases (issue 24, item 10): a corrupted table re-signed by its
    # author loaded, and to_frame() raised pyarrow's raw UnicodeDecodeError / KeyError
    # ('numpy_type') while reading the pandas metadata of the Parquet schema.
    table = pq.read_table(copy / "table.parquet")
    meta = {**(table.schema.metadata or {}), b"pandas": pandas_meta}
    pq.write_table(table.replace_schema_metadata(meta), copy / "table.parquet")
    man = Manifest.read(copy)
    Manifest(**{**man.__dict__, "files": describe_files(copy, ["table.parquet"])}).write(copy)
    bench = fb.load(copy)
    with pytest.raises(SchemaError, match="pandas metadata"):
        bench.to_frame()


@pytest.mark.parametrize("column", ["optimizer", "device"])
def test_a_text_column_holding_bytes_that_are_not_text_is_a_schema_error(copy, column):
    # Found by the parquet fuzz cases (issue 24, item 10): a string column whose bytes are not
    # UTF-8 gave raw errors: a hyperparameter's in the load's value check (UnicodeDecodeError),
    # another (read only by to_frame) pyarrow's ArrowException ("Wrapping ... failed").
    table = pq.read_table(copy / "table.parquet")
    i = table.schema.get_field_index(column)
    n = table.num_rows
    data = b"\xff\xfe" + b"adam" * (n - 1)
    offsets = np.array([0, 2, *range(6, 6 + 4 * (n - 1), 4)], dtype=np.int32)
    bad = pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets.tobytes()),
                                                 pa.py_buffer(data)])
    pq.write_table(table.set_column(i, column, bad), copy / "table.parquet")
    man = Manifest.read(copy)
    Manifest(**{**man.__dict__, "files": describe_files(copy, ["table.parquet"])}).write(copy)
    with pytest.raises(SchemaError, match="not UTF-8"):
        fb.load(copy).to_frame()


def test_a_shard_of_an_unknown_schedule_is_refused_and_thaw_rows_follow_theirs():
    """A row's schedule names its cell: an unknown one is reported as such; a thaw cell's rows
    must carry the z of the linear thaw schedule, record by record."""
    from frozenbench.cell import Cell, CellKey, CellResult, EpochRecord
    from frozenbench.generation.integrity import CellCheck
    from frozenbench.schema import to_arrow
    from frozenbench.tasks import get_task

    task = get_task("debug-mnist")
    check, grid = CellCheck.of(task), task.space.to_dict()

    def rows(schedule, zs):
        records = tuple(EpochRecord(e, 64 * e, 1.0, 1.0, 0.5, 0.1 * e, 0.1 * e, 0.01, 0.01, 1, 1,
                                    1e6 * e, z=z) for e, z in zip((1, 2), zs))
        cell = CellResult(CellKey(task.name, 0, 6, 0, schedule), task.space.config(0), 6, 10,
                          20, "cpu_tensor_estimate", "cpu", {}, {}, records)
        return to_arrow(cell.to_frame(), grid, cell=True)

    thaw = Cell(0, 6, 0, "thaw")
    assert check.problems(thaw, "ok", rows("thaw", (1, 6))) == []
    assert check.problems(thaw, "ok", rows("thaw", (2, 6))) == [
        "z [2, 6] of a thaw cell, expected [1, 6]"]
    assert check.problems(thaw, "ok", rows("cosine", (1, 6))) == [
        "schedule ['cosine']; valid: ['fixed', 'thaw']"]
    assert check.problems(Cell(0, 6, 0), "ok", rows("thaw", (1, 6))) == [
        "holds rows of cells ['c00000-thaw-z06-s0']"]
