"""Model builders. Each returns a :class:`Built`: the model and how
:func:`frozenbench.freezing.split` cuts it into layers (classes to descend into and groups of
modules that form one layer; ``None``: the library's preset for the model's class).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from frozenbench.extras import require


@dataclass(frozen=True)
class Built:
    """A freshly initialised model and the arguments of its layer split."""

    model: nn.Module
    unwrap: frozenset[type[nn.Module]] | None = None
    merge: tuple[tuple[str, ...], ...] | None = None


class SmallResNet(nn.Module):
    """A ResNet for small images: stem conv+bn, ``depth`` BasicBlocks per width (a stage),
    pooling, fc. ``depth=2`` with four widths is ResNet-18's topology.

    Under ``split(model, unwrap={SmallResNet})`` its layers are conv1, bn1, one layer per block
    and fc: n = depth * len(widths) + 3. The children are registered in forward order so that
    the split (which follows registration order) matches the data flow.
    """

    def __init__(self, widths: Sequence[int] = (16, 32, 64), in_channels: int = 1,
                 num_classes: int = 10, depth: int = 1) -> None:
        super().__init__()
        basic_block = require("torchvision.models.resnet").BasicBlock
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU()
        blocks, c = [], widths[0]
        for i, w in enumerate(widths):
            for j in range(depth):
                # Halve the resolution at the first block of every stage but the first.
                stride = 2 if i > 0 and j == 0 else 1
                down = None
                if stride != 1 or c != w:
                    down = nn.Sequential(nn.Conv2d(c, w, 1, stride=stride, bias=False),
                                         nn.BatchNorm2d(w))
                blocks.append(basic_block(c, w, stride=stride, downsample=down))
                c = w
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.blocks(x)
        return self.fc(self.flatten(self.pool(x)))  # type: ignore[no-any-return,unused-ignore]


def small_resnet(*, widths: Sequence[int] = (16, 32, 64), in_channels: int = 1,
                 num_classes: int = 10, depth: int = 1, stem_layer: bool = False) -> Built:
    """The CPU-scale ResNet; n = depth * len(widths) + 3 layers, or one fewer with
    ``stem_layer``: conv1 and bn1 form one layer. On a 1-channel input freezing conv1 alone
    saves ~0.6% of a step's FLOPs: a fidelity level that costs what the next one costs."""
    merge = (("conv1", "bn1"),) if stem_layer else None
    return Built(SmallResNet(widths, in_channels, num_classes, depth), frozenset({SmallResNet}),
                 merge)


def torchvision_resnet18(*, num_classes: int = 100, cifar_stem: bool = False) -> Built:
    """torchvision's ResNet-18 (n=11 under the library preset).

    ``cifar_stem=True`` swaps the 7x7/2 stem and max-pool for a 3x3/1 conv (common for 32x32
    inputs); the paper's code is not public in that detail, so the default is the standard
    model.
    """
    model = require("torchvision.models").resnet18(weights=None, num_classes=num_classes)
    if cifar_stem:
        model.conv1 = nn.Conv2d(3, 64, 3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    return Built(model)


def gpt2(*, vocab_size: int, n_positions: int, n_embd: int, n_layer: int, n_head: int,
         embeddings_join_first_block: bool = False) -> Built:
    """A transformers ``GPT2LMHeadModel`` without dropout and with an untied output head.

    No dropout and exact GELU: like LitGPT's Pythia configs (the paper's framework); dropout
    would dominate CPU step time, and GPT-2's tanh-approximated GELU costs ~18% more CPU time
    per step than the exact one at the kjv-gpt2 size.
    Untied head: the paper's 14M parameter count (d=128, vocab 50257) only adds up with a
    separate head, and tying would make the input embedding and the head one layer.

    ``embeddings_join_first_block``: with a byte vocabulary, freezing only the embeddings saves
    ~0.05% of a step's FLOPs: a fidelity level that costs the same as full training. Joined
    with the first block, n = n_layer + 1 (otherwise the preset's n_layer + 2).
    """
    transformers = require("transformers")
    config = transformers.GPT2Config(
        vocab_size=vocab_size, n_positions=n_positions, n_embd=n_embd, n_layer=n_layer,
        n_head=n_head, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
        activation_function="gelu",
        tie_word_embeddings=False,
        # GPT-2's end-of-text id (50256) does not exist in a byte vocabulary.
        bos_token_id=min(50256, vocab_size - 1), eos_token_id=min(50256, vocab_size - 1),
    )
    model = transformers.GPT2LMHeadModel(config)
    if not embeddings_join_first_block:
        return Built(model)
    merge = (("transformer.wte", "transformer.wpe", "transformer.h.0"),
             ("transformer.ln_f", "lm_head"))
    return Built(model, merge=merge)
