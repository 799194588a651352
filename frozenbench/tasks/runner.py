"""The cell runner: train one (task, config, z, seed) and record its learning curve.

This is the ONE training code path of frozenbench: the generation pipeline fills tables with it
and ``frozenbench verify`` reruns table cells with it. It is deliberately flat (nanoGPT style):
seed, load data, build the model, freeze all but the last z layers, build the optimizer from the
trainable parameters only, then alternate training segments (an epoch, or the steps up to the
next checkpoint) with an evaluation.

Determinism: everything random (initialisation, data order, augmentation) flows from ``seed``
through ``torch.manual_seed`` and one explicit ``torch.Generator``; on CPU a cell reproduces its
losses bit for bit. On CUDA deterministic algorithms are requested (``cudnn.deterministic``,
``torch.use_deterministic_algorithms(warn_only=True)``) and training runs in bfloat16 autocast;
reruns on the same GPU model and software are expected to agree to :data:`CUDA_RTOL` relative
on losses (not bit for bit: a few kernels have no deterministic variant).
"""

from __future__ import annotations

import copy
import math
import os
import platform
import resource
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from frozenbench import costs, freezing
from frozenbench.cell import CellKey, CellResult, EpochRecord
from frozenbench.costs import StepCost
from frozenbench.errors import InvalidValueError
from frozenbench.space import Value
from frozenbench.tasks import get_task
from frozenbench.tasks.augment import augment
from frozenbench.tasks.base import Task, resolve
from frozenbench.tasks.data import ImageData, TokenData

#: Relative tolerance on losses when a CUDA cell is rerun (same GPU model and software).
CUDA_RTOL = 1e-2

Batch = tuple[torch.Tensor, torch.Tensor]

_DATA: dict[Any, Any] = {}  # per-process cache: (loader, args, device) -> data


def load_data(task: Task, device: torch.device, train_tokens: int | None = None) -> Any:
    """The task's data on ``device``, loaded once per process."""
    args = dict(task.data_args)
    if task.kind == "lm":
        args["train_tokens"] = train_tokens
    key = (task.data, tuple(sorted((k, repr(v)) for k, v in args.items())))
    if key not in _DATA:
        _DATA[key] = resolve(task.data)(**args)
    if (key, str(device)) not in _DATA:
        _DATA[key, str(device)] = _DATA[key].to(device)
    return _DATA[key, str(device)]


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


def lm_total_steps(task: Task, total_params: int) -> int:
    """Optimizer steps of an LM task: its ``budget``, or ``tokens_per_param`` x parameters
    (all of them, at every z: every z gets the same steps) in batches of batch x context.

    >>> from frozenbench.tasks import get_task
    >>> lm_total_steps(get_task("gpt2-14m-slimpajama"), 14_583_296)  # 20 x 14.6M / 65536
    4451
    """
    if task.budget is not None:
        return task.budget
    tokens = float(task.tokens_per_param or 0.0) * total_params
    return math.ceil(tokens / (task.batch_size * int(task.data_args["context"])))


def make_optimizer(task: Task, hp: Mapping[str, Value], model: nn.Module) -> torch.optim.Optimizer:
    """The optimizer over the trainable parameters ONLY (frozen ones get no state, no update).

    Image tasks: ``adam`` (L2 weight decay, betas) or ``sgd`` (momentum = beta1, beta2 unused),
    as in the paper's code. LM tasks: AdamW, decoupled weight decay on matrices only (not on
    biases and norms), as in nanoGPT.
    """
    params = freezing.trainable_parameters(model)
    lr, wd = float(hp["lr"]), float(hp["weight_decay"])
    betas = (float(hp["beta1"]), float(hp["beta2"]))
    if task.kind == "lm":
        groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": wd},
                  {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
        return torch.optim.AdamW([g for g in groups if g["params"]], lr=lr, betas=betas)
    if hp["optimizer"] == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas, weight_decay=wd)
    if hp["optimizer"] == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=betas[0], weight_decay=wd)
    raise InvalidValueError(f"optimizer={hp['optimizer']!r}; valid: ['adam', 'sgd']")


def image_batches(data: ImageData, batch_size: int, spec: Mapping[str, float],
                  gen: torch.Generator) -> Iterator[Batch]:
    """Endless epochs: a fresh permutation each epoch, the last batch may be smaller."""
    n = len(data.train_y)
    while True:
        order = torch.randperm(n, generator=gen).to(data.train_x.device)
        for i in range(0, n, batch_size):
            idx = order[i:i + batch_size]
            yield augment(data.train_x[idx], spec, gen), data.train_y[idx]


def token_batches(data: TokenData, batch_size: int, gen: torch.Generator,
                  device: torch.device) -> Iterator[Batch]:
    """Non-overlapping windows of ``context + 1`` tokens in a seeded order: every token is seen
    once before any is seen twice (a token budget then means distinct tokens)."""
    ctx = data.context
    n_windows = (len(data.train) - 1) // ctx
    while True:
        order = torch.randperm(n_windows, generator=gen)
        for i in range(0, n_windows - batch_size + 1, batch_size):
            starts = (order[i:i + batch_size] * ctx).tolist()
            chunk = np.stack([data.train[s:s + ctx + 1] for s in starts]).astype(np.int64)
            xy = torch.from_numpy(chunk).to(device, non_blocking=True)
            yield xy[:, :-1], xy[:, 1:]


def make_batches(task: Task, data: Any, gen: torch.Generator,
                 device: torch.device) -> Iterator[Batch]:
    """The task's endless stream of training batches, drawn with ``gen``."""
    if task.kind == "image":
        return image_batches(data, task.batch_size, task.augment, gen)
    return token_batches(data, task.batch_size, gen, device)


def batch_loss(task: Task, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of a batch (float32 even under autocast)."""
    if task.kind == "lm":
        logits = model(input_ids=x, use_cache=False).logits
        return F.cross_entropy(logits.flatten(0, 1).float(), y.flatten())
    return F.cross_entropy(model(x).float(), y)


@torch.no_grad()
def evaluate(task: Task, model: nn.Module, data: Any, amp: AbstractContextManager[Any],
             device: torch.device) -> tuple[float, float]:
    """(validation loss, validation error) on the full fixed validation set; error is NaN for
    language models. Eval mode (BatchNorm running statistics), restored to train mode after."""
    model.eval()
    total_loss, wrong, count = 0.0, 0, 0
    bs = task.eval_batch_size
    if task.kind == "lm":
        ctx, n_win = data.context, data.val_tokens // data.context
        val = torch.from_numpy(data.val[:n_win * ctx + 1].astype(np.int64)).to(device)
        xs, ys = val[:-1].view(n_win, ctx), val[1:].view(n_win, ctx)
        for i in range(0, n_win, bs):
            with amp:
                logits = model(input_ids=xs[i:i + bs], use_cache=False).logits
            total_loss += F.cross_entropy(logits.flatten(0, 1).float(), ys[i:i + bs].flatten(),
                                          reduction="sum").item()
        count = n_win * ctx
        error = math.nan
    else:
        for i in range(0, len(data.val_y), bs):
            x, y = data.val_x[i:i + bs], data.val_y[i:i + bs]
            with amp:
                logits = model(x).float()
            total_loss += F.cross_entropy(logits, y, reduction="sum").item()
            wrong += int((logits.argmax(dim=1) != y).sum())
            count += len(y)
        error = wrong / count
    model.train()
    return total_loss / count, error


def measure_step(task: Task, model: nn.Module, optimizer: str, batch: Batch,
                 amp: AbstractContextManager[Any]) -> StepCost:
    """FLOPs and memory of one training step (:func:`frozenbench.costs.measure_step`), measured
    on a copy of the frozen model so that training itself is untouched (no gradients, no
    BatchNorm statistics, no random numbers consumed).

    The cell's cumulative FLOPs are ``flops`` per full batch times the samples seen / batch
    size (a smaller last batch of an epoch is counted pro rata); the CPU memory column is
    :func:`frozenbench.costs.cpu_memory_estimate` (params + grads + optimizer state + bytes
    saved for backward).
    """
    probe = copy.deepcopy(model)

    def step() -> None:
        with amp:
            loss = batch_loss(task, probe, *batch)
        loss.backward()

    with torch.random.fork_rng(devices=[]):
        return costs.measure_step(probe, step, optimizer=optimizer)


def library_versions() -> dict[str, str]:
    """Versions of everything that can change a cell's numbers."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("torch", "torchvision", "transformers", "numpy", "frozenbench"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far (Linux reports KiB, macOS bytes)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)


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
    hp = task.hyperparameters(config)
    if threads is not None:
        torch.set_num_threads(threads)
    dev = torch.device(device)
    cuda = dev.type == "cuda"
    if cuda:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True, warn_only=True)
    amp: AbstractContextManager[Any] = (
        torch.autocast("cuda", dtype=torch.bfloat16) if cuda else nullcontext()
    )

    # Model first (its size fixes an LM's token budget), seeded: initialisation is part of
    # the seed's noise. Built on the CPU, moved after the data (see `resident` below).
    torch.manual_seed(seed)
    model, unwrap = resolve(task.model)(**task.model_args)
    frozen = freezing.freeze(model, key.z, unwrap)
    if frozen.n != task.n_layers:
        raise InvalidValueError(f"{task.name}: the model splits into {frozen.n} layers, the "
                                f"task declares n={task.n_layers}")

    # Steps per evaluation point: an epoch, or the steps between evenly spaced checkpoints.
    if task.kind == "image":
        data = load_data(task, dev)
        per_epoch = math.ceil(len(data.train_y) / task.batch_size)
        ends = [per_epoch * e for e in task.fidelities.epoch]
    else:
        ctx = int(task.data_args["context"])
        total = lm_total_steps(task, frozen.total_params)
        data = load_data(task, dev, train_tokens=total * task.batch_size * ctx + 1)
        ends = [round(total * k / task.n_records) for k in range(1, task.n_records + 1)]
    total_steps = ends[-1]
    # On CUDA the dataset lives on the device; the memory column is what training adds to it.
    resident = torch.cuda.memory_allocated(dev) if cuda else 0
    model.to(dev).train()

    gen = torch.Generator().manual_seed(seed)  # data order and augmentation
    batches = make_batches(task, data, gen, dev)
    opt = make_optimizer(task, hp, model)
    warm, cool = float(hp.get("warmup_frac", 0.0)), float(hp.get("cooldown_frac", 0.0))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: lr_factor(task.schedule, s, total_steps, warm, cool))

    # Cost probe on a copy, with a batch from its own generator (training's RNG untouched).
    probe_batch = next(make_batches(task, data, torch.Generator().manual_seed(seed + 1), dev))
    t_probe = time.perf_counter()
    opt_name = "adamw" if task.kind == "lm" else str(hp["optimizer"])
    cost = measure_step(task, model, opt_name, probe_batch, amp)
    probe_s = time.perf_counter() - t_probe
    flops_per_sample = cost.flops / task.batch_size
    if cuda:
        torch.cuda.synchronize(dev)
        torch.cuda.reset_peak_memory_stats(dev)

    records: list[EpochRecord] = []
    status, step, samples, train_time, flops = "ok", 0, 0, 0.0, 0.0
    for epoch, end in zip(task.fidelities.epoch, ends):
        loss_sum = torch.zeros((), device=dev)
        n_steps = end - step
        t0 = time.perf_counter()
        for _ in range(n_steps):
            x, y = next(batches)
            with amp:
                loss = batch_loss(task, model, x, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.detach()
            bs = x.shape[0]
            samples += bs * (x.shape[1] if task.kind == "lm" else 1)
            flops += flops_per_sample * bs
            step += 1
        if cuda:
            torch.cuda.synchronize(dev)  # time the work, not the kernel launches
        train_time += time.perf_counter() - t0
        train_loss = loss_sum.item() / n_steps

        t1 = time.perf_counter()
        val_loss, val_error = evaluate(task, model, data, amp, dev)
        eval_time = time.perf_counter() - t1
        peak = int(torch.cuda.max_memory_allocated(dev)) - resident if cuda \
            else cost.memory_estimate_bytes
        records.append(EpochRecord(
            epoch=epoch, samples_seen=samples, train_loss=train_loss, val_loss=val_loss,
            val_error=val_error, train_time_s=train_time, eval_time_s=eval_time,
            peak_memory_bytes=peak, peak_rss_bytes=peak_rss_bytes(), train_flops=flops,
        ))
        if progress:
            print(f"{key} epoch {epoch}: train_loss {train_loss:.4f} val_loss {val_loss:.4f} "
                  f"val_error {val_error:.4f} time {train_time:.2f}s", file=sys.stderr)
        if not math.isfinite(train_loss):
            status = "diverged"  # a property of the config: stop here, keep what finished
            break

    return CellResult(
        key=key, config=config, n_layers=frozen.n, trainable_params=frozen.trainable_params,
        total_params=frozen.total_params,
        memory_method="cuda_max_allocated" if cuda else "cpu_tensor_estimate",
        device=torch.cuda.get_device_name(dev) if cuda else "cpu",
        versions=library_versions(), records=tuple(records), status=status,
        extra={"flops_per_step": cost.flops, "total_steps": total_steps,
               "saved_bytes_per_step": cost.saved_bytes,
               "probe_time_s": probe_s, "trainable_layers": list(frozen.trainable_layer_names),
               "threads": torch.get_num_threads()},
    )
