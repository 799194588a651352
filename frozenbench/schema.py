"""The on-disk table format: long Parquet, one row per (config, z, epoch, seed, schedule).

Hyperparameters are columns under their own names (listed in the manifest's grid); the fixed
columns below follow. Every cost column is *cumulative* up to and including that epoch, so a
trial continued from epoch 3 to epoch 5 is charged ``cost[5] - cost[3]``.

Validation and test. Optimizers see the validation metrics (``val_*``); each has a test twin
(:data:`TEST_METRICS`) measured on a held-out split disjoint from validation, on which regret is
reported. Tables made before the test split (schema versions 1 and 2) read the test metrics as
NaN.

Schedules. A row of a fixed-z cell has ``schedule == "fixed"``: its z was trained from the
first epoch. A row of a thaw cell (``"thaw"``) carries in ``z`` the z trained during that epoch
(z grows over the epochs: z(e) = 1 + floor((e - 1) (n - 1) / (E - 1))). Tables before schema
version 3 hold fixed-z rows only.

Bump :data:`SCHEMA_VERSION` whenever a column is added, removed or changes meaning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd
import pyarrow as pa

from frozenbench.errors import SchemaError

SCHEMA_VERSION = 3
#: Versions this frozenbench reads. Version 1 tables (before the CPU clock) lack
#: :data:`ADDED_IN_2`; those columns read as absent (NaN) and the default cost falls back to
#: wall time. Version 2 tables (before the test split and thaw schedules) lack
#: :data:`ADDED_IN_3`: their test metrics read as NaN and every row as ``schedule="fixed"``.
READABLE_VERSIONS = (1, 2, 3)
ADDED_IN_2 = ("train_cpu_s", "train_cost_s", "eval_cpu_s", "hardware")
ADDED_IN_3 = ("test_loss", "test_error", "schedule")

#: Training schedules of a cell: ``fixed`` (one z for the whole run) or ``thaw`` (z grows
#: linearly over the epochs, from 1 at the first record to n at the last).
SCHEDULES = ("fixed", "thaw")
#: The schedule of every row of a table older than schema version 3.
FIXED = "fixed"

#: Cell outcomes. A diverged cell keeps the rows it finished (metrics may be NaN/inf).
STATUSES = ("ok", "diverged")

#: How ``peak_memory_bytes`` was measured.
MEMORY_METHODS = (
    "cuda_max_allocated",  # torch.cuda.max_memory_allocated, reset at the start of the cell
    "cpu_tensor_estimate",  # params + grads + optimizer state + bytes saved for backward
)


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    doc: str


COLUMNS: tuple[Column, ...] = (
    Column("config_id", pa.int32(), "grid index of the config (see frozenbench.space)"),
    Column("seed", pa.int32(), "training seed (data order, initialisation, augmentation)"),
    Column("schedule", pa.string(),
           f"one of {SCHEDULES}: 'fixed' for a fixed-z cell; 'thaw' for a linear-thaw cell, "
           "whose z is the z trained during that epoch"),
    Column("z", pa.int16(), "number of trailing layers trained (1..n_layers)"),
    Column("n_layers", pa.int16(), "n: layers of the model under frozenbench.freezing.split"),
    Column("epoch", pa.int16(), "1-based epoch or checkpoint index"),
    Column("samples_seen", pa.int64(), "training samples (images) or tokens seen so far"),
    Column("train_loss", pa.float64(), "mean training loss over the steps since the last row"),
    Column("val_loss", pa.float64(), "validation loss (cross-entropy, nats)"),
    Column("val_error", pa.float64(), "validation error 1 - accuracy; NaN for language models"),
    Column("test_loss", pa.float64(),
           "held-out test loss (cross-entropy, nats); NaN when the task has no test split. "
           "Evaluated like validation but never charged to eval_time_s/eval_cpu_s (no "
           "optimizer pays for it)"),
    Column("test_error", pa.float64(),
           "held-out test error 1 - accuracy; NaN for language models or without a test split"),
    Column("train_time_s", pa.float64(), "cumulative training wall time, evaluation excluded"),
    Column("train_cpu_s", pa.float64(),
           "cumulative CPU time of the training thread (one torch thread): contention-robust"),
    Column("train_cost_s", pa.float64(),
           "the default cost: median train_cpu_s of all the table's cells at this (z, epoch) "
           "and cost factors (e.g. optimizer), made non-decreasing in z (adjacent z whose "
           "medians fall share their pooled median); contention-robust, monotone in z and "
           "epoch"),
    Column("eval_time_s", pa.float64(),
           "wall time of this row's validation (the test evaluation is not included)"),
    Column("eval_cpu_s", pa.float64(),
           "CPU time of the training thread for this row's validation (test not included)"),
    Column("peak_memory_bytes", pa.int64(), "peak training memory, see memory_method"),
    Column("memory_method", pa.string(), f"one of {MEMORY_METHODS}"),
    Column("peak_rss_bytes", pa.int64(), "process peak resident set size (CPU), 0 if unknown"),
    Column("trainable_params", pa.int64(), "parameters trained at this z"),
    Column("total_params", pa.int64(), "all parameters of the model"),
    Column("train_flops", pa.float64(), "cumulative training FLOPs (torch.utils.flop_counter)"),
    Column("status", pa.string(), f"cell outcome, one of {STATUSES}"),
    Column("device", pa.string(), "device the cell ran on, e.g. 'cpu' or 'NVIDIA H200'"),
    Column("versions", pa.string(), "JSON of library versions (python, torch, frozenbench...)"),
    Column("hardware", pa.string(),
           "JSON: cpu_model, cpu_capability (torch's instruction-set level), torch_threads, gpu"),
)

FIXED_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS)

#: Columns the merge derives from all cells of a table; a cell's own shard has the others.
DERIVED_COLUMNS: tuple[str, ...] = ("train_cost_s",)
CELL_COLUMNS: tuple[str, ...] = tuple(c for c in FIXED_COLUMNS if c not in DERIVED_COLUMNS)

#: Columns that identify a row.
KEY_COLUMNS = ("config_id", "z", "epoch", "seed", "schedule")

#: Metrics a benchmark can be optimised for: what optimizers see (a manifest's ``metric``).
SEARCH_METRICS = ("val_error", "val_loss", "train_loss")
#: The test twin of each validation metric: the same quantity on the held-out test split,
#: on which regret is reported (NaN in tables without a test split).
TEST_METRICS: Mapping[str, str] = MappingProxyType({"val_error": "test_error",
                                                   "val_loss": "test_loss"})
#: Metrics a benchmark can be queried for: the search metrics and their test twins.
METRICS = (*SEARCH_METRICS, *TEST_METRICS.values())


def key_range(name: str) -> tuple[int, int]:
    """The values the integer column ``name`` can hold (from its Arrow type), so that a
    manifest never lists a z, epoch, seed or config id that no table row could carry.

    >>> key_range("z"), key_range("seed")
    ((-32768, 32767), (-2147483648, 2147483647))
    """
    for c in COLUMNS:
        if c.name == name and pa.types.is_integer(c.type):
            info = np.iinfo(c.type.to_pandas_dtype())
            return int(info.min), int(info.max)
    raise SchemaError(f"{name!r} is not an integer column of the schema")


def _hp_type(values: Sequence[object]) -> pa.DataType:
    if all(isinstance(v, str) for v in values):
        return pa.string()
    if all(isinstance(v, bool) for v in values):
        return pa.bool_()
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return pa.int64()
    return pa.float64()


def arrow_schema(grid: Mapping[str, Sequence[object]], *, cell: bool = False,
                 version: int = SCHEMA_VERSION) -> pa.Schema:
    """The Arrow schema of a table whose search space is ``grid`` ({name: values}); with
    ``cell``, of one cell's shard (without :data:`DERIVED_COLUMNS`); ``version``: as an older
    schema version wrote it.

    >>> arrow_schema({"lr": [0.1, 0.01]}).names[:3]
    ['lr', 'config_id', 'seed']
    >>> "train_cost_s" in arrow_schema({"lr": [0.1]}, cell=True).names
    False
    """
    clash = sorted(set(grid) & set(FIXED_COLUMNS))
    if clash:
        raise SchemaError(f"hyperparameter names {clash} clash with fixed columns")
    fields = [pa.field(name, _hp_type(values)) for name, values in grid.items()]
    fields += [pa.field(c.name, c.type) for c in COLUMNS
               if not (cell and c.name in DERIVED_COLUMNS)
               and not (version < 2 and c.name in ADDED_IN_2)
               and not (version < 3 and c.name in ADDED_IN_3)]
    return pa.schema(fields, metadata={"frozenbench_schema_version": str(version)})


def to_arrow(frame: pd.DataFrame, grid: Mapping[str, Sequence[object]], *,
             cell: bool = False) -> pa.Table:
    """Convert rows to Arrow with the exact schema (column order, types); errors name the column."""
    schema = arrow_schema(grid, cell=cell)
    missing = [n for n in schema.names if n not in frame.columns]
    extra = [n for n in frame.columns if n not in schema.names]
    if missing or extra:
        raise SchemaError(f"columns do not match the schema: missing {missing}, extra {extra}")
    try:
        return pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise SchemaError(f"table does not fit schema version {SCHEMA_VERSION}: {exc}") from exc


def validate(frame: pd.DataFrame, grid: Mapping[str, Sequence[object]], *,
             cell: bool = False) -> None:
    """Check columns, types, value ranges and key uniqueness; raise :class:`SchemaError`.
    ``cell``: rows of one cell (without :data:`DERIVED_COLUMNS`)."""
    to_arrow(frame, grid, cell=cell)
    bad_status = sorted(set(frame["status"]) - set(STATUSES))
    if bad_status:
        raise SchemaError(f"unknown status values {bad_status}; valid: {list(STATUSES)}")
    bad_schedule = sorted(set(frame["schedule"]) - set(SCHEDULES))
    if bad_schedule:
        raise SchemaError(f"unknown schedule values {bad_schedule}; valid: {list(SCHEDULES)}")
    bad_mem = sorted(set(frame["memory_method"]) - set(MEMORY_METHODS))
    if bad_mem:
        raise SchemaError(f"unknown memory_method values {bad_mem}; valid: {list(MEMORY_METHODS)}")
    if ((frame["z"] < 1) | (frame["z"] > frame["n_layers"])).any():
        raise SchemaError("rows with z outside 1..n_layers")
    dup = frame.duplicated(list(KEY_COLUMNS))
    if dup.any():
        first = frame.loc[dup, list(KEY_COLUMNS)].iloc[0].to_dict()
        raise SchemaError(f"{int(dup.sum())} duplicate rows, first at {first}")


#: The range every finite value of a numeric column must lie in (both ends included). A value
#: outside it is a corrupt or mislabelled table, never a result.
VALUE_RANGES: dict[str, tuple[float, float]] = {
    "val_error": (0.0, 1.0),  # 1 - accuracy
    "val_loss": (0.0, float("inf")),  # cross-entropy in nats
    "test_error": (0.0, 1.0),
    "test_loss": (0.0, float("inf")),
    "train_loss": (0.0, float("inf")),
    "train_time_s": (0.0, float("inf")),
    "train_cpu_s": (0.0, float("inf")),
    "train_cost_s": (0.0, float("inf")),
    "train_flops": (0.0, float("inf")),
    "peak_memory_bytes": (0.0, float("inf")),
}
#: Columns that add up over the epochs of a cell: never smaller at a later epoch.
CUMULATIVE_COLUMNS: tuple[str, ...] = ("train_time_s", "train_cpu_s", "train_cost_s",
                                       "train_flops", "samples_seen")
#: Columns that must be finite in every row of an ``ok`` cell (a diverged cell's last row may
#: hold NaN or inf losses). ``val_error`` is finite in every ok row of a classification table
#: and NaN in every row of a language-model table; a test metric is finite in every ok row or
#: NaN in every row (no test split), see :data:`ALL_OR_NONE`.
FINITE_WHEN_OK: tuple[str, ...] = ("val_loss", "train_loss")
#: Metrics a table measures in every ok row or in none (NaN: not measured for this task).
ALL_OR_NONE: tuple[str, ...] = ("val_error", "test_error", "test_loss")
