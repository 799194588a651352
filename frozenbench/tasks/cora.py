"""Cora as a full-batch node-classification task: the graph (features, normalised adjacency)
for the model, and fixed train / validation / test node sets for the runner.

The graph is part of a transductive model (every forward pass propagates over all 2,708
nodes), so :func:`cora_graph` is what :func:`frozenbench.tasks.gcn.gcn` builds on, and
:func:`load_cora` hands the runner only node indices and labels (an
:class:`~frozenbench.tasks.data.ImageData` whose "examples" are node ids).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from frozenbench.errors import InvalidValueError
from frozenbench.tasks.data import ImageData
from frozenbench.tasks.sources import cora, three_way_split


@dataclass(frozen=True)
class GraphTensors:
    """Node features ``(N, F)`` and the GCN's normalised adjacency as weighted directed edges
    ``src -> dst`` (both directions of every citation, plus a self loop per node), weight
    ``1 / sqrt(deg(src) deg(dst))`` with degrees counted with the self loop (Kipf & Welling)."""

    features: torch.Tensor
    src: torch.Tensor
    dst: torch.Tensor
    weight: torch.Tensor


def top_words(x: np.ndarray, n_words: int) -> np.ndarray:
    """Column indices of the ``n_words`` most frequent words (ties: the lower index first).

    >>> top_words(np.array([[1, 0, 1], [0, 0, 1], [1, 0, 1]]), 2).tolist()
    [0, 2]
    """
    if not 1 <= n_words <= x.shape[1]:
        raise InvalidValueError(f"n_words={n_words}; valid: 1..{x.shape[1]}")
    counts = x.sum(axis=0)
    order = np.lexsort((np.arange(x.shape[1]), -counts))
    return np.sort(order[:n_words])


@functools.lru_cache(maxsize=4)
def cora_graph(n_words: int = 1433) -> GraphTensors:
    """Cora's graph: the ``n_words`` most frequent word indicators of each paper, each
    standardised over the papers (binary indicators of rare words would give the input
    layer's bias more weight than the words at initialisation), and the normalised
    adjacency with self loops. Cached: the model of every cell shares one copy."""
    g = cora()
    x = g.x[:, top_words(g.x, n_words)]
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    n = len(g.y)
    loops = np.arange(n)
    src = np.concatenate([g.edges[0], g.edges[1], loops])
    dst = np.concatenate([g.edges[1], g.edges[0], loops])
    degree = np.bincount(dst, minlength=n).astype(np.float64)
    weight = 1.0 / np.sqrt(degree[src] * degree[dst])
    return GraphTensors(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(src),
                        torch.as_tensor(dst), torch.as_tensor(weight, dtype=torch.float32))


def load_cora(*, n_val: int = 800, n_test: int = 1000, n_train: int | None = None,
              split_seed: int = 0) -> ImageData:
    """Fixed, stratified, disjoint train / validation / test node sets of Cora (node ids as
    ``train_x`` etc., subjects as labels); by default every node not validating or testing
    trains."""
    g = cora()
    split = three_way_split(g.y, n_val, n_test, seed=split_seed, n_train=n_train)
    labels = torch.as_tensor(g.y, dtype=torch.long)

    def ids(idx: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(idx, dtype=torch.long)

    return ImageData(ids(split.train), labels[split.train], ids(split.val), labels[split.val],
                     num_classes=len(g.classes), test_x=ids(split.test),
                     test_y=labels[split.test])
