"""NePS optimizers on a table's simulated clock (extra ``neps``).

NePS (neural-pipeline-search, the freezing method's authors' HPO tool) drives its optimizers
ask-and-tell style through ``neps.AskAndTell``, without its own runtime loop, so
:class:`NePSOptimizer` is a promotion-style frozenbench optimizer: each ``ask`` asks NePS for a
trial (``"<config>_rung_<r>"`` with the fidelity value in its config), each ``tell`` reports
``{"objective_to_minimize": score, "cost": cost paid}``. Any NePS multi-fidelity optimizer
works (``successive_halving``, ``hyperband``, ``asha``, ``async_hb``, ``priorband`` ...);
``ifbo`` downloads its surrogate's weights on first use, so it needs the internet once.

NePS sees one fidelity; ``fidelity`` says which (z, epoch) level its value stands for, as for
SMAC and DEHB (:class:`~frozenbench.interop.smac.BudgetAxis`, a value between levels is read
at the nearest): ``"epoch"`` (z fixed, default all layers, or ``z="search"``: a
hyperparameter named ``"z"``), ``"z"`` (trained to the last epoch) or ``"z+epoch-linear"`` (the
paper's linear diagonal, the NePS parameter named ``"budget"``) or, on a table with thaw rows,
``"thaw"`` (the epoch of one run along the thaw schedule, named ``"epoch"``). A request at a
higher epoch with the same config and z (on ``"thaw"``: the same config, whatever the z)
continues that config's earlier run and pays only the new epochs, as a promotion does
(:class:`~frozenbench.interop.smac.TrialBook`); a new z is a new run (frozen layers do not
thaw at fixed z). Every grid hyperparameter is an ``HPOCategorical`` of its
values, so NePS proposes grid configs only; a config the table lacks (a table may hold a
subset of its grid) is withdrawn before NePS hears of it and NePS is asked again. NePS draws
from the global torch, numpy and ``random`` generators: each ask seeds them from the
simulator's generator and restores them, so a replay is reproducible for a given ``seed``.

>>> import frozenbench as fb
>>> from frozenbench.synthetic import make_benchmark
>>> bench = make_benchmark(n_configs=None, grid={"lr": [1e-4, 1e-3, 1e-2], "wd": [0.0, 1e-4]},
...                        n_z=3, n_epochs=9, diverge_frac=0.0)
>>> opt = NePSOptimizer(bench, "hyperband")
>>> traj = fb.simulate(bench, opt, n_workers=2, max_evaluations=30)
>>> len(traj), sorted(set(traj["epoch"]))
(30, [1, 3, 9])
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from frozenbench.errors import InvalidValueError, format_choices, unknown_name
from frozenbench.extras import require
from frozenbench.interop.budget import (
    BUDGETS,
    CONTINUED_BUDGETS,
    BudgetAxis,
    TrialBook,
    budget_kind,
)
from frozenbench.optimizers.base import Job, Observation

if TYPE_CHECKING:
    from frozenbench.priors import Prior
    from frozenbench.table import Benchmark

#: The name of the fidelity parameter in the NePS space, per ``fidelity``.
PARAMETER = {"epoch": "epoch", "z": "z", "z+epoch-linear": "budget", "thaw": "epoch"}
#: How many configs outside the table NePS may propose in a row before it is an error.
MAX_REJECTED = 1000


def fixed_z(bench: Benchmark, fidelity: str, z: int | str | None,
            valid: tuple[str, ...] = BUDGETS) -> int | None:
    """The z every trial trains at with ``fidelity="epoch"`` (None for ``z="search"``, and for
    the other fidelities, whose levels fix z); ``z`` and ``fidelity`` (one of ``valid``)
    checked."""
    budget_kind(fidelity, "fidelity", valid)
    if fidelity != "epoch":
        if z is not None:
            raise InvalidValueError(f"z={z!r} with fidelity={fidelity!r}: its levels fix z; "
                                    f"z= goes with fidelity='epoch'")
        return None
    if z == "search":
        return None
    if z is None:
        return max(int(v) for v in bench.fidelities["z"])
    if isinstance(z, str):
        raise InvalidValueError(f"z={z!r}; valid: an int of the table's z "
                                f"{bench.fidelities['z']}, None (all layers) or 'search'")
    return bench.fidelity_values.check_z(z)


def pipeline_space(bench: Benchmark, *, fidelity: str = "epoch",
                   z: int | str | None = None, prior: Prior | None = None) -> Any:
    """The table as a NePS ``SearchSpace``: one ``HPOCategorical`` per hyperparameter (an
    ``HPOConstant`` where the grid has one value), the fidelity an ``HPOInteger`` with
    ``is_fidelity=True`` over the budget axis (named :data:`PARAMETER` ``[fidelity]``), and
    with ``z="search"`` the trained layers as an ``HPOCategorical`` ``"z"``. With ``prior``
    (one of :func:`frozenbench.priors.priors`), each hyperparameter's NePS ``prior`` is the
    prior config's value, believed with the prior's ``confidence``.

    >>> from frozenbench.synthetic import make_benchmark
    >>> space = pipeline_space(make_benchmark(n_configs=4, n_z=3, n_epochs=5), z="search")
    >>> sorted(space.fidelities), space.fidelities["epoch"].upper, space["z"].choices
    (['epoch'], 5, [1, 2, 3])
    """
    searched = fixed_z(bench, fidelity, z, CONTINUED_BUDGETS) is None and fidelity == "epoch"
    axis = BudgetAxis.of(bench, fidelity, CONTINUED_BUDGETS)
    space = require("neps.space")
    elements: dict[str, Any] = {}
    for h in bench.space.hyperparameters:
        values = [v.item() if isinstance(v, np.generic) else v for v in h.values]
        if len(values) == 1:
            elements[h.name] = space.HPOConstant(values[0])
        elif prior is None:
            elements[h.name] = space.HPOCategorical(values)
        else:
            elements[h.name] = space.HPOCategorical(values, prior=prior.config[h.name],
                                                    prior_confidence=prior.confidence)
    if searched:
        zs = [int(v) for v in bench.fidelities["z"]]
        elements["z"] = space.HPOCategorical(zs) if len(zs) > 1 else space.HPOConstant(zs[0])
    elements[PARAMETER[fidelity]] = space.HPOInteger(axis.min_budget, axis.max_budget,
                                                     is_fidelity=True)
    return space.SearchSpace(elements)


@contextlib.contextmanager
def _global_generators(rng: np.random.Generator) -> Iterator[None]:
    """Seed the global torch, numpy and ``random`` generators (NePS draws from them) from
    ``rng``, and restore them afterwards."""
    torch = require("torch")
    seed = int(rng.integers(2**31))
    np_state, py_state = np.random.get_state(), random.getstate()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        np.random.seed(seed)
        random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)


class NePSOptimizer:
    """Drive a NePS optimizer on ``bench`` through ``neps.AskAndTell``.

    ``algorithm``: the name of a NePS optimizer (``neps.algorithms``, e.g. ``"hyperband"``,
    ``"priorband"``, ``"asha"``), built on :func:`pipeline_space` with ``**options``
    (e.g. ``eta=3``), or a function from that space to a NePS optimizer. ``fidelity`` and
    ``z`` are described in the module docstring. ``prior``: the belief a prior-aware optimizer
    (``"priorband"``) starts from, one of :func:`frozenbench.priors.priors` (e.g.
    ``priors(bench)["good"]``); ``"priorband"`` refuses to run without one. The NePS trials
    are ``self.neps.trials``.
    """

    def __init__(self, bench: Benchmark, algorithm: str | Callable[[Any], Any] = "hyperband",
                 *, fidelity: str = "epoch", z: int | str | None = None,
                 prior: Prior | None = None, **options: Any) -> None:
        neps = require("neps")
        if algorithm == "priorband" and prior is None:
            raise InvalidValueError("NePS's priorband needs a prior: pass prior= one of "
                                    "frozenbench.priors.priors(bench) ('good', 'medium', 'bad')")
        self.bench = bench
        self.fidelity = fidelity
        self.z = fixed_z(bench, fidelity, z, CONTINUED_BUDGETS)
        self.prior = prior
        self.space = pipeline_space(bench, fidelity=fidelity, z=z, prior=prior)
        self.axis = BudgetAxis.of(bench, fidelity, CONTINUED_BUDGETS)
        known = neps.algorithms.PredefinedOptimizers
        if isinstance(algorithm, str):
            if algorithm not in known:
                raise unknown_name("NePS optimizer", algorithm, known)
            inner = known[algorithm](self.space, **options)
            self.name = f"neps:{algorithm}({fidelity})"
        elif callable(algorithm):
            if options:
                raise InvalidValueError(f"options {sorted(options)} go to a NePS optimizer "
                                        f"named by a string; a function builds its own")
            inner = algorithm(self.space)
            self.name = f"neps:{getattr(algorithm, '__name__', type(inner).__name__)}"
        else:
            raise InvalidValueError(f"algorithm={algorithm!r:.80}; valid: a name of "
                                    f"{format_choices(known)} or a function of the space")
        self.neps = neps.AskAndTell(inner)
        self._book = TrialBook()
        self._in_table = {int(i) for i in bench.config_ids}

    def _job(self, trial: Any) -> Job | None:
        """The frozenbench job of a NePS trial; None if the table lacks its config."""
        config = trial.config
        parameter = PARAMETER[self.fidelity]
        missing = [n for n in (*self.bench.space.names, parameter) if n not in config]
        if missing:
            raise InvalidValueError(f"NePS returned {dict(config)!r:.160} without {missing}; "
                                    f"build its optimizer on pipeline_space(bench)")
        cid = self.bench.space.index({n: config[n] for n in self.bench.space.names})
        if cid not in self._in_table:
            return None
        z, epoch = self.axis.levels[self.axis.rung(float(config[parameter]))]
        if self.fidelity == "epoch":
            z = self.z if self.z is not None else self.bench.fidelity_values.check_z(config["z"])
        number, _, rung = trial.id.partition("_rung_")
        return self._book.job(trial.id, cid, z, epoch, rung=int(rung or 0),
                              bracket=int(number) if number.isdigit() else 0,
                              schedule=self.axis.schedule)

    def ask(self, rng: np.random.Generator) -> Job | None:
        with _global_generators(rng):
            for _ in range(MAX_REJECTED):
                trial = self.neps.ask()
                job = self._job(trial)
                if job is not None:
                    return job
                del self.neps.trials[trial.id]  # withdrawn: NePS never hears of it
        raise InvalidValueError(f"NePS proposed {MAX_REJECTED} configs in a row that "
                                f"{self.bench.name} does not hold (last: {dict(trial.config)})")

    def tell(self, observation: Observation) -> None:
        self.neps.tell(self._book.answer(observation),
                       {"objective_to_minimize": float(observation.score),
                        "cost": float(observation.cost)})
