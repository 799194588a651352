"""Each table column is declared once (:class:`frozenbench.schema.Column`); the lists, ranges,
labels and units elsewhere are derived from that declaration or checked against it here."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pyarrow as pa
import pytest

from frozenbench import schema
from frozenbench.analysis.formalism import COST_COLUMNS
from frozenbench.cell import CellKey, CellResult, EpochRecord
from frozenbench.errors import SchemaError, UnknownNameError
from frozenbench.schema import COLUMNS, Column, column
from frozenbench.synthetic import make_table
from frozenbench.table import COST_ALIASES, COSTS, QUANTITIES, Result

INF = math.inf


def test_the_derived_lists_hold_what_they_held_when_written_by_hand():
    """The values of the lists before they were derived (commit 34aa01b), in their order where
    the order means something (dense array axes, Result fields, help texts, the card)."""
    assert schema.KEY_COLUMNS == ("config_id", "z", "epoch", "seed", "schedule")
    assert QUANTITIES == ("val_error", "val_loss", "train_loss", "train_cost_s", "train_cpu_s",
                          "train_time_s", "train_flops", "peak_memory_bytes", "test_error",
                          "test_loss")
    assert COSTS == ("train_cost_s", "train_cpu_s", "train_time_s", "train_flops")
    assert list(COST_ALIASES.items()) == [("cost", "train_cost_s"), ("cpu", "train_cpu_s"),
                                          ("time", "train_time_s"), ("flops", "train_flops")]
    assert schema.SEARCH_METRICS == ("val_error", "val_loss", "train_loss")
    assert list(schema.TEST_METRICS.items()) == [("val_error", "test_error"),
                                                 ("val_loss", "test_loss")]
    assert schema.METRICS == ("val_error", "val_loss", "train_loss", "test_error", "test_loss")
    assert schema.DERIVED_COLUMNS == ("train_cost_s",)
    assert schema.ADDED_IN_2 == ("train_cpu_s", "train_cost_s", "eval_cpu_s", "hardware")
    assert set(schema.ADDED_IN_3) == {"test_loss", "test_error", "schedule"}
    assert set(schema.CUMULATIVE_COLUMNS) == {"train_time_s", "train_cpu_s", "train_cost_s",
                                              "train_flops", "samples_seen"}
    assert set(schema.FINITE_WHEN_OK) == {"val_loss", "train_loss"}
    assert set(schema.ALL_OR_NONE) == {"val_error", "test_error", "test_loss"}
    assert schema.VALUE_RANGES == {
        "val_error": (0.0, 1.0), "val_loss": (0.0, INF), "test_error": (0.0, 1.0),
        "test_loss": (0.0, INF), "train_loss": (0.0, INF), "train_time_s": (0.0, INF),
        "train_cpu_s": (0.0, INF), "train_cost_s": (0.0, INF), "train_flops": (0.0, INF),
        "peak_memory_bytes": (0.0, INF)}
    assert COST_COLUMNS == {"train_cost_s": "default cost (s)", "train_cpu_s": "CPU time (s)",
                            "train_time_s": "wall time (s)", "train_flops": "FLOPs",
                            "peak_memory_bytes": "peak memory (bytes)"}


@pytest.mark.parametrize("version", schema.READABLE_VERSIONS)
def test_each_version_has_the_columns_declared_up_to_it(version):
    names = schema.arrow_schema({"lr": [0.1]}, version=version).names
    assert names == ["lr", *(c.name for c in COLUMNS if c.since <= version)]
    assert ("train_cpu_s" in names) == (version >= 2)
    assert ("schedule" in names) == (version >= 3)


def test_result_spells_out_the_declared_quantities():
    assert Result._fields == (*QUANTITIES, "n_seeds", "n_diverged")


def test_test_twins_are_metrics_of_the_same_kind():
    for val, test in schema.TEST_METRICS.items():
        a, b = column(val), column(test)
        assert (b.role, b.unit, b.valid_range, b.since) == ("metric", a.unit, a.valid_range, 3)
        assert b.all_or_none and b.test is None


def test_epoch_record_has_a_field_for_each_measured_column_of_a_row():
    """EpochRecord lists its fields (a dataclass must): those are the columns a cell measures
    at each record (metrics, costs, memory, progress, and the epoch and z of the record); the
    other columns of a shard are the cell's own (CellResult), the derived ones the merge's."""
    per_record = {c.name for c in COLUMNS if not c.derived
                  and c.role in ("metric", "cost", "memory", "progress")}
    fields = {f.name for f in dataclasses.fields(EpochRecord)}
    assert fields == per_record | {"epoch", "z"}


def test_a_cell_fills_every_column_of_its_shard():
    """``to_frame`` would fill a column that neither the record nor the cell provides with NaN
    (pandas reindexes silently): every column of a shard must come out with a value."""
    rec = EpochRecord(1, 128, 2.3, 2.2, 0.8, 1.5, 1.4, 0.1, 0.1, 10**6, 10**8, 1e9,
                      test_loss=2.4, test_error=0.81, z=1)
    cell = CellResult(CellKey("demo", 0, 1, 0), {"lr": 0.1}, 2, 10, 20, "cpu_tensor_estimate",
                      "cpu", {"torch": "x"}, {"cpu_model": "demo"}, (rec,))
    frame = cell.to_frame()
    assert list(frame.columns) == ["lr", *schema.CELL_COLUMNS]
    assert not frame.isna().any().any(), frame.columns[frame.isna().any()].tolist()
    schema.validate(frame, {"lr": [0.1]}, cell=True)


def test_the_synthetic_writer_fills_every_declared_column():
    table, _, _ = make_table(grid={"lr": [0.1, 0.01]}, n_z=2, n_epochs=3, diverge_frac=0.0,
                             test_split=True, thaw_configs=1)
    assert table.schema.names == schema.arrow_schema({"lr": [0.1, 0.01]}).names
    for c in COLUMNS:
        values = table.column(c.name)
        assert values.null_count == 0, c.name
        if c.valid_range is not None:
            v = values.to_numpy().astype(float)
            assert ((v >= c.valid_range[0]) & (v <= c.valid_range[1])).all(), c.name
        if c.choices:
            assert set(values.to_pylist()) <= set(c.choices), c.name
    frame = table.to_pandas().sort_values(["schedule", "config_id", "z", "seed", "epoch"])
    cells = frame.groupby(["schedule", "config_id", "z", "seed"])
    for name in schema.CUMULATIVE_COLUMNS:
        assert (cells[name].diff().dropna() >= 0).all(), name


def test_validate_checks_every_column_with_declared_choices():
    rec = EpochRecord(1, 128, 2.3, 2.2, 0.8, 1.5, 1.4, 0.1, 0.1, 10**6, 10**8, 1e9)
    cell = CellResult(CellKey("demo", 0, 1, 0), {"lr": 0.1}, 2, 10, 20, "cpu_tensor_estimate",
                      "cpu", {"torch": "x"}, {"cpu_model": "demo"}, (rec,))
    for c in (c for c in COLUMNS if c.choices):
        frame = cell.to_frame()
        frame[c.name] = "bogus"
        with pytest.raises(SchemaError, match=rf"unknown {c.name} values \['bogus'\]; valid: "):
            schema.validate(frame, {"lr": [0.1]}, cell=True)


def test_labels_and_units_come_from_the_declaration():
    assert column("train_flops").axis_label == "FLOPs"
    assert column("peak_memory_bytes").axis_label == "peak memory (bytes)"
    assert column("val_error").axis_label == "validation error"
    assert {column(c).unit for c in COSTS} == {"s", "FLOPs"}
    with pytest.raises(UnknownNameError, match=r"unknown column 'val_acc'; valid: \['config_id'"):
        column("val_acc")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"role": "clock"}, "role='clock'; valid: "),
    ({"since": 4}, r"since=4; valid: \[1, 2, 3\]"),
    ({"valid_range": (1.0, 0.0)}, r"valid_range=\(1.0, 0.0\) is empty"),
    ({"type": pa.string(), "cumulative": True}, "a string column has no range"),
    ({"role": "key"}, "a key column has a key position"),
    ({"key": 5}, "a key column has a key position"),
    ({"role": "cost", "test": "test_x"}, "test twins, finite_when_ok and all_or_none"),
    ({"alias": "x"}, "an alias names a cost a query returns"),
])
def test_a_column_declaration_is_checked(kwargs, message):
    args = {"name": "x", "type": pa.float64(), "doc": "demo", "role": "metric", "label": "x",
            **kwargs}
    with pytest.raises(SchemaError, match=message):
        Column(**args)


def test_declarations_are_consistent():
    names = [c.name for c in COLUMNS]
    assert len(set(names)) == len(names)
    for attribute in ("key", "quantity"):
        ranks = [getattr(c, attribute) for c in COLUMNS if getattr(c, attribute) is not None]
        assert sorted(ranks) == list(range(len(ranks))), attribute
    aliases = [c.alias for c in COLUMNS if c.alias]
    assert len(set(aliases)) == len(aliases) and not set(aliases) & set(names)
    assert all(c.label for c in COLUMNS)
    assert all(column(q).valid_range is not None for q in QUANTITIES)
    assert np.all([c.cumulative for c in COLUMNS if c.name in COSTS])


def test_local_lists_in_other_modules_agree_with_the_declaration():
    """Lists kept where they are used (another owner's module, or an order of their own): a
    task scores on a search metric with a test twin; a schedule row's integer keys are the key
    columns but the schedule."""
    from frozenbench.table.load import KEYS
    from frozenbench.table.schedules import KEYS as SCHEDULE_KEYS
    from frozenbench.tasks.base import TASK_METRICS

    assert set(TASK_METRICS) == set(schema.TEST_METRICS) <= set(schema.SEARCH_METRICS)
    assert set(SCHEDULE_KEYS) == set(KEYS) == set(schema.KEY_COLUMNS) - {"schedule"}
