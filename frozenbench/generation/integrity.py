"""Is a stored cell what its worker wrote, and could it be a result at all?

Every shard is checked on read, by :class:`CellCheck`:

- its checksum: the sha256 of its rows (:func:`rows_digest`), stored in the shard's metadata
  (:data:`frozenbench.generation.store.ROWS_SHA256`) or in a pack's index entry. A shard written
  before checksums existed (commit b62ba5c) has none and is checked by the rules below only;
- its schema, and that its rows belong to its cell (keys, hyperparameters, status); the rows of
  a thaw cell carry the z of each record, which must follow its schedule;
- its values: the epochs are all of the task's (``ok``) or a prefix of them (``diverged``): no
  hole, no duplicate; each metric lies in :data:`frozenbench.schema.VALUE_RANGES`; losses are
  finite in an ``ok`` cell; ``val_error`` and the test metrics are finite in every row or NaN
  in every row (a language model's error, a task without a test split); the schedule is one
  of :data:`frozenbench.schema.SCHEDULES`; cumulative columns never decrease.

A cell with a problem is not done: ``run`` quarantines its file and trains it again, ``status``
lists it, ``merge`` refuses it. Every problem of a shard is reported, not only the first.

>>> import pyarrow as pa
>>> rows_digest(pa.table({"epoch": [1, 2], "val_loss": [0.5, float("nan")]}))[:12]
'4313e71bf33f'
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from frozenbench.cell import Cell
from frozenbench.errors import FrozenbenchError, InvalidValueError
from frozenbench.schedules import ZSchedule
from frozenbench.schema import (
    ALL_OR_NONE,
    CUMULATIVE_COLUMNS,
    FINITE_WHEN_OK,
    FIXED,
    MEMORY_METHODS,
    SCHEDULES,
    VALUE_RANGES,
    arrow_schema,
)
from frozenbench.space import SearchSpace


def rows_digest(table: pa.Table) -> str:
    """sha256 of a table's columns and values (canonical JSON: exact floats, NaN spelled out),
    independent of Parquet encoding, compression and metadata."""
    data = {name: table.column(name).to_pylist() for name in table.column_names}
    text = json.dumps(data, default=str, allow_nan=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _show(values: Sequence[Any], limit: int = 5) -> str:
    shown = values[:limit]
    return "[" + ", ".join(repr(v) for v in shown) + (", ...]" if len(values) > limit else "]")


@dataclass(frozen=True)
class CellCheck:
    """What every stored cell of one task must look like (build it with :meth:`of`)."""

    grid: Mapping[str, Sequence[object]]
    space: SearchSpace
    epochs: tuple[int, ...]
    n_layers: int
    metric: str

    @classmethod
    def of(cls, task: Any) -> CellCheck:
        """The check for a task (anything with ``space``, ``fidelities`` and ``metric``)."""
        return cls(grid=task.space.to_dict(), space=task.space,
                   epochs=tuple(sorted(task.fidelities.epoch)),
                   n_layers=int(task.fidelities.n_layers), metric=str(task.metric))

    @functools.cached_property
    def schema(self) -> pa.Schema:
        """The schema of a shard's rows (without metadata)."""
        return arrow_schema(self.grid, cell=True).remove_metadata()

    def problems(self, cell: Cell, status: str, rows: pa.Table, checksum: str | None = None,
                 *, digest: str | None = None) -> list[str]:
        """Every problem of ``rows`` as the stored cell ``cell`` with ``status``; empty when it
        is sound. ``checksum``: the digest stored with the rows (None: written without one);
        ``digest``: :func:`rows_digest` of ``rows`` when the caller has it already."""
        out: list[str] = []
        if checksum is not None and checksum != (digest or rows_digest(rows)):
            out.append("checksum mismatch: the rows changed after they were written")
        if rows.schema.remove_metadata() != self.schema:
            return [*out, "columns/types differ from the table schema"]
        cols = rows.to_pydict()
        bad_schedule = sorted(set(cols.get("schedule", [])) - set(SCHEDULES))
        if bad_schedule:  # before the keys: a row of an unknown schedule has no cell
            return [*out, f"schedule {bad_schedule}; valid: {list(SCHEDULES)}"]
        try:
            keys = set(self.row_cells(cols))
        except FrozenbenchError as exc:
            return [*out, f"bad key values ({exc})"]
        if keys != {cell}:
            return [*out, f"holds rows of cells {sorted(k.stem for k in keys)}"]
        out += self._schedule(cell, cols["z"])
        if set(cols["status"]) != {status}:
            out.append(f"status column {sorted(set(cols['status']))} != {status!r}")
        out += self._epochs(status, cols["epoch"])
        out += self._config(cell, cols)
        out += self._values(status, cols)
        return out

    def row_cells(self, cols: Mapping[str, Sequence[Any]]) -> list[Cell]:
        """The cell of every row of ``cols`` (columns ``config_id``, ``z``, ``seed`` and, from
        schema version 3, ``schedule``): a row of a schedule other than ``fixed`` carries the z
        of its record, and belongs to the cell of the schedule's final z, n."""
        schedules = cols.get("schedule") or [FIXED] * len(cols["z"])
        return [Cell(c, z if s == FIXED else self.n_layers, seed, s)
                for c, z, seed, s in zip(cols["config_id"], cols["z"], cols["seed"], schedules)]

    def _schedule(self, cell: Cell, got: list[int]) -> list[str]:
        if cell.schedule == FIXED:
            return []
        try:
            want = ZSchedule.named(cell.schedule, self.n_layers, len(self.epochs)).z
        except InvalidValueError as exc:
            return [str(exc)]
        if list(got) != list(want[:len(got)]):
            return [f"z {list(got)} of a {cell.schedule} cell, expected {list(want)}"]
        return []

    def _epochs(self, status: str, got: list[int]) -> list[str]:
        if status == "ok" and got != list(self.epochs):
            return [f"epochs {got}, expected all of {list(self.epochs)}"]
        if status == "diverged" and got != list(self.epochs[:len(got)]):
            return [f"diverged cell with epochs {got}, expected a prefix of {list(self.epochs)}"]
        return []

    def _config(self, cell: Cell, cols: Mapping[str, list[Any]]) -> list[str]:
        if cell.config_id >= len(self.space):
            return [f"config_id {cell.config_id} is outside the grid (0..{len(self.space) - 1})"]
        config = self.space.config(cell.config_id)
        return [f"{name} {_show(sorted(set(cols[name]), key=repr))} != config "
                f"{cell.config_id}'s {value!r}"
                for name, value in config.items() if set(cols[name]) != {value}]

    def _values(self, status: str, cols: Mapping[str, list[Any]]) -> list[str]:
        out = []
        for name, (lo, hi) in VALUE_RANGES.items():
            if name not in cols:  # derived columns (train_cost_s) are not in a shard
                continue
            bad = [v for v in cols[name] if v is not None and math.isfinite(v)
                   and not lo <= v <= hi]
            if bad:
                out.append(f"{name} outside [{lo}, {hi}]: {_show(bad)}")
        if status == "ok":
            for name in FINITE_WHEN_OK:
                if not all(v is not None and math.isfinite(v) for v in cols[name]):
                    out.append(f"{name} is not finite in an ok cell: {_show(cols[name])}")
            for name in ALL_OR_NONE:
                finite = [v is not None and math.isfinite(v) for v in cols[name]]
                if any(finite) and not all(finite):
                    out.append(f"{name} is NaN in some rows only: {_show(cols[name])}")
                elif not any(finite) and self.metric == name:
                    out.append(f"{name} is NaN in every row, and it is the task's metric")
        for name in CUMULATIVE_COLUMNS:
            values = cols.get(name)
            if values is None:
                continue
            if any(b < a for a, b in itertools.pairwise(values)):  # NaN compares False
                out.append(f"{name} decreases over the epochs: {_show(values)}")
        bad_mem = sorted(set(cols["memory_method"]) - set(MEMORY_METHODS))
        if bad_mem:
            out.append(f"memory_method {bad_mem}; valid: {list(MEMORY_METHODS)}")
        if set(cols["n_layers"]) != {self.n_layers}:
            out.append(f"n_layers {sorted(set(cols['n_layers']))} != {self.n_layers}")
        return out
