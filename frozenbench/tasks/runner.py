"""The cell runner: train K cells of one (task, z, seed) as one stacked model and record each
cell's learning curve.

This is the ONE training code path of frozenbench: the generation pipeline fills tables with it
and ``frozenbench verify`` / ``run-cell`` rerun a table cell with it (K = 1). It is flat
(nanoGPT style): seed, build the model, freeze all but the last z layers, load data, stack the
trainable parameters once per config (:mod:`frozenbench.tasks.stacked`: the frozen prefix is
computed once per batch for all K), then alternate training segments (an epoch, or the steps up
to the next checkpoint) with an evaluation. What differs between image and language-model tasks
(batches, loss, evaluation, optimizer) lives in :mod:`frozenbench.tasks.image` and
:mod:`frozenbench.tasks.lm`, written for one model; the runner picks one module per cell and
never branches on the kind. Configs with different optimizers are stacked apart. Where the data
has a held-out test split, every record also scores it, as validation is scored, after the eval
clocks stop: an optimizer sees validation and never pays for the test metrics.

A cell does not depend on its batch-mates: on one machine the same cell trained alone and inside
batches of other sizes and compositions gives bit-identical losses and metrics (see
:mod:`frozenbench.tasks.stacked`; ``tests/test_tasks_stacked.py`` checks every task kind).

Cost clocks, all cumulative per record, for a cell trained in a stack of K: the stack's clock
divided by the configs still training in that record (``extra["stack_size"]`` says K; a cell
trained alone, K = 1, is charged its own time):

* ``train_cpu_s``: CPU time of the training thread (``time.thread_time``) with one torch
  thread: time the cell spent on a core, which a neighbour on the other core does not inflate.
  The default cost of the simulator.
* ``train_time_s``: wall time (contention, other processes and frequency scaling included).
* ``train_flops``: exact, from ``torch.utils.flop_counter`` on a probe step of one config.

Determinism: everything random (initialisation, data order, augmentation) flows from ``seed``
through ``torch.manual_seed`` and one explicit ``torch.Generator``; on CPU a cell reproduces its
losses bit for bit on the same CPU (instruction-set level) and libraries. On CUDA deterministic
algorithms are requested and training runs in bfloat16 autocast; reruns on the same GPU model
and software are expected to agree to :data:`CUDA_RTOL` relative on losses.
"""

from __future__ import annotations

import copy
import functools
import math
import os
import resource
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import torch

from frozenbench import costs, freezing
from frozenbench.cell import CellKey, CellResult, EpochRecord
from frozenbench.errors import InvalidValueError
from frozenbench.provenance import cpu_model, library_versions
from frozenbench.schedules import ZSchedule
from frozenbench.tasks import graph, image, lm
from frozenbench.tasks.base import Task, resolve
from frozenbench.tasks.catalog import get_task
from frozenbench.tasks.models import Built
from frozenbench.tasks.prefetch import loader_arguments
from frozenbench.tasks.stacked import StackedHyperparameters, StackedTrainer

#: Relative tolerance on losses when a CUDA cell is rerun (same GPU model and software).
CUDA_RTOL = 1e-2

#: The per-kind module of each task kind.
KINDS: dict[str, ModuleType] = {"image": image, "tabular": image, "lm": lm, "graph": graph}


def lr_factor(schedule: str, step: int, total: int, warmup_frac: float = 0.0,
              cooldown_frac: float = 0.0) -> float:
    """Multiplier of the base learning rate at optimizer step ``step`` (0-based) of ``total``.

    ``wsd`` (warmup-stable-decay): linear warmup over the first ``warmup_frac`` of the steps,
    constant, then linear decay to zero over the last ``cooldown_frac``.

    >>> [round(lr_factor("wsd", s, 10, 0.2, 0.5), 2) for s in range(10)]
    [0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 0.8, 0.6, 0.4, 0.2]
    """
    if schedule == "constant":
        return 1.0
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * step / total))
    warmup = max(1, round(warmup_frac * total))
    cooldown = max(1, round(cooldown_frac * total))
    if step < warmup:
        return (step + 1) / warmup
    if step >= total - cooldown:
        return (total - step) / cooldown
    return 1.0


@contextmanager
def torch_settings(device: torch.device, threads: int | None) -> Iterator[None]:
    """Set the process-wide torch settings a cell needs and restore them afterwards: the
    intra-op thread count, and on CUDA the determinism flags."""
    cudnn = torch.backends.cudnn
    saved = (torch.get_num_threads(), cudnn.deterministic, cudnn.benchmark,
             torch.are_deterministic_algorithms_enabled(),
             torch.is_deterministic_algorithms_warn_only_enabled())
    try:
        if threads is not None:
            torch.set_num_threads(threads)
        if device.type == "cuda":
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            cudnn.deterministic, cudnn.benchmark = True, False
            torch.use_deterministic_algorithms(True, warn_only=True)
        yield
    finally:
        torch.set_num_threads(saved[0])
        cudnn.deterministic, cudnn.benchmark = saved[1], saved[2]
        torch.use_deterministic_algorithms(saved[3], warn_only=saved[4])


@functools.lru_cache(maxsize=4)
def _load(ref: str | Callable[..., Any], args: tuple[tuple[str, Any], ...],
          device: str) -> Any:
    return resolve(ref)(**dict(args)).to(torch.device(device))


def load_data(task: Task, device: torch.device, total_params: int = 0) -> Any:
    """The task's data on ``device``; loaded once per process for a given loader, arguments and
    device (a worker that trains many cells reads, decodes and splits the data once)."""
    args = loader_arguments(task, total_params)
    return _load(task.data, tuple(sorted(args.items())), str(device))


def measure_step(task: Task, model: torch.nn.Module, optimizer: str,
                 batch: tuple[torch.Tensor, torch.Tensor],
                 amp: AbstractContextManager[Any]) -> costs.StepCost:
    """FLOPs and memory of one training step (:func:`frozenbench.costs.measure_step`), measured
    on a copy of the frozen model so that training itself is untouched (no gradients, no
    BatchNorm statistics, no random numbers consumed)."""
    probe, kind = copy.deepcopy(model), KINDS[task.kind]

    def step() -> None:
        with amp:
            loss = kind.loss(probe, *batch)
        loss.backward()

    with torch.random.fork_rng(devices=[]):
        return costs.measure_step(probe, step, optimizer=optimizer)


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far (Linux reports KiB, macOS bytes)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)


def hardware(device: torch.device) -> dict[str, str]:
    """What a cell ran on: CPU model, the instruction-set level torch dispatches to, threads,
    and the accelerator if any."""
    out = {"cpu_model": cpu_model(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
           "torch_threads": str(torch.get_num_threads())}
    if device.type == "cuda":
        out["gpu"] = torch.cuda.get_device_name(device)
    return out



def run_cell(
    task: Task | str,
    config: Mapping[str, Any],
    z: int | None = None,
    seed: int = 0,
    *,
    schedule: ZSchedule | str | None = None,
    device: str = "cpu",
    threads: int | None = None,
    progress: bool = False,
) -> CellResult:
    """Train one cell alone (a stack of K = 1) for the task's full budget and return its
    learning curve; see :func:`run_cells`."""
    return run_cells(task, [config], z, seed, schedule=schedule, device=device,
                     threads=threads, progress=progress)[0]


def run_cells(
    task: Task | str,
    configs: Sequence[Mapping[str, Any]],
    z: int | None = None,
    seed: int = 0,
    *,
    schedule: ZSchedule | str | None = None,
    device: str = "cpu",
    threads: int | None = None,
    progress: bool = False,
) -> list[CellResult]:
    """Train the cells (task, config, z, seed) of every config in ``configs`` and return their
    learning curves in the same order. Configs with the same optimizer train as one stacked
    model; so do configs that agree on the optimizer and the task's ``stack_by`` choices. Each
    cell's numbers are those it gets when trained alone.

    ``schedule`` instead of ``z``: the z of each record (a :class:`ZSchedule`, or ``"thaw"``
    for the linear thaw schedule of the task's n and records). At each record boundary where
    it rises, the next layers thaw (:meth:`StackedTrainer.thaw`: fresh optimizer state, the lr
    schedule continues); each record costs what its z costs (FLOPs re-measured at the new z)
    and reports its z (``EpochRecord.z``); the cell's key carries the schedule's name and final
    z.

    Errors (before any training): an unknown task, hyperparameter or off-grid value, z out
    of 1..n, or a schedule of the wrong length raise :mod:`frozenbench.errors` exceptions naming
    the valid values. A NaN or infinite training loss ends that cell with
    ``status="diverged"``: the diverging epoch is recorded (its losses are whatever they
    became), the cell stops there and the others go on.

    >>> cells = run_cells("debug-mnist", [{"lr": 0.01, "optimizer": "adam"},
    ...                                   {"lr": 0.001, "optimizer": "adam"}], z=2, seed=0,
    ...                   threads=1)
    >>> [str(c.key) for c in cells], [c.extra["stack_size"] for c in cells]
    (['debug-mnist/c2/z2/s0', 'debug-mnist/c0/z2/s0'], [2, 2])
    >>> thaw = run_cell("debug-mnist", {"lr": 0.01, "optimizer": "adam"}, schedule="thaw",
    ...                 threads=1)
    >>> str(thaw.key), [r.z for r in thaw.records]
    ('debug-mnist/c2/thaw-z6/s0', [1, 6])
    """
    task = get_task(task)
    if not configs:
        raise InvalidValueError(f"{task.name}: run_cells needs at least one config")
    normalized = [task.space.normalize(c) for c in configs]
    plan = z_schedule(task, z, schedule)
    keys = [CellKey(task.name, task.space.index(c), plan.final, int(seed), plan.name)
            for c in normalized]
    kind = KINDS[task.kind]
    # configs stack when they agree on the optimizer and on every shape choice (task.stack_by)
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, config in enumerate(normalized):
        shape = tuple(config[name] for name in task.stack_by)
        groups.setdefault((kind.stack_optimizer(task.hyperparameters(config)), *shape),
                          []).append(i)
    dev = torch.device(device)
    out: dict[int, CellResult] = {}
    with torch_settings(dev, threads):
        for (optimizer, *_), members in groups.items():
            stack = _Stack(task.for_shape(normalized[members[0]]), optimizer,
                           tuple(normalized[i] for i in members),
                           tuple(keys[i] for i in members), plan)
            out.update(zip(members, _train(stack, dev, progress)))
    return [out[i] for i in range(len(normalized))]


def z_schedule(task: Task, z: int | None, schedule: ZSchedule | str | None) -> ZSchedule:
    """The z of each of ``task``'s records: ``z`` fixed, or ``schedule`` (a name, see
    :meth:`ZSchedule.named`, or a value), checked against the task's z values and records.

    >>> z_schedule(get_task("debug-mnist"), None, "thaw")
    ZSchedule(name='thaw', z=(1, 6))
    >>> z_schedule(get_task("debug-mnist"), 2, ZSchedule("thaw", (1, 2, 3)))
    Traceback (most recent call last):
    ...
    frozenbench.errors.InvalidValueError: give z (a fixed cell) or schedule, not both; got z=2 \
and schedule=ZSchedule(name='thaw', z=(1, 2, 3))
    """
    records = len(task.fidelities.epoch)
    if (z is None) == (schedule is None):
        raise InvalidValueError(f"give z (a fixed cell) or schedule, not both; got z={z!r} and "
                                f"schedule={schedule!r}")
    if schedule is None:
        return ZSchedule.fixed(task.fidelities.check_z(z), records)
    plan = schedule if isinstance(schedule, ZSchedule) else \
        ZSchedule.named(schedule, task.n_layers, records)
    if len(plan.z) != records:
        raise InvalidValueError(f"{task.name}: schedule z={plan.z} has {len(plan.z)} entries; "
                                f"the task has {records} records")
    for value in sorted(set(plan.z)):
        task.fidelities.check_z(value)
    return plan


@dataclass(frozen=True)
class _Stack:
    """The configs trained as one stacked model: same task, z, seed and optimizer."""

    task: Task
    optimizer: str
    configs: tuple[Mapping[str, Any], ...]
    keys: tuple[CellKey, ...]
    schedule: ZSchedule


@dataclass
class _Curve:
    """One cell's records so far and its cumulative clocks (the stack's clocks shared out)."""

    records: list[EpochRecord] = field(default_factory=list)
    status: str = "ok"
    wall: float = 0.0
    cpu: float = 0.0
    eval_wall: float = 0.0
    eval_cpu: float = 0.0
    flops: float = 0.0


def build_model(task: Task, z: int, seed: int) -> tuple[torch.nn.Module, freezing.FreezeRecord]:
    """The task's model, seeded (initialisation is part of the seed's noise) and frozen to the
    last ``z`` layers; built on the CPU (the caller moves it after the data)."""
    built, frozen = _build(task, z, seed)
    return built.model, frozen


def _build(task: Task, z: int, seed: int) -> tuple[Built, freezing.FreezeRecord]:
    """:func:`build_model` with the split's arguments (a thaw splits the model again)."""
    torch.manual_seed(seed)
    built = resolve(task.model)(**task.model_args)
    frozen = freezing.freeze(built.model, z, built.unwrap, merge=built.merge)
    if frozen.n != task.n_layers:
        raise InvalidValueError(f"{task.name}: the model splits into {frozen.n} layers, the "
                                f"task declares n={task.n_layers}")
    return built, frozen


def _probe(task: Task, model: torch.nn.Module, optimizer: str,
           batch: tuple[torch.Tensor, torch.Tensor], amp: Callable[[], Any] | None,
           dev: torch.device) -> tuple[costs.StepCost, float]:
    """:func:`measure_step` at the model's current z, and the seconds it took; on CUDA the
    peak-memory counter restarts after it (the records' peak is training's, at this z)."""
    t0 = time.perf_counter()
    cost = measure_step(task, model, optimizer, batch, amp() if amp else nullcontext())
    seconds = time.perf_counter() - t0
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
        torch.cuda.reset_peak_memory_stats(dev)
    return cost, seconds


def _train(stack: _Stack, dev: torch.device, progress: bool) -> list[CellResult]:
    task, kind, cuda = stack.task, KINDS[stack.task.kind], dev.type == "cuda"
    seed, plan = stack.keys[0].seed, stack.schedule
    amp = functools.partial(torch.autocast, "cuda", dtype=torch.bfloat16) if cuda else None
    built, frozen = _build(task, plan.z[0], seed)
    model = built.model
    data = load_data(task, dev, frozen.total_params)
    ends = kind.record_ends(task, data, frozen.total_params)
    # On CUDA the dataset lives on the device; the memory column is what training adds to it.
    resident = torch.cuda.memory_allocated(dev) if cuda else 0
    model.to(dev).train()
    hps = [task.hyperparameters(c) for c in stack.configs]
    run = _Run(stack, dev, data, ends[-1], hps, StackedTrainer(
        model, StackedHyperparameters.from_configs(stack.optimizer, hps), amp))

    # Cost probe on a copy of one config's model, with a batch from its own generator; again
    # after each thaw (a record costs what its z costs).
    probe_batch = next(run.stream(seed + 1))
    cost, probe_s = _probe(task, model, stack.optimizer, probe_batch, amp, dev)

    alone = len(stack.keys) == 1  # a stack's peak memory is not one cell's
    batches, step = run.stream(seed), 0
    for epoch, end, z in zip(task.fidelities.epoch, ends, plan.z):
        if z > frozen.z:  # thaw at this record boundary
            frozen = freezing.thaw(model, z, built.unwrap, merge=built.merge)
            run.trainer.thaw()
            cost, seconds = _probe(task, model, stack.optimizer, probe_batch, amp, dev)
            probe_s += seconds
        losses = run.train(batches, step, end, cost.flops / task.batch_size)
        step = end
        run.evaluate()
        peak = (int(torch.cuda.max_memory_allocated(dev)) - resident if cuda and alone
                else cost.memory_estimate_bytes)
        run.record(epoch, z, losses, peak, progress)
        if not run.active:
            break

    extra = {"flops_per_step": cost.flops, "total_steps": ends[-1],
             "saved_bytes_per_step": cost.saved_bytes, "probe_time_s": probe_s,
             "trainable_layers": list(frozen.trainable_layer_names),
             "stack_size": len(stack.keys)}
    return [CellResult(
        key=key, config=config, n_layers=frozen.n, trainable_params=frozen.trainable_params,
        total_params=frozen.total_params,
        memory_method="cuda_max_allocated" if cuda and alone else "cpu_tensor_estimate",
        device=torch.cuda.get_device_name(dev) if cuda else "cpu",
        versions=library_versions(), hardware=hardware(dev), records=tuple(curve.records),
        status=curve.status, extra=extra,
    ) for key, config, curve in zip(stack.keys, stack.configs, run.curves)]


class _Run:
    """The training state of one stack between records: which configs still train, their
    curves so far, and the stack's clocks shared out among them."""

    def __init__(self, stack: _Stack, dev: torch.device, data: Any, total_steps: int,
                 hps: list[dict[str, Any]], trainer: StackedTrainer) -> None:
        self.stack, self.dev, self.data, self.total = stack, dev, data, total_steps
        self.kind = KINDS[stack.task.kind]
        self.trainer = trainer
        self.warm = [float(hp.get("warmup_frac", 0.0)) for hp in hps]
        self.cool = [float(hp.get("cooldown_frac", 0.0)) for hp in hps]
        self.curves = [_Curve() for _ in stack.keys]
        self.active = list(range(len(stack.keys)))  # positions of the configs still training
        self.samples = 0
        self.val: list[tuple[float, float]] = []
        self.test: list[tuple[float, float]] = []

    def stream(self, seed: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The seed's batches: data order and augmentation from one explicit generator."""
        gen = torch.Generator().manual_seed(seed)
        out: Iterator[tuple[torch.Tensor, torch.Tensor]] = self.kind.batches(
            self.stack.task, self.data, gen, self.dev)
        return out

    def _share(self, field_name: str, seconds: float) -> None:
        for pos in self.active:
            curve = self.curves[pos]
            setattr(curve, field_name, getattr(curve, field_name) + seconds / len(self.active))

    def train(self, batches: Iterator[tuple[torch.Tensor, torch.Tensor]], step: int, end: int,
              flops_per_sample: float) -> list[float]:
        """Optimizer steps ``step..end-1`` of every active config; their mean training losses."""
        task = self.stack.task
        warm, cool = [self.warm[p] for p in self.active], [self.cool[p] for p in self.active]
        loss_sum = torch.zeros(len(self.active), device=self.dev)
        t0, c0 = time.perf_counter(), time.thread_time()
        for s in range(step, end):
            x, y = next(batches)
            factors = [lr_factor(task.schedule, s, self.total, w, c) for w, c in zip(warm, cool)]
            loss_sum += self.trainer.step(self.kind.loss, x, y, lr_factors=factors)
            self.samples += self.kind.samples(x)
            for pos in self.active:
                self.curves[pos].flops += flops_per_sample * x.shape[0]
        if self.dev.type == "cuda":
            torch.cuda.synchronize(self.dev)  # time the work, not the kernel launches
        self._share("wall", time.perf_counter() - t0)
        self._share("cpu", time.thread_time() - c0)
        return [v / (end - step) for v in loss_sum.tolist()]

    def evaluate(self) -> None:
        """Validation loss and error of every active config (:attr:`val`, in their order),
        then test loss and error (:attr:`test`; NaN without a test split). Only validation is
        charged to the eval clocks: an optimizer sees validation and never pays for test."""
        t0, c0 = time.perf_counter(), time.thread_time()
        self.val = self._scores(self.kind.val_batches, self.kind.val_metrics)
        self._share("eval_wall", time.perf_counter() - t0)
        self._share("eval_cpu", time.thread_time() - c0)
        self.test = self._scores(self.kind.held_out_batches, self.kind.held_out_metrics) \
            if self.kind.has_test(self.data) else [(math.nan, math.nan)] * len(self.active)

    def _scores(self, batches: Callable[..., Iterator[tuple[torch.Tensor, torch.Tensor]]],
                metrics: Callable[..., tuple[float, float]]) -> list[tuple[float, float]]:
        """(loss, error) of every active config over one evaluation split, summed over its
        ``batches`` and turned into means by ``metrics``."""
        loss_sums = [0.0] * len(self.active)
        wrong = [0.0] * len(self.active)
        for x, y in batches(self.stack.task, self.data, self.dev):
            losses, errors = self.trainer.evaluate(self.kind.eval_sums, x, y)
            loss_sums = [a + b for a, b in zip(loss_sums, losses.tolist())]
            wrong = [a + b for a, b in zip(wrong, errors.tolist())]
        return [metrics(a, b, self.data) for a, b in zip(loss_sums, wrong)]

    def record(self, epoch: int, z: int, losses: list[float], peak: int,
               progress: bool) -> None:
        """Append a record (trained at ``z``) to every active config's curve; drop those that
        diverged."""
        for pos, loss, (val_loss, val_error), (test_loss, test_error) in zip(
                self.active, losses, self.val, self.test):
            c = self.curves[pos]
            c.records.append(EpochRecord(
                epoch=epoch, samples_seen=self.samples, train_loss=loss, val_loss=val_loss,
                val_error=val_error, train_time_s=c.wall, train_cpu_s=c.cpu,
                eval_time_s=c.eval_wall, eval_cpu_s=c.eval_cpu, peak_memory_bytes=peak,
                peak_rss_bytes=peak_rss_bytes(), train_flops=c.flops, test_loss=test_loss,
                test_error=test_error, z=z))
            if progress:
                print(f"{self.stack.keys[pos]} epoch {epoch}: train_loss {loss:.4f} val_loss "
                      f"{val_loss:.4f} val_error {val_error:.4f} cpu {c.cpu:.2f}s wall "
                      f"{c.wall:.2f}s", file=sys.stderr)
            if not math.isfinite(loss):
                c.status = "diverged"  # a property of the config: stop here, keep what finished
        still = [i for i, pos in enumerate(self.active) if self.curves[pos].status == "ok"]
        if len(still) < len(self.active):
            self.active = [self.active[i] for i in still]
            if self.active:
                self.trainer.keep(still)
