"""Search spaces: declared hyperparameters, their conditions, and the design a table covers.

A :class:`SearchSpace` declares each hyperparameter (:class:`Hyperparameter`: its type, its
range or choices, log scale) and the :class:`Condition` under which one is active (SGD has no
``beta2``), and holds the *design*: the configs that have an id.

- A **grid** (the default): every combination of the hyperparameters' values. A config's id
  is its position in the row-major product of the value lists, in declaration order.
- A **sample** (:meth:`SearchSpace.sample`): configs drawn from the declared ranges by
  scrambled Sobol (seed recorded, log scale where declared), stored with their exact values;
  a config's id is its position in the list.

The id is the ``config_id`` column of every table, so a table row, a query and a generation
cell all agree on what "config 17" is. Code outside this module reads a config's values
through the space (:meth:`SearchSpace.config`, :meth:`SearchSpace.columns`), never through
grid arithmetic, so both designs work everywhere.

A config is a mapping from hyperparameter name to value, or anything with
``get_dictionary()`` (a ConfigSpace ``Configuration``). :meth:`SearchSpace.resolve` puts an
*inactive* hyperparameter (its condition does not hold) at its fill value, whether it was given
or left out, as ConfigSpace leaves it out. Numbers match robustly: ``1e-3``, ``0.001`` and
``numpy.float32(0.001)`` name the same value.

>>> space = SearchSpace.from_dict({"lr": [1e-3, 1e-2], "optimizer": ["adam", "sgd"],
...                                "beta2": [0.9, 0.99]},
...                               conditions=[Condition("beta2", "optimizer", ("adam",))])
>>> space.index({"lr": 0.01, "optimizer": "sgd"})  # beta2 is inactive for SGD: 0.9
6
>>> space.index({"lr": 0.01, "optimizer": "sgd", "beta2": 0.99})  # ... even when given
6
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from frozenbench.errors import FidelityError, InvalidValueError, format_choices, unknown_name

Value = int | float | str | bool
#: The types a hyperparameter may declare.
TYPES = ("float", "int", "categorical")
#: Design methods a sampled space may record.
SAMPLERS = ("sobol",)


def _same(a: Value, b: object) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    try:
        fa, fb = float(a), float(b)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int beyond any float
        return False
    return math.isclose(fa, fb, rel_tol=1e-6, abs_tol=0.0) or fa == fb


def _plain(v: object) -> Any:
    """A numpy scalar as the Python value it holds (exact JSON, exact equality)."""
    return v.item() if isinstance(v, np.generic) else v


def _infer_type(values: Sequence[Value]) -> str:
    if any(isinstance(v, (str, bool, np.str_, np.bool_)) for v in values):
        return "categorical"
    if all(isinstance(v, (int, np.integer)) for v in values):
        return "int"
    return "float"


@dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter: a name, its type, its values or range, and its scale.

    ``values`` lists a grid's values (or a categorical's choices); a numeric hyperparameter of
    a sampled space may instead declare only ``low`` and ``high``. The type is inferred from
    the values when not given; the range of a numeric grid defaults to its smallest and
    largest value.

    >>> lr = Hyperparameter("lr", (1e-4, 1e-3, 1e-2), log=True)
    >>> lr.index(0.001), lr.type, (lr.low, lr.high)
    (1, 'float', (0.0001, 0.01))
    >>> Hyperparameter("lr", low=0.0, high=1.0, log=True)
    Traceback (most recent call last):
    ...
    frozenbench.errors.InvalidValueError: lr: a log-scale range needs low > 0, got [0.0, 1.0]
    """

    name: str
    values: tuple[Value, ...] = ()
    log: bool = False
    type: str = ""
    low: float | None = None
    high: float | None = None
    _lookup: dict[Value, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        name = self.name
        if not name or not isinstance(name, str):
            raise InvalidValueError(f"hyperparameter name must be a string: {name!r}")
        values = tuple(_plain(v) for v in self.values)
        object.__setattr__(self, "values", values)
        kind = self.type or (_infer_type(values) if values else "float")
        if kind not in TYPES:
            raise InvalidValueError(f"{name}: type={kind!r}; valid: {list(TYPES)}")
        object.__setattr__(self, "type", kind)
        lookup: dict[Value, int] = {}
        for i, v in enumerate(values):
            if v in lookup:
                raise InvalidValueError(f"hyperparameter {name!r} lists {v!r} twice")
            lookup[v] = i
        object.__setattr__(self, "_lookup", lookup)
        if kind == "categorical":
            if not values:
                raise InvalidValueError(f"categorical hyperparameter {name!r} has no values")
            if self.log or self.low is not None or self.high is not None:
                raise InvalidValueError(f"{name}: a categorical hyperparameter has choices, "
                                        "not a range or a log scale")
            return
        self._numeric_range(values)

    def _numeric_range(self, values: tuple[Value, ...]) -> None:
        name = self.name
        if not values and (self.low is None or self.high is None):
            raise InvalidValueError(f"hyperparameter {name!r} has no values and no range; "
                                    "give values (a grid) or low and high (a sampled space)")
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values):
            raise InvalidValueError(f"{name}: a {self.type} hyperparameter takes numbers, got "
                                    f"{format_choices(values)}")
        cast = int if self.type == "int" else float
        low = cast(min(values)) if self.low is None else cast(self.low)
        high = cast(max(values)) if self.high is None else cast(self.high)
        if not (math.isfinite(low) and math.isfinite(high)) or low > high:
            raise InvalidValueError(f"{name}: the range [{low!r}, {high!r}] is not a finite "
                                    "interval with low <= high")
        if self.log and low <= 0 and not values:  # a grid may hold 0 (no weight decay)
            raise InvalidValueError(f"{name}: a log-scale range needs low > 0, got "
                                    f"[{low!r}, {high!r}]")
        outside = [v for v in values if not low <= v <= high]  # type: ignore[operator]
        if outside:
            raise InvalidValueError(f"{name}: values {outside} lie outside the declared range "
                                    f"[{low!r}, {high!r}]")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    @property
    def numeric(self) -> bool:
        """Whether the values are numbers (a distance between two values means something)."""
        return self.type != "categorical"

    @property
    def fill(self) -> Value:
        """The value an inactive hyperparameter holds: its first value, or the range's low."""
        return self.values[0] if self.values else self.low  # type: ignore[return-value]

    def position(self, value: object) -> int | None:
        """The position of ``value`` in :attr:`values` (None when it is not one of them).

        A boolean matches only a grid of booleans (``False`` is not ``0.0``), and a number
        only a grid of numbers: a mismatch of kinds raises.

        >>> Hyperparameter("weight_decay", (0.0, 1e-4)).position(False)
        Traceback (most recent call last):
        ...
        frozenbench.errors.InvalidValueError: weight_decay=False is a bool; weight_decay takes \
one of [0.0, 0.0001]
        """
        is_bool = isinstance(value, (bool, np.bool_))
        first = self.values[0] if self.values else 0.0
        if is_bool != isinstance(first, bool) and not isinstance(value, str) \
                and not isinstance(first, str):
            raise InvalidValueError(
                f"{self.name}={value!r} is a {type(value).__name__}; {self.name} takes "
                + (f"one of {format_choices(self.values)}" if self.values else
                   f"a {self.type} in [{self.low!r}, {self.high!r}]"))
        try:
            hit = self._lookup.get(value)  # type: ignore[call-overload]
        except TypeError:  # unhashable, e.g. a list
            hit = None
        if hit is None and not isinstance(value, (bool, str)):
            hit = next((j for j, v in enumerate(self.values) if _same(v, value)), None)
        return hit

    def index(self, value: object) -> int:
        """The position of ``value`` in the grid; a clear error when it is off the grid."""
        hit = self.position(value)
        if hit is None:
            raise InvalidValueError(self.off_grid(value))
        return hit

    def off_grid(self, value: object) -> str:
        """Why ``value`` is none of :attr:`values`."""
        return (f"{self.name}={short_repr(value)} is not on the grid; valid: "
                f"{format_choices(self.values)}")

    def number(self, value: object) -> float:
        """``value`` as a float, for a numeric hyperparameter; an error naming the type else."""
        if isinstance(value, (bool, np.bool_, str)) or not isinstance(
                value, (int, float, np.integer, np.floating)):
            raise InvalidValueError(f"{self.name}={short_repr(value)} is a "
                                    f"{type(value).__name__}; {self.name} is a {self.type} in "
                                    f"[{self.low!r}, {self.high!r}]")
        try:
            return float(value)
        except OverflowError:  # an integer beyond any float: off every grid and range
            raise InvalidValueError(self.off_grid(value)) from None

    def unit(self, x: np.ndarray) -> np.ndarray:
        """Numbers mapped to [0, 1] over the declared range (on a log scale where declared)."""
        lo, hi = float(self.low), float(self.high)  # type: ignore[arg-type]
        if self.log and lo > 0:
            x, lo, hi = np.log(np.maximum(x, 1e-300)), math.log(lo), math.log(hi)
        return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)

    def from_unit(self, u: np.ndarray) -> list[Value]:
        """Points of [0, 1) mapped to values (a sampler's draw): uniform over the choices, or
        over the range on the declared scale."""
        if self.values:
            k = len(self.values)
            return [self.values[i] for i in np.minimum((u * k).astype(np.int64), k - 1)]
        lo, hi = float(self.low), float(self.high)  # type: ignore[arg-type]
        if self.type == "int":
            top = hi + 1.0
            x = np.exp(math.log(lo) + u * (math.log(top) - math.log(lo))) if self.log \
                else lo + u * (top - lo)
            return [int(v) for v in np.clip(np.floor(x), lo, hi)]
        x = np.exp(math.log(lo) + u * (math.log(hi) - math.log(lo))) if self.log \
            else lo + u * (hi - lo)
        return [float(v) for v in np.clip(x, lo, hi)]

    def declaration(self) -> dict[str, Any]:
        """The JSON form (:meth:`from_declaration` reads it back)."""
        out: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.values:
            out["values"] = list(self.values)
        if self.numeric:
            out.update(low=self.low, high=self.high, log=self.log)
        return out

    @classmethod
    def from_declaration(cls, data: Mapping[str, Any]) -> Hyperparameter:
        """A hyperparameter from its JSON form; an error names an unknown key."""
        known = ("name", "type", "values", "low", "high", "log")
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise InvalidValueError(f"a hyperparameter declaration has unknown keys {unknown}; "
                                    f"known: {list(known)}")
        return cls(data.get("name", ""), tuple(data.get("values", ())),
                   bool(data.get("log", False)), str(data.get("type", "")),
                   data.get("low"), data.get("high"))


@dataclass(frozen=True)
class Condition:
    """``child`` is active only when ``parent`` takes one of ``values`` (SGD has no beta2).

    An inactive hyperparameter holds its fill value (:attr:`Hyperparameter.fill`) in every
    config of a design, so configs that differ only in it are one config.

    >>> Condition("beta2", "optimizer", ("adam",)).active({"optimizer": "sgd"})
    False
    """

    child: str
    parent: str
    values: tuple[Value, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(_plain(v) for v in self.values))
        if self.child == self.parent or not self.values:
            raise InvalidValueError(f"condition {self.child!r} on {self.parent!r} needs a "
                                    "parent other than the child and at least one value")

    def active(self, config: Mapping[str, Any]) -> bool:
        """Whether ``child`` is active in ``config``."""
        value = config.get(self.parent)
        return any(_same(v, value) for v in self.values)

    def declaration(self) -> dict[str, Any]:
        return {"child": self.child, "parent": self.parent, "values": list(self.values)}


@dataclass(frozen=True)
class Sample:
    """A sampled design: configs with exact values (tuples in declaration order), how they
    were drawn (``method``) and the seed."""

    configs: tuple[tuple[Value, ...], ...]
    method: str = "sobol"
    seed: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "configs",
                           tuple(tuple(_plain(v) for v in c) for c in self.configs))
        if self.method not in SAMPLERS:
            raise InvalidValueError(f"design method={self.method!r}; valid: {list(SAMPLERS)}")
        if not self.configs:
            raise InvalidValueError("a sampled design needs at least one config")


def as_mapping(config: object) -> Mapping[str, Any] | None:
    """A config as a mapping: a mapping itself, or the dictionary of anything with
    ``get_dictionary()`` (older ConfigSpace ``Configuration``); None for anything else."""
    if isinstance(config, Mapping):
        return config
    get = getattr(config, "get_dictionary", None)
    if callable(get):
        out = get()
        return out if isinstance(out, Mapping) else None
    return None


def fill_inactive(values: dict[str, Any], conditions: Sequence[Condition],
                  hyperparameters: Mapping[str, Hyperparameter]) -> dict[str, Any]:
    """Put every hyperparameter whose condition does not hold at its fill value (in place;
    conditions are applied in declaration order, so a parent is settled before its child)."""
    for c in conditions:
        if c.parent in values and not c.active(values):
            values[c.child] = hyperparameters[c.child].fill
    return values


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
    """Declared hyperparameters, their conditions, and a design: a grid or a sample.

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
    conditions: tuple[Condition, ...] = ()
    design: Sample | None = None
    _by_name: dict[str, Hyperparameter] = field(init=False, repr=False, compare=False)
    _keys: dict[tuple[Any, ...], int] = field(init=False, repr=False, compare=False)
    _codes: tuple[np.ndarray, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hyperparameters", tuple(self.hyperparameters))
        object.__setattr__(self, "conditions", tuple(self.conditions))
        names = [h.name for h in self.hyperparameters]
        if len(set(names)) != len(names):
            raise InvalidValueError(f"duplicate hyperparameter names in {names}")
        if not names:
            raise InvalidValueError("a search space needs at least one hyperparameter")
        object.__setattr__(self, "_by_name", {h.name: h for h in self.hyperparameters})
        for c in self.conditions:
            unknown = sorted({c.child, c.parent} - set(names))
            if unknown:
                raise InvalidValueError(f"condition on {c.child!r} names {unknown}; "
                                        f"valid: {names}")
        if self.design is None:
            ranged = [h.name for h in self.hyperparameters if not h.values]
            if ranged:
                raise InvalidValueError(f"{ranged} declare a range, not values: a grid needs "
                                        "values (use SearchSpace.sample for ranges)")
            object.__setattr__(self, "_keys", {})
            object.__setattr__(self, "_codes", ())
            return
        self._index_design(self.design)

    def _index_design(self, design: Sample) -> None:
        """Check every sampled config and build the exact-value lookup and the code arrays."""
        keys: dict[tuple[Any, ...], int] = {}
        rows = []
        for i, values in enumerate(design.configs):
            if len(values) != len(self.hyperparameters):
                raise InvalidValueError(f"sampled config {i} has {len(values)} values; the "
                                        f"space has {len(self.hyperparameters)}: "
                                        f"{list(self.names)}")
            config = dict(zip(self.names, values))
            key = self._key(config)
            if key is None:
                raise InvalidValueError(f"sampled config {i} {config}: "
                                        f"{self.not_found(config)}")
            filled = fill_inactive(dict(config), self.conditions, self._by_name)
            if filled != config:
                raise InvalidValueError(f"sampled config {i} {config} gives an inactive "
                                        f"hyperparameter a value other than its fill value "
                                        f"({filled})")
            if key in keys:
                raise InvalidValueError(f"sampled configs {keys[key]} and {i} are the same "
                                        f"config {config}; a design lists each config once")
            keys[key] = i
            rows.append(key)
        codes = tuple(np.asarray(col, dtype=np.int64 if h.values else np.float64)
                      for h, col in zip(self.hyperparameters, zip(*rows)))
        object.__setattr__(self, "_keys", keys)
        object.__setattr__(self, "_codes", codes)

    def _key(self, config: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """A resolved config's codes: value positions, or numbers for ranges; None when a
        value is none of a hyperparameter's values or outside its range."""
        key: list[Any] = []
        for h in self.hyperparameters:
            value = config[h.name]
            if h.values:
                code = h.position(value)
                if code is None:
                    return None
                key.append(code)
            else:
                x = h.number(value)
                if not h.low <= x <= h.high:  # type: ignore[operator]
                    return None
                key.append(x)
        return tuple(key)

    def __repr__(self) -> str:
        def one(h: Hyperparameter) -> str:
            if h.values:
                return f"{h.name}={list(h.values)}"
            return f"{h.name}={h.type} in [{h.low!r}, {h.high!r}]" + (" (log)" if h.log else "")

        inner = ", ".join(one(h) for h in self.hyperparameters)
        for c in self.conditions:
            inner += f"; {c.child} only where {c.parent} in {list(c.values)}"
        if self.design is not None:
            d = self.design
            inner += f"; {len(d.configs)} configs sampled by {d.method}, seed {d.seed}"
        return f"SearchSpace({inner})"

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dict(cls, grid: Mapping[str, Sequence[Value]], log: Sequence[str] = (),
                  conditions: Sequence[Condition] = ()) -> SearchSpace:
        """A grid from ``{name: [values...]}`` (declaration order is kept)."""
        return cls(tuple(Hyperparameter(k, tuple(v), log=k in log) for k, v in grid.items()),
                   tuple(conditions))

    @classmethod
    def sample(cls, hyperparameters: Sequence[Hyperparameter], n: int, *, seed: int,
               conditions: Sequence[Condition] = ()) -> SearchSpace:
        """``n`` configs drawn by scrambled Sobol (``scipy.stats.qmc``) from the declared
        ranges and choices, on a log scale where declared; inactive hyperparameters at their
        fill value. The seed is recorded, and the configs are kept with their exact values.

        >>> space = SearchSpace.sample(
        ...     [Hyperparameter("lr", low=1e-4, high=1e-1, log=True),
        ...      Hyperparameter("optimizer", ("adam", "sgd"))], 8, seed=0)
        >>> len(space), space.design.seed, 1e-4 <= space.config(5)["lr"] <= 1e-1
        (8, 0, True)
        >>> space.index(space.config(5))
        5
        """
        from scipy.stats import qmc

        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise InvalidValueError(f"n={n!r}: a sample has a positive number of configs")
        hps = tuple(hyperparameters)
        by_name = {h.name: h for h in hps}
        try:
            sobol = qmc.Sobol(len(hps), scramble=True, rng=np.random.default_rng(seed))
        except TypeError:  # scipy < 1.15 names the generator `seed`
            sobol = qmc.Sobol(len(hps), scramble=True, seed=np.random.default_rng(seed))
        u = sobol.random_base2(max(0, math.ceil(math.log2(n))))[:n]
        columns = [h.from_unit(u[:, k]) for k, h in enumerate(hps)]
        configs = []
        for row in zip(*columns):
            values = fill_inactive(dict(zip(by_name, row)), conditions, by_name)
            configs.append(tuple(values.values()))
        return cls(hps, tuple(conditions), Sample(tuple(configs), "sobol", int(seed)))

    def to_dict(self) -> dict[str, list[Value]]:
        """``{name: values}`` (a range as ``[low, high]``): the inverse of :meth:`from_dict`
        for a grid, and the column types of a table (JSON-friendly)."""
        return {h.name: list(h.values) if h.values else [h.low, h.high]  # type: ignore[list-item]
                for h in self.hyperparameters}

    def declaration(self) -> dict[str, Any]:
        """Everything the space declares, as JSON (a manifest stores it)."""
        d = self.design
        design: dict[str, Any] = {"kind": "grid"} if d is None else {
            "kind": d.method, "seed": d.seed, "configs": [list(c) for c in d.configs]}
        return {"hyperparameters": [h.declaration() for h in self.hyperparameters],
                "conditions": [c.declaration() for c in self.conditions], "design": design}

    @classmethod
    def from_declaration(cls, data: Mapping[str, Any]) -> SearchSpace:
        """A space from :meth:`declaration`'s JSON; an error names what is malformed.

        >>> space = SearchSpace.sample([Hyperparameter("x", low=0.0, high=1.0)], 4, seed=1)
        >>> SearchSpace.from_declaration(space.declaration()) == space
        True
        """
        known = ("hyperparameters", "conditions", "design")
        if not isinstance(data, Mapping) or set(data) - set(known):
            raise InvalidValueError(f"a space declaration is an object with keys {list(known)}"
                                    f", got {data!r:.80}")
        try:
            hps = tuple(Hyperparameter.from_declaration(h) for h in data["hyperparameters"])
            conds = tuple(Condition(c["child"], c["parent"], tuple(c["values"]))
                          for c in data.get("conditions", ()))
            design = dict(data.get("design", {"kind": "grid"}))
            kind = design.pop("kind", "grid")
            sample = None if kind == "grid" else Sample(
                tuple(tuple(c) for c in design.pop("configs")), kind, design.pop("seed", None))
        except (KeyError, TypeError, AttributeError) as exc:
            raise InvalidValueError(f"a space declaration is malformed ({type(exc).__name__}: "
                                    f"{exc}); write it with SearchSpace.declaration") from None
        if design:
            raise InvalidValueError(f"a space's design has unknown keys {sorted(design)}")
        return cls(hps, conds, sample)

    # ------------------------------------------------------------------ description
    @property
    def names(self) -> tuple[str, ...]:
        return tuple(h.name for h in self.hyperparameters)

    @property
    def is_grid(self) -> bool:
        """Whether the design is the grid of the values (else a sample)."""
        return self.design is None

    @property
    def shape(self) -> tuple[int, ...]:
        """The number of values per hyperparameter (a grid only)."""
        if self.design is not None:
            raise InvalidValueError("a sampled design has no grid shape; read configs with "
                                    "SearchSpace.config or SearchSpace.columns")
        return tuple(len(h.values) for h in self.hyperparameters)

    def __len__(self) -> int:
        if self.design is not None:
            return len(self.design.configs)
        return int(np.prod(self.shape))

    def __getitem__(self, name: str) -> Hyperparameter:
        hit = self._by_name.get(name)
        if hit is None:
            raise unknown_name("hyperparameter", name, self.names)
        return hit

    # ------------------------------------------------------------------ configs and ids
    def resolve(self, config: object) -> dict[str, Any]:
        """A config as a dict of every hyperparameter in declaration order, inactive ones at
        their fill value (given or not); errors name unknown and missing hyperparameters.

        >>> space = SearchSpace.from_dict(
        ...     {"optimizer": ["adam", "sgd"], "beta2": [0.9, 0.99]},
        ...     conditions=[Condition("beta2", "optimizer", ("adam",))])
        >>> space.resolve({"optimizer": "sgd", "beta2": 0.99})
        {'optimizer': 'sgd', 'beta2': 0.9}
        """
        mapping = as_mapping(config)
        if mapping is None:
            raise InvalidValueError(
                f"a config must be a dict of {list(self.names)} (or a ConfigSpace "
                f"Configuration), got {type(config).__name__}")
        unknown = [k for k in mapping if k not in self._by_name]
        if unknown:
            raise unknown_name("hyperparameter", unknown[0] if len(unknown) == 1 else unknown,
                               self.names)
        values = fill_inactive({n: mapping[n] for n in self.names if n in mapping},
                               self.conditions, self._by_name)
        missing = [n for n in self.names if n not in values]
        if missing:
            optional = sorted({c.child for c in self.conditions})
            raise InvalidValueError(
                f"config is missing {missing}; a config names all of {list(self.names)}"
                + (f" ({optional} may be left out where inactive)" if optional else ""))
        return {n: values[n] for n in self.names}

    def find(self, config: Mapping[str, Any]) -> int | None:
        """The id of a resolved config (see :meth:`resolve`), or None when the design does not
        hold it; a value of the wrong kind raises."""
        if self.design is None:
            pos = [h.position(config[h.name]) for h in self.hyperparameters]
            if any(p is None for p in pos):
                return None
            return int(np.ravel_multi_index(pos, self.shape))  # type: ignore[arg-type]
        key = self._key(config)
        if key is None:
            return None
        hit = self._keys.get(key)
        if hit is not None:
            return hit
        ok = np.ones(len(self), dtype=bool)  # numbers match robustly, as on a grid
        for h, code, k in zip(self.hyperparameters, self._codes, key):
            ok &= (code == k) if h.values else np.isclose(code, k, rtol=1e-6, atol=0.0)
        return int(np.argmax(ok)) if ok.any() else None

    def not_found(self, config: Mapping[str, Any]) -> str:
        """Why the design does not hold a resolved config."""
        for h in self.hyperparameters:
            value = config[h.name]
            if h.values and h.position(value) is None:
                return h.off_grid(value)
            if not h.values and not h.low <= h.number(value) <= h.high:  # type: ignore[operator]
                return (f"{h.name}={value!r} is outside its range [{h.low!r}, {h.high!r}]")
        return (f"config {config} is not one of the {len(self)} configs sampled by "
                f"{self.design.method if self.design else 'the grid'}")

    def indices(self, config: Mapping[str, Any]) -> tuple[int, ...]:
        """Per-hyperparameter value indices of a grid config; every error names what is valid."""
        resolved = self.resolve(config)
        return tuple(h.index(resolved[h.name]) for h in self.hyperparameters)

    def index(self, config: object) -> int:
        """The id (``config_id``) of a config; an error says which value is not in the design."""
        resolved = self.resolve(config)
        hit = self.find(resolved)
        if hit is None:
            raise InvalidValueError(self.not_found(resolved))
        return hit

    def config(self, index: int) -> dict[str, Value]:
        """The config with id ``index``."""
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)) \
                or not 0 <= int(index) < len(self):
            raise InvalidValueError(f"config index {index!r} is out of range (0..{len(self) - 1})")
        if self.design is not None:
            return dict(zip(self.names, self.design.configs[int(index)]))
        pos = np.unravel_index(int(index), self.shape)
        return {h.name: h.values[int(i)] for h, i in zip(self.hyperparameters, pos)}

    def normalize(self, config: object) -> dict[str, Value]:
        """The design's own spelling of a config (``{"lr": 1e-3}`` -> ``{"lr": 0.001}``)."""
        return self.config(self.index(config))

    def __iter__(self) -> Iterator[dict[str, Value]]:
        for i in range(len(self)):
            yield self.config(i)

    def subset(self, n: int, seed: int) -> list[int]:
        """A reproducible random subset of ``n`` config ids, sorted.

        >>> space = SearchSpace.from_dict({"a": [1, 2, 3], "b": [1, 2]})
        >>> space.subset(3, seed=0) == space.subset(3, seed=0)
        True
        """
        if not 1 <= n <= len(self):
            raise InvalidValueError(f"subset size n={n} must be in 1..{len(self)}")
        rng = np.random.default_rng(seed)
        return sorted(int(i) for i in rng.choice(len(self), size=n, replace=False))

    # ------------------------------------------------------------------ many configs
    def codes(self, ids: np.ndarray) -> list[np.ndarray]:
        """Per hyperparameter, for configs ``ids``: positions in its values, or its numbers
        where it declares a range (a sampled space)."""
        ids = np.asarray(ids, dtype=np.int64)
        if self.design is None:
            return list(np.unravel_index(ids, self.shape)) if ids.size else \
                [np.zeros(ids.shape, dtype=np.int64) for _ in self.hyperparameters]
        return [code[ids] for code in self._codes]

    def columns(self, ids: np.ndarray) -> dict[str, np.ndarray]:
        """Each hyperparameter's values for configs ``ids`` (an array per name).

        >>> SearchSpace.from_dict({"a": [1, 2], "b": ["x", "y"]}).columns([3, 0])["b"].tolist()
        ['y', 'x']
        """
        out = {}
        for h, code in zip(self.hyperparameters, self.codes(ids)):
            if h.values:
                values = np.asarray(h.values, dtype=object if isinstance(h.values[0], str)
                                    else None)
                out[h.name] = values[code]
            else:
                out[h.name] = code.astype(np.int64) if h.type == "int" else code
        return out

    def distances(self, config: Mapping[str, Any], ids: np.ndarray) -> np.ndarray:
        """Distance from a resolved config to configs ``ids``: Euclidean over the
        hyperparameters, each number mapped to [0, 1] over its range (log scale where
        declared), a categorical counting 1 where it differs."""
        total = np.zeros(len(ids))
        for h, code in zip(self.hyperparameters, self.codes(ids)):
            value = config[h.name]
            if not h.numeric:
                total += code != h.position(value)
                continue
            there = np.asarray(h.values, dtype=np.float64)[code] if h.values else code
            total += (h.unit(np.array(h.number(value))) - h.unit(there)) ** 2
        return np.sqrt(total)


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
