"""The search space and fidelities of a table as ConfigSpace objects (extra ``configspace``).

Numeric grids become :class:`~ConfigSpace.OrdinalHyperparameter` (the order of the values is
kept; a log-spaced grid carries ``meta={"log": True}``), strings and booleans
:class:`~ConfigSpace.CategoricalHyperparameter`, and the ranges of a sampled space
:class:`~ConfigSpace.UniformFloatHyperparameter` or
:class:`~ConfigSpace.UniformIntegerHyperparameter` (log where declared). The fidelities
``z`` (trained layers) and ``epoch`` are ordinal hyperparameters of their own space.

The space is the table's design exactly, so that every configuration a ConfigSpace user
samples or enumerates queries:

- **a grid**: its valid configs only. The space's conditions (SGD has no ``beta2``:
  :class:`frozenbench.space.Condition`) become ConfigSpace conditions, never forbidden
  clauses, and a configuration without its inactive hyperparameters is the table's config
  that holds them at their fill value (a grid's first value, the one a ``configs =
  "distinct"`` table keeps). A grid config the table lacks (a table may hold a subset of its
  grid) is a forbidden clause over its *active* hyperparameters; the defaults are a config the
  table holds. ``forbid_missing=False`` leaves these clauses out, for a library whose
  mutations ignore them (DEHB's raise ``ForbiddenValueError``); such a library may then
  propose a config the table lacks. Every shipped table holds its whole grid: no clause.
- **a sampled design** (configs drawn from declared ranges): its declared ranges, as uniform
  (log where declared) hyperparameters, with the same conditions. A configuration drawn there
  is almost never a table config: ``config_id(..., nearest=True)`` (or ``bench.query(...,
  nearest=True)``) reads the nearest table config (distance in the unit cube of the ranges).

>>> from frozenbench.synthetic import make_benchmark
>>> bench = make_benchmark(n_configs=4, n_z=3, n_epochs=4)
>>> cs = search_space(bench)
>>> sorted(cs.keys())
['beta1', 'beta2', 'lr', 'optimizer', 'weight_decay']
>>> cs["lr"].meta
{'log': True}
>>> list(fidelity_space(bench)["z"].sequence)
[1, 2, 3]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from frozenbench.extras import require
from frozenbench.space import Hyperparameter

if TYPE_CHECKING:
    from frozenbench.table import Benchmark



def is_log(h: Hyperparameter) -> bool:
    """Whether a numeric grid is log-spaced: declared so, or positive, spanning two orders of
    magnitude, with ratios between neighbours more even than differences."""
    if h.log:
        return True
    vals = h.values
    if len(vals) < 3 or any(isinstance(v, (str, bool)) for v in vals):
        return False
    x = np.sort(np.asarray(vals, dtype=float))
    if x[0] <= 0 or x[-1] / x[0] < 100:
        return False
    ratios, diffs = np.diff(np.log(x)), np.diff(x)
    return bool(np.std(ratios) / np.mean(ratios) < np.std(diffs) / np.mean(diffs))


@dataclass(frozen=True)
class Active:
    """``child`` acts only when ``parent`` is one of ``values`` (else it sits at ``fixed``)."""

    child: str
    parent: str
    values: tuple[Any, ...]
    fixed: Any

    def on(self, config: Mapping[str, Any]) -> bool:
        """Whether ``child`` is active in ``config``."""
        return config.get(self.parent) in self.values


def conditions(bench: Benchmark) -> tuple[Active, ...]:
    """The conditions the table's space declares, with the value an inactive child holds.

    >>> import frozenbench as fb
    >>> conditions(fb.load("mnist-resnet"))
    (Active(child='beta2', parent='optimizer', values=('adam',), fixed=0.9),)
    """
    space = bench.space
    return tuple(Active(c.child, c.parent, tuple(c.values), space[c.child].fill)
                 for c in space.conditions)


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _hyperparameter(h: Hyperparameter, default: Any = None) -> Any:
    """One hyperparameter; ``default`` (a grid value) is its default, else ConfigSpace's."""
    cs = require("ConfigSpace")
    values = list(h.values)
    if not values:  # a range of a sampled space
        kind = cs.UniformIntegerHyperparameter if h.type == "int" else \
            cs.UniformFloatHyperparameter
        return kind(h.name, lower=h.low, upper=h.high, log=h.log)
    extra = {} if default is None else {"default_value": _plain(default)}
    if any(isinstance(v, (str, bool)) for v in values):
        return cs.CategoricalHyperparameter(h.name, values, **extra)
    meta = {"log": True} if is_log(h) else None
    return cs.OrdinalHyperparameter(h.name, [_plain(v) for v in sorted(values)], meta=meta,
                                    **extra)


def missing_configs(bench: Benchmark) -> list[dict[str, Any]]:
    """The grid configs the table lacks, each with its *active* hyperparameters only (one per
    config, not one per value of an inactive hyperparameter); empty for a sampled design.

    >>> import frozenbench as fb
    >>> missing_configs(fb.load("mnist-resnet"))
    []
    >>> from frozenbench.synthetic import make_benchmark
    >>> len(missing_configs(make_benchmark(n_configs=20, n_z=2, n_epochs=2)))
    196
    """
    space = bench.space
    if not space.is_grid:
        return []
    held = {int(i) for i in bench.config_ids}
    lacking = sorted({space.index(cfg) for cfg in space} - held)
    out = []
    for gid in lacking:
        values = space.config(gid)
        for c in conditions(bench):
            if not c.on(values):
                del values[c.child]
        out.append(values)
    return out


def _forbidden(space: Any, config: Mapping[str, Any]) -> Any:
    cs = require("ConfigSpace")
    clauses = [cs.ForbiddenEqualsClause(space[n], _plain(v)) for n, v in config.items()]
    return clauses[0] if len(clauses) == 1 else cs.ForbiddenAndConjunction(*clauses)


def search_space(bench: Benchmark, *, seed: int | None = None,
                 forbid_missing: bool = True) -> Any:
    """The table's hyperparameters as a ``ConfigSpace.ConfigurationSpace`` (see the module
    docstring): every configuration it holds queries the table.

    >>> from ConfigSpace.util import generate_grid
    >>> import frozenbench as fb
    >>> bench = fb.load("mnist-resnet")
    >>> space = search_space(bench)
    >>> len(generate_grid(space)), len(bench.configs), len(space.forbidden_clauses)
    (144, 144, 0)
    """
    cs = require("ConfigSpace")
    space = cs.ConfigurationSpace(name=bench.name, seed=seed)
    default = bench.configs[0] if bench.space.is_grid else {}
    space.add([_hyperparameter(h, default.get(h.name)) for h in bench.space.hyperparameters])
    for c in conditions(bench):
        values = list(c.values)
        space.add(cs.EqualsCondition(space[c.child], space[c.parent], values[0])
                  if len(values) == 1 else cs.InCondition(space[c.child], space[c.parent], values))
    if forbid_missing:
        forbidden = [_forbidden(space, cfg) for cfg in missing_configs(bench)]
        if forbidden:
            space.add(forbidden)
    return space


def fidelity_space(bench: Benchmark) -> Any:
    """The fidelities ``z`` and ``epoch`` as ordinal hyperparameters of their own space."""
    cs = require("ConfigSpace")
    space = cs.ConfigurationSpace(name=f"{bench.name}-fidelities")
    fid = bench.fidelities
    space.add([cs.OrdinalHyperparameter("z", [int(z) for z in fid["z"]]),
               cs.OrdinalHyperparameter("epoch", [int(e) for e in fid["epoch"]])])
    return space


def config_id(bench: Benchmark, configuration: Mapping[str, Any], *,
              nearest: bool = False) -> int:
    """The ``config_id`` of a ConfigSpace configuration (or any mapping); an inactive
    hyperparameter, present or not, is read at its fill value. ``nearest=True``: the id of
    the nearest table config (for configurations drawn from a sampled space's ranges)."""
    return bench.config_id(configuration, nearest=nearest)


def configuration(bench: Benchmark, config_id: int, space: Any) -> Any:
    """The ConfigSpace configuration of a table config (without its inactive hyperparameters)."""
    cs = require("ConfigSpace")
    values = bench.space.config(config_id)
    for c in conditions(bench):
        if not c.on(values):
            del values[c.child]
    return cs.Configuration(space, values=values)


def grid_values(bench: Benchmark) -> dict[str, Sequence[Any]]:
    """Each hyperparameter's values in the order a space built here lists them (a range of a
    sampled space: ``[low, high]``)."""
    return {h.name: list(h.values) if any(isinstance(v, (str, bool)) for v in h.values)
            else sorted(h.values) if h.values else [h.low, h.high]
            for h in bench.space.hyperparameters}
