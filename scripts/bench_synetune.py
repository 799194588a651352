"""frozenbench's ASHA replay beside Syne Tune's own simulated ASHA, same table, one run.

    .venv/bin/python scripts/bench_synetune.py                      # synthetic 216 x 11 x 20
    .venv/bin/python scripts/bench_synetune.py --table mnist-resnet --trials 250 500 1000

At each trial count, with the same number of workers, the fidelity the epoch at all layers:

- frozenbench: ``fb.simulate`` with its own ASHA (promotion type, rungs at the epochs of the
  ``"epoch"`` path), new trials stopped after the trial count;
- Syne Tune: its ``ASHA`` (stopping type, a decision after every epoch) run by its own simulator
  (``Tuner`` + ``UserBlackboxBackend`` + ``SimulatorCallback``) on the table's export
  (:func:`frozenbench.interop.synetune.simulate_asha`, ``max_trials``);
- the same Syne Tune ``ASHA`` driven on frozenbench's clock
  (:class:`~frozenbench.interop.synetune.SyneTuneOptimizer`): the scheduler's own cost
  without Syne Tune's simulator loop.

Times are CPU seconds of this process (robust to a loaded machine) after a warm-up run: best of
``--repeats`` for the two runs on frozenbench's clock, one run of Syne Tune's simulator. "res"
counts the results each optimizer heard: one per rung reached for frozenbench's ASHA, one per
epoch for Syne Tune's.
The growth exponent is the slope of log(time) against log(trials): 1 is linear, 2 quadratic.
Prints a message and exits 0 when Syne Tune is not installed.
"""

from __future__ import annotations

import argparse
import functools
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import frozenbench as fb
from frozenbench.errors import MissingExtraError
from frozenbench.extras import require
from frozenbench.optimizers import Job, Observation, Optimizer, make_optimizer


class FirstTrials:
    """A promotion-style optimizer that starts no new trial after ``n`` (as Syne Tune's
    ``max_num_trials_started``); promotions of the trials started go on."""

    def __init__(self, inner: Optimizer, n: int) -> None:
        self.inner, self.n, self.started = inner, n, 0
        self.name = f"{inner.name} (first {n} trials)"

    def ask(self, rng: np.random.Generator) -> Job | None:
        job = self.inner.ask(rng)
        if job is not None and job.trial is None:
            if self.started >= self.n:
                return None
            self.started += 1
        return job

    def tell(self, observation: Observation) -> None:
        self.inner.tell(observation)


def cpu_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Best-of-``repeats`` CPU seconds of ``fn()``, and its last result."""
    best, out = math.inf, None
    for _ in range(repeats):
        start = time.process_time()
        out = fn()
        best = min(best, time.process_time() - start)
    return best, out


def exponent(ns: list[int], ts: list[float]) -> float:
    """Least-squares slope of log(time) against log(n)."""
    return float(np.polyfit(np.log(ns), np.log(ts), 1)[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--table", help="a shipped table (default: synthetic 216 x 11 x 20)")
    parser.add_argument("--trials", type=int, nargs="+", default=[250, 500, 1000, 2000])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--eta", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    try:
        require("syne_tune")
        st = require("frozenbench.interop.synetune")
        baselines = require("syne_tune.optimizer.baselines")
    except MissingExtraError as exc:
        print(f"skipped: {exc}")
        return 0
    import logging

    logging.getLogger("syne_tune").setLevel(logging.ERROR)  # one warning per scheduler built

    if args.table:
        bench = fb.load(args.table)
    else:
        from frozenbench.synthetic import make_benchmark

        bench = make_benchmark(n_configs=None, n_z=11, n_epochs=20, seed=0)
    epochs = bench.fidelities["epoch"]
    print(f"{bench!r}\n{args.workers} workers, eta={args.eta}, fidelity: the epoch at "
          f"z={max(bench.fidelities['z'])}; CPU seconds (frozenbench's clock: best of "
          f"{args.repeats})")
    st.export_blackbox(bench, seeds="mean")  # warm-up: Syne Tune's imports
    t_export, blackbox = cpu_time(functools.partial(st.export_blackbox, bench, seeds="mean"), 1)
    print(f"export to a Syne Tune blackbox: {t_export:.3f} s "
          f"({blackbox.objectives_evaluations.shape} configs x seeds x epochs x objectives)")

    def frozen(n: int) -> Any:
        opt = FirstTrials(make_optimizer("asha", bench, "epoch", eta=args.eta), n)
        return fb.simulate(bench, opt, n_workers=args.workers, max_evaluations=10**9,
                           cell_seed="mean")

    def syne(n: int) -> Any:
        return st.simulate_asha(bench, blackbox=blackbox, n_workers=args.workers,
                                max_trials=n, eta=args.eta)

    def scheduler_on_frozen(n: int) -> Any:
        asha = baselines.ASHA(st.config_space(bench), metric=bench.metric, time_attr="epoch",
                              max_t=epochs[-1], grace_period=epochs[0],
                              reduction_factor=args.eta, random_seed=0)
        return fb.simulate(bench, st.SyneTuneOptimizer(asha, bench, max_trials=n),
                           n_workers=args.workers, max_evaluations=10**9, cell_seed="mean")

    header = (f"{'trials':>7} | {'frozenbench ASHA':>22} | {'Syne Tune simulator':>24} | "
              f"{'ratio':>7} | {'Syne Tune ASHA on fb clock':>28} | {'ratio':>6}")
    print(header)
    print("-" * len(header))
    times: dict[str, list[float]] = {"fb": [], "st": [], "st-on-fb": []}
    for warm_up in (frozen, syne, scheduler_on_frozen):
        warm_up(20)
    for n in args.trials:
        t_fb, traj = cpu_time(functools.partial(frozen, n), args.repeats)
        t_st, res = cpu_time(functools.partial(syne, n), 1)
        t_mix, mixed = cpu_time(functools.partial(scheduler_on_frozen, n), args.repeats)
        for key, t in (("fb", t_fb), ("st", t_st), ("st-on-fb", t_mix)):
            times[key].append(t)
        print(f"{n:>7} | {t_fb:>8.3f} s {len(traj):>6} res | {t_st:>9.3f} s {len(res):>7} res "
              f"| {t_st / t_fb:>6.0f}x | {t_mix:>13.3f} s {len(mixed):>7} res | "
              f"{t_mix / t_fb:>5.0f}x")
    if len(args.trials) > 1:
        ns = args.trials
        last = slice(-2, None)
        for key, label in (("fb", "frozenbench ASHA"), ("st", "Syne Tune simulator"),
                           ("st-on-fb", "Syne Tune ASHA on fb clock")):
            ts = times[key]
            print(f"growth exponent, {label:<27} {exponent(ns, ts):.2f} over all, "
                  f"{exponent(ns[last], ts[last]):.2f} over the last two")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
