"""The cell runner: train one (task, config, z, seed) and record its learning curve.

This is the ONE training code path of frozenbench: the generation pipeline fills tables with it
and ``frozenbench verify`` reruns table cells with it. It is deliberately flat (nanoGPT style):
seed, load data, build the model, freeze all but the last z layers, build the optimizer from the
trainable parameters only, then alternate training segments (an epoch, or the steps up to the
next checkpoint) with an evaluation. What differs between image and language-model tasks
(batches, loss, evaluation, optimizer) lives in :mod:`frozenbench.tasks.image` and
:mod:`frozenbench.tasks.lm`; the runner picks one module per cell and never branches on the kind.

Cost clocks, all cumulative per record:

* ``train_cpu_s``: CPU time of the training thread (``time.thread_time``) with one torch
  thread: time the cell spent on a core, which a neighbour on the other core does not inflate.
  The default cost of the simulator.
* ``train_time_s``: wall time (contention, other processes and frequency scaling included).
* ``train_flops``: exact, from ``torch.utils.flop_counter`` on a probe step.

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
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from types import ModuleType
from typing import Any

import torch

from frozenbench import costs, freezing
from frozenbench.cell import CellKey, CellResult, EpochRecord
from frozenbench.errors import InvalidValueError
from frozenbench.provenance import cpu_model, library_versions
from frozenbench.tasks import get_task, image, lm
from frozenbench.tasks.base import Task, resolve
from frozenbench.tasks.prefetch import loader_arguments

#: Relative tolerance on losses when a CUDA cell is rerun (same GPU model and software).
CUDA_RTOL = 1e-2

#: The per-kind module of each task kind.
KINDS: dict[str, ModuleType] = {"image": image, "lm": lm}


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


def train_step(kind: ModuleType, model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
               opt: torch.optim.Optimizer, sched: torch.optim.lr_scheduler.LRScheduler,
               amp: AbstractContextManager[Any]) -> torch.Tensor:
    """One optimisation step of a cell (the task kind's loss under ``amp``, backward, optimizer
    and schedule); returns the detached loss. The cost profile times exactly this step."""
    with amp:
        loss = kind.loss(model, x, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    sched.step()
    return loss.detach()


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
    z: int,
    seed: int,
    *,
    device: str = "cpu",
    threads: int | None = None,
    progress: bool = False,
) -> CellResult:
    """Train one cell for the task's full budget and return its learning curve.

    Errors (before any training): an unknown task, hyperparameter or off-grid value, or z out
    of 1..n raise :mod:`frozenbench.errors` exceptions naming the valid values. A NaN or
    infinite training loss ends the cell with ``status="diverged"``: the diverging epoch is
    recorded (its losses are whatever they became) and the cell stops there.
    """
    task = get_task(task)
    config = task.space.normalize(config)
    key = CellKey(task.name, task.space.index(config), task.fidelities.check_z(z), int(seed))
    dev = torch.device(device)
    with torch_settings(dev, threads):
        return _train(task, config, key, dev, progress)


def _train(task: Task, config: Mapping[str, Any], key: CellKey, dev: torch.device,
           progress: bool) -> CellResult:
    kind, hp, cuda = KINDS[task.kind], task.hyperparameters(config), dev.type == "cuda"
    amp: AbstractContextManager[Any] = (
        torch.autocast("cuda", dtype=torch.bfloat16) if cuda else nullcontext()
    )

    # Model first (its size fixes an LM's token budget), seeded: initialisation is part of
    # the seed's noise. Built on the CPU, moved after the data (see `resident` below).
    torch.manual_seed(key.seed)
    built = resolve(task.model)(**task.model_args)
    frozen = freezing.freeze(built.model, key.z, built.unwrap, merge=built.merge)
    model = built.model
    if frozen.n != task.n_layers:
        raise InvalidValueError(f"{task.name}: the model splits into {frozen.n} layers, the "
                                f"task declares n={task.n_layers}")
    data = load_data(task, dev, frozen.total_params)
    ends = kind.record_ends(task, data, frozen.total_params)
    total_steps = ends[-1]
    # On CUDA the dataset lives on the device; the memory column is what training adds to it.
    resident = torch.cuda.memory_allocated(dev) if cuda else 0
    model.to(dev).train()

    def stream(seed: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        gen = torch.Generator().manual_seed(seed)  # data order and augmentation
        out: Iterator[tuple[torch.Tensor, torch.Tensor]] = kind.batches(task, data, gen, dev)
        return out

    batches = stream(key.seed)
    opt = kind.optimizer(hp, freezing.trainable_parameters(model))
    warm, cool = float(hp.get("warmup_frac", 0.0)), float(hp.get("cooldown_frac", 0.0))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: lr_factor(task.schedule, s, total_steps, warm, cool))

    # Cost probe on a copy, with a batch from its own generator (training's RNG untouched).
    t_probe = time.perf_counter()
    opt_name = "adamw" if kind is lm else str(hp["optimizer"])
    cost = measure_step(task, model, opt_name, next(stream(key.seed + 1)), amp)
    probe_s = time.perf_counter() - t_probe
    flops_per_sample = cost.flops / task.batch_size
    if cuda:
        torch.cuda.synchronize(dev)
        torch.cuda.reset_peak_memory_stats(dev)

    records: list[EpochRecord] = []
    status, step, samples, flops = "ok", 0, 0, 0.0
    wall, cpu = 0.0, 0.0
    for epoch, end in zip(task.fidelities.epoch, ends):
        loss_sum = torch.zeros((), device=dev)
        n_steps = end - step
        t0, c0 = time.perf_counter(), time.thread_time()
        for _ in range(n_steps):
            x, y = next(batches)
            loss_sum += train_step(kind, model, x, y, opt, sched, amp)
            samples += kind.samples(x)
            flops += flops_per_sample * x.shape[0]
        step = end
        if cuda:
            torch.cuda.synchronize(dev)  # time the work, not the kernel launches
        wall += time.perf_counter() - t0
        cpu += time.thread_time() - c0
        train_loss = loss_sum.item() / n_steps

        t1, c1 = time.perf_counter(), time.thread_time()
        model.eval()  # BatchNorm running statistics
        with torch.inference_mode(), amp:
            val_loss, val_error = kind.evaluate(task, model, data)
        model.train()
        eval_wall, eval_cpu = time.perf_counter() - t1, time.thread_time() - c1
        peak = int(torch.cuda.max_memory_allocated(dev)) - resident if cuda \
            else cost.memory_estimate_bytes
        records.append(EpochRecord(
            epoch=epoch, samples_seen=samples, train_loss=train_loss, val_loss=val_loss,
            val_error=val_error, train_time_s=wall, train_cpu_s=cpu, eval_time_s=eval_wall,
            eval_cpu_s=eval_cpu, peak_memory_bytes=peak, peak_rss_bytes=peak_rss_bytes(),
            train_flops=flops,
        ))
        if progress:
            print(f"{key} epoch {epoch}: train_loss {train_loss:.4f} val_loss {val_loss:.4f} "
                  f"val_error {val_error:.4f} cpu {cpu:.2f}s wall {wall:.2f}s", file=sys.stderr)
        if not math.isfinite(train_loss):
            status = "diverged"  # a property of the config: stop here, keep what finished
            break

    return CellResult(
        key=key, config=config, n_layers=frozen.n, trainable_params=frozen.trainable_params,
        total_params=frozen.total_params,
        memory_method="cuda_max_allocated" if cuda else "cpu_tensor_estimate",
        device=torch.cuda.get_device_name(dev) if cuda else "cpu",
        versions=library_versions(), hardware=hardware(dev), records=tuple(records),
        status=status,
        extra={"flops_per_step": cost.flops, "total_steps": total_steps,
               "saved_bytes_per_step": cost.saved_bytes, "probe_time_s": probe_s,
               "trainable_layers": list(frozen.trainable_layer_names)},
    )
