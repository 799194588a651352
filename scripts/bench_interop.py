"""What a replay on frozenbench's clock adds to an HPO library's own time per trial.

    .venv/bin/python scripts/bench_interop.py             # every installed library
    .venv/bin/python scripts/bench_interop.py --trials 300

For each library, side by side in one process on the same shipped table:

- *own*: the library's own loop with an objective that reads the table directly (a dict of
  precomputed curves: no simulator), sequential, reporting every epoch where the library
  prunes; the time is the library's own work per trial plus a dictionary lookup;
- *replay*: the same optimizer, same seed, driven by :func:`frozenbench.simulate` through its
  adapter (:mod:`frozenbench.interop`), one worker, the same number of trials.

The same trials are checked too: each pair of runs must see the same (z, epoch, value)
sequence. The overhead is ``replay / own - 1`` per trial (target: below 20%). Libraries that are not
installed are skipped with a line that says so. Each figure is the best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import frozenbench as fb
from frozenbench.interop.configspace import conditions, config_id, grid_values


@dataclass(frozen=True)
class Timing:
    """Seconds per trial of one library: its own loop and the replay."""

    library: str
    trials: int
    own_s: float
    replay_s: float
    same_trials: bool  # both loops proposed the same configs and reached the same values

    @property
    def overhead(self) -> float:
        return self.replay_s / self.own_s - 1.0


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """Best seconds of ``repeat`` calls of ``fn`` and what it returned."""
    times: list[float] = []
    result: Any = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def curves(bench: fb.Benchmark) -> dict[int, np.ndarray]:
    """Every config's full-z learning curve (seed 0): the objective of the libraries' own
    loops."""
    z = int(bench.fidelities["z"][-1])
    epochs = [int(e) for e in bench.fidelities["epoch"]]
    return {cid: np.array([getattr(bench.query(cid, z, e, seed=0), bench.metric) for e in epochs])
            for cid in bench.config_ids}


def optuna_timing(bench: fb.Benchmark, trials: int, repeat: int) -> Timing:
    import optuna

    from frozenbench.interop.optuna import OptunaOptimizer

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    table = curves(bench)
    epochs = [int(e) for e in bench.fidelities["epoch"]]
    grid = grid_values(bench)
    rules = {c.child: c for c in conditions(bench)}

    def study() -> Any:
        return optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0),
                                   pruner=optuna.pruners.HyperbandPruner(
                                       min_resource=epochs[0], max_resource=epochs[-1]),
                                   study_name="bench")

    def own() -> int:
        s = study()

        def objective(trial: Any) -> float:
            config: dict[str, Any] = {}
            for n, v in grid.items():  # as the adapter: an inactive child is not suggested
                if n not in rules or rules[n].on(config):
                    config[n] = trial.suggest_categorical(n, v)
            curve = table[config_id(bench, config)]
            for i, e in enumerate(epochs):
                trial.report(float(curve[i]), e)
                if trial.should_prune():
                    raise optuna.TrialPruned
            return float(curve[-1])

        s.optimize(objective, n_trials=trials)
        return s

    def replay() -> int:
        s = study()
        opt = OptunaOptimizer(s, bench, n_trials=trials)
        fb.simulate(bench, opt, n_workers=1, max_evaluations=trials * len(epochs), seed=0,
                    cell_seed=0)
        return s

    own_s, a = best_of(repeat, own)
    replay_s, b = best_of(repeat, replay)
    same = [(t.params, t.value, t.state) for t in a.trials] == \
        [(t.params, t.value, t.state) for t in b.trials]
    return Timing("optuna (TPE + HyperbandPruner)", len(a.trials), own_s / len(a.trials),
                  replay_s / len(b.trials), same)


def cell_value(bench: fb.Benchmark, configuration: Any, z: int, epoch: int) -> float:
    """The table's score of a library's configuration at (z, epoch), seed 0."""
    return float(getattr(bench.query(config_id(bench, configuration), z, epoch, seed=0),
                         bench.metric))


def replayed(bench: fb.Benchmark, optimizer: Any, trials: int) -> list[Any]:
    """``optimizer`` replayed for ``trials`` jobs on one worker: each job's (z, epoch, score)."""
    traj = fb.simulate(bench, optimizer, n_workers=1, max_evaluations=trials, seed=0,
                       cell_seed=0)
    return list(zip(traj["z"].tolist(), traj["epoch"].tolist(), traj["score"].tolist(),
                    strict=True))


def smac_timing(bench: fb.Benchmark, trials: int, repeat: int) -> Timing:
    from smac.main.exceptions import ConfigurationSpaceExhaustedException
    from smac.runhistory.dataclasses import TrialValue

    from frozenbench.interop.smac import SMACOptimizer

    def own() -> list[Any]:
        opt = SMACOptimizer(bench, budget="epoch", seed=0)  # its facade, driven directly
        seen = []
        for _ in range(trials):
            try:
                info = opt.smac.ask()
            except ConfigurationSpaceExhaustedException:  # the adapter's replay ends there too
                break
            z, epoch = opt.axis.levels[opt.axis.rung(info.budget)]
            value = cell_value(bench, info.config, z, epoch)
            opt.smac.tell(info, TrialValue(cost=value), save=False)
            seen.append((z, epoch, value))
        return seen

    def replay() -> list[Any]:
        return replayed(bench, SMACOptimizer(bench, budget="epoch", seed=0), trials)

    own_s, a = best_of(repeat, own)
    replay_s, b = best_of(repeat, replay)
    return Timing("smac (HyperbandFacade, epochs)", len(a), own_s / len(a), replay_s / len(b),
                  a == b)


def dehb_timing(bench: fb.Benchmark, trials: int, repeat: int) -> Timing:
    from frozenbench.interop.dehb import DEHBOptimizer

    def own() -> list[Any]:
        opt = DEHBOptimizer(bench, budget="epoch", seed=0)  # its DEHB, driven directly
        seen = []
        for _ in range(trials):
            info = opt.dehb.ask()
            z, epoch = opt.axis.levels[opt.axis.rung(info["fidelity"])]
            value = cell_value(bench, info["config"], z, epoch)
            opt.dehb.tell(info, {"fitness": value, "cost": 1.0})
            seen.append((z, epoch, value))
        return seen

    def replay() -> list[Any]:
        return replayed(bench, DEHBOptimizer(bench, budget="epoch", seed=0), trials)

    own_s, a = best_of(repeat, own)
    replay_s, b = best_of(repeat, replay)
    return Timing("dehb (epochs)", trials, own_s / trials, replay_s / trials, a == b)


LIBRARIES: dict[str, Callable[[fb.Benchmark, int, int], Timing]] = {
    "optuna": optuna_timing,
    "smac": smac_timing,
    "dehb": dehb_timing,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark", default="mnist-resnet")
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("smac").setLevel(logging.ERROR)  # "could not return a new config..."
    warnings.simplefilter("ignore", DeprecationWarning)  # DEHB 0.1.2 on ConfigSpace 1.x
    bench = fb.load(args.benchmark)
    print(f"{bench.name}: {len(bench)} configs; {args.trials} trials per library, best of "
          f"{args.repeat}; overhead = replay / own - 1 per trial (target < 20%)")
    for module, timing in LIBRARIES.items():
        if importlib.util.find_spec(module) is None:
            print(f"{module:8s} not installed: skipped (pip install 'frozenbench[{module}]')")
            continue
        t = timing(bench, args.trials, args.repeat)
        print(f"{t.library:40s} trials {t.trials:5d}   own {t.own_s * 1e3:7.2f} ms/trial   "
              f"replay {t.replay_s * 1e3:7.2f} ms/trial   overhead {t.overhead:+6.1%}   "
              f"same trials: {t.same_trials}")


if __name__ == "__main__":
    main()
