"""Replay an HPO optimizer on a table: asynchronous workers on a simulated clock.

Semantics (see DESIGN.md, "Simulation semantics"):

- A trial is (config, z); it advances in epochs. A job that continues a trial is charged the
  cumulative cost at its target epoch minus what the trial already paid (nothing if it reached
  that epoch already); a new trial, including any change of z, pays from scratch.
- The clock advances by the cost: by default the table's contention-robust ``train_cost_s``
  (CPU seconds of training; wall ``train_time_s`` for schema-1 tables), with
  ``cost="train_flops"`` in FLOPs (the "time" axis is then cumulative compute).
- Each worker has a memory capacity; a job starts only on a worker where the peak memory of
  its (config, z) fits, waiting for one if needed. A job that fits on no worker is an error.
- ``cell_seed``: ``"draw"`` (default) draws one table seed per trial from the seeds available at
  that (config, z), so a trial sees one real training run; ``"mean"`` reads the mean over seeds;
  an int reads that seed (an error where it is absent).
- Scores are the objective of :meth:`Benchmark.objective`: diverged cells count as the worst
  finite value in the table; a cell missing from the table scores the same and costs nothing.
- Stopping: ``budget`` (simulated time: no job starts at or after it, results after it are
  not seen), ``cost_budget`` (total cost charged: a job that would exceed it is not started and
  ends the run), ``max_evaluations`` (results recorded). At least one is required.
- The run is deterministic for a given ``seed``: all randomness comes from one
  ``numpy.random.Generator``; simultaneous events are ordered by a counter.
"""

from __future__ import annotations

import bisect
import inspect
import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from frozenbench.errors import InvalidValueError, format_choices, unknown_name
from frozenbench.optimizers import OPTIMIZERS, Job, Observation, Optimizer, make_optimizer
from frozenbench.optimizers.fidelity import Level, fidelity_levels
from frozenbench.sim.clock import EventQueue
from frozenbench.sim.trajectory import Recorder
from frozenbench.sim.workers import capacities, format_bytes
from frozenbench.table import Benchmark, cost_column

#: A run ends with an error after this many results in a row that cost nothing (cells missing
#: from the table, epochs already reached): the simulated clock could never advance.
STALL_LIMIT = 1000

#: How often one free worker asks the optimizer for a job that fits its memory before it idles.
MAX_ASKS = 64


def _positive(name: str, value: object, *, integer: bool = False) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidValueError(f"{name}={value!r:.80} must be a positive number or None")
    if integer and not isinstance(value, (int, np.integer)):
        raise InvalidValueError(f"{name}={value!r} must be a positive integer or None")
    if not (math.isfinite(float(value)) and float(value) > 0):
        raise InvalidValueError(f"{name}={value!r} must be positive and finite")


#: With no stopping rule given, the CLI runs for this many times the median cost of training a
#: config at full fidelity (:func:`default_budget`).
DEFAULT_BUDGET_FACTOR = 10.0


def default_budget(bench: Benchmark, cost: str | None = None) -> float:
    """The default simulated-time budget: :data:`DEFAULT_BUDGET_FACTOR` x the median
    full-fidelity cost (``cost``: a cost column or its alias) of the table's configs.

    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=6, n_z=2, n_epochs=2)
    >>> default_budget(bench) > 0, default_budget(bench, "flops") > default_budget(bench)
    (True, True)
    """
    full = bench.cost_array(cost)[:, -1, -1]
    return DEFAULT_BUDGET_FACTOR * float(np.nanmedian(full))


def simulate(
    bench: Benchmark | str | os.PathLike[str],
    optimizer: str | Optimizer = "asha",
    fidelity: str | Sequence[Level] = "z+epoch",
    *,
    n_workers: int = 4,
    budget: float | None = None,
    cost_budget: float | None = None,
    max_evaluations: int | None = None,
    seed: int = 0,
    eta: float = 3.0,
    metric: str | None = None,
    cost: str | None = None,
    cell_seed: str | int = "draw",
    memory: Any = None,
) -> pd.DataFrame:
    """Replay ``optimizer`` over ``fidelity`` on ``bench``; returns the trajectory.

    ``optimizer`` is a name (``"random"``, ``"sh"``, ``"hyperband"``, ``"asha"``) or an object
    with ``ask``/``tell``. ``fidelity`` is ``"epoch"``, ``"z"``, ``"z+epoch"``, ``"full"`` or
    a list of ``(z, epoch)`` levels. ``memory`` is one capacity for all workers or one per worker
    (bytes or strings like ``"8GB"``). See the module docstring for the semantics and
    :mod:`frozenbench.sim.trajectory` for the columns.

    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=30, n_z=4, n_epochs=9)
    >>> traj = simulate(bench, "asha", "z+epoch", n_workers=2, max_evaluations=40, seed=1)
    >>> len(traj), traj["time"].is_monotonic_increasing, bool((traj["regret"] >= 0).all())
    (40, True, True)
    >>> simulate(bench, "asha", "z+epoch", max_evaluations=40, seed=1).equals(
    ...     simulate(bench, "asha", "z+epoch", max_evaluations=40, seed=1))
    True
    """
    if not isinstance(bench, Benchmark):
        from frozenbench.registry import load

        if not isinstance(bench, (str, os.PathLike)):
            raise InvalidValueError(
                f"bench must be a Benchmark, a benchmark name or a path, got {bench!r:.80}")
        bench = load(bench)
    _positive("budget", budget)
    _positive("cost_budget", cost_budget)
    _positive("max_evaluations", max_evaluations, integer=True)
    if budget is None and cost_budget is None and max_evaluations is None:
        raise InvalidValueError(
            "give a stopping rule: budget= (simulated time), cost_budget= (total cost) or "
            "max_evaluations=")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidValueError(f"seed={seed!r:.80} must be a non-negative integer")
    if isinstance(n_workers, np.integer):
        n_workers = int(n_workers)
    caps = capacities(n_workers, memory)
    metric_name = bench.metric_name(metric)
    cost_name = cost_column(cost or bench.default_cost)
    if isinstance(cell_seed, str):
        if cell_seed not in ("draw", "mean"):
            raise InvalidValueError(
                f"cell_seed={cell_seed!r}; valid: 'draw', 'mean' or one of the seeds "
                f"{list(bench.seeds)}")
        fixed_si = -1
    else:
        fixed_si = bench.index.seed(cell_seed)
    per_seed = cell_seed != "mean"

    levels = fidelity_levels(bench.fidelity_values, fidelity, eta)
    if isinstance(optimizer, str):
        if optimizer not in OPTIMIZERS:
            raise unknown_name("optimizer", optimizer, OPTIMIZERS)
        opt: Optimizer = make_optimizer(optimizer, bench, levels, eta=eta)
    elif callable(getattr(optimizer, "ask", None)) and callable(getattr(optimizer, "tell", None)):
        opt = optimizer
        _check_signature(optimizer)
    else:
        raise InvalidValueError(
            f"optimizer must be one of {format_choices(OPTIMIZERS)} or an object with "
            f"ask(rng) and tell(observation), got {optimizer!r:.80}")

    rng = np.random.default_rng(int(seed))
    obj = bench.objective(metric_name, per_seed=per_seed)
    costs = bench.cost_array(cost_name, per_seed=per_seed)
    if not _measured(bench, metric_name):
        raise _no_finite_metric(bench, metric_name)
    finite = obj[np.isfinite(obj)]
    worst = float(finite.max()) if finite.size else 0.0
    full = bench.full_fidelity_scores(metric_name)
    full_ok = full[np.isfinite(full)]
    best_full = float(full_ok.min()) if full_ok.size else math.nan
    seed_mask = bench.seed_mask()
    seeds = bench.seeds
    mem = bench.peak_memory()
    limited = any(math.isfinite(c) for c in caps)
    max_cap = max(caps)
    pos_of_id = bench.index.pos_of_id
    z_pos, e_pos = bench.index.z_pos, bench.index.epoch_pos
    config_ids = bench.config_ids

    # trial state: [pos, zi, si, reached_ei, paid, running, config_id, z]
    trials: list[list[Any]] = []
    queue = EventQueue()
    free = list(range(n_workers))
    pending: list[tuple[Job, int, int, int, float]] = []
    rec = Recorder()
    col = rec.columns
    spent = 0.0
    total_paid = 0.0
    stopped = False
    stop_reason = "optimizer"
    free_streak = 0
    inc_score = math.inf
    inc_id = -1
    inc_full = math.nan
    name = getattr(opt, "name", type(opt).__name__)

    def check(job: object) -> tuple[Job, int, int, int, float]:
        if not isinstance(job, Job):
            raise InvalidValueError(f"optimizer {name!r} returned {job!r:.80}, not a Job")
        cid = job.config_id
        if isinstance(cid, bool) or not isinstance(cid, (int, np.integer)) or not \
                0 <= cid < len(pos_of_id) or pos_of_id[cid] < 0:
            raise InvalidValueError(f"optimizer {name!r} asked for config_id={cid!r}, which "
                                    f"is not in the {bench.name} table")
        zi = z_pos.get(job.z) if type(job.z) is int else None
        ei = e_pos.get(job.epoch) if type(job.epoch) is int else None
        if zi is None or ei is None:
            bench.fidelity_values.check_z(job.z)
            bench.fidelity_values.check_epoch(job.epoch)
            zi, ei = z_pos[int(job.z)], e_pos[int(job.epoch)]
        for field in ("rung", "bracket"):
            v = getattr(job, field)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise InvalidValueError(
                    f"optimizer {name!r} returned a Job with {field}={v!r:.40}; {field} is "
                    f"the optimizer's own bookkeeping and must be a non-negative integer")
        c = int(pos_of_id[cid])
        need = 0.0
        if limited:
            need = float(mem[c, zi])
            if need != need:
                need = 0.0
            if need > max_cap:
                raise InvalidValueError(
                    f"config {cid} at z={job.z} needs {format_bytes(need)} of memory; no worker "
                    f"has that much (capacities: {[format_bytes(m) for m in caps]})")
        return job, c, zi, ei, need

    def start(item: tuple[Job, int, int, int, float], w: int, now: float) -> bool:
        nonlocal spent, stopped, stop_reason
        job, c, zi, ei, _ = item
        if job.trial is None:
            tid = len(trials)
            if fixed_si >= 0:
                si = fixed_si
                if not seed_mask[c, zi, si]:
                    raise bench.absent(c, zi, ei, si)
            elif per_seed:
                choices = np.flatnonzero(seed_mask[c, zi])
                si = int(choices[rng.integers(len(choices))]) if len(choices) else -1
            else:
                si = -1
            state: list[Any] = [c, zi, si, -1, 0.0, False, job.config_id, job.z]
        else:
            tid = job.trial
            if isinstance(tid, bool) or not isinstance(tid, int) or not 0 <= tid < len(trials):
                raise InvalidValueError(f"optimizer {name!r} continues unknown trial {tid!r}")
            state = trials[tid]
            if state[0] != c or state[1] != zi:
                raise InvalidValueError(
                    f"optimizer {name!r} continues trial {tid} (config {state[6]}, z={state[7]}) "
                    f"as config {job.config_id}, z={job.z}: a trial keeps its config and z "
                    f"(frozen layers cannot thaw); start a new trial instead")
            if state[5]:
                raise InvalidValueError(f"optimizer {name!r} continues trial {tid} while it "
                                        f"is still running")
            si = state[2]
        if ei > state[3]:
            value = float(costs[c, zi, ei, si]) if si >= 0 and per_seed else float(
                costs[c, zi, ei]) if not per_seed else math.nan
            duration = value - state[4] if value == value else 0.0
            duration = max(duration, 0.0)
        else:
            duration = 0.0
        if cost_budget is not None and spent + duration > cost_budget:
            stopped, stop_reason = True, "cost_budget"
            return False
        if budget is not None and now >= budget:
            stopped, stop_reason = True, "budget"
            return False
        if job.trial is None:
            trials.append(state)
        spent += duration
        state[5] = True
        queue.push(now + duration, (w, tid, job, c, zi, ei, si, duration, now))
        return True

    def dispatch(now: float) -> None:
        progress = True
        while progress and free and not stopped:
            progress = False
            i = 0
            while i < len(free) and not stopped:
                w = free[i]
                item = None
                for j, p in enumerate(pending):
                    if p[4] <= caps[w]:
                        item = pending.pop(j)
                        break
                asks = 0
                while item is None and asks < MAX_ASKS:
                    asks += 1
                    job = opt.ask(rng)
                    if job is None:
                        break
                    cand = check(job)
                    if cand[4] <= caps[w]:
                        item = cand
                    else:
                        pending.append(cand)
                if item is None:
                    i += 1
                    continue
                if not start(item, w, now):
                    return
                free.pop(i)
                progress = True

    dispatch(0.0)
    while queue:
        now, (w, tid, job, c, zi, ei, si, duration, began) = queue.pop()
        if budget is not None and now > budget:
            stop_reason = "budget"
            break
        state = trials[tid]
        state[5] = False
        if ei > state[3]:
            state[3] = ei
            state[4] += duration
        if si >= 0 and per_seed:
            score = float(obj[c, zi, ei, si])
        elif not per_seed:
            score = float(obj[c, zi, ei])
        else:
            score = math.nan
        if score != score:
            score = worst
        total_paid += duration
        obs = Observation(job, tid, score, duration, now, w, seeds[si] if si >= 0 else -1)
        opt.tell(obs)
        if score < inc_score:
            inc_score, inc_id, inc_full = score, job.config_id, float(full[c])
        col["time"].append(now)
        col["start"].append(began)
        col["worker"].append(w)
        col["trial"].append(tid)
        col["config_id"].append(job.config_id)
        col["z"].append(job.z)
        col["epoch"].append(job.epoch)
        col["seed"].append(obs.seed)
        col["rung"].append(job.rung)
        col["bracket"].append(job.bracket)
        col["score"].append(score)
        col["cost"].append(duration)
        col["total_cost"].append(total_paid)
        col["incumbent"].append(inc_id)
        col["incumbent_score"].append(inc_score)
        col["incumbent_full"].append(inc_full)
        col["regret"].append(inc_full - best_full)
        if max_evaluations is not None and len(rec) >= max_evaluations:
            stop_reason = "max_evaluations"
            break
        free_streak = free_streak + 1 if duration == 0.0 else 0
        if free_streak >= STALL_LIMIT:
            raise _stalled(name, STALL_LIMIT, budget, cost_budget)
        bisect.insort(free, w)
        dispatch(now)

    if not len(rec) and stop_reason in ("budget", "cost_budget"):
        rule = f"budget={budget!r}" if stop_reason == "budget" else f"cost_budget={cost_budget!r}"
        raise InvalidValueError(
            f"{rule} ended the run before any job finished: the first jobs of {name!r} cost "
            f"more than that ({cost_name}); give a larger {stop_reason}")
    attrs = {
        "benchmark": bench.name, "optimizer": name,
        "fidelity": fidelity if isinstance(fidelity, str) else [list(x) for x in fidelity],
        "levels": [list(x) for x in levels], "seed": int(seed), "n_workers": n_workers,
        "metric": metric_name, "cost": cost_name, "cell_seed": cell_seed,
        "best_full": best_full, "eta": eta, "n_trials": len(trials),
        "config_ids_in_table": len(config_ids), "stop_reason": stop_reason,
    }
    return rec.frame(bench.space, attrs)


def _check_signature(optimizer: Any) -> None:
    """An external optimizer's ``ask`` takes the rng and its ``tell`` one observation."""
    problems = []
    for method, arg in (("ask", "rng"), ("tell", "observation")):
        try:
            inspect.signature(getattr(optimizer, method)).bind(None)
        except TypeError:
            problems.append(f"{method}({arg})")
        except ValueError:  # no signature (a builtin): trust it
            pass
    if problems:
        raise InvalidValueError(
            f"optimizer {getattr(optimizer, 'name', type(optimizer).__name__)!r} must have "
            f"ask(rng) -> Job | None and tell(observation); its "
            f"{' and '.join(problems)} does not take exactly that one argument")


def _measured(bench: Benchmark, metric: str) -> bool:
    """Whether ``metric`` has a finite value anywhere at the last epoch (a metric the task does
    not measure, such as val_error of a language model, is NaN everywhere)."""
    ci, zi = np.nonzero(bench.seed_mask().any(axis=2))  # cells present at the last epoch
    if not len(ci):
        return True  # nothing to judge by; the replay reports the missing cells itself
    ids = np.asarray(bench.config_ids)[ci]
    zs = np.asarray(bench.fidelities["z"])[zi]
    values = bench.query_many(ids, zs, quantities=[metric])[metric]
    return bool(np.isfinite(values).any())


def _no_finite_metric(bench: Benchmark, metric: str) -> InvalidValueError:
    from frozenbench.schema import METRICS

    valid = [m for m in METRICS if _measured(bench, m)]
    return InvalidValueError(
        f"metric {metric!r} has no finite value in {bench.name} (it is not measured for this "
        f"task); valid metrics of this table: {format_choices(valid)}")


def _stalled(name: str, limit: int, budget: float | None,
             cost_budget: float | None) -> InvalidValueError:
    rule = f"budget={budget!r}" if budget is not None else f"cost_budget={cost_budget!r}"
    return InvalidValueError(
        f"optimizer {name!r} ran {limit} jobs in a row that cost nothing (cells missing from "
        f"the table, or epochs its trials had already reached), so the simulated clock cannot "
        f"advance and {rule} would never be reached; choose a fidelity path whose cells exist "
        f"in the table, or stop with max_evaluations=")
