"""Model builders. Each returns ``(model, unwrap)``: the model and the set of classes that
:func:`frozenbench.freezing.split` must descend into (``None``: use the library's presets).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from frozenbench.extras import require

Built = tuple[nn.Module, set[type[nn.Module]] | None]


class SmallResNet(nn.Module):
    """A ResNet for small images: stem conv+bn, one BasicBlock per width, pooling, fc.

    Under ``split(model, unwrap={SmallResNet})`` its layers are conv1, bn1, one layer per block
    and fc: n = len(widths) + 3. The children are registered in forward order so that the
    split (which follows registration order) matches the data flow.
    """

    def __init__(self, widths: Sequence[int] = (16, 32, 64), in_channels: int = 1,
                 num_classes: int = 10) -> None:
        super().__init__()
        basic_block = require("torchvision.models.resnet").BasicBlock
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU()
        blocks, c = [], widths[0]
        for i, w in enumerate(widths):
            stride = 1 if i == 0 else 2  # halve the resolution from the second block on
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
                 num_classes: int = 10) -> Built:
    """The CPU-scale ResNet; n = len(widths) + 3 layers."""
    return SmallResNet(widths, in_channels, num_classes), {SmallResNet}


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
    return model, None


def gpt2(*, vocab_size: int, n_positions: int, n_embd: int, n_layer: int, n_head: int) -> Built:
    """A transformers ``GPT2LMHeadModel`` without dropout and with an untied output head.

    No dropout and exact GELU: like LitGPT's Pythia configs (the paper's framework); dropout
    would dominate CPU step time, and GPT-2's tanh-approximated GELU costs ~18% more CPU time
    per step than the exact one at the kjv-gpt2 size.
    Untied head: the paper's 14M parameter count (d=128, vocab 50257) only adds up with a
    separate head, and tying would make the input embedding and the head one layer.
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
    return model, None
