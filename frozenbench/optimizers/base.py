"""The ask/tell interface between the simulator and an optimizer, and the values they exchange.

The simulator owns the clock and the table; an optimizer only decides what to run next.
``ask(rng)`` returns a :class:`Job` (or ``None`` when it has nothing to hand out until a result
comes back); ``tell(observation)`` reports a finished job. Randomness comes only from the
``numpy.random.Generator`` passed to ``ask``, so a replay is deterministic for a given seed.
An optimizer may also have ``end(reason)``: the replay calls it once when it stops (``reason``
is the engine's stop reason, e.g. ``"budget"``), so that an optimizer wrapping a library can
close the trials still running, which will never report (:func:`end_replay`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from frozenbench.errors import InvalidValueError
from frozenbench.schema import FIXED


@dataclass(frozen=True, slots=True)
class Job:
    """Run ``config_id`` (a grid index) with the last ``z`` layers trained up to ``epoch``.

    ``trial=None`` starts a new trial (paid from scratch); ``trial=k`` continues trial ``k``,
    which must have the same config and z (a different z is a new run: frozen layers do not
    thaw), and is charged only the epochs it has not paid yet. ``rung`` and ``bracket`` are
    the optimizer's own bookkeeping, recorded in the trajectory.

    ``schedule`` other than ``"fixed"`` (e.g. ``"thaw"``, a schedule with rows in the table)
    runs the config along that schedule, whose z grows with the epoch: ``z`` must be the z the
    schedule trains at ``epoch``, and continuing a trial of the same schedule is allowed
    whatever its z (it pays only the new epochs, each at its own z).

    >>> Job(3, 2, 5), Job(3, 1, 2, schedule="thaw")
    (Job(config_id=3, z=2, epoch=5, trial=None, rung=0, bracket=0), \
Job(config_id=3, z=1, epoch=2, trial=None, rung=0, bracket=0, schedule='thaw'))
    """

    config_id: int
    z: int
    epoch: int
    trial: int | None = None
    rung: int = 0
    bracket: int = 0
    schedule: str = FIXED

    def __repr__(self) -> str:  # the fixed schedule, which nearly every job has, unsaid
        tail = "" if self.schedule == FIXED else f", schedule={self.schedule!r}"
        return (f"Job(config_id={self.config_id!r}, z={self.z!r}, epoch={self.epoch!r}, "
                f"trial={self.trial!r}, rung={self.rung!r}, bracket={self.bracket!r}{tail})")


@dataclass(frozen=True, slots=True)
class Observation:
    """A finished job: the score observed (lower is better), what it cost, when and where."""

    job: Job
    trial: int
    score: float
    cost: float
    time: float
    worker: int
    seed: int  # the table seed read, -1 for the mean over seeds


@runtime_checkable
class Optimizer(Protocol):
    """What the simulator needs from an optimizer."""

    name: str

    def ask(self, rng: np.random.Generator) -> Job | None:
        """The next job to run, or None to wait for results."""
        ...

    def tell(self, observation: Observation) -> None:
        """A job finished."""
        ...


def end_replay(optimizer: object, reason: str | None) -> None:
    """Tell ``optimizer`` the replay stopped, if it has the optional ``end(reason)``."""
    end = getattr(optimizer, "end", None)
    if callable(end):
        end(reason)


class ConfigSampler:
    """Draws configs uniformly without replacement; after every config was drawn once, starts a
    fresh random permutation (so long runs on small tables keep going).

    >>> s = ConfigSampler([10, 11, 12])
    >>> rng = np.random.default_rng(0)
    >>> sorted(s.draw(rng) for _ in range(3))
    [10, 11, 12]
    """

    def __init__(self, config_ids: np.ndarray | list[int]) -> None:
        ids = [int(i) for i in np.asarray(config_ids).reshape(-1)]
        if not ids:
            raise InvalidValueError("an optimizer needs at least one config to sample")
        self.config_ids = ids
        self._queue: list[int] = []

    def __len__(self) -> int:
        return len(self.config_ids)

    def draw(self, rng: np.random.Generator) -> int:
        if not self._queue:
            self._queue = [self.config_ids[i] for i in rng.permutation(len(self.config_ids))]
        return self._queue.pop()
