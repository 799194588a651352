"""The replay engine: trials, a worker pool, one handler per event, and a recorder.

:func:`frozenbench.simulate` validates its arguments and builds an :class:`Engine`; the engine
owns the simulated clock (an :class:`~frozenbench.sim.clock.EventQueue` of job finishes), the
:class:`WorkerPool` (free workers, memory capacities, jobs waiting for a big enough worker), the
:class:`Trial` states and the :class:`~frozenbench.sim.trajectory.Recorder`. Two events exist:
a worker is free (:meth:`Engine.on_free`: ask the optimizer for work and start it) and a job
finishes (:meth:`Engine.on_finish`: update its trial, tell the optimizer, record the row).
Results reach the optimizer in simulated-time order across all workers.

A job of a schedule (``Job(schedule="thaw")``) reads the table's rows of that schedule
(:meth:`~frozenbench.table.protocol.Table.schedule_arrays`) instead of the fixed-z ones: its
trial is one run along the schedule, continued whatever the z of the next epochs, and charged
the schedule's cumulative cost less what it has paid (each new epoch at its own z). Every trial
reads its scores and costs from its own curve (:class:`Trial`), fixed or scheduled alike.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from frozenbench.errors import InvalidValueError
from frozenbench.optimizers.base import Job, Observation, Optimizer, end_replay
from frozenbench.schema import FIXED
from frozenbench.sim.clock import EventQueue
from frozenbench.sim.trajectory import DEFAULT_INCUMBENT, Recorder
from frozenbench.sim.workers import format_bytes
from frozenbench.table.protocol import Table

#: How often one free worker asks the optimizer for a job that fits its memory before it idles.
MAX_ASKS = 64

#: A run ends with an error after this many results in a row that cost nothing (cells missing
#: from the table, epochs already reached): the simulated clock could never advance.
STALL_LIMIT = 1000


@dataclass(slots=True)
class Trial:
    """One training run of (config, z) or (config, schedule), advanced in epochs: what it
    reached and paid, and the arrays it reads: ``scores`` and cumulative ``costs`` per
    ``[row, z, epoch(, seed)]``, at ``[pos, col, epoch(, si)]`` (the fixed-z arrays, ``col`` its
    z position; or a schedule's, which have one ``z`` column). Shared arrays, not per-trial
    copies or views: a new trial costs no allocation."""

    config_id: int
    z: int  # a schedule's trial: the z of its last job
    pos: int  # the config's row in the table's arrays
    zi: int
    si: int  # the table seed it reads (-1: the mean over seeds)
    scores: np.ndarray
    costs: np.ndarray
    col: int = -1  # its column on the z axis of scores/costs (default: zi)
    schedule: str = FIXED
    reached: int = -1  # index of the last epoch finished
    paid: float = 0.0
    running: bool = False

    def __post_init__(self) -> None:
        if self.col < 0:
            self.col = self.zi


@dataclass(frozen=True, slots=True, eq=False)
class Curves:
    """What the engine reads of one schedule: scores and cumulative costs per
    ``[row, 1, epoch(, seed)]`` (one z column, so a trial reads them as it reads the fixed-z
    arrays), the seeds present per ``[row, seed]`` and the z per epoch."""

    scores: np.ndarray
    costs: np.ndarray
    seed_mask: np.ndarray
    z: np.ndarray


@dataclass(slots=True)
class Placed:
    """A checked job with its array positions and the memory its (config, z) needs (internal;
    not frozen because it is built once per job on the hot path)."""

    job: Job
    pos: int
    zi: int
    ei: int
    need: float


@dataclass(slots=True)
class Running:
    """A job on a worker, from ``start`` until its finish event."""

    worker: int
    trial: int
    placed: Placed
    cost: float
    start: float


class WorkerPool:
    """Free workers (lowest index first), their memory capacities, and jobs waiting for a
    worker large enough.

    >>> pool = WorkerPool([1.0, 4.0])
    >>> pool.free, pool.fits(3.0, 0), pool.fits(3.0, 1)
    ([0, 1], False, True)
    """

    __slots__ = ("capacities", "free", "largest", "limited", "pending")

    def __init__(self, capacities: list[float]) -> None:
        self.capacities = capacities
        self.free = list(range(len(capacities)))
        self.pending: list[Placed] = []
        self.limited = any(math.isfinite(c) for c in capacities)
        self.largest = max(capacities)

    def fits(self, need: float, worker: int) -> bool:
        return need <= self.capacities[worker]

    def take_pending(self, worker: int) -> Placed | None:
        """The oldest waiting job that fits ``worker``."""
        cap = self.capacities[worker]
        for j, p in enumerate(self.pending):
            if p.need <= cap:
                return self.pending.pop(j)
        return None

    def release(self, worker: int) -> None:
        bisect.insort(self.free, worker)


class Engine:
    """One replay of ``optimizer`` on ``bench``; :meth:`run` returns the recorder."""

    def __init__(self, bench: Table, optimizer: Optimizer, *, capacities: list[float],
                 rng: np.random.Generator, metric: str, cost: str, cell_seed: str | int,
                 budget: float | None, cost_budget: float | None,
                 max_evaluations: int | None, best_full: float, full: np.ndarray,
                 incumbent: str = DEFAULT_INCUMBENT) -> None:
        self.bench = bench
        self.opt = optimizer
        self.name: str = getattr(optimizer, "name", type(optimizer).__name__)
        self.rng = rng
        self.budget = budget
        self.cost_budget = cost_budget
        self.max_evaluations = max_evaluations
        self.per_seed = cell_seed != "mean"
        self.fixed_si = bench.index.seed(cell_seed) if isinstance(cell_seed, int) else -1
        self.obj = bench.objective(metric, per_seed=self.per_seed)
        finite = self.obj[np.isfinite(self.obj)]
        self.worst = float(finite.max()) if finite.size else 0.0
        self.costs = bench.cost_array(cost, per_seed=self.per_seed)
        self.full = full
        self.seed_mask = bench.seed_mask()
        self.seeds = bench.seeds
        self.mem = bench.peak_memory()
        self.pool = WorkerPool(capacities)
        self.queue = EventQueue()
        self.trials: list[Trial] = []
        self.metric, self.cost = metric, cost
        self._curves: dict[str, Curves] = {}
        self.recorder = Recorder(best_full, rule=incumbent, full_level=(
            bench.fidelities["z"][-1], bench.fidelities["epoch"][-1]))
        self.spent = 0.0
        self.stopped = False
        self.stop_reason = "optimizer"
        self._free_streak = 0
        index = bench.index
        self._row, self._z_pos, self._e_pos = bench.row, index.z_pos, index.epoch_pos

    # ------------------------------------------------------------------ checking a job
    def place(self, job: object) -> Placed:
        """Check a job the optimizer returned; an error names what is wrong with it."""
        name = self.name
        if not isinstance(job, Job):
            raise InvalidValueError(f"optimizer {name!r} returned {job!r:.80}, not a Job")
        cid = job.config_id
        c = -1 if isinstance(cid, bool) or not isinstance(cid, (int, np.integer)) \
            else self._row(cid)
        if c < 0:
            raise InvalidValueError(f"optimizer {name!r} asked for config_id={cid!r}, which "
                                    f"is not in the {self.bench.name} table")
        zi = self._z_pos.get(job.z) if type(job.z) is int else None
        ei = self._e_pos.get(job.epoch) if type(job.epoch) is int else None
        if zi is None or ei is None:
            fid = self.bench.fidelity_values
            fid.check_z(job.z)
            fid.check_epoch(job.epoch)
            zi, ei = self._z_pos[int(job.z)], self._e_pos[int(job.epoch)]
        for field, v in (("rung", job.rung), ("bracket", job.bracket)):
            if (type(v) is not int and (isinstance(v, bool) or not isinstance(v, np.integer))) \
                    or v < 0:
                raise InvalidValueError(
                    f"optimizer {name!r} returned a Job with {field}={v!r:.40}; {field} is "
                    f"the optimizer's own bookkeeping and must be a non-negative integer")
        if job.schedule != FIXED:
            self._check_schedule(job, ei)
        need = 0.0
        pool = self.pool
        if pool.limited:
            need = float(self.mem[c, zi])
            if need != need:
                need = 0.0
            if need > pool.largest:
                raise InvalidValueError(
                    f"config {cid} at z={job.z} needs {format_bytes(need)} of memory; no worker "
                    f"has that much (capacities: {[format_bytes(m) for m in pool.capacities]})")
        return Placed(job, c, zi, ei, need)

    def schedule_curves(self, schedule: str) -> Curves:
        """The curves of ``schedule``'s cells (built once per replay); an error naming the
        schedules the table has rows of where it has none."""
        hit = self._curves.get(schedule)
        if hit is None:
            arrays = self.bench.schedule_arrays(schedule)
            costs = arrays.quantity(self.cost, per_seed=self.per_seed)[:, None]
            hit = Curves(arrays.objective(self.metric, per_seed=self.per_seed)[:, None], costs,
                         arrays.seed_mask(), arrays.z)
            self._curves[schedule] = hit
        return hit

    def _check_schedule(self, job: Job, ei: int) -> None:
        """A schedule's job asks for a schedule the table has, at the z it trains then."""
        if not isinstance(job.schedule, str):
            raise InvalidValueError(f"optimizer {self.name!r} returned a Job with schedule="
                                    f"{job.schedule!r:.40}; a schedule is a name like 'thaw'")
        z_there = int(self.schedule_curves(job.schedule).z[ei])
        if job.z != z_there:
            raise InvalidValueError(
                f"optimizer {self.name!r} asked for z={job.z} at epoch {job.epoch} of the "
                f"{job.schedule} schedule, which trains z={z_there} then")

    def _new_trial(self, placed: Placed) -> Trial:
        """A new trial of the job's config (on its schedule), with the table seed it reads."""
        job, c, zi = placed.job, placed.pos, placed.zi
        if job.schedule == FIXED:
            mask, scores, costs, col = self.seed_mask[c, zi], self.obj, self.costs, zi
        else:
            curves = self.schedule_curves(job.schedule)
            mask, scores, costs, col = curves.seed_mask[c], curves.scores, curves.costs, 0
        if self.fixed_si >= 0:
            si = self.fixed_si
            if not mask[si]:
                if job.schedule == FIXED:
                    raise self.bench.absent(c, zi, placed.ei, si)
                raise InvalidValueError(
                    f"{self.bench.name} has no {job.schedule} cell for config {job.config_id} "
                    f"at seed {self.seeds[si]}; seeds there: "
                    f"{[self.seeds[k] for k in np.flatnonzero(mask)]}")
        elif self.per_seed:
            choices = np.flatnonzero(mask)
            si = int(choices[self.rng.integers(len(choices))]) if len(choices) else -1
        else:
            si = -1
        if job.schedule != FIXED and not mask.any():
            raise InvalidValueError(
                f"optimizer {self.name!r} runs config {job.config_id} on the {job.schedule} "
                f"schedule, which {self.bench.name} has no cell of for that config")
        return Trial(job.config_id, job.z, c, zi, si, scores, costs, col, job.schedule)

    def _trial_for(self, placed: Placed) -> tuple[int, Trial, bool]:
        """The trial a job runs in: a new one (not registered yet) or the one it continues."""
        job, c, zi = placed.job, placed.pos, placed.zi
        tid = job.trial
        if tid is None:
            return len(self.trials), self._new_trial(placed), True
        name = self.name
        if isinstance(tid, bool) or not isinstance(tid, int) or not 0 <= tid < len(self.trials):
            raise InvalidValueError(f"optimizer {name!r} continues unknown trial {tid!r}")
        trial = self.trials[tid]
        if trial.schedule != job.schedule:
            raise InvalidValueError(
                f"optimizer {name!r} continues trial {tid} (config {trial.config_id}, "
                f"schedule {trial.schedule!r}) on schedule {job.schedule!r}: a trial keeps "
                f"its schedule; start a new trial instead")
        if trial.pos != c or (trial.schedule == FIXED and trial.zi != zi):
            raise InvalidValueError(
                f"optimizer {name!r} continues trial {tid} (config {trial.config_id}, "
                f"z={trial.z}) as config {job.config_id}, z={job.z}: a trial keeps its config "
                f"and z (frozen layers do not thaw at fixed z; a run along a schedule, "
                f"Job(schedule='thaw'), does); start a new trial instead")
        if trial.schedule != FIXED:
            trial.z, trial.zi = job.z, zi
        if trial.running:
            raise InvalidValueError(f"optimizer {name!r} continues trial {tid} while it is "
                                    f"still running")
        return tid, trial, False

    # ------------------------------------------------------------------ events
    def start(self, placed: Placed, worker: int, now: float) -> bool:
        """Start a job on ``worker`` at ``now``; False (and the run stops) past a budget."""
        tid, trial, new = self._trial_for(placed)
        ei = placed.ei
        cost = 0.0
        if ei > trial.reached:
            si = trial.si
            if not self.per_seed:
                value = float(trial.costs[trial.pos, trial.col, ei])
            elif si >= 0:
                value = float(trial.costs[trial.pos, trial.col, ei, si])
            else:
                value = math.nan
            if value == value and value > trial.paid:
                cost = value - trial.paid
        if self.cost_budget is not None and self.spent + cost > self.cost_budget:
            self.stopped, self.stop_reason = True, "cost_budget"
            return False
        if self.budget is not None and now >= self.budget:
            self.stopped, self.stop_reason = True, "budget"
            return False
        if new:
            self.trials.append(trial)
        self.spent += cost
        trial.running = True
        self.queue.push(now + cost, Running(worker, tid, placed, cost, now))
        return True

    def on_free(self, now: float) -> None:
        """Workers are free at ``now``: hand each a job (waiting ones first) until none is."""
        pool = self.pool
        free = pool.free
        progress = True
        while progress and free and not self.stopped:
            progress = False
            i = 0
            while i < len(free) and not self.stopped:
                w = free[i]
                placed = pool.take_pending(w) if pool.pending else None
                asks = 0
                # a worker that takes none of the waiting jobs asks for more only while the
                # waiting list is shorter than the pool: longer, the others have work queued
                # and asking again only floods the list (and changes what the optimizer sees)
                while placed is None and asks < MAX_ASKS and \
                        len(pool.pending) < len(pool.capacities):
                    asks += 1
                    job = self.opt.ask(self.rng)
                    if job is None:
                        break
                    cand = self.place(job)
                    if cand.need <= pool.capacities[w]:
                        placed = cand
                    else:
                        pool.pending.append(cand)
                if placed is None:
                    i += 1
                    continue
                if not self.start(placed, w, now):
                    return
                free.pop(i)
                progress = True

    def on_finish(self, now: float, running: Running) -> None:
        """A job finished at ``now``: its trial advances, the optimizer and recorder hear it."""
        trial = self.trials[running.trial]
        trial.running = False
        placed = running.placed
        ei, si = placed.ei, trial.si
        if ei > trial.reached:
            trial.reached = ei
            trial.paid += running.cost
        if not self.per_seed:
            score = float(trial.scores[trial.pos, trial.col, ei])
        elif si >= 0:
            score = float(trial.scores[trial.pos, trial.col, ei, si])
        else:
            score = math.nan
        if score != score:
            score = self.worst
        job = placed.job
        seed = self.seeds[si] if si >= 0 else -1
        self.opt.tell(Observation(job, running.trial, score, running.cost, now, running.worker,
                                  seed))
        self.recorder.add(now, running.start, running.worker, running.trial, job.config_id,
                          job.z, job.epoch, seed, job.rung, job.bracket, score, running.cost,
                          float(self.full[trial.pos]))

    # ------------------------------------------------------------------ the loop
    def run(self) -> Recorder:
        queue, pool, rec = self.queue, self.pool, self.recorder
        budget, max_evaluations = self.budget, self.max_evaluations
        self.on_free(0.0)
        streak = 0
        while queue:
            now, running = queue.pop()
            if budget is not None and now > budget:
                self.stop_reason = "budget"
                break
            self.on_finish(now, running)
            if max_evaluations is not None and len(rec) >= max_evaluations:
                self.stop_reason = "max_evaluations"
                break
            streak = streak + 1 if running.cost == 0.0 else 0
            if streak >= STALL_LIMIT:
                raise self._stalled()
            pool.release(running.worker)
            self.on_free(now)
        end_replay(self.opt, self.stop_reason)
        return rec

    def _stalled(self) -> InvalidValueError:
        rule = (f"budget={self.budget!r}" if self.budget is not None
                else f"cost_budget={self.cost_budget!r}")
        return InvalidValueError(
            f"optimizer {self.name!r} ran {STALL_LIMIT} jobs in a row that cost nothing (cells "
            f"missing from the table, or epochs its trials had already reached), so the "
            f"simulated clock cannot advance and {rule} would never be reached; choose a "
            f"fidelity path whose cells exist in the table, or stop with max_evaluations=")

    def attrs(self) -> dict[str, Any]:
        return {"optimizer": self.name, "n_trials": len(self.trials),
                "stop_reason": self.stop_reason}
