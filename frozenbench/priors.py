"""Good, medium and bad priors per table, as mf-prior-bench defines them for its benchmarks.

A prior is a belief about where the good configs are, given to prior-aware optimizers
(PriorBand, piBO, ...) to test whether they exploit a good belief and recover from a bad one.
mf-prior-bench derives its priors from the benchmark itself: a config of known quality becomes
the prior's centre. frozenbench does the same, deterministically from the table, so every
table carries its priors and a paper can state exactly which belief an optimizer was given:

- the configs are ranked by their full-fidelity score (largest z, last epoch, mean over the
  seeds every config has: :meth:`~frozenbench.table.Benchmark.full_fidelity_scores`);
- ``good`` is the config at the :data:`QUANTILES` ``["good"]`` = 0.1 quantile of that ranking
  (better than 90% of the table, not the table's best: a prior that *is* the optimum tests
  nothing), ``medium`` the median config (0.5), ``bad`` the config at the 0.9 quantile;
- the spread is stated once, :data:`SPREAD`: a numeric hyperparameter's belief is a normal
  distribution centred on the prior value with a standard deviation of that fraction of its
  range (of log values where the hyperparameter is log-scaled), truncated to the range; a
  categorical one puts that share of the probability on the prior value and spreads the rest
  evenly (mf-prior-bench's and NePS's ``prior_confidence`` levels name the same idea).

A prior is a frozen :class:`Prior`; :meth:`Prior.to_dict` is the plain dict any library reads.

>>> from frozenbench.synthetic import make_benchmark
>>> bench = make_benchmark(n_configs=20, n_z=2, n_epochs=3)
>>> ps = priors(bench)
>>> sorted(ps), ps["good"].score <= ps["medium"].score <= ps["bad"].score
(['bad', 'good', 'medium'], True)
>>> sorted(ps["good"].to_dict())
['confidence', 'config', 'config_id', 'metric', 'name', 'quantile', 'score', 'spread']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from frozenbench.errors import InvalidValueError, unknown_name

if TYPE_CHECKING:
    from frozenbench.table import Benchmark

#: Where each prior lies in the ranking of configs by full-fidelity score (0 = the best).
QUANTILES: Mapping[str, float] = {"good": 0.1, "medium": 0.5, "bad": 0.9}
#: The confidence each prior is given (NePS's ``prior_confidence`` words).
CONFIDENCE: Mapping[str, str] = {"good": "medium", "medium": "medium", "bad": "medium"}
#: The spread per confidence level: a numeric hyperparameter's standard deviation as a fraction
#: of its (log-)range, and the probability a categorical one puts on the prior value.
SPREAD: Mapping[str, Mapping[str, float]] = {
    "low": {"std_fraction": 0.25, "categorical_weight": 0.5},
    "medium": {"std_fraction": 0.125, "categorical_weight": 0.75},
    "high": {"std_fraction": 0.05, "categorical_weight": 0.9},
}


@dataclass(frozen=True, slots=True)
class Prior:
    """One prior of a table: the config at ``quantile`` of the ranking by full-fidelity
    ``score`` (``metric``, lower is better), believed with ``confidence`` (see :data:`SPREAD`)."""

    name: str
    quantile: float
    config_id: int
    config: Mapping[str, Any] = field(hash=False)
    score: float
    metric: str
    confidence: str

    def __post_init__(self) -> None:
        if self.confidence not in SPREAD:
            raise unknown_name("confidence", self.confidence, SPREAD)
        if not 0.0 <= self.quantile <= 1.0:
            raise InvalidValueError(f"quantile={self.quantile!r} is outside [0, 1]")

    def to_dict(self) -> dict[str, Any]:
        """The prior as plain JSON-ready values, with its spread spelled out."""
        return {"name": self.name, "quantile": self.quantile, "config_id": self.config_id,
                "config": dict(self.config), "score": self.score, "metric": self.metric,
                "confidence": self.confidence, "spread": dict(SPREAD[self.confidence])}


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def prior(bench: Benchmark, name: str, *, metric: str | None = None) -> Prior:
    """The prior ``name`` (a key of :data:`QUANTILES`) of ``bench``, ranked by ``metric``
    (default: the table's).

    >>> from frozenbench.synthetic import make_benchmark
    >>> prior(make_benchmark(n_configs=5, n_z=2, n_epochs=2), "best")
    Traceback (most recent call last):
    ...
    frozenbench.errors.UnknownNameError: unknown prior 'best'; valid: ['good', 'medium', 'bad']
    """
    if name not in QUANTILES:
        raise unknown_name("prior", name, QUANTILES)
    return _ranked(bench, metric)(name)


def priors(bench: Benchmark, *, metric: str | None = None) -> dict[str, Prior]:
    """Every prior of ``bench`` by name (``good``, ``medium``, ``bad``), ranked once."""
    at = _ranked(bench, metric)
    return {name: at(name) for name in QUANTILES}


def _ranked(bench: Benchmark, metric: str | None) -> Callable[[str], Prior]:
    """The configs of ``bench`` ranked by full-fidelity score; returns the prior at a name."""
    scores = bench.full_fidelity_scores(metric)
    order = np.argsort(scores, kind="stable")
    metric_name = bench.metric_name(metric)

    def at(name: str) -> Prior:
        q = QUANTILES[name]
        row = int(order[round(q * (len(order) - 1))])
        config = {k: _plain(v) for k, v in bench.configs[row].items()}
        return Prior(name=name, quantile=q, config_id=int(bench.config_ids[row]), config=config,
                     score=float(scores[row]), metric=metric_name, confidence=CONFIDENCE[name])
    return at
