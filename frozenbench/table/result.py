"""What a query returns: the quantities stored per cell, and :class:`Result`.

The quantities, the cost columns and their short names are derived from the schema's column
declarations (:data:`frozenbench.schema.COLUMNS`); :class:`Result` spells its fields out so that
a type checker sees them, and the example below checks that they agree.

>>> Result._fields[:len(QUANTITIES)] == QUANTITIES
True
>>> ScheduleResult._fields[:len(Result._fields)] == Result._fields
True
>>> cost_column("cost"), cost_column("time"), cost_column("train_flops")
('train_cost_s', 'train_time_s', 'train_flops')
"""

from __future__ import annotations

from typing import NamedTuple

from frozenbench.errors import unknown_name
from frozenbench.schema import COST_ALIASES, COSTS, QUANTITIES

__all__ = ["COSTS", "COST_ALIASES", "DEFAULT_COST", "FALLBACK_COST", "QUANTITIES", "Result",
           "cost_column"]

#: The default clock: contention-robust CPU seconds (see :mod:`frozenbench.schema`); tables of
#: schema version 1 do not have it and fall back to :data:`FALLBACK_COST`.
DEFAULT_COST = "train_cost_s"
FALLBACK_COST = "train_time_s"


def cost_column(cost: str) -> str:
    """The cost column a cost name or alias means; an error listing the valid names."""
    name = COST_ALIASES.get(cost, cost) if isinstance(cost, str) else cost
    if name not in COSTS:
        raise unknown_name("cost", cost, [*COSTS, *COST_ALIASES])
    return name


class Result(NamedTuple):
    """The metrics of one cell (config, z, epoch), for one seed or the mean over seeds.

    Costs are cumulative up to this epoch. ``test_error``/``test_loss`` are the held-out test
    twins of the validation metrics (NaN in a table without a test split). A NamedTuple
    rather than a dataclass because it is built on every query (about 1 microsecond in all);
    it is immutable all the same.
    """

    val_error: float
    val_loss: float
    train_loss: float
    train_cost_s: float
    train_cpu_s: float
    train_time_s: float
    train_flops: float
    peak_memory_bytes: float
    test_error: float
    test_loss: float
    n_seeds: int
    n_diverged: int


class ScheduleResult(NamedTuple):
    """The metrics of one schedule cell (config, schedule) at one epoch: :class:`Result`'s
    fields, then ``z`` (the z trained during that epoch) and ``schedule`` (its name, e.g.
    ``"thaw"``). Costs are cumulative along the schedule up to this epoch: what one run that
    followed it has paid (on the table's fixed-z cost clock)."""

    val_error: float
    val_loss: float
    train_loss: float
    train_cost_s: float
    train_cpu_s: float
    train_time_s: float
    train_flops: float
    peak_memory_bytes: float
    test_error: float
    test_loss: float
    n_seeds: int
    n_diverged: int
    z: int
    schedule: str
