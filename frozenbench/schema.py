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

Each fixed column is declared once, as a :class:`Column` in :data:`COLUMNS` (its role, unit,
label, valid range, whether it accumulates, the schema version that added it, measured or
derived); the lists of columns that the loaders, the integrity checks, the queries and the
plots use are derived from it (:data:`VALUE_RANGES`, :data:`CUMULATIVE_COLUMNS`,
:data:`QUANTITIES`, :data:`COSTS`, :data:`METRICS`...).

Bump :data:`SCHEMA_VERSION` whenever a column is added, removed or changes meaning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd
import pyarrow as pa

from frozenbench.errors import SchemaError, unknown_name

SCHEMA_VERSION = 3
#: Versions this frozenbench reads. Version 1 tables (before the CPU clock) lack
#: :data:`ADDED_IN_2`; those columns read as absent (NaN) and the default cost falls back to
#: wall time. Version 2 tables (before the test split and thaw schedules) lack
#: :data:`ADDED_IN_3`: their test metrics read as NaN and every row as ``schedule="fixed"``.
READABLE_VERSIONS = (1, 2, 3)

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

#: What a column is: ``key`` (identifies a row), ``metric`` (a result an optimizer or a report
#: reads), ``cost`` (a clock), ``memory``, ``progress`` (how far training got), ``model`` (its
#: size), ``provenance`` (how and where the row was made). Hyperparameters are columns too, but
#: named by each table's space, not here.
ROLES = ("key", "metric", "cost", "memory", "progress", "model", "provenance")


@dataclass(frozen=True, slots=True)
class Column:
    """One fixed column of the table, declared once: every list of columns, range, unit and
    label elsewhere is derived from :data:`COLUMNS`.

    ``label``/``unit``: how a person reads it (:attr:`axis_label`); ``valid_range``: where
    every finite value lies (both ends included; None: not checked); ``cumulative``: adds up
    over the epochs of a cell; ``since``: the schema version that added it; ``derived``: the
    merge computes it from all cells of a table (a cell's shard lacks it), else it is measured;
    ``finite_when_ok``: finite in every row of an ok cell; ``all_or_none``: measured in every
    ok row or in none (NaN: not measured for this task); ``test``: the test twin of a
    validation metric; ``choices``: the values a string column may hold; ``key``: position in
    the row key; ``quantity``: position among the quantities a query returns
    (:class:`~frozenbench.table.Result`); ``alias``: short name of a cost (``--cost cpu``).

    >>> column("train_cpu_s").axis_label, column("train_cpu_s").since
    ('CPU time (s)', 2)
    >>> Column("x", pa.float64(), "demo", role="clock", label="x")
    Traceback (most recent call last):
    ...
    frozenbench.errors.SchemaError: column 'x': role='clock'; valid: ['key', 'metric', \
'cost', 'memory', 'progress', 'model', 'provenance']
    """

    name: str
    type: pa.DataType
    doc: str
    role: str
    label: str
    unit: str = ""
    valid_range: tuple[float, float] | None = None
    cumulative: bool = False
    since: int = 1
    derived: bool = False
    finite_when_ok: bool = False
    all_or_none: bool = False
    test: str | None = None
    choices: tuple[str, ...] = ()
    key: int | None = None
    quantity: int | None = None
    alias: str | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.role not in ROLES:
            problems.append(f"role={self.role!r}; valid: {list(ROLES)}")
        if self.since not in READABLE_VERSIONS:
            problems.append(f"since={self.since}; valid: {list(READABLE_VERSIONS)}")
        if self.valid_range is not None and not self.valid_range[0] <= self.valid_range[1]:
            problems.append(f"valid_range={self.valid_range} is empty")
        numeric = pa.types.is_integer(self.type) or pa.types.is_floating(self.type)
        if (self.cumulative or self.valid_range is not None) and not numeric:
            problems.append(f"a {self.type} column has no range and does not accumulate")
        if (self.key is not None) != (self.role == "key"):
            problems.append("a key column has a key position, and only a key column")
        if (self.test or self.finite_when_ok or self.all_or_none) and self.role != "metric":
            problems.append("test twins, finite_when_ok and all_or_none are for metrics")
        if self.alias is not None and (self.role != "cost" or self.quantity is None):
            problems.append("an alias names a cost a query returns")
        if problems:
            raise SchemaError(f"column {self.name!r}: " + "; ".join(problems))

    @property
    def axis_label(self) -> str:
        """The label with its unit, for an axis or a table heading: ``CPU time (s)``."""
        return self.label if self.unit in ("", self.label) else f"{self.label} ({self.unit})"


_INF = float("inf")

COLUMNS: tuple[Column, ...] = (
    Column("config_id", pa.int32(), "grid index of the config (see frozenbench.space)",
           role="key", label="config id", key=0),
    Column("seed", pa.int32(), "training seed (data order, initialisation, augmentation)",
           role="key", label="seed", key=3),
    Column("schedule", pa.string(),
           f"one of {SCHEDULES}: 'fixed' for a fixed-z cell; 'thaw' for a linear-thaw cell, "
           "whose z is the z trained during that epoch",
           role="key", label="z schedule", since=3, choices=SCHEDULES, key=4),
    Column("z", pa.int16(), "number of trailing layers trained (1..n_layers)",
           role="key", label="z (trailing layers trained)", key=1),
    Column("n_layers", pa.int16(), "n: layers of the model under frozenbench.freezing.split",
           role="model", label="layers", unit="layers"),
    Column("epoch", pa.int16(), "1-based epoch or checkpoint index",
           role="key", label="epoch", key=2),
    Column("samples_seen", pa.int64(), "training samples (images) or tokens seen so far",
           role="progress", label="samples seen", unit="samples", cumulative=True),
    Column("train_loss", pa.float64(), "mean training loss over the steps since the last row",
           role="metric", label="training loss", unit="nats", valid_range=(0.0, _INF),
           finite_when_ok=True, quantity=2),
    Column("val_loss", pa.float64(), "validation loss (cross-entropy, nats)",
           role="metric", label="validation loss", unit="nats", valid_range=(0.0, _INF),
           finite_when_ok=True, test="test_loss", quantity=1),
    Column("val_error", pa.float64(), "validation error 1 - accuracy; NaN for language models",
           role="metric", label="validation error", valid_range=(0.0, 1.0), all_or_none=True,
           test="test_error", quantity=0),
    Column("test_loss", pa.float64(),
           "held-out test loss (cross-entropy, nats); NaN when the task has no test split. "
           "Evaluated like validation but never charged to eval_time_s/eval_cpu_s (no "
           "optimizer pays for it)",
           role="metric", label="test loss", unit="nats", valid_range=(0.0, _INF), since=3,
           all_or_none=True, quantity=9),
    Column("test_error", pa.float64(),
           "held-out test error 1 - accuracy; NaN for language models or without a test split",
           role="metric", label="test error", valid_range=(0.0, 1.0), since=3,
           all_or_none=True, quantity=8),
    Column("train_time_s", pa.float64(), "cumulative training wall time, evaluation excluded",
           role="cost", label="wall time", unit="s", valid_range=(0.0, _INF), cumulative=True,
           quantity=5, alias="time"),
    Column("train_cpu_s", pa.float64(),
           "cumulative CPU time of the training thread (one torch thread): contention-robust",
           role="cost", label="CPU time", unit="s", valid_range=(0.0, _INF), cumulative=True,
           since=2, quantity=4, alias="cpu"),
    Column("train_cost_s", pa.float64(),
           "the default cost: median train_cpu_s of all the table's cells at this (z, epoch) "
           "and cost factors (e.g. optimizer), made non-decreasing in z (adjacent z whose "
           "medians fall share their pooled median); contention-robust, monotone in z and "
           "epoch",
           role="cost", label="default cost", unit="s", valid_range=(0.0, _INF),
           cumulative=True, since=2, derived=True, quantity=3, alias="cost"),
    Column("eval_time_s", pa.float64(),
           "wall time of this row's validation (the test evaluation is not included)",
           role="cost", label="validation wall time", unit="s"),
    Column("eval_cpu_s", pa.float64(),
           "CPU time of the training thread for this row's validation (test not included)",
           role="cost", label="validation CPU time", unit="s", since=2),
    Column("peak_memory_bytes", pa.int64(), "peak training memory, see memory_method",
           role="memory", label="peak memory", unit="bytes", valid_range=(0.0, _INF),
           quantity=7),
    Column("memory_method", pa.string(), f"one of {MEMORY_METHODS}",
           role="provenance", label="memory method", choices=MEMORY_METHODS),
    Column("peak_rss_bytes", pa.int64(), "process peak resident set size (CPU), 0 if unknown",
           role="memory", label="peak resident set size", unit="bytes"),
    Column("trainable_params", pa.int64(), "parameters trained at this z",
           role="model", label="trainable parameters", unit="parameters"),
    Column("total_params", pa.int64(), "all parameters of the model",
           role="model", label="parameters", unit="parameters"),
    Column("train_flops", pa.float64(), "cumulative training FLOPs (torch.utils.flop_counter)",
           role="cost", label="FLOPs", unit="FLOPs", valid_range=(0.0, _INF), cumulative=True,
           quantity=6, alias="flops"),
    Column("status", pa.string(), f"cell outcome, one of {STATUSES}",
           role="provenance", label="status", choices=STATUSES),
    Column("device", pa.string(), "device the cell ran on, e.g. 'cpu' or 'NVIDIA H200'",
           role="provenance", label="device"),
    Column("versions", pa.string(), "JSON of library versions (python, torch, frozenbench...)",
           role="provenance", label="library versions"),
    Column("hardware", pa.string(),
           "JSON: cpu_model, cpu_capability (torch's instruction-set level), torch_threads, gpu",
           role="provenance", label="hardware", since=2),
)

_BY_NAME: Mapping[str, Column] = MappingProxyType({c.name: c for c in COLUMNS})


def column(name: str) -> Column:
    """The declaration of the fixed column ``name``; an error listing the valid names.

    >>> column("train_flops").unit, column("val_error").test
    ('FLOPs', 'test_error')
    """
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise unknown_name("column", name, _BY_NAME) from None


def _ranked(attribute: str) -> tuple[str, ...]:
    """The names of the columns that have ``attribute`` (a position), in its order."""
    ranked = sorted((getattr(c, attribute), c.name) for c in COLUMNS
                    if getattr(c, attribute) is not None)
    return tuple(name for _, name in ranked)


FIXED_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS)
#: The columns each schema version added (a table of an older version reads them as absent).
ADDED_IN_2: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.since == 2)
ADDED_IN_3: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.since == 3)

#: Columns the merge derives from all cells of a table; a cell's own shard has the others.
DERIVED_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.derived)
CELL_COLUMNS: tuple[str, ...] = tuple(c for c in FIXED_COLUMNS if c not in DERIVED_COLUMNS)

#: Columns that identify a row.
KEY_COLUMNS: tuple[str, ...] = _ranked("key")

#: Quantities stored per cell in memory and returned by a query, in the order of
#: :class:`~frozenbench.table.Result`'s first fields.
QUANTITIES: tuple[str, ...] = _ranked("quantity")
#: Cumulative cost columns a simulation can charge.
COSTS: tuple[str, ...] = tuple(q for q in QUANTITIES if _BY_NAME[q].role == "cost")
#: Short names of the cost columns (``simulate(cost="time")``, ``frozenbench simulate --cost``).
COST_ALIASES: dict[str, str] = {a: c for c in COSTS if (a := _BY_NAME[c].alias) is not None}

#: What a cell costs, as a query returns it: the cost clocks, then the peak memory.
RESOURCES: tuple[str, ...] = tuple(q for q in QUANTITIES
                                   if _BY_NAME[q].role in ("cost", "memory"))

#: Metrics a benchmark can be queried for: the search metrics and their test twins.
METRICS: tuple[str, ...] = tuple(q for q in QUANTITIES if _BY_NAME[q].role == "metric")
#: The test twin of each validation metric: the same quantity on the held-out test split,
#: on which regret is reported (NaN in tables without a test split).
TEST_METRICS: Mapping[str, str] = MappingProxyType(
    {m: t for m in METRICS if (t := _BY_NAME[m].test) is not None})
#: Metrics a benchmark can be optimised for: what optimizers see (a manifest's ``metric``).
SEARCH_METRICS: tuple[str, ...] = tuple(m for m in METRICS if m not in TEST_METRICS.values())

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
               and c.since <= version]
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
    for c in COLUMNS:
        bad = sorted(set(frame[c.name]) - set(c.choices)) if c.choices else []
        if bad:
            raise SchemaError(f"unknown {c.name} values {bad}; valid: {list(c.choices)}")
    if ((frame["z"] < 1) | (frame["z"] > frame["n_layers"])).any():
        raise SchemaError("rows with z outside 1..n_layers")
    dup = frame.duplicated(list(KEY_COLUMNS))
    if dup.any():
        first = frame.loc[dup, list(KEY_COLUMNS)].iloc[0].to_dict()
        raise SchemaError(f"{int(dup.sum())} duplicate rows, first at {first}")


#: The range every finite value of a numeric column must lie in (both ends included). A value
#: outside it is a corrupt or mislabelled table, never a result.
VALUE_RANGES: dict[str, tuple[float, float]] = {
    c.name: c.valid_range for c in COLUMNS if c.valid_range is not None}
#: Columns that add up over the epochs of a cell: never smaller at a later epoch.
CUMULATIVE_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.cumulative)
#: Columns that must be finite in every row of an ``ok`` cell (a diverged cell's last row may
#: hold NaN or inf losses). ``val_error`` is finite in every ok row of a classification table
#: and NaN in every row of a language-model table; a test metric is finite in every ok row or
#: NaN in every row (no test split), see :data:`ALL_OR_NONE`.
FINITE_WHEN_OK: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.finite_when_ok)
#: Metrics a table measures in every ok row or in none (NaN: not measured for this task).
ALL_OR_NONE: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.all_or_none)
