"""Image classification tasks: batches, loss, evaluation and optimizer of ``kind="image"``.

One of the two per-kind modules the runner dispatches to (see :mod:`frozenbench.tasks.lm`).
A record is an epoch; the data is held on the training device as contiguous tensors.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from frozenbench.errors import InvalidValueError
from frozenbench.space import Value
from frozenbench.tasks.augment import augment
from frozenbench.tasks.base import Task
from frozenbench.tasks.data import ImageData

Batch = tuple[torch.Tensor, torch.Tensor]


def record_ends(task: Task, data: ImageData, total_params: int) -> list[int]:
    """Optimizer steps at which each record (an epoch) ends."""
    per_epoch = math.ceil(len(data.train_y) / task.batch_size)
    return [per_epoch * e for e in task.fidelities.epoch]


def batches(task: Task, data: ImageData, gen: torch.Generator,
            device: torch.device) -> Iterator[Batch]:
    """Endless epochs: a fresh permutation each epoch, the last batch may be smaller. The
    images already live on ``device``."""
    n, bs = len(data.train_y), task.batch_size
    while True:
        order = torch.randperm(n, generator=gen).to(device)
        for i in range(0, n, bs):
            idx = order[i:i + bs]
            x = data.train_x[idx]
            yield (augment(x, task.augment, gen) if task.augment else x), data.train_y[idx]


def samples(x: torch.Tensor) -> int:
    """Samples a batch counts: images."""
    return int(x.shape[0])


def loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of a batch (float32 even under autocast)."""
    return F.cross_entropy(model(x).float(), y)


def evaluate(task: Task, model: nn.Module, data: ImageData) -> tuple[float, float]:
    """(validation loss, validation error) over the whole fixed validation set."""
    total, wrong = 0.0, 0
    bs = task.eval_batch_size
    for i in range(0, len(data.val_y), bs):
        x, y = data.val_x[i:i + bs], data.val_y[i:i + bs]
        logits = model(x).float()
        total += float(F.cross_entropy(logits, y, reduction="sum"))
        wrong += int((logits.argmax(dim=1) != y).sum())
    n = len(data.val_y)
    return total / n, wrong / n


def optimizer(hp: Mapping[str, Value], params: list[nn.Parameter]) -> torch.optim.Optimizer:
    """``adam`` (L2 weight decay, betas) or ``sgd`` (momentum = beta1), as in the paper's code."""
    lr, wd = float(hp["lr"]), float(hp.get("weight_decay", 0.0))
    beta1 = float(hp.get("beta1", 0.9))
    if hp["optimizer"] == "adam":
        betas = (beta1, float(hp.get("beta2", 0.999)))
        return torch.optim.Adam(params, lr=lr, betas=betas, weight_decay=wd)
    if hp["optimizer"] == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=beta1, weight_decay=wd)
    raise InvalidValueError(f"optimizer={hp['optimizer']!r}; valid: ['adam', 'sgd']")
