"""Search spaces: finite grids of hyperparameters, and the fidelity ranges of a benchmark.

A configuration is a plain ``dict`` from hyperparameter name to value. Inside frozenbench a
configuration is identified by its *grid index*: its position in the row-major product of the
hyperparameter value lists, in declaration order. The grid index is the ``config_id`` column of
every table, so a table row, a query and a generation cell all agree on what "config 17" is.

Numbers match the grid robustly: ``1e-3``, ``0.001`` and ``numpy.float32(0.001)`` all name the
same grid value.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from frozenbench.errors import FidelityError, InvalidValueError, format_choices, unknown_name

Value = int | float | str | bool


def _same(a: Value, b: object) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    try:
        fa, fb = float(a), float(b)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int beyond any float
        return False
    return math.isclose(fa, fb, rel_tol=1e-6, abs_tol=0.0) or fa == fb


@dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter: a name and its ordered grid values.

    >>> lr = Hyperparameter("lr", (1e-4, 1e-3, 1e-2), log=True)
    >>> lr.index(0.001)
    1
    """

    name: str
    values: tuple[Value, ...]
    log: bool = False
    _lookup: dict[Value, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise InvalidValueError(f"hyperparameter name must be a string: {self.name!r}")
        if len(self.values) == 0:
            raise InvalidValueError(f"hyperparameter {self.name!r} has no values")
        object.__setattr__(self, "values", tuple(self.values))
        lookup: dict[Value, int] = {}
        for i, v in enumerate(self.values):
            if v in lookup:
                raise InvalidValueError(f"hyperparameter {self.name!r} lists {v!r} twice")
            lookup[v] = i
        object.__setattr__(self, "_lookup", lookup)

    def index(self, value: object) -> int:
        """The position of ``value`` in the grid; a clear error when it is off the grid.

        A boolean matches only a grid of booleans (``False`` is not ``0.0``), and a number
        only a grid of numbers.

        >>> Hyperparameter("weight_decay", (0.0, 1e-4)).index(False)
        Traceback (most recent call last):
        ...
        frozenbench.errors.InvalidValueError: weight_decay=False is a bool; weight_decay takes \
one of [0.0, 0.0001]
        """
        is_bool = isinstance(value, (bool, np.bool_))
        if is_bool != isinstance(self.values[0], bool) and not isinstance(value, str) \
                and not isinstance(self.values[0], str):
            raise InvalidValueError(
                f"{self.name}={value!r} is a {type(value).__name__}; {self.name} takes one of "
                f"{format_choices(self.values)}")
        try:
            hit = self._lookup.get(value)  # type: ignore[call-overload]
        except TypeError:  # unhashable, e.g. a list
            hit = None
        if hit is None and not isinstance(value, (bool, str)):
            hit = next((j for j, v in enumerate(self.values) if _same(v, value)), None)
        if hit is not None:
            return hit
        raise InvalidValueError(
            f"{self.name}={short_repr(value)} is not on the grid; valid: "
            f"{format_choices(self.values)}")


def short_repr(value: object, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters; an integer too long to print (Python
    refuses past 4300 digits) is described by its size.

    >>> short_repr(10**400)[:12], short_repr(10**5000)
    ('100000000000', '<an integer of about 5001 digits>')
    """
    try:
        text = repr(value)
    except ValueError:
        digits = int(getattr(value, "bit_length", lambda: 0)() * 0.30103) + 1
        return f"<an integer of about {digits} digits>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


@dataclass(frozen=True)
class SearchSpace:
    """A grid of hyperparameters.

    >>> space = SearchSpace.from_dict({"lr": [1e-3, 1e-2], "optimizer": ["adam", "sgd"]})
    >>> space
    SearchSpace(lr=[0.001, 0.01], optimizer=['adam', 'sgd'])
    >>> len(space)
    4
    >>> space.index({"optimizer": "sgd", "lr": 0.01})
    3
    >>> space.config(3)
    {'lr': 0.01, 'optimizer': 'sgd'}
    """

    hyperparameters: tuple[Hyperparameter, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "hyperparameters", tuple(self.hyperparameters))
        names = [h.name for h in self.hyperparameters]
        if len(set(names)) != len(names):
            raise InvalidValueError(f"duplicate hyperparameter names in {names}")
        if not names:
            raise InvalidValueError("a search space needs at least one hyperparameter")

    def __repr__(self) -> str:
        inner = ", ".join(f"{h.name}={list(h.values)}" for h in self.hyperparameters)
        return f"SearchSpace({inner})"

    @classmethod
    def from_dict(cls, grid: Mapping[str, Sequence[Value]], log: Sequence[str] = ()) -> SearchSpace:
        """Build a space from ``{name: [values...]}`` (declaration order is kept)."""
        return cls(tuple(Hyperparameter(k, tuple(v), log=k in log) for k, v in grid.items()))

    def to_dict(self) -> dict[str, list[Value]]:
        """The inverse of :meth:`from_dict` (JSON-friendly)."""
        return {h.name: list(h.values) for h in self.hyperparameters}

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(h.name for h in self.hyperparameters)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(h.values) for h in self.hyperparameters)

    def __len__(self) -> int:
        return int(np.prod(self.shape))

    def __getitem__(self, name: str) -> Hyperparameter:
        for h in self.hyperparameters:
            if h.name == name:
                return h
        raise unknown_name("hyperparameter", name, self.names)

    def indices(self, config: Mapping[str, Any]) -> tuple[int, ...]:
        """Per-hyperparameter value indices of a config; every error names what is valid."""
        if not isinstance(config, Mapping):
            raise InvalidValueError(
                f"a config must be a dict of {list(self.names)}, got {type(config).__name__}"
            )
        unknown = [k for k in config if k not in self.names]
        if unknown:
            raise unknown_name("hyperparameter", unknown[0] if len(unknown) == 1 else unknown,
                               self.names)
        missing = [n for n in self.names if n not in config]
        if missing:
            raise InvalidValueError(
                f"config is missing {missing}; a config names all of {list(self.names)}"
            )
        return tuple(h.index(config[h.name]) for h in self.hyperparameters)

    def index(self, config: Mapping[str, Any]) -> int:
        """The grid index (``config_id``) of a config."""
        return int(np.ravel_multi_index(self.indices(config), self.shape))

    def config(self, index: int) -> dict[str, Value]:
        """The config at a grid index."""
        if not isinstance(index, (int, np.integer)) or not 0 <= int(index) < len(self):
            raise InvalidValueError(f"config index {index!r} is out of range (0..{len(self) - 1})")
        pos = np.unravel_index(int(index), self.shape)
        return {h.name: h.values[int(i)] for h, i in zip(self.hyperparameters, pos)}

    def normalize(self, config: Mapping[str, Any]) -> dict[str, Value]:
        """The grid's own spelling of a config (``{"lr": 1e-3}`` -> ``{"lr": 0.001}``)."""
        return self.config(self.index(config))

    def __iter__(self) -> Iterator[dict[str, Value]]:
        for i in range(len(self)):
            yield self.config(i)

    def subset(self, n: int, seed: int) -> list[int]:
        """A reproducible random subset of ``n`` grid indices, sorted.

        >>> space = SearchSpace.from_dict({"a": [1, 2, 3], "b": [1, 2]})
        >>> space.subset(3, seed=0) == space.subset(3, seed=0)
        True
        """
        if not 1 <= n <= len(self):
            raise InvalidValueError(f"subset size n={n} must be in 1..{len(self)}")
        rng = np.random.default_rng(seed)
        return sorted(int(i) for i in rng.choice(len(self), size=n, replace=False))


def _check_integer(what: str, value: object, valid: str) -> None:
    """A fidelity must be an integer: a float (even 2.0), a bool or a string is a type error."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise FidelityError(f"{what}={value!r} is a {type(value).__name__}; {what} is an "
                            f"integer ({valid})")


@dataclass(frozen=True)
class Fidelities:
    """The fidelity values of a benchmark: layers trained (z in 1..n) and epochs/checkpoints.

    >>> f = Fidelities(z=(1, 2, 3, 4, 5, 6), epoch=(1, 2, 3), benchmark="demo")
    >>> f.check_z(7)
    Traceback (most recent call last):
    ...
    frozenbench.errors.FidelityError: z=7 is out of range for demo (z in 1..6)
    """

    z: tuple[int, ...]
    epoch: tuple[int, ...]
    benchmark: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "z", tuple(int(v) for v in self.z))
        object.__setattr__(self, "epoch", tuple(int(v) for v in self.epoch))
        if not self.z or not self.epoch:
            raise InvalidValueError("fidelities need at least one z and one epoch")

    @property
    def n_layers(self) -> int:
        return max(self.z)

    def _where(self) -> str:
        return f" for {self.benchmark}" if self.benchmark else ""

    def check_z(self, z: object) -> int:
        """Validate a z value and return it as an int.

        >>> Fidelities(z=(1, 2), epoch=(1,)).check_z(2.0)
        Traceback (most recent call last):
        ...
        frozenbench.errors.FidelityError: z=2.0 is a float; z is an integer (z in 1..2)
        """
        lo, hi = min(self.z), max(self.z)
        valid = f"z in {lo}..{hi}" if list(self.z) == list(range(lo, hi + 1)) else \
            f"z in {list(self.z)}"
        _check_integer("z", z, valid)
        if int(z) not in self.z:  # type: ignore[call-overload]
            raise FidelityError(f"z={z!r} is out of range{self._where()} ({valid})")
        return int(z)  # type: ignore[call-overload]

    def check_epoch(self, epoch: object) -> int:
        """Validate an epoch (or checkpoint index) and return it as an int."""
        _check_integer("epoch", epoch, f"epoch in {min(self.epoch)}..{max(self.epoch)}")
        if int(epoch) not in self.epoch:  # type: ignore[call-overload]
            raise FidelityError(
                f"epoch={epoch!r} is out of range{self._where()} "
                f"(epoch in {min(self.epoch)}..{max(self.epoch)})"
            )
        return int(epoch)  # type: ignore[call-overload]

    def to_dict(self) -> dict[str, list[int]]:
        return {"z": list(self.z), "epoch": list(self.epoch)}
