"""The *stopping* style: an optimizer starts trials and, after every epoch, decides whether the
trial goes on (as Optuna's pruners, or ASHA of the stopping type, work).

An object with ``name``, ``suggest(rng) -> Start | None`` and ``report(observation) -> bool``
is a :class:`StoppingOptimizer`; :func:`frozenbench.simulate` accepts it as it is and drives it
through :class:`Stopping`, which turns it into the *promotion* style (``ask``/``tell``). Each
epoch is one job and one trajectory row; a trial that is stopped pays nothing more.

>>> import numpy as np
>>> class FirstEpochOnly:
...     name = "first-epoch-only"
...     def suggest(self, rng):
...         return Start(config_id=int(rng.integers(10)), z=2)
...     def report(self, observation):
...         return False  # stop every trial after its first epoch
>>> driver = Stopping(FirstEpochOnly(), epochs=[1, 2, 3])
>>> driver.ask(np.random.default_rng(0))
Job(config_id=8, z=2, epoch=1, trial=None, rung=0, bracket=0)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from frozenbench.errors import InvalidValueError
from frozenbench.optimizers.base import Job, Observation, end_replay

#: What each field of :class:`Start` is, for its error messages.
_MEANING = {"config_id": "a config id", "z": "a number of layers (z)", "max_epoch": "an epoch"}


@dataclass(frozen=True, slots=True)
class Start:
    """Start a new trial of ``config_id`` with the last ``z`` layers trained, for at most
    ``max_epoch`` epochs (``None``: the table's last epoch)."""

    config_id: int
    z: int
    max_epoch: int | None = None

    def __post_init__(self) -> None:
        # bool is an int subclass: True would pass for config 1, z=1 or epoch 1 unnoticed
        for name in ("config_id", "z", "max_epoch"):
            value = getattr(self, name)
            if isinstance(value, (bool, np.bool_)):
                raise InvalidValueError(
                    f"Start({name}={value!r}): a bool is not {_MEANING[name]}; pass an int"
                    + (" (or None: the table's last epoch)" if name == "max_epoch" else ""))


@runtime_checkable
class StoppingOptimizer(Protocol):
    """What the simulator needs from a stopping-style optimizer."""

    name: str

    def suggest(self, rng: np.random.Generator) -> Start | None:
        """A new trial to start, or None to wait for results."""
        ...

    def report(self, observation: Observation) -> bool:
        """A trial finished an epoch (``observation.job.epoch``); True lets it train on."""
        ...


class Stopping:
    """Drives a :class:`StoppingOptimizer` through ``ask``/``tell``: a trial that may go on is
    continued at the next epoch of ``epochs`` before any new trial starts. In the jobs it
    hands out, ``rung`` is the epoch's index and ``bracket`` the trial's start order."""

    def __init__(self, inner: StoppingOptimizer, epochs: Sequence[int]) -> None:
        self.inner = inner
        self.name = getattr(inner, "name", type(inner).__name__)
        self.epochs = sorted(int(e) for e in epochs)
        self._next = deque[Job]()
        self._max: list[int] = []  # per started trial (bracket), its last epoch index

    def ask(self, rng: np.random.Generator) -> Job | None:
        if self._next:
            return self._next.popleft()
        start = self.inner.suggest(rng)
        if start is None:
            return None
        if not isinstance(start, Start):
            raise InvalidValueError(
                f"optimizer {self.name!r}: suggest(rng) returned {start!r:.80}; it must return "
                f"a frozenbench.optimizers.Start or None")
        last = len(self.epochs) - 1
        if start.max_epoch is not None:
            if isinstance(start.max_epoch, (bool, np.bool_)) or start.max_epoch not in self.epochs:
                raise InvalidValueError(
                    f"optimizer {self.name!r}: Start.max_epoch={start.max_epoch!r} is not an "
                    f"epoch of the table; valid: {self.epochs}")
            last = self.epochs.index(start.max_epoch)
        self._max.append(last)
        return Job(start.config_id, start.z, self.epochs[0], None, 0, len(self._max) - 1)

    def tell(self, observation: Observation) -> None:
        go = self.inner.report(observation)
        if not isinstance(go, (bool, np.bool_)):
            raise InvalidValueError(
                f"optimizer {self.name!r}: report(observation) returned {go!r:.80}; it must "
                f"return True (train on) or False (stop the trial)")
        job = observation.job
        if go and job.rung < self._max[job.bracket]:
            self._next.append(Job(job.config_id, job.z, self.epochs[job.rung + 1],
                                  observation.trial, job.rung + 1, job.bracket))


    def end(self, reason: str | None) -> None:
        """The replay stopped: the inner optimizer hears it if it has ``end``."""
        end_replay(self.inner, reason)


def is_stopping(optimizer: object) -> bool:
    """Whether ``optimizer`` has the stopping style's ``suggest`` and ``report``."""
    return callable(getattr(optimizer, "suggest", None)) and callable(
        getattr(optimizer, "report", None))
