"""Packed local generation: the cells of a spec in K worker processes that share one device.

A CPU-scale cell is far too small to fill a GPU, so K cells train at once, each in its own
process (``multiprocessing`` spawn, one torch thread each, device ``"cuda"`` or ``"cpu"``),
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
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from frozenbench.cell import Cell, CellJob
from frozenbench.errors import InvalidValueError
from frozenbench.extras import require
from frozenbench.generation import portable
from frozenbench.generation.cost_profile import CostProfile
from frozenbench.generation.integrity import CellCheck
from frozenbench.generation.launch import prepare
from frozenbench.generation.one_cell import RunContext, run_stack
from frozenbench.generation.spec import GridSpec, load_spec
from frozenbench.generation.store import BadShard
from frozenbench.provenance import code_version as current_code_version


def train_stack(ctx: RunContext, jobs: Sequence[CellJob]) -> list[str]:
    """Train cells of one z and seed as one stacked model and write their shards; return
    their outcomes (:func:`frozenbench.generation.one_cell.run_stack`)."""
    return run_stack(ctx, jobs)


def stacks(cells: Sequence[Cell], size: int) -> list[list[Cell]]:
    """Groups of at most ``size`` cells that share z, seed and schedule (the runner stacks
    them), the costliest (highest z) first.

    >>> stacks([Cell(0, 1, 0), Cell(1, 1, 0), Cell(2, 1, 0), Cell(0, 2, 0), Cell(0, 1, 1)], 2)
    [[Cell(config_id=0, z=2, seed=0)], [Cell(config_id=0, z=1, seed=0), \
Cell(config_id=1, z=1, seed=0)], [Cell(config_id=2, z=1, seed=0)], \
[Cell(config_id=0, z=1, seed=1)]]
    """
    if size < 1:
        raise InvalidValueError(f"stack size={size} must be >= 1")
    groups: dict[tuple[int, int, str], list[Cell]] = {}
    for cell in sorted(cells, key=lambda c: (-c.z, c.seed, c.schedule, c.config_id)):
        groups.setdefault((cell.z, cell.seed, cell.schedule), []).append(cell)
    return [g[i:i + size] for g in groups.values() for i in range(0, len(g), size)]


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
class Progress:
    """Where a packed run stands: cells done (ok or diverged, including those done before the
    run), the spec's cells, what this run trained and failed, seconds since it started.

    >>> Progress(done=30, total=100, trained=20, failed=1, elapsed_s=10.0).line()
    '30/100 cells (30.0%), 1 failed, 2 cells/s, eta 35s'
    """

    done: int
    total: int
    trained: int
    failed: int
    elapsed_s: float

    @property
    def rate(self) -> float:
        """Cells finished per second in this run."""
        return self.trained / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def line(self) -> str:
        """One progress line."""
        left = self.total - self.done
        eta = f"{left / self.rate:.0f}s" if self.rate > 0 else "?"
        return (f"{self.done}/{self.total} cells ({100 * self.done / max(1, self.total):.1f}%), "
                f"{self.failed} failed, {self.rate:.3g} cells/s, eta {eta}")


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
         data_dir: str | Path = portable.PORTABLE_DIR,
         on_progress: Callable[[Progress], object] | None = None,
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
    plan, store = prepare(spec, out)
    quarantined = store.repair(CellCheck.of(plan.task))
    cost = CostProfile.find(store.root)
    if profile and (cost is None or cost.device != device.split(":")[0]):
        cost = profile_isolated(spec, store.root, device=device, warmup=profile_warmup,
                                iters=profile_iters, data_dir=data_dir)
    done = store.scan().done
    pending = [c for c in plan.cells if c not in done]
    ctx = RunContext(out=str(store.root), task_module=spec.task_module,
                     grid=plan.task.space.to_dict(), device=device,
                     code_version=current_code_version())
    groups = [[CellJob.of(plan.task.name, c) for c in g] for g in stacks(pending, stack)]
    deadline = None if time_limit_s is None else started + time_limit_s
    progress = _Tracker(len(plan.cells), len(plan.cells) - len(pending), started, on_progress,
                        report_every_s)
    errors: list[str] = []
    stopped = False
    if pending and deadline is not None and time.monotonic() >= deadline:
        stopped = True  # the profile took the time: no cell starts
    elif pending:
        stopped = _run_pool(ctx, groups, workers, data_dir, deadline,
                            progress, errors)
    progress.report(force=True)
    return PackResult(out=store.root, cells=len(plan.cells), submitted=len(pending),
                      counts=store.scan().counts(plan.cells),
                      elapsed_s=time.monotonic() - started, stopped_early=stopped,
                      quarantined=tuple(quarantined), errors=tuple(errors), profile=cost)


class _Tracker:
    """Counts outcomes and calls the progress callback at most every ``every_s`` seconds."""

    def __init__(self, total: int, done: int, started: float,
                 callback: Callable[[Progress], object] | None, every_s: float) -> None:
        self.total, self.done, self.started = total, done, started
        self.trained = self.failed = 0
        self.callback, self.every_s = callback, every_s
        self.last = started

    def add(self, outcome: str) -> None:
        if outcome in ("ok", "diverged"):
            self.done += 1
            self.trained += 1
        elif outcome == "failed":
            self.failed += 1
            self.trained += 1

    def report(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if self.callback is not None and (force or now - self.last >= self.every_s):
            self.last = now
            self.callback(Progress(self.done, self.total, self.trained, self.failed,
                                   now - self.started))


def _run_pool(ctx: RunContext, groups: Sequence[Sequence[CellJob]], workers: int,
              data_dir: str | Path, deadline: float | None, progress: _Tracker,
              errors: list[str]) -> bool:
    """Train the stacks ``groups`` in a pool of ``workers`` spawned processes; True when the
    deadline stopped it before every stack ran."""
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                               initializer=_init_worker, initargs=(str(data_dir),))
    stopped = False
    try:
        pending: set[Future[list[str]]] = {pool.submit(train_stack, ctx, g) for g in groups}
        while pending:
            timeout = progress.every_s
            if deadline is not None:
                timeout = max(0.0, min(timeout, deadline - time.monotonic()))
            finished, pending = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
            for fut in finished:
                try:
                    for outcome in fut.result():
                        progress.add(outcome)
                except BrokenProcessPool as exc:  # a worker died (killed, out of memory)
                    errors.append(f"{type(exc).__name__}: {exc}")
                    return False
            progress.report()
            if pending and deadline is not None and time.monotonic() >= deadline:
                stopped = True
                break
    finally:
        # Cells not started are cancelled; those in flight finish and are written.
        pool.shutdown(wait=True, cancel_futures=True)
    return stopped


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
