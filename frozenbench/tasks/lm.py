"""Language-model tasks: batches, loss, evaluation and optimizer of ``kind="lm"``.

One of the two per-kind modules the runner dispatches to (see :mod:`frozenbench.tasks.image`).
A record is a checkpoint: ``n_records`` evenly spaced points of the step budget.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from frozenbench.errors import InvalidValueError
from frozenbench.space import Value
from frozenbench.tasks.base import Task
from frozenbench.tasks.data import TokenData

Batch = tuple[torch.Tensor, torch.Tensor]


def total_steps(task: Task, total_params: int) -> int:
    """Optimizer steps: the task's ``budget``, or ``tokens_per_param`` x parameters (all of
    them, at every z: every z gets the same steps) in batches of batch x context.

    >>> from frozenbench.tasks import get_task
    >>> total_steps(get_task("gpt2-14m-slimpajama"), 14_583_296)  # 20 x 14.6M / 65536
    4451
    """
    if task.budget is not None:
        return task.budget
    tokens = float(task.tokens_per_param or 0.0) * total_params
    return math.ceil(tokens / (task.batch_size * int(task.data_args["context"])))


def train_tokens(task: Task, total_params: int) -> int:
    """Tokens the loader must provide for the whole budget (+1 for the last target)."""
    return total_steps(task, total_params) * task.batch_size * int(task.data_args["context"]) + 1


def record_ends(task: Task, data: TokenData, total_params: int) -> list[int]:
    """Optimizer steps at which each checkpoint ends (evenly spaced)."""
    total = total_steps(task, total_params)
    return [round(total * k / task.n_records) for k in range(1, task.n_records + 1)]


def batches(task: Task, data: TokenData, gen: torch.Generator,
            device: torch.device) -> Iterator[Batch]:
    """Non-overlapping windows of ``context + 1`` tokens in a seeded order: every token is seen
    once before any is seen twice (a token budget then means distinct tokens). The windows
    are a strided view of the stream, gathered with one ``take`` per batch."""
    ctx, bs = data.context, task.batch_size
    n_windows = (len(data.train) - 1) // ctx
    windows = np.lib.stride_tricks.as_strided(
        data.train, shape=(n_windows, ctx + 1),
        strides=(ctx * data.train.strides[0], data.train.strides[0]), writeable=False)
    while True:
        order = torch.randperm(n_windows, generator=gen).numpy()
        for i in range(0, n_windows - bs + 1, bs):
            chunk = np.take(windows, order[i:i + bs], axis=0).astype(np.int64)
            xy = torch.from_numpy(chunk).to(device, non_blocking=True)
            yield xy[:, :-1], xy[:, 1:]


def samples(x: torch.Tensor) -> int:
    """Samples a batch counts: tokens."""
    return int(x.numel())


def loss(model: Callable[..., Any], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy of a batch (float32 even under autocast)."""
    logits = model(input_ids=x, use_cache=False).logits
    return F.cross_entropy(logits.flatten(0, 1).float(), y.flatten())


def val_batches(task: Task, data: TokenData, device: torch.device) -> Iterator[Batch]:
    """The fixed validation windows (``val_tokens // context`` of them) in batches of
    ``eval_batch_size``."""
    return _windows(task, data, data.val, device)


def has_test(data: TokenData) -> bool:
    """Whether the data holds a held-out test stream."""
    return data.test is not None


def held_out_batches(task: Task, data: TokenData, device: torch.device) -> Iterator[Batch]:
    """The held-out test windows: as many as validation's, from the start of the test stream."""
    if data.test is None:
        raise InvalidValueError("this task's data has no test stream (see has_test)")
    return _windows(task, data, data.test, device)


def _windows(task: Task, data: TokenData, stream: np.ndarray,
             device: torch.device) -> Iterator[Batch]:
    ctx, n_win = data.context, data.val_tokens // data.context
    tokens = torch.from_numpy(np.asarray(stream[:n_win * ctx + 1], dtype=np.int64)).to(device)
    xs, ys = tokens[:-1].view(n_win, ctx), tokens[1:].view(n_win, ctx)
    for i in range(0, n_win, task.eval_batch_size):
        yield xs[i:i + task.eval_batch_size], ys[i:i + task.eval_batch_size]


def eval_sums(model: Callable[..., Any], x: torch.Tensor,
              y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed next-token cross-entropy of one validation batch, and 0 (no error rate)."""
    logits = model(input_ids=x, use_cache=False).logits
    loss_sum = F.cross_entropy(logits.flatten(0, 1).float(), y.flatten(), reduction="sum")
    return loss_sum, torch.zeros_like(loss_sum)


def val_metrics(loss_sum: float, wrong: float, data: TokenData) -> tuple[float, float]:
    """(validation loss per token, NaN): a language model has no error rate."""
    return loss_sum / ((data.val_tokens // data.context) * data.context), math.nan


def held_out_metrics(loss_sum: float, wrong: float, data: TokenData) -> tuple[float, float]:
    """(test loss per token, NaN): scored on as many tokens as validation."""
    return val_metrics(loss_sum, wrong, data)


def evaluate(task: Task, model: nn.Module, data: TokenData) -> tuple[float, float]:
    """(validation loss per token, NaN) of one model."""
    device = next(model.parameters()).device
    total = 0.0
    for x, y in val_batches(task, data, device):
        total += float(eval_sums(model, x, y)[0])
    return val_metrics(total, 0.0, data)


def stack_optimizer(hp: Mapping[str, Value]) -> str:
    """Every language-model config trains with AdamW (one stack per seed and z)."""
    return "adamw"


def optimizer(hp: Mapping[str, Value], params: list[nn.Parameter]) -> torch.optim.Optimizer:
    """AdamW with decoupled weight decay on matrices only (not biases and norms), as nanoGPT:
    the torch.optim reference of :class:`frozenbench.tasks.stacked.StackedOptimizer`."""
    wd = float(hp.get("weight_decay", 0.0))
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": wd},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    betas = (float(hp.get("beta1", 0.9)), float(hp.get("beta2", 0.999)))
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=float(hp["lr"]), betas=betas)
