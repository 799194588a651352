"""Full-batch node classification: batches, loss, evaluation and optimizer of
``kind="graph"``.

One of the per-kind modules the runner dispatches to (see :mod:`frozenbench.tasks.image`).
The model is transductive (it holds the graph, see :mod:`frozenbench.tasks.gcn`) and maps node
ids to logits; the data is an :class:`~frozenbench.tasks.data.ImageData` whose examples are
node ids. One optimizer step sees every training node (the whole graph propagates once); the
task's ``budget`` is the number of steps and its records are ``n_records`` evenly spaced
checkpoints, as for a language model. There is no randomness in the batches: a seed changes
only the initialisation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import torch
from torch import nn

from frozenbench.tasks import image
from frozenbench.tasks.base import Task
from frozenbench.tasks.data import ImageData
from frozenbench.tasks.image import (
    eval_sums,
    has_test,
    held_out_metrics,
    loss,
    optimizer,
    samples,
    stack_optimizer,
    val_metrics,
)

__all__ = ["batches", "eval_sums", "evaluate", "has_test", "held_out_batches",
           "held_out_metrics", "loss", "optimizer", "record_ends", "samples", "stack_optimizer",
           "val_batches", "val_metrics"]

Batch = tuple[torch.Tensor, torch.Tensor]


def record_ends(task: Task, data: ImageData, total_params: int) -> list[int]:
    """Optimizer steps at which each checkpoint ends (evenly spaced over ``budget``).

    >>> from frozenbench.tasks import get_task
    >>> record_ends(get_task("fb-cora-gcn"), None, 0)[:3]
    [10, 20, 30]
    """
    total = int(task.budget or 0)
    return [round(total * k / task.n_records) for k in range(1, task.n_records + 1)]


def batches(task: Task, data: ImageData, gen: torch.Generator,
            device: torch.device) -> Iterator[Batch]:
    """Every step the same batch: all training nodes (already on ``device``)."""
    while True:
        yield data.train_x, data.train_y


def val_batches(task: Task, data: ImageData, device: torch.device) -> Iterator[Batch]:
    """The validation nodes, as one batch (a forward pass propagates the whole graph anyway)."""
    yield data.val_x, data.val_y


def held_out_batches(task: Task, data: ImageData, device: torch.device) -> Iterator[Batch]:
    """The held-out test nodes, as one batch (disjoint from training and validation); the
    runner asks only when :func:`has_test`."""
    if data.test_x is None or data.test_y is None:
        return
    yield data.test_x, data.test_y


def evaluate(task: Task, model: nn.Module, data: ImageData) -> tuple[float, float]:
    """(validation loss, validation error) of one model over the validation nodes: the image
    kind's evaluation with all of them in one batch."""
    return image.evaluate(replace(task, eval_batch_size=len(data.val_y)), model, data)
