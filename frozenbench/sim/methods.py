"""The one method registry: parse, format, validate and build the optimizers a replay runs,
frozenbench's own (``asha:z+epoch-geometric``, ``sh:1@2,4@7,11@20``) and the HPO libraries'
(``optuna:tpe+hyperband``, ``neps:priorband+medium-epoch``, :data:`frozenbench.interop.methods.
METHODS`).

A :class:`Method` is ``(optimizer, fidelity)``: one of frozenbench's optimizers
(:data:`~frozenbench.optimizers.OPTIMIZERS`) with a fidelity path (a name of
:data:`~frozenbench.optimizers.fidelity.FIDELITIES` or ``(z, epoch)`` levels), or a library's
method by name with ``fidelity=None`` (the library picks its own budgets). Its :attr:`label` is
the spelling the command lines take, and :meth:`Method.parse` reads it back.

>>> Method.parse("asha:z+epoch-geometric"), Method.parse("random").label
(Method(optimizer='asha', fidelity='z+epoch-geometric'), 'random:full')
>>> Method.parse("sh:1@2,11@20").label, Method.parse("optuna:tpe+hyperband").fidelity is None
('sh:1@2,11@20', True)
>>> from frozenbench.synthetic import make_benchmark
>>> bench = make_benchmark(n_configs=10, n_z=4, n_epochs=9)
>>> Method.parse("hyperband:z+epoch-geometric").build(bench, seed=0).levels
[(1, 3), (4, 9)]
>>> print(*Method.parse("hyperband:zz").problems([bench], label="hb"))
hb on synthetic: fidelity='zz' is not known; valid: [...] or a list of (z, epoch) pairs
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from frozenbench.errors import FrozenbenchError, InvalidValueError, MissingExtraError, unknown_name
from frozenbench.interop.methods import METHODS as LIBRARY_METHODS
from frozenbench.interop.methods import build as build_library_method
from frozenbench.optimizers import OPTIMIZERS, Optimizer, make_optimizer, optimizer_levels
from frozenbench.optimizers.fidelity import (
    FIDELITIES,
    FIDELITY_ALIASES,
    SCHEDULE_PATHS,
    Level,
)

if TYPE_CHECKING:
    from frozenbench.table import Benchmark

#: The fidelity path of a bare optimizer name: random search evaluates at full fidelity, the
#: multi-fidelity optimizers climb the geometric z+epoch diagonal.
DEFAULT_FIDELITY = "z+epoch-geometric"

#: What a method label may say, for the command lines' help (built from the registries, so it
#: names every optimizer and fidelity path there is).
METHOD_HELP = (
    f"optimizer ({', '.join(OPTIMIZERS)}) and fidelity "
    f"({', '.join(f for f in FIDELITIES if f not in FIDELITY_ALIASES)}, "
    f"{', '.join(SCHEDULE_PATHS)} on a table with thaw rows, or a path like 1@2,4@7,11@20; "
    f"freezethaw takes epoch or thaw), or an HPO library's optimizer (optuna:tpe+hyperband, "
    f"smac:hyperband-epoch, ...: see frozenbench.interop.methods)")

__all__ = ["DEFAULT_FIDELITY", "LIBRARY_METHODS", "METHOD_HELP", "Method", "method_names",
           "methods_problems"]


def method_names() -> list[str]:
    """Every optimizer name a method may start with: frozenbench's, then the libraries'.

    >>> method_names()[:4]
    ['random', 'sh', 'hyperband', 'asha']
    """
    return [*OPTIMIZERS, *LIBRARY_METHODS]


class Method(NamedTuple):
    """One optimizer with its fidelity path (``None`` for an HPO library's method); see the
    module docstring. An immutable pair: it unpacks as ``optimizer, fidelity`` and equals the
    plain ``(optimizer, fidelity)`` tuple."""

    optimizer: str
    fidelity: str | tuple[Level, ...] | None

    @classmethod
    def parse(cls, text: str) -> Method:
        """A method from its label: ``NAME[:FIDELITY]`` (a fidelity name or a path
        ``z@epoch,...``; a bare name takes :data:`DEFAULT_FIDELITY`, ``full`` for random
        search) or a library's method name. Unknown names are found by :meth:`problems`."""
        if text in LIBRARY_METHODS:
            return cls(text, None)
        name, _, fid = text.partition(":")
        if not fid:
            return cls(name, "full" if name == "random" else DEFAULT_FIDELITY)
        if "@" not in fid:
            return cls(name, fid)
        try:
            path = tuple((int(a), int(b)) for a, b in (p.split("@") for p in fid.split(",")))
        except ValueError:
            raise InvalidValueError(
                f"cannot read fidelity path {fid!r}; write it like 1@2,4@7,11@20 "
                f"(z@epoch, lowest first)") from None
        return cls(name, path)

    @classmethod
    def of(cls, value: Method | str | tuple[Any, Any]) -> Method:
        """A method from a label, an ``(optimizer, fidelity)`` pair or a Method.

        >>> Method.of(("sh", [(1, 2), (4, 6)])).label
        'sh:1@2,4@6'
        """
        if isinstance(value, Method):
            return value
        if isinstance(value, str):
            return cls.parse(value)
        if isinstance(value, tuple) and len(value) == 2:
            optimizer, fidelity = value
            if isinstance(fidelity, list):
                fidelity = tuple(tuple(level) for level in fidelity)
            return cls(optimizer, fidelity)
        raise InvalidValueError(f"a method is a label like 'asha:z', an (optimizer, fidelity) "
                                f"pair or a Method, got {value!r:.60}")

    @property
    def label(self) -> str:
        """The spelling the command lines take (:meth:`parse` reads it back).

        >>> Method("hyperband", "z").label, Method("optuna:tpe+hyperband", None).label
        ('hyperband:z', 'optuna:tpe+hyperband')
        """
        if self.fidelity is None:
            return self.optimizer
        if isinstance(self.fidelity, str):
            return f"{self.optimizer}:{self.fidelity}"
        return f"{self.optimizer}:" + ",".join(f"{z}@{e}" for z, e in self.fidelity)

    @property
    def is_library(self) -> bool:
        """Whether an HPO library's optimizer (built afresh per replay seed)."""
        return self.fidelity is None

    def levels(self, bench: Benchmark, eta: float = 3.0) -> list[Level]:
        """The (z, epoch) levels of the path on ``bench`` (a library's method: full fidelity;
        a schedule path such as ``"thaw"``: read from the table's rows of that schedule)."""
        path: Any = "full" if self.fidelity is None else self.fidelity
        return optimizer_levels(self.optimizer, bench, path, eta)

    def problems(self, benches: Sequence[Benchmark], eta: float = 3.0, *,
                 label: str | None = None) -> list[str | FrozenbenchError]:
        """Every problem with this method on ``benches``, each naming what is valid; empty when
        it runs everywhere. With ``label``, each is a message that starts with it (and names
        the table); without, the errors themselves. A library's method is built once per
        table to find out (a missing library is reported once)."""
        def named(error: FrozenbenchError, bench: Benchmark | None = None
                  ) -> str | FrozenbenchError:
            if label is None:
                return error
            return f"{label}{'' if bench is None else ' on ' + bench.name}: {error}"

        problems: list[str | FrozenbenchError] = []
        if not isinstance(self.optimizer, str) or self.optimizer not in method_names():
            problems.append(named(unknown_name("optimizer", self.optimizer, method_names())))
            if self.fidelity is None:
                return problems
        elif (self.optimizer in LIBRARY_METHODS) != (self.fidelity is None):
            return [named(InvalidValueError(f"{self.optimizer} takes " + (
                "no fidelity (an HPO library's optimizer: (name, None))"
                if self.optimizer in LIBRARY_METHODS else "a fidelity path, e.g. (name, 'z')")))]
        for bench in benches:
            try:
                if self.is_library:
                    build_library_method(self.optimizer, bench, seed=0, eta=eta)
                else:
                    self.levels(bench, eta)
            except MissingExtraError as exc:
                return [named(exc)]
            except FrozenbenchError as exc:
                problems.append(named(exc, bench))
        return problems

    def build(self, bench: Benchmark, *, seed: int, eta: float = 3.0,
              levels: Sequence[Level] | None = None) -> Optimizer | Any:
        """A fresh optimizer object for replay seed ``seed`` on ``bench`` (``levels``: the
        path already computed by :meth:`levels`, so it is not computed twice)."""
        if self.is_library:
            return build_library_method(self.optimizer, bench, seed=seed, eta=eta)
        if self.optimizer not in OPTIMIZERS:
            raise unknown_name("optimizer", self.optimizer, method_names())
        if levels is None:
            levels = self.levels(bench, eta)
        return make_optimizer(self.optimizer, bench, self.fidelity or "full", eta=eta,
                              levels=levels)


def methods_problems(methods: dict[str, Any], benches: Sequence[Benchmark], eta: float = 3.0
                     ) -> list[str]:
    """Every problem with ``{label: method}`` on ``benches`` (see :meth:`Method.problems`).

    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=5, n_z=2, n_epochs=2)
    >>> methods_problems({"x": ("bohb", "z"), "y": ("sh", [(3, 2)])}, [bench])
    ["x: unknown optimizer 'bohb'; valid: ['random', 'sh', 'hyperband', 'asha', 'freezethaw', \
'optuna:tpe+hyperband', ...]", 'y on synthetic: z=3 is out of range for synthetic (z in 1..2)']
    """
    parsed, problems = parse_methods(methods)
    for label, method in parsed.items():
        problems += [str(p) for p in method.problems(benches, eta, label=label)]
    return problems


def parse_methods(methods: Mapping[Any, Any]) -> tuple[dict[str, Method], list[str]]:
    """``{label: Method}`` for every value :meth:`Method.of` reads, and a problem (``"label:
    why"``) for every one it does not (an unknown optimizer is :meth:`Method.problems`'s).

    >>> parsed, problems = parse_methods({"a": "asha:z", "b": 42})
    >>> list(parsed), problems[0].split(",")[0]
    (['a'], "b: a method is a label like 'asha:z'")
    """
    parsed: dict[str, Method] = {}
    problems: list[str] = []
    for label, value in methods.items():
        try:
            parsed[str(label)] = Method.of(value)
        except FrozenbenchError as exc:
            problems.append(f"{label}: {exc}")
    return parsed, problems
