"""Image classification tasks: batches, loss, evaluation and optimizer of ``kind="image"``.

One of the two per-kind modules the runner dispatches to (see :mod:`frozenbench.tasks.lm`).
A record is an epoch; the data is held on the training device as contiguous tensors. Validation
and the held-out test split (where the data has one) are scored the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping

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


def loss(model: Callable[..., torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of a batch (float32 even under autocast)."""
    return F.cross_entropy(model(x).float(), y)


def val_batches(task: Task, data: ImageData, device: torch.device) -> Iterator[Batch]:
    """The fixed validation set in batches of ``eval_batch_size`` (already on ``device``)."""
    bs = task.eval_batch_size
    for i in range(0, len(data.val_y), bs):
        yield data.val_x[i:i + bs], data.val_y[i:i + bs]


def has_test(data: ImageData) -> bool:
    """Whether the data holds a held-out test split."""
    return data.test_x is not None


def held_out_batches(task: Task, data: ImageData, device: torch.device) -> Iterator[Batch]:
    """The held-out test set in batches of ``eval_batch_size``, as :func:`val_batches`."""
    if data.test_x is None or data.test_y is None:
        raise InvalidValueError("this task's data has no test split (see has_test)")
    bs = task.eval_batch_size
    for i in range(0, len(data.test_y), bs):
        yield data.test_x[i:i + bs], data.test_y[i:i + bs]


def eval_sums(model: Callable[..., torch.Tensor], x: torch.Tensor,
              y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed cross-entropy and number of misclassified images of one validation batch."""
    logits = model(x).float()
    return F.cross_entropy(logits, y, reduction="sum"), (logits.argmax(dim=1) != y).sum()


def val_metrics(loss_sum: float, wrong: float, data: ImageData) -> tuple[float, float]:
    """(validation loss, validation error) from the sums over the whole validation set."""
    n = len(data.val_y)
    return loss_sum / n, wrong / n


def held_out_metrics(loss_sum: float, wrong: float, data: ImageData) -> tuple[float, float]:
    """(test loss, test error) from the sums over the whole test set."""
    n = len(data.test_y) if data.test_y is not None else 0
    return loss_sum / n, wrong / n


def evaluate(task: Task, model: nn.Module, data: ImageData) -> tuple[float, float]:
    """(validation loss, validation error) of one model over the whole fixed validation set."""
    total, wrong = 0.0, 0.0
    for x, y in val_batches(task, data, data.val_y.device):
        loss_sum, n_wrong = eval_sums(model, x, y)
        total, wrong = total + float(loss_sum), wrong + float(n_wrong)
    return val_metrics(total, wrong, data)


def stack_optimizer(hp: Mapping[str, Value]) -> str:
    """The optimizer a config trains with (configs are stacked per optimizer): the config's
    ``optimizer``, ``adam`` (L2 weight decay, betas) or ``sgd`` (momentum = beta1)."""
    name = str(hp["optimizer"])
    if name not in ("adam", "sgd"):
        raise InvalidValueError(f"optimizer={name!r}; valid: ['adam', 'sgd']")
    return name


def optimizer(hp: Mapping[str, Value], params: list[nn.Parameter]) -> torch.optim.Optimizer:
    """``adam`` (L2 weight decay, betas) or ``sgd`` (momentum = beta1), as in the paper's code:
    the torch.optim reference of :class:`frozenbench.tasks.stacked.StackedOptimizer`."""
    lr, wd = float(hp["lr"]), float(hp.get("weight_decay", 0.0))
    beta1 = float(hp.get("beta1", 0.9))
    if hp["optimizer"] == "adam":
        betas = (beta1, float(hp.get("beta2", 0.999)))
        return torch.optim.Adam(params, lr=lr, betas=betas, weight_decay=wd)
    if hp["optimizer"] == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=beta1, weight_decay=wd)
    raise InvalidValueError(f"optimizer={hp['optimizer']!r}; valid: ['adam', 'sgd']")
