"""Packed local generation: the cells of a spec in K worker processes that share one device.

A CPU-scale cell is far too small to fill a GPU, so K cells train at once, each in its own
process (``multiprocessing`` spawn, one torch thread each, device ``"cuda"`` or ``"cpu"``,
through the pool loop every executor shares, :func:`~frozenbench.generation.executors.
run_pool`),
and write the same shards as every other executor (:class:`~frozenbench.generation.store.
ShardStore`, one lock per cell): a run resumes where the last one stopped, cells in a shard or a
pack are skipped, and :func:`~frozenbench.generation.merge.merge` makes the table. Nothing here
needs submitit, and the workers load their data from the portable files
(:mod:`~frozenbench.generation.portable`) where the data packages are absent, so this is the
path for a GPU machine that has torch and nothing else.

Packing distorts each cell's clocks (the host thread spins while the neighbours' kernels run),
so before the first cell trains, the task is profiled alone on the device in one process
(:mod:`~frozenbench.generation.cost_profile`): the merge takes the table's default cost from
that profile.

A time limit stops the run cleanly: no new cell starts after it, the cells in flight finish
and are written, and the rest stay pending for the next run.

    python -m frozenbench.generation.gpu_pack SPEC [--device cuda] [--workers K] [--out DIR]
        [--time-limit S] [--no-profile]

:func:`pack` returns a :class:`PackResult` and reports progress through a callback; only the
command line prints.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from frozenbench.errors import InvalidValueError
from frozenbench.extras import require
from frozenbench.generation import portable
from frozenbench.generation.cost_profile import CostProfile
from frozenbench.generation.executors import (
    Execution,
    OnProgress,
    Progress,
    Tracker,
    Work,
    plan_work,
    run_pool,
    stacks,
)
from frozenbench.generation.one_cell import OUTCOMES
from frozenbench.generation.spec import GridSpec, load_spec
from frozenbench.generation.store import BadShard

__all__ = ["OUTCOMES", "PackResult", "PackedExecutor", "Progress", "check_device", "pack",
           "profile_isolated", "stacks"]


def _init_worker(data_dir: str) -> None:
    """Each worker: the portable data wherever a data package is absent."""
    portable.install(data_dir)


def _measure_profile(spec: GridSpec, out: str, device: str, warmup: int, iters: int,
                     data_dir: str) -> CostProfile:
    """Runs in its own process, alone on the device: profile the spec's task, write it."""
    from frozenbench.generation.cost_profile import measure

    portable.install(data_dir)
    plan = spec.plan()
    profile = measure(plan.task, plan.config_ids, benchmark=spec.benchmark, device=device,
                      z=plan.z, warmup=warmup, iters=iters)
    profile.write(out)
    return profile


def profile_isolated(spec: GridSpec, out: str | Path, *, device: str, warmup: int = 100,
                     iters: int = 100,
                     data_dir: str | Path = portable.PORTABLE_DIR) -> CostProfile:
    """Measure the isolated per-z cost profile of ``spec``'s task in one fresh process (nothing
    else on the device) and write it into the output directory ``out``."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(_measure_profile, spec, str(out), device, warmup, iters,
                           str(data_dir)).result()


@dataclass(frozen=True)
class PackResult:
    """What :func:`pack` did: the cells it found pending and trained, the final counts (ok /
    diverged / failed / pending among the spec's cells), whether the time limit stopped it,
    the stored cells it quarantined, pool-level errors (a worker that died), the profile."""

    out: Path
    cells: int
    submitted: int
    counts: Mapping[str, int]
    elapsed_s: float
    stopped_early: bool = False
    quarantined: tuple[BadShard, ...] = ()
    errors: tuple[str, ...] = ()
    profile: CostProfile | None = None

    @property
    def complete(self) -> bool:
        """Every cell of the spec has a shard (ok or diverged)."""
        return self.counts.get("pending", 0) == 0 and self.counts.get("failed", 0) == 0


def check_device(device: str) -> None:
    """Refuse a device torch cannot use here, naming the valid ones (before any work)."""
    if device.split(":")[0] == "cuda":
        torch = require("torch")
        if not torch.cuda.is_available():
            raise InvalidValueError(f"device={device!r}: torch sees no CUDA device here; "
                                    "valid here: ['cpu']")
    elif device != "cpu":
        raise InvalidValueError(f"device={device!r}; valid: ['cpu', 'cuda', 'cuda:N']")


def pack(spec: GridSpec, *, device: str | None = None, workers: int | None = None,
         out: str | Path | None = None, time_limit_s: float | None = None,
         profile: bool = True, profile_warmup: int = 100, profile_iters: int = 100,
         data_dir: str | Path = portable.PORTABLE_DIR, on_progress: OnProgress | None = None,
         report_every_s: float = 10.0, stack: int = 1) -> PackResult:
    """Train every cell of ``spec`` without a shard in ``workers`` processes on ``device``.

    Defaults: the device is ``"cuda"`` when the spec asks for GPUs, else ``"cpu"`` (as
    :func:`frozenbench.generation.launch.run` decides it); ``workers`` is the spec's
    ``packing.concurrent``. Stored cells are verified first (corrupt ones are quarantined and
    trained again). With ``profile``, the isolated cost profile is measured first unless the
    output directory holds one for this device type. Costliest (highest z) cells start
    first. ``time_limit_s`` (from the call) stops starting new cells; ``on_progress`` is called
    every ``report_every_s`` seconds and at the end. ``stack``: cells of one z and seed that a
    worker trains as one stacked model (:func:`stacks`; in the thousands on a GPU).
    """
    started = time.monotonic()
    device = device or ("cuda" if spec.resources.gpus else "cpu")
    workers = workers or spec.packing.concurrent
    if workers < 1:
        raise InvalidValueError(f"workers={workers} must be >= 1")
    check_device(device)
    work = plan_work(spec, out, device)
    cost = CostProfile.find(work.store.root)
    if profile and (cost is None or cost.device != device.split(":")[0]):
        cost = profile_isolated(spec, work.store.root, device=device, warmup=profile_warmup,
                                iters=profile_iters, data_dir=data_dir)
    deadline = None if time_limit_s is None else started + time_limit_s
    tracker = Tracker(work.total, work.done(), on_progress, report_every_s, started=started)
    execution = Execution()
    if work.pending and deadline is not None and time.monotonic() >= deadline:
        execution = Execution(stopped_early=True)  # the profile took the time: no cell starts
    elif work.pending:
        execution = PackedExecutor(workers, stack=stack, deadline=deadline,
                                   data_dir=str(data_dir)).execute(work, tracker)
    tracker.report(force=True)
    return PackResult(out=work.store.root, cells=work.total, submitted=len(work.pending),
                      counts=work.counts(), elapsed_s=time.monotonic() - started,
                      stopped_early=execution.stopped_early, quarantined=work.quarantined,
                      errors=execution.errors, profile=cost)


@dataclass(frozen=True)
class PackedExecutor:
    """Runs planned work in ``workers`` spawned processes sharing one device, in stacks of up
    to ``stack`` cells (:func:`~frozenbench.generation.executors.run_pool`); each worker reads
    the portable data in ``data_dir`` wherever a data package is absent. ``deadline`` (a
    ``time.monotonic`` value): no stack starts after it."""

    workers: int
    stack: int = 1
    deadline: float | None = None
    data_dir: str = str(portable.PORTABLE_DIR)

    def execute(self, work: Work, tracker: Tracker) -> Execution:
        """Train ``work.pending`` on the device of ``work.context``."""
        return run_pool(work.context, stacks(work.pending, self.stack), workers=self.workers,
                        tracker=tracker, initializer=_init_worker, initargs=(self.data_dir,),
                        deadline=self.deadline)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m frozenbench.generation.gpu_pack",
        description="Train a spec's cells in K processes sharing one device (resumable).")
    parser.add_argument("spec", help="a shipped spec's name or a spec file")
    parser.add_argument("--device", help="cuda or cpu (default: cuda if the spec asks for GPUs)")
    parser.add_argument("--workers", type=int, help="processes (default: packing.concurrent)")
    parser.add_argument("--out", help="output directory (default: the spec's)")
    parser.add_argument("--time-limit", type=float, help="seconds after which no cell starts")
    parser.add_argument("--no-profile", action="store_true",
                        help="do not measure the isolated per-z cost profile")
    parser.add_argument("--profile-warmup", type=int, default=100)
    parser.add_argument("--profile-iters", type=int, default=100)
    parser.add_argument("--stack", type=int, default=1,
                        help="cells of one z and seed trained as one stacked model")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: progress lines on stderr, a summary on stdout; exit 0 when the
    spec is complete, 1 otherwise."""
    args = build_parser().parse_args(argv)
    res = pack(load_spec(args.spec), device=args.device, workers=args.workers, out=args.out,
               time_limit_s=args.time_limit, profile=not args.no_profile,
               profile_warmup=args.profile_warmup, profile_iters=args.profile_iters,
               stack=args.stack, on_progress=lambda p: print(p.line(), file=sys.stderr, flush=True))
    print(f"{res.out}: {dict(res.counts)} in {res.elapsed_s:.0f} s"
          + (" (stopped by the time limit)" if res.stopped_early else ""))
    for error in res.errors:
        print(f"error: {error}", file=sys.stderr)
    return 0 if res.complete else 1


if __name__ == "__main__":
    raise SystemExit(main())
