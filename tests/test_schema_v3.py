"""Schema version 3: held-out test metrics next to validation, and the ``schedule`` column
(fixed-z rows and thaw rows), from the schema through a cell's rows to a loaded benchmark."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from frozenbench import schema
from frozenbench.cell import CellKey, CellResult, EpochRecord
from frozenbench.errors import SchemaError
from frozenbench.manifest import Manifest, describe_files
from frozenbench.sim.trajectory import regret_metric
from frozenbench.synthetic import make_benchmark, write_benchmark
from frozenbench.table import Benchmark

GRID = {"lr": [0.1, 0.01]}
KW = dict(n_configs=6, n_z=3, n_epochs=4, diverge_frac=0.0, seed=1)


def _cell(schedule_rows=2, **record):
    records = tuple(EpochRecord(e, 128 * e, 2.0 / e, 2.1 / e, 0.5 / e, 1.0 * e, 1.0 * e, 0.1,
                                0.1, 10**6, 10**8, 1e9 * e, **record)
                    for e in range(1, schedule_rows + 1))
    return CellResult(CellKey("demo", 0, 1, 0), {"lr": 0.1}, 2, 10, 20, "cpu_tensor_estimate",
                      "cpu", {"torch": "x"}, {"cpu_model": "demo"}, records)


def test_version_3_adds_the_test_metrics_and_the_schedule():
    v3, v2 = schema.arrow_schema(GRID), schema.arrow_schema(GRID, version=2)
    assert schema.SCHEMA_VERSION == 3 and schema.READABLE_VERSIONS == (1, 2, 3)
    assert v3.metadata[b"frozenbench_schema_version"] == b"3"
    for name in ("test_loss", "test_error", "schedule"):
        assert name in v3.names and name not in v2.names
    assert v3.field("test_loss").type == pa.float64() and v3.field("schedule").type == pa.string()
    assert "schedule" in schema.KEY_COLUMNS and schema.SCHEDULES == ("fixed", "thaw")
    assert schema.VALUE_RANGES["test_error"] == (0.0, 1.0)
    assert schema.VALUE_RANGES["test_loss"] == (0.0, math.inf)
    assert dict(schema.TEST_METRICS) == {"val_error": "test_error", "val_loss": "test_loss"}
    assert set(schema.TEST_METRICS.values()) <= set(schema.METRICS)
    assert not set(schema.TEST_METRICS.values()) & set(schema.SEARCH_METRICS)
    docs = {c.name: c.doc for c in schema.COLUMNS}
    assert "never charged to eval_time_s/eval_cpu_s" in docs["test_loss"]
    assert "test evaluation is not included" in docs["eval_time_s"]


def test_a_record_without_test_metrics_writes_nan_and_the_fixed_schedule():
    frame = _cell().to_frame()
    assert frame["test_loss"].isna().all() and frame["test_error"].isna().all()
    assert set(frame["schedule"]) == {"fixed"}
    schema.validate(frame, GRID, cell=True)
    with_test = _cell(test_loss=0.7, test_error=0.25).to_frame()
    assert with_test["test_loss"].tolist() == [0.7, 0.7]
    assert with_test["test_error"].tolist() == [0.25, 0.25]


def test_validate_checks_the_schedule_and_keys_rows_by_it():
    frame = _cell().to_frame()
    bad = frame.assign(schedule="cosine")
    with pytest.raises(SchemaError, match=r"unknown schedule values \['cosine'\]; valid: "
                                          r"\['fixed', 'thaw'\]"):
        schema.validate(bad, GRID, cell=True)
    schema.validate(pd.concat([frame, frame.assign(schedule="thaw")], ignore_index=True), GRID,
                    cell=True)
    with pytest.raises(SchemaError, match="duplicate rows"):
        schema.validate(pd.concat([frame, frame], ignore_index=True), GRID, cell=True)


def test_a_v3_table_answers_test_metrics_by_name():
    bench = make_benchmark(test_split=True, **KW)
    cfg = bench.configs[0]
    r = bench.query(cfg, z=3)
    assert 0.0 <= r.test_error <= 1.0 and r.test_loss > 0.0
    assert abs(r.test_error - r.val_error) < 0.1  # test = validation + small noise
    assert r.test_error != r.val_error
    curve = bench.curve(cfg, z=3, seed=0)
    assert {"test_loss", "test_error"} <= set(curve.columns) and curve["test_error"].notna().all()
    many = bench.query_many(bench.config_ids, 3, quantities=["test_error", "test_loss"])
    assert np.isfinite(many["test_error"]).all()
    assert np.isfinite(bench.full_fidelity_scores("test_error")).all()
    assert bench.metric == "val_error"  # optimised: validation
    assert regret_metric(bench) == "test_error"  # reported: test
    assert regret_metric(make_benchmark(**KW)) == "val_error"  # no test split
    assert np.isnan(make_benchmark(**KW).objective("test_error")).all()


def test_a_table_without_test_split_reads_nan_test_metrics():
    bench = make_benchmark(**KW)
    r = bench.query(bench.configs[0], z=3)
    assert math.isnan(r.test_error) and math.isnan(r.test_loss) and not math.isnan(r.val_error)
    assert len(bench.schedule_rows) == 0


def _as_version_2(src, dst):
    """The same table as schema version 2 wrote it: no test metrics, no schedule column."""
    table = pq.read_table(src / "table.parquet")
    keep = [n for n in table.column_names if n not in schema.ADDED_IN_3]
    table = table.select(keep).replace_schema_metadata({b"frozenbench_schema_version": b"2"})
    dst.mkdir()
    pq.write_table(table, dst / "table.parquet")
    Manifest(**{**Manifest.read(src).__dict__, "schema_version": 2,
                "files": describe_files(dst, ["table.parquet"])}).write(dst)
    return dst


def test_a_version_2_table_loads_with_nan_test_metrics_and_fixed_rows(tmp_path):
    src = write_benchmark(tmp_path / "v3", test_split=True, **KW)
    v3 = Benchmark.from_directory(src)
    v2 = Benchmark.from_directory(_as_version_2(src, tmp_path / "v2"))
    assert v2.manifest.schema_version == 2
    cfg = v2.configs[1]
    a, b = v2.query(cfg, z=2), v3.query(cfg, z=2)
    assert a.val_error == b.val_error and a.train_cost_s == b.train_cost_s
    assert math.isnan(a.test_error) and math.isnan(a.test_loss) and not math.isnan(b.test_error)
    assert len(v2.schedule_rows) == 0 and v2.schedule_rows.schedules == ()


def test_thaw_rows_stay_out_of_the_dense_table_and_are_one_frozen_value(tmp_path):
    plain = Benchmark.from_directory(write_benchmark(tmp_path / "plain", test_split=True, **KW))
    root = write_benchmark(tmp_path / "thaw", test_split=True, thaw_configs=2, **KW)
    bench = Benchmark.from_directory(root)
    manifest = bench.manifest
    assert manifest.rows == plain.manifest.rows + 2 * 4  # 2 thaw cells x 4 epochs
    assert manifest.cells["ok"] == plain.manifest.cells["ok"] + 2
    ids = plain.config_ids
    for q in ("val_error", "test_loss", "train_cost_s"):
        np.testing.assert_array_equal(
            bench.query_many(ids, 3, 2, quantities=[q])[q],
            plain.query_many(ids, 3, 2, quantities=[q])[q])
    rows = bench.schedule_rows
    assert len(rows) == 8 and rows.schedules == ("thaw",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rows.z = rows.z  # type: ignore[misc]
    assert not rows.values.flags.writeable and not rows.z.flags.writeable
    cid = int(rows.config_id[0])
    curve = rows.curve(cid, "thaw", seed=0)
    n, epochs = 3, 4
    assert curve.index.tolist() == [1, 2, 3, 4]
    assert curve["z"].tolist() == [1 + (e - 1) * (n - 1) // (epochs - 1) for e in range(1, 5)]
    assert curve["train_cost_s"].is_monotonic_increasing
    assert curve["test_error"].notna().all()
    assert len(bench.to_frame()) == manifest.rows  # the long table keeps every row
    with pytest.raises(Exception, match="no thaw rows for config_id=999"):
        rows.curve(999, "thaw", seed=0)


def test_a_table_with_an_unknown_schedule_is_refused(tmp_path):
    root = write_benchmark(tmp_path / "t", thaw_configs=1, **KW)
    table = pq.read_table(root / "table.parquet")
    sched = table.column("schedule").to_pylist()
    sched = ["cosine" if s == "thaw" else s for s in sched]
    i = table.schema.get_field_index("schedule")
    table = table.set_column(i, table.schema.field(i), pa.array(sched, pa.string()))
    pq.write_table(table, root / "table.parquet")
    Manifest(**{**Manifest.read(root).__dict__,
                "files": describe_files(root, ["table.parquet"])}).write(root)
    with pytest.raises(SchemaError, match=r"unknown schedule values \['cosine'\]; valid: "
                                          r"\['fixed', 'thaw'\]"):
        Benchmark.from_directory(root)


def _check():
    from frozenbench.generation.integrity import CellCheck
    from frozenbench.space import SearchSpace

    space = SearchSpace.from_dict(GRID)
    return CellCheck(grid=GRID, space=space, epochs=(1, 2), n_layers=2, metric="val_error")


def test_a_shard_carries_the_v3_columns_and_its_test_metrics_are_checked():
    from frozenbench.cell import Cell

    check, cell = _check(), Cell(0, 1, 0)
    for result in (_cell(), _cell(test_loss=0.7, test_error=0.25)):  # without / with a split
        rows = schema.to_arrow(result.to_frame(), GRID, cell=True)
        assert {"test_loss", "test_error", "schedule"} <= set(rows.column_names)
        assert check.problems(cell, "ok", rows) == []
    frame = _cell(test_loss=0.7, test_error=0.25).to_frame()
    frame.loc[1, "test_error"] = float("nan")
    frame.loc[0, "test_loss"] = 1.5e300
    frame.loc[1, "test_loss"] = -1.0
    problems = check.problems(cell, "ok", schema.to_arrow(frame, GRID, cell=True))
    assert any("test_error is NaN in some rows only" in p for p in problems), problems
    assert any(p.startswith("test_loss outside [0.0, inf]: [-1.0]") for p in problems), problems
    frame = _cell().to_frame().assign(schedule="cosine")
    problems = check.problems(cell, "ok", schema.to_arrow(frame, GRID, cell=True))
    assert any("schedule ['cosine']; valid: ['fixed', 'thaw']" in p for p in problems), problems


def test_a_card_describes_the_schema_version_of_its_table(tmp_path):
    from frozenbench.card import render

    src = write_benchmark(tmp_path / "v3", test_split=True, **KW)
    for root, version in ((src, 3), (_as_version_2(src, tmp_path / "v2"), 2)):
        card = render(root, analysis=False)
        assert f"## Schema (version {version})" in card
        assert ("| `test_error` |" in card) == (version == 3)
        assert ("`schedule`" in card) == (version == 3)


def test_a_dense_table_with_thaw_rows_loads(tmp_path):
    """Every (config, z, epoch, seed) slot filled, and thaw rows on top: more rows than slots,
    which the size checks must allow (one row per config, epoch and seed per schedule)."""
    root = write_benchmark(tmp_path / "dense", thaw_configs=6, full_z_seeds=1,
                           multi_seed_configs=0, **KW)
    bench = Benchmark.from_directory(root)
    assert bench.manifest.rows == 6 * 3 * 4 + 6 * 4
    assert bench.seed_mask().all() and len(bench.schedule_rows) == 6 * 4
