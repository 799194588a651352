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
         embeddings_join_first_block: bool = False, eager_attention: bool = False,
         initializer_range: float = 0.02) -> Built:
    """A transformers ``GPT2LMHeadModel`` without dropout and with an untied output head.

    No dropout and exact GELU: like LitGPT's Pythia configs (the paper's framework); dropout
    would dominate CPU step time, and GPT-2's tanh-approximated GELU costs ~18% more CPU time
    per step than the exact one at the kjv-gpt2 size.
    Untied head: the paper's 14M parameter count (d=128, vocab 50257) only adds up with a
    separate head, and tying would make the input embedding and the head one layer.

    ``embeddings_join_first_block``: with a byte vocabulary, freezing only the embeddings saves
    ~0.05% of a step's FLOPs: a fidelity level that costs the same as full training. Joined
    with the first block, n = n_layer + 1 (otherwise the preset's n_layer + 2).

    ``eager_attention``: plain matrix products instead of the fused attention kernel, for
    which ``torch.func.vmap`` (the stacked runner) has no batching rule on the CPU, so it runs
    one config at a time (the shipped kjv-gpt2 table keeps the default).

    ``initializer_range``: the standard deviation of the weights at initialisation (GPT-2's
    0.02 by default); as for :func:`llama`, a tiny model learns faster in few steps from a
    wider one.
    """
    transformers = require("transformers")
    config = transformers.GPT2Config(
        initializer_range=initializer_range,
        vocab_size=vocab_size, n_positions=n_positions, n_embd=n_embd, n_layer=n_layer,
        n_head=n_head, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
        activation_function="gelu",
        tie_word_embeddings=False,
        # GPT-2's end-of-text id (50256) does not exist in a byte vocabulary.
        bos_token_id=min(50256, vocab_size - 1), eos_token_id=min(50256, vocab_size - 1),
    )
    if eager_attention:
        config._attn_implementation = "eager"
    model = transformers.GPT2LMHeadModel(config)
    if not embeddings_join_first_block:
        return Built(model)
    merge = (("transformer.wte", "transformer.wpe", "transformer.h.0"),
             ("transformer.ln_f", "lm_head"))
    return Built(model, merge=merge)


def vit(*, image_size: int, patch_size: int, num_layers: int, num_heads: int, hidden_dim: int,
        mlp_dim: int, in_channels: int = 1, num_classes: int = 10,
        stem_joins_first_block: bool = False) -> Built:
    """torchvision's ``VisionTransformer`` (class token, learned position embedding, pre-norm
    encoder blocks, no dropout) with a patch projection for ``in_channels`` channels.

    Split by the library's ViT preset: ``conv_proj`` with the class token, each encoder block
    (the first with the position embedding), the final norm with the head:
    n = ``num_layers`` + 2.

    ``stem_joins_first_block``: with one input channel, training the patch projection on top of
    every block adds under 1% of a step's FLOPs: a fidelity level that costs the same as full
    training. Joined with the first block (class token, position embedding and all),
    n = ``num_layers`` + 1.
    """
    tv = require("torchvision.models")
    model = tv.VisionTransformer(image_size=image_size, patch_size=patch_size,
                                 num_layers=num_layers, num_heads=num_heads,
                                 hidden_dim=hidden_dim, mlp_dim=mlp_dim, num_classes=num_classes)
    if in_channels != 3:
        # Re-initialised as torchvision initialises its own patch projection.
        conv = nn.Conv2d(in_channels, hidden_dim, kernel_size=patch_size, stride=patch_size)
        fan_in = in_channels * patch_size * patch_size
        nn.init.trunc_normal_(conv.weight, std=(1.0 / fan_in) ** 0.5)
        if conv.bias is not None:
            nn.init.zeros_(conv.bias)
        model.conv_proj = conv
    if not stem_joins_first_block:
        return Built(model)
    return Built(model, merge=(("conv_proj", "encoder.layers.encoder_layer_0"),
                               ("encoder.ln", "heads")))


class ConvBlock1d(nn.Module):
    """Conv1d (no bias), BatchNorm1d and ReLU: one layer under the split (it is a leaf)."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, stride: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, kernel_size, stride=stride,
                              padding=kernel_size // 2, bias=False)
        self.bn = nn.BatchNorm1d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(x)))


def cnn1d(*, channels: Sequence[int], kernel_size: int = 5, strides: Sequence[int] | None = None,
          in_channels: int = 1, num_classes: int = 10) -> Built:
    """A plain 1-D CNN for sequences ``(N, C, L)``: one :class:`ConvBlock1d` per entry of
    ``channels`` (stride from ``strides``, default 1), global average pooling, a linear head.

    An ``nn.Sequential`` of leaves: n = len(channels) + 1 without any unwrap or merge.
    """
    strides = strides or [1] * len(channels)
    layers: list[nn.Module] = []
    c = in_channels
    for w, s in zip(channels, strides, strict=True):
        layers.append(ConvBlock1d(c, w, kernel_size, s))
        c = w
    layers += [nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(c, num_classes)]
    return Built(nn.Sequential(*layers))


def llama(*, vocab_size: int, hidden_size: int, intermediate_size: int, num_hidden_layers: int,
          num_attention_heads: int, max_position_embeddings: int,
          embeddings_join_first_block: bool = False, initializer_range: float = 0.02) -> Built:
    """A transformers ``LlamaForCausalLM`` (RMSNorm, rotary position embeddings, SwiGLU MLP),
    untied output head, no dropout, no biases, eager attention.

    Split by the library's Llama preset: ``embed_tokens``, each decoder layer, the final norm
    with the head: n = ``num_hidden_layers`` + 2. ``embeddings_join_first_block``: with a byte
    vocabulary freezing only the embeddings saves almost nothing (a fidelity level that costs
    what full training costs), so they join the first decoder layer: n = num_hidden_layers + 1.
    ``initializer_range``: the standard deviation of every weight matrix at initialisation
    (transformers' default 0.02 suits widths in the thousands; near 1/sqrt(hidden_size) a
    narrow model's frozen layers transform their input instead of passing it on almost unchanged).
    """
    transformers = require("transformers")
    config = transformers.LlamaConfig(
        vocab_size=vocab_size, hidden_size=hidden_size, intermediate_size=intermediate_size,
        num_hidden_layers=num_hidden_layers, num_attention_heads=num_attention_heads,
        num_key_value_heads=num_attention_heads, max_position_embeddings=max_position_embeddings,
        hidden_act="silu", attention_dropout=0.0, tie_word_embeddings=False,
        initializer_range=initializer_range,
        bos_token_id=None, eos_token_id=None, pad_token_id=None,
        # Eager attention: at a context of tens of bytes the fused CPU kernels cost more
        # than the plain matrix products.
        attn_implementation="eager",
    )
    model = transformers.LlamaForCausalLM(config)
    if not embeddings_join_first_block:
        return Built(model)
    merge = (("model.embed_tokens", "model.layers.0"), ("model.norm", "lm_head"))
    return Built(model, merge=merge)
