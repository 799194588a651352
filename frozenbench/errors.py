"""Every error frozenbench raises on purpose.

Each class also inherits the built-in exception it resembles, so callers can catch either
``frozenbench.errors.UnknownNameError`` or plain ``KeyError``. Messages name the bad value
and what would have been valid.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence


class FrozenbenchError(Exception):
    """Base class of all frozenbench errors."""


class UnknownNameError(FrozenbenchError, KeyError):
    """A name (benchmark, task, hyperparameter, optimizer, column) that does not exist."""

    def __str__(self) -> str:  # KeyError would repr() the message; keep it readable.
        return str(self.args[0]) if self.args else ""


class InvalidValueError(FrozenbenchError, ValueError):
    """A value of the right kind but outside what is valid (off-grid, out of range)."""


class FidelityError(InvalidValueError):
    """A fidelity (z, epoch) outside the benchmark's range."""


class SchemaError(FrozenbenchError, ValueError):
    """A table or manifest that does not match the frozenbench schema."""


class HubError(FrozenbenchError, ConnectionError):
    """A Hub download or upload that failed (network, offline cache miss, permissions)."""


class StorageError(FrozenbenchError, OSError):
    """A file that cannot be written or read (no space left, permission denied, a read-only
    folder); the message names the file and the cause, and says what was left as it was."""


class MissingExtraError(FrozenbenchError, ImportError):
    """An optional dependency is missing; the message names the pip command that installs it."""


class DataNotPrefetchedError(FrozenbenchError, FileNotFoundError):
    """A task's dataset is not in the shared cache; the message names the prefetch command.

    Workers never download: a dataset is fetched once, before any job starts.
    """


def format_choices(values: Iterable[object], limit: int = 12) -> str:
    """Render valid choices for an error message, shortening long lists.

    >>> format_choices(["adam", "sgd"])
    "['adam', 'sgd']"
    >>> format_choices(range(30), limit=3)
    '[0, 1, 2, ... (30 in all)]'
    """
    items = list(values)
    if len(items) <= limit:
        return "[" + ", ".join(repr(v) for v in items) + "]"
    head = ", ".join(repr(v) for v in items[:limit])
    return f"[{head}, ... ({len(items)} in all)]"


def unknown_name(kind: str, name: object, valid: Iterable[object]) -> UnknownNameError:
    """Build the standard error for an unknown name.

    >>> str(unknown_name("benchmark", "mnits", ["mnist-resnet", "kjv-gpt2"]))
    "unknown benchmark 'mnits'; valid: ['mnist-resnet', 'kjv-gpt2']"
    """
    return UnknownNameError(f"unknown {kind} {name!r}; valid: {format_choices(valid)}")


def not_loaded(name: str, value: object) -> InvalidValueError:
    """Build the error for an argument ``name`` that should be a loaded benchmark: names and
    paths are resolved at the API edge (``fb.load``, ``fb.query``, ``fb.simulate``, the CLI),
    the simulator, the analysis and the adapters take a ``Benchmark``.

    >>> str(not_loaded("bench", "mnist-resnet"))
    "bench must be a loaded Benchmark, got 'mnist-resnet'; load it with fb.load('mnist-resnet')"
    >>> str(not_loaded("bench", 3))
    'bench must be a loaded Benchmark, got 3; fb.load takes a name or a path'
    """
    shown = f"{value!r:.80}"
    how = f"load it with fb.load({shown})" if isinstance(value, (str, os.PathLike)) \
        else "fb.load takes a name or a path"
    return InvalidValueError(f"{name} must be a loaded Benchmark, got {shown}; {how}")


def list_problems(heading: str, problems: Sequence[object]) -> str:
    """The one wording of several problems: ``heading``, then one indented line each.

    >>> print(list_problems("2 problems", ["x=1 must be even", "y=-1 must be positive"]))
    2 problems:
      - x=1 must be even
      - y=-1 must be positive
    """
    return f"{heading}:\n" + "\n".join(f"  - {p}" for p in problems)


def raise_problems(owner: str, problems: Sequence[str | FrozenbenchError]) -> None:
    """Report every problem with the arguments of ``owner`` at once: the one problem as it is
    (a string becomes an :class:`InvalidValueError`), several in one error; none: return.

    >>> raise_problems("f", [])
    >>> raise_problems("f", ["x=1 must be even", "y=-1 must be positive"])
    Traceback (most recent call last):
    ...
    frozenbench.errors.InvalidValueError: 2 problems with the arguments of f:
      - x=1 must be even
      - y=-1 must be positive
    """
    if len(problems) == 1:
        one = problems[0]
        raise one if isinstance(one, FrozenbenchError) else InvalidValueError(one)
    if problems:
        raise InvalidValueError(list_problems(
            f"{len(problems)} problems with the arguments of {owner}", problems))

