"""Models for tables of standardised features: an MLP and a ResNet-style MLP.

Both are an ``nn.Sequential`` of leaf blocks, so :func:`frozenbench.freezing.split` needs no
unwrap or merge and each block is one layer: an input layer, ``n - 2`` hidden (or residual)
blocks and a head, ``n`` layers in all. Their width is a builder argument, so a task may search
it (declared in the task's ``stack_by``: configs of one width stack together).

Normalisation is LayerNorm: it has no buffers, so the stacked runner copies no running
statistics per config and a cell's evaluation does not depend on the statistics of its last
training batches (BatchNorm's would). Its speed against BatchNorm was not measured.

>>> from frozenbench import freezing
>>> built = mlp(in_features=16, num_classes=3, n_layers=6, width=32)
>>> len(freezing.split(built.model))
6
>>> built = resmlp(in_features=16, num_classes=3, n_layers=6, width=32)
>>> [layer.name for layer in freezing.split(built.model)]
['0', '1', '2', '3', '4', '5']
"""

from __future__ import annotations

import torch
from torch import nn

from frozenbench.errors import InvalidValueError
from frozenbench.tasks.models import Built


class DenseBlock(nn.Module):
    """Linear, then LayerNorm (or nothing), then ReLU: one layer under the split."""

    def __init__(self, d_in: int, d_out: int, norm: bool = True) -> None:
        super().__init__()
        self.linear = nn.Linear(d_in, d_out)
        self.norm: nn.Module = nn.LayerNorm(d_out) if norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.norm(self.linear(x)))


class ResidualBlock(nn.Module):
    """Gorishniy et al. (2021)'s ResNet block for tables, ``x + Linear(ReLU(Linear(Norm(x))))``
    with a hidden width of ``expand x width`` (no dropout: a per-config dropout would make the
    stacked cells draw from one another's random stream)."""

    def __init__(self, width: int, expand: int = 2) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.up = nn.Linear(width, expand * width)
        self.down = nn.Linear(expand * width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.down(torch.relu(self.up(self.norm(x))))


class Head(nn.Module):
    """The ResNet's head: LayerNorm, ReLU, Linear to the class logits (one layer)."""

    def __init__(self, width: int, num_classes: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.linear = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(torch.relu(self.norm(x)))  # type: ignore[no-any-return,unused-ignore]


def _check(n_layers: int, width: int) -> None:
    if n_layers < 3 or width < 1:
        raise InvalidValueError(f"n_layers={n_layers}, width={width}: a tabular model has "
                                "n_layers >= 3 (input, hidden, head) and width >= 1")


def mlp(*, in_features: int, num_classes: int, n_layers: int, width: int,
        norm: bool = True) -> Built:
    """An MLP of ``n_layers`` layers: an input :class:`DenseBlock`, ``n_layers - 2`` hidden
    ones of ``width`` units, and a linear head.

    >>> import torch
    >>> mlp(in_features=5, num_classes=4, n_layers=4, width=8).model(torch.zeros(2, 5)).shape
    torch.Size([2, 4])
    """
    _check(n_layers, width)
    layers: list[nn.Module] = [DenseBlock(in_features, width, norm)]
    layers += [DenseBlock(width, width, norm) for _ in range(n_layers - 2)]
    layers.append(nn.Linear(width, num_classes))
    return Built(nn.Sequential(*layers))


def resmlp(*, in_features: int, num_classes: int, n_layers: int, width: int,
           expand: int = 2) -> Built:
    """A ResNet-MLP of ``n_layers`` layers (Gorishniy et al. 2021): a linear input projection
    to ``width``, ``n_layers - 2`` :class:`ResidualBlock` s, and a :class:`Head`.

    >>> import torch
    >>> resmlp(in_features=5, num_classes=4, n_layers=4, width=8).model(torch.zeros(2, 5)).shape
    torch.Size([2, 4])
    """
    _check(n_layers, width)
    layers: list[nn.Module] = [nn.Linear(in_features, width)]
    layers += [ResidualBlock(width, expand) for _ in range(n_layers - 2)]
    layers.append(Head(width, num_classes))
    return Built(nn.Sequential(*layers))
