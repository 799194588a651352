"""mf-prior-bench's ``Benchmark`` interface on a table, so mfpbench users can swap benchmarks
(extra ``configspace``; mf-prior-bench itself is not needed).

mf-prior-bench (``mfpbench``) gives every benchmark one fidelity, a ConfigSpace space, named
priors and ``query(config, at=fidelity)`` returning a frozen ``Result`` with ``error``,
``score`` and ``cost``. :func:`get` returns an :class:`MFPBenchmark` with the same names, its
fidelity the table's epochs at a fixed z (default all layers; ``z=`` picks another) or, with
``fidelity="z"``, the trained layers at a fixed epoch (default the last; ``epoch=``); the
value the other fidelity is held at is ``bench.fixed``. Each mfpbench name, and the
frozenbench call that answers it (``table = fb.load(name)``, ``bench = get(table)``: names are
resolved by ``fb.load``, the adapters take a loaded table)::

    mfpbench                                  frozenbench
    mfpbench.get(name, prior=, value_metric=, get(table, prior=, value_metric=, cost_metric=,
                 cost_metric=)                    z=, seed=, fidelity=)
    bench.query(config, at=e)                 table.query(config, z=bench.fixed, epoch=e,
                                                          seed=bench.seed)
    bench.trajectory(config, frm=a, to=b)     [bench.query(config, at=e) for e in a..b]
                                              (the rows a..b of table.curve(config, z))
    bench.iter_fidelities(frm, to, step)      table.fidelities["epoch"] from frm to to
    bench.sample(n, seed=s)                   search_space(table) seeded with s, sampled
    bench.space                               frozenbench.interop.configspace.search_space
    bench.fidelity_range, .start, .end,       (min, max, step) of table.fidelities["epoch"]
      .step, .fidelity_name                   ("epoch"; or "z" with fidelity="z")
    bench.prior (prior="good", "medium",      frozenbench.priors.priors(table)[name].config
      or "bad")
    bench.metrics, .value_metric,             the table's metrics (val_error, val_loss,
      .cost_metric                            train_loss) and cost columns
    result.error                              the value metric (table.metric by default)
    result.score                              1 - val_error; a loss: -loss (mfpbench's rule
                                              for bounded and unbounded metrics)
    result.cost                               the cost column (table.default_cost by
                                              default), cumulative from scratch to the cell
    result.fidelity, result.config            the epoch (or z) queried, the config as given
    result.values, result.as_dict()           every quantity of the cell (fb.Result's)

Differences, stated: a config is a plain dict (mfpbench's ``Config`` is a frozen mapping too;
``dict(config)`` reads both), ``result[name]`` is the raw value (mfpbench returns a
``Metric.Value``); a table has no test metric, so ``value_metric_test``, ``test_error`` and
``test_score`` are ``None``; ``perturb_prior`` is not offered (:data:`frozenbench.priors.SPREAD`
states each prior's spread instead); ``at`` and ``frm``/``to`` take the table's fidelity
values, and a value the table lacks raises an error that lists them (mfpbench asserts).
``seed`` is the training seed whose cells answer (default: the mean over the seeds a cell
has); ``sample(seed=)`` seeds the sampling alone, as in mfpbench.

>>> import frozenbench as fb
>>> bench = get(fb.load("mnist-resnet"), prior="good")
>>> bench.fidelity_name, bench.fidelity_range, bench.fixed  # epochs 1..6 at z=10 (all layers)
('epoch', (1, 6, 1), 10)
>>> config = bench.sample(seed=0)
>>> result = bench.query(config, at=3)
>>> result.fidelity, result.error == result.values["val_error"], result.score == 1 - result.error
(3, True, True)
>>> [r.fidelity for r in bench.trajectory(config, frm=2, to=4)]
[2, 3, 4]
>>> all(bench.space[k].default_value == v for k, v in bench.prior.items())  # mfpbench's way
True
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from frozenbench.errors import InvalidValueError, format_choices, not_loaded, unknown_name
from frozenbench.interop.configspace import conditions, config_id, search_space
from frozenbench.priors import QUANTILES, Prior, priors
from frozenbench.schema import METRICS, VALUE_RANGES
from frozenbench.table import Benchmark
from frozenbench.table.result import COSTS, QUANTITIES, cost_column

#: The fidelities an :class:`MFPBenchmark` can advance over (the other one stays fixed).
FIDELITIES = ("epoch", "z")


@dataclass(frozen=True, slots=True)
class Metric:
    """mfpbench's metric definition: a value minimised (or maximised) within ``bounds``.

    ``error`` is the value to minimise, ``score`` the value to maximise: for bounded metrics
    both are rescaled to [0, 1], for unbounded ones they are the value and its negative.

    >>> Metric(minimize=True, bounds=(0.0, 1.0)).score(0.25)
    0.75
    >>> Metric(minimize=True, bounds=(0.0, math.inf)).score(2.5)
    -2.5
    """

    minimize: bool
    bounds: tuple[float, float]

    def __post_init__(self) -> None:
        if not self.bounds[0] < self.bounds[1]:
            raise InvalidValueError(f"bounds={self.bounds} must rise (lower < upper)")

    def error(self, value: float) -> float:
        """``value`` as a quantity to minimise."""
        lo, hi = self.bounds
        if math.isinf(lo) or math.isinf(hi):
            return value if self.minimize else -value
        return abs((lo if self.minimize else hi) - value) / (hi - lo)

    def score(self, value: float) -> float:
        """``value`` as a quantity to maximise."""
        lo, hi = self.bounds
        if math.isinf(lo) or math.isinf(hi):
            return -value if self.minimize else value
        return abs((hi if self.minimize else lo) - value) / (hi - lo)


#: Every quantity a result can be read by, all minimised: the metrics, then the cost columns.
METRIC_DEFS: Mapping[str, Metric] = MappingProxyType({
    q: Metric(minimize=True, bounds=VALUE_RANGES[q]) for q in (*METRICS, *COSTS)
})


@dataclass(frozen=True, slots=True)
class Result:
    """One query's answer, by mfpbench's names: the ``fidelity`` queried (an epoch, or a z),
    the ``config`` as given, and ``values``, every quantity of the table cell at ``(z,
    epoch)`` (table config ``config_id``, mean over ``n_seeds`` seeds or one)."""

    fidelity: int
    config: Mapping[str, Any] = field(repr=False, compare=False)
    value_metric: str
    cost_metric: str
    values: Mapping[str, float] = field(repr=False)
    z: int
    epoch: int
    config_id: int
    n_seeds: int
    value_metric_test: None = None

    def __post_init__(self) -> None:
        for kind, name in (("value metric", self.value_metric), ("cost metric", self.cost_metric)):
            if name not in self.values or name not in METRIC_DEFS:
                raise unknown_name(kind, name, [k for k in METRIC_DEFS if k in self.values])

    def __getitem__(self, key: str) -> float:
        if key not in self.values:
            raise unknown_name("quantity", key, self.values)
        return self.values[key]

    @property
    def metric_defs(self) -> Mapping[str, Metric]:
        """The definitions of the quantities ``error``/``score`` read (all minimised)."""
        return METRIC_DEFS

    @property
    def error(self) -> float:
        """The value metric as a quantity to minimise (mfpbench's ``Result.error``)."""
        return METRIC_DEFS[self.value_metric].error(self.values[self.value_metric])

    @property
    def score(self) -> float:
        """The value metric as a quantity to maximise (mfpbench's ``Result.score``)."""
        return METRIC_DEFS[self.value_metric].score(self.values[self.value_metric])

    @property
    def val_score(self) -> float:
        """``score`` (mfpbench keeps the name for compatibility)."""
        return self.score

    @property
    def cost(self) -> float:
        """The cost column's value: cumulative, training from scratch to this cell."""
        return METRIC_DEFS[self.cost_metric].error(self.values[self.cost_metric])

    @property
    def test_error(self) -> None:
        """None: a table has no test metric."""
        return None

    @property
    def test_score(self) -> None:
        """None: a table has no test metric."""
        return None

    @property
    def errors(self) -> dict[str, float]:
        """Every metric and cost as a quantity to minimise."""
        return {k: d.error(self.values[k]) for k, d in METRIC_DEFS.items()}

    @property
    def scores(self) -> dict[str, float]:
        """Every metric and cost as a quantity to maximise."""
        return {k: d.score(self.values[k]) for k, d in METRIC_DEFS.items()}

    def as_dict(self) -> dict[str, float]:
        """The raw values (mfpbench's ``Result.as_dict()``)."""
        return dict(self.values)


class MFPBenchmark:
    """A table behind mf-prior-bench's ``Benchmark`` names; build it with :func:`get`.

    ``fidelity`` is ``"epoch"`` (``z`` fixed, default the largest) or ``"z"`` (``epoch``
    fixed, default the last); ``seed`` the training seed whose cells answer (None: the mean
    over the seeds); ``prior`` a prior's name (:data:`frozenbench.priors.QUANTILES`), a
    table config, or None; ``value_metric`` a metric (default the table's) and
    ``cost_metric`` a cost column or alias (default the table's
    :attr:`~frozenbench.table.Benchmark.default_cost`). Every bad argument is an error that
    names the valid values.
    """

    def __init__(self, bench: Benchmark, *, fidelity: str = "epoch", z: int | None = None,
                 epoch: int | None = None, seed: int | None = None,
                 prior: str | Mapping[str, Any] | None = None, value_metric: str | None = None,
                 cost_metric: str | None = None) -> None:
        if fidelity not in FIDELITIES:
            raise unknown_name("fidelity", fidelity, FIDELITIES)
        if seed is not None and seed not in bench.seeds:
            raise unknown_name("seed", seed, [int(s) for s in bench.seeds])
        values = {k: sorted(int(v) for v in vs) for k, vs in bench.fidelities.items()}
        other = FIDELITIES[1 - FIDELITIES.index(fidelity)]
        given = {"z": z, "epoch": epoch}
        if given[fidelity] is not None:
            raise InvalidValueError(f"fidelity={fidelity!r} advances {fidelity}: give {other}= "
                                    f"to fix the other fidelity, not {fidelity}=")
        fixed = given[other]
        if fixed is not None and fixed not in values[other]:
            raise InvalidValueError(f"{other}={fixed!r} is not in {bench.name}; valid: "
                                    f"{format_choices(values[other])}")
        self.bench = bench
        self.name = bench.name
        self.seed = seed
        self.fidelity_name = fidelity
        #: The value the other fidelity is held at (the largest unless chosen).
        self.fixed: int = values[other][-1] if fixed is None else int(fixed)
        self._values = values[fidelity]
        gaps = [int(g) for g in np.diff(self._values)]
        self.fidelity_range: tuple[int, int, int] = (
            self._values[0], self._values[-1], math.gcd(*gaps) if gaps else 1)
        self.value_metric = bench.metric_name(value_metric)
        self.value_metric_test: None = None
        self.cost_metric = cost_column(cost_metric or bench.default_cost)
        self.has_conditionals = bool(conditions(bench))
        self.space = search_space(bench)
        self.prior_spec, self.prior = self._prior(prior)

    def __repr__(self) -> str:
        other = "z" if self.fidelity_name == "epoch" else "epoch"
        return (f"MFPBenchmark({self.name!r}: {self.fidelity_name} in {self.start}..{self.end}"
                f", {other}={self.fixed}, value_metric={self.value_metric!r})")

    def _prior(self, prior: str | Mapping[str, Any] | None
               ) -> tuple[Prior | None, dict[str, Any] | None]:
        """The prior's frozenbench record (a named prior) and config, set as the space's
        defaults as mfpbench does."""
        if prior is None:
            return None, None
        spec = None
        if isinstance(prior, str):
            if prior not in QUANTILES:
                raise unknown_name("prior", prior, QUANTILES)
            spec = priors(self.bench, metric=self.value_metric)[prior]
            config = dict(spec.config)
        elif isinstance(prior, Mapping):
            config = dict(self.bench.space.config(config_id(self.bench, prior)))
        else:
            raise InvalidValueError(f"prior={prior!r} is none of a prior's name "
                                    f"{format_choices(QUANTILES)}, a config or None")
        for name, value in config.items():
            self.space[name].default_value = value
        return spec, config

    # ------------------------------------------------------------------ the fidelity
    @property
    def start(self) -> int:
        """The smallest fidelity value."""
        return self.fidelity_range[0]

    @property
    def end(self) -> int:
        """The largest fidelity value (the full fidelity)."""
        return self.fidelity_range[1]

    @property
    def step(self) -> int:
        """The step between fidelity values (their greatest common divisor)."""
        return self.fidelity_range[2]

    @property
    def metrics(self) -> dict[str, Metric]:
        """The quantities a result can be read by (mfpbench's ``Benchmark.metrics``)."""
        return dict(METRIC_DEFS)

    def iter_fidelities(self, frm: int | None = None, to: int | None = None,
                        step: int | None = None) -> Iterator[int]:
        """The table's fidelity values from ``frm`` to ``to`` (default: all), every ``step``
        from ``frm`` when given."""
        lo = self._check("frm", self.start if frm is None else frm)
        hi = self._check("to", self.end if to is None else to)
        if lo > hi:
            raise InvalidValueError(f"frm={lo} is above to={hi}")
        if step is not None and (not isinstance(step, (int, np.integer)) or step < 1):
            raise InvalidValueError(f"step={step!r} must be a whole number >= 1")
        for v in self._values:
            if lo <= v <= hi and (step is None or (v - lo) % step == 0):
                yield v

    def _check(self, what: str, value: Any) -> int:
        if value not in self._values:
            raise InvalidValueError(f"{what}={value!r} is not a {self.fidelity_name} of "
                                    f"{self.name}; valid: {format_choices(self._values)}")
        return int(value)

    # ------------------------------------------------------------------ queries
    def load(self) -> None:
        """Nothing to do: the table is in memory (mfpbench's optional preload)."""

    def query(self, config: Mapping[str, Any], *, at: int | None = None,
              value_metric: str | None = None, value_metric_test: str | None = None,
              cost_metric: str | None = None) -> Result:
        """The result of ``config`` (a dict, a ConfigSpace ``Configuration``, any mapping) at
        fidelity ``at`` (default: the largest)."""
        if value_metric_test is not None:
            raise InvalidValueError(f"value_metric_test={value_metric_test!r}: {self.name} "
                                    "has no test metric")
        at = self._check("at", self.end if at is None else at)
        z, epoch = (self.fixed, at) if self.fidelity_name == "epoch" else (at, self.fixed)
        cid = config_id(self.bench, config)
        cell = self.bench.query(cid, z, epoch, seed=self.seed)
        values = {q: float(getattr(cell, q)) for q in QUANTITIES}
        return Result(fidelity=at, config=config,
                      value_metric=self.bench.metric_name(value_metric or self.value_metric),
                      cost_metric=cost_column(cost_metric or self.cost_metric),
                      values=MappingProxyType(values), z=z, epoch=epoch, config_id=cid,
                      n_seeds=cell.n_seeds)

    def trajectory(self, config: Mapping[str, Any], *, frm: int | None = None,
                   to: int | None = None, step: int | None = None,
                   value_metric: str | None = None, value_metric_test: str | None = None,
                   cost_metric: str | None = None) -> list[Result]:
        """The results of ``config`` at every fidelity value from ``frm`` to ``to``."""
        return [self.query(config, at=v, value_metric=value_metric,
                           value_metric_test=value_metric_test, cost_metric=cost_metric)
                for v in self.iter_fidelities(frm, to, step)]

    def sample(self, n: int | None = None, *,
               seed: int | np.random.RandomState | None = None
               ) -> dict[str, Any] | list[dict[str, Any]]:
        """``n`` configs drawn from :attr:`space` (one, not in a list, for ``n=None``), the
        draw seeded by ``seed`` alone (an int, a ``RandomState``, or None: fresh entropy)."""
        if n is not None and (not isinstance(n, (int, np.integer)) or n < 1):
            raise InvalidValueError(f"n={n!r} must be None or a whole number >= 1")
        if isinstance(seed, np.random.RandomState):
            seed = int(seed.randint(0, 2**31 - 1))
        elif seed is None:
            seed = int(np.random.default_rng().integers(0, 2**31 - 1))
        space = copy.deepcopy(self.space)
        space.seed(int(seed))
        if n is None:
            return dict(space.sample_configuration())
        drawn = space.sample_configuration(int(n))
        return [dict(c) for c in (drawn if isinstance(drawn, list) else [drawn])]


def get(bench: Benchmark, *, fidelity: str = "epoch", z: int | None = None,
        epoch: int | None = None, seed: int | None = None,
        prior: str | Mapping[str, Any] | None = None, value_metric: str | None = None,
        cost_metric: str | None = None) -> MFPBenchmark:
    """mfpbench's ``get``: a loaded table (``fb.load(name)``) as an :class:`MFPBenchmark`
    (see it for the arguments).

    >>> import frozenbench as fb
    >>> get(fb.load("vit-mnist"), z=2, prior="bad")
    MFPBenchmark('vit-mnist': epoch in 1..6, z=2, value_metric='val_error')
    """
    if not isinstance(bench, Benchmark):
        raise not_loaded("bench", bench)
    return MFPBenchmark(bench, fidelity=fidelity, z=z, epoch=epoch, seed=seed, prior=prior,
                        value_metric=value_metric, cost_metric=cost_metric)
