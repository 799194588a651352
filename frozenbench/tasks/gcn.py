"""A graph convolutional network (Kipf & Welling, 2017) in plain torch, for full-batch node
classification on one fixed graph.

Message passing is a gather of the source nodes' rows and an ``index_add`` into the
destination nodes over the graph's weighted edges (:class:`~frozenbench.tasks.cora.
GraphTensors`): about 13.3k edges on Cora instead of a dense 2,708 x 2,708 product, and both
operations run under ``torch.func.vmap``, so K stacked configs propagate at once
(:mod:`frozenbench.tasks.stacked`).

The model is transductive: the graph is a (non-persistent) buffer of the model and a forward
pass takes node ids and returns their logits after propagating over every node.
"""

from __future__ import annotations

import torch
from torch import nn

from frozenbench.tasks.cora import GraphTensors, cora_graph
from frozenbench.tasks.models import Built


class Graph(nn.Module):
    """The graph as buffers (moved with the model, shared by every stacked config)."""

    features: torch.Tensor
    src: torch.Tensor
    dst: torch.Tensor
    weight: torch.Tensor

    def __init__(self, g: GraphTensors) -> None:
        super().__init__()
        self.register_buffer("features", g.features, persistent=False)
        self.register_buffer("src", g.src, persistent=False)
        self.register_buffer("dst", g.dst, persistent=False)
        self.register_buffer("weight", g.weight.unsqueeze(1), persistent=False)

    def propagate(self, h: torch.Tensor) -> torch.Tensor:
        """``A_hat @ h``: each node's weighted sum over its neighbours and itself."""
        messages = h[self.src] * self.weight
        return torch.zeros_like(h).index_add(0, self.dst, messages)


class GraphConv(nn.Module):
    """``A_hat (h W) + b`` (one layer under the split: a leaf holding one Linear)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.linear = nn.Linear(c_in, c_out)

    def forward(self, h: torch.Tensor, graph: Graph) -> torch.Tensor:
        return graph.propagate(self.linear(h))  # type: ignore[no-any-return,unused-ignore]


class GCN(nn.Module):
    """Input projection ``relu(X W0 + b0)``, ``depth`` residual graph convolutions
    ``h + relu(A_hat h W + b)`` (the residual keeps a deep GCN from smoothing every node to
    the same vector), and a graph convolution to the classes.

    Its layers under :func:`frozenbench.freezing.split` (``unwrap={GCN}``): ``inp``, each
    block of ``convs``, ``head``: n = depth + 2. Children are registered in forward order.
    """

    def __init__(self, g: GraphTensors, hidden: int, depth: int, num_classes: int) -> None:
        super().__init__()
        self.graph = Graph(g)
        self.inp = nn.Linear(g.features.shape[1], hidden)
        self.convs = nn.ModuleList(GraphConv(hidden, hidden) for _ in range(depth))
        self.head = GraphConv(hidden, num_classes)

    def forward(self, nodes: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.inp(self.graph.features))
        for conv in self.convs:
            h = h + torch.relu(conv(h, self.graph))
        return self.head(h, self.graph)[nodes]  # type: ignore[no-any-return,unused-ignore]


def gcn(*, hidden: int, depth: int, n_words: int = 1433, num_classes: int = 7) -> Built:
    """The GCN on Cora (:func:`~frozenbench.tasks.cora.cora_graph` with ``n_words`` word
    features); n = depth + 2 layers."""
    model = GCN(cora_graph(n_words), hidden, depth, num_classes)
    return Built(model, frozenset({GCN, nn.ModuleList}))
