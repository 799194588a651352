"""HPO libraries' optimizers by name, for ``frozenbench simulate --optimizers`` beside
frozenbench's own (``asha:z+epoch-geometric``, ``hyperband:z`` ...); the one registry that
parses, checks and builds both is :mod:`frozenbench.sim.methods`.

A name is ``LIBRARY:VARIANT``; :func:`build` makes a fresh optimizer object for one replay seed
(the library's own random state is seeded from it), which :func:`frozenbench.simulate` then
drives on the table's simulated clock like any other. Each library is imported only when its
method is built, and a missing one raises :class:`~frozenbench.errors.MissingExtraError` naming
the pip command.

>>> sorted({name.split(":")[0] for name in METHODS})
['dehb', 'neps', 'optuna', 'smac', 'synetune']
>>> METHODS["optuna:tpe+hyperband"].extra
'optuna'
>>> from frozenbench.synthetic import make_benchmark
>>> bench = make_benchmark(n_configs=12, n_z=3, n_epochs=9, diverge_frac=0.0)
>>> build("optuna:tpe+hyperband", bench, seed=0).name
'optuna:TPESampler+HyperbandPruner'
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from frozenbench.errors import unknown_name
from frozenbench.extras import require

if TYPE_CHECKING:
    from frozenbench.table import Benchmark

#: (bench, replay seed, eta) -> an optimizer object for :func:`frozenbench.simulate`.
Factory = Callable[["Benchmark", int, float], Any]


@dataclass(frozen=True)
class ExternalMethod:
    """One library's optimizer: its name, the extra that installs it and how to build it."""

    name: str
    extra: str
    description: str
    factory: Factory


def _optuna(pruner: str) -> Factory:
    def make(bench: Benchmark, seed: int, eta: float) -> Any:
        optuna = require("optuna")
        from frozenbench.interop.optuna import OptunaOptimizer

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        last = int(bench.fidelities["epoch"][-1])
        first = int(bench.fidelities["epoch"][0])
        pruners = {
            "hyperband": lambda: optuna.pruners.HyperbandPruner(
                min_resource=first, max_resource=last, reduction_factor=round(eta)),
            "sh": lambda: optuna.pruners.SuccessiveHalvingPruner(
                min_resource=first, reduction_factor=round(eta)),
            "median": lambda: optuna.pruners.MedianPruner(n_warmup_steps=first),
        }
        # the study name fixes HyperbandPruner's bracket assignment (it hashes the name)
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed),
                                    pruner=pruners[pruner](), study_name=f"frozenbench-{seed}")
        return OptunaOptimizer(study, bench)
    return make


def _smac(facade: str, budget: str) -> Factory:
    def make(bench: Benchmark, seed: int, eta: float) -> Any:
        from frozenbench.interop.smac import SMACOptimizer

        return SMACOptimizer(bench, budget=budget, facade=facade, seed=seed, eta=round(eta))
    return make


def _dehb(budget: str) -> Factory:
    def make(bench: Benchmark, seed: int, eta: float) -> Any:
        from frozenbench.interop.dehb import DEHBOptimizer

        return DEHBOptimizer(bench, budget=budget, seed=seed, eta=eta)
    return make


def _neps(algorithm: str, budget: str, prior: str | None = None) -> Factory:
    def make(bench: Benchmark, seed: int, eta: float) -> Any:
        from frozenbench.interop.neps import NePSOptimizer
        from frozenbench.priors import priors

        # NePS draws from the global generators; the adapter seeds them from the replay's
        belief = None if prior is None else priors(bench)[prior]
        return NePSOptimizer(bench, algorithm, fidelity=budget, eta=round(eta), prior=belief)
    return make


def _synetune_asha(bench: Benchmark, seed: int, eta: float) -> Any:
    from frozenbench.interop.synetune import SyneTuneOptimizer, config_space

    baselines = require("syne_tune.optimizer.baselines")
    epochs = [int(e) for e in bench.fidelities["epoch"]]
    scheduler = baselines.ASHA(config_space(bench), metric=bench.metric, time_attr="epoch",
                     max_t=epochs[-1], grace_period=epochs[0], reduction_factor=eta,
                     random_seed=seed)
    return SyneTuneOptimizer(scheduler, bench)


_BUDGETS = {"epoch": "epochs at full z", "z": "z at the last epoch",
            "z+epoch-linear": "the linear diagonal of (z, epoch)"}

METHODS: dict[str, ExternalMethod] = {m.name: m for m in [
    ExternalMethod("optuna:tpe+hyperband", "optuna",
                   "Optuna's TPE sampler with its HyperbandPruner over epochs, all layers "
                   "trained", _optuna("hyperband")),
    ExternalMethod("optuna:tpe+sh", "optuna",
                   "Optuna's TPE sampler with its SuccessiveHalvingPruner over epochs",
                   _optuna("sh")),
    ExternalMethod("optuna:tpe+median", "optuna",
                   "Optuna's TPE sampler with its MedianPruner over epochs", _optuna("median")),
    *(ExternalMethod(f"smac:hyperband-{b}", "smac", f"SMAC3's HyperbandFacade, budget: {what}",
                     _smac("hyperband", b)) for b, what in _BUDGETS.items()),
    *(ExternalMethod(f"smac:mf-{b}", "smac",
                     f"SMAC3's MultiFidelityFacade (random forest), budget: {what}",
                     _smac("multifidelity", b)) for b, what in _BUDGETS.items()),
    *(ExternalMethod(f"dehb:{b}", "dehb", f"DEHB, budget: {what}", _dehb(b))
      for b, what in _BUDGETS.items()),
    *(ExternalMethod(f"neps:{a}-{b}", "neps", f"NePS's {a} (AskAndTell), budget: {what}",
                     _neps(a, b)) for a in ("hyperband", "asha")
      for b, what in _BUDGETS.items()),
    # priorband with the table's good prior under the old name; -medium and -bad beside it
    *(ExternalMethod(f"neps:priorband{'' if p == 'good' else '+' + p}-{b}", "neps",
                     f"NePS's priorband from the table's {p} prior (frozenbench.priors), "
                     f"budget: {what}", _neps("priorband", b, p))
      for p in ("good", "medium", "bad") for b, what in _BUDGETS.items()),
    ExternalMethod("synetune:asha", "syne-tune",
                   "Syne Tune's ASHA (stopping type) over epochs, all layers trained",
                   _synetune_asha),
]}


def build(name: str, bench: Benchmark, *, seed: int, eta: float = 3.0) -> Any:
    """A fresh optimizer object of the method ``name`` for replay seed ``seed`` on ``bench``."""
    if name not in METHODS:
        raise unknown_name("external optimizer", name, METHODS)
    return METHODS[name].factory(bench, seed, eta)


#: The loggers of the libraries: they warn on every exhausted grid or ignored keyword.
LIBRARY_LOGGERS = ("smac", "syne_tune", "neps", "dehb", "optuna", "ConfigSpace")


@contextlib.contextmanager
def quiet_libraries() -> Iterator[None]:
    """Only errors from the libraries' loggers, and none of their warnings, inside the block
    (a command line that replays hundreds of runs prints its own summary instead)."""
    saved = {name: logging.getLogger(name).level for name in LIBRARY_LOGGERS}
    try:
        for name in LIBRARY_LOGGERS:
            logging.getLogger(name).setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)

