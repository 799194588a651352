"""In-memory datasets handed from a task's loader to the runner.

A loader is a plain function returning :class:`ImageData` or :class:`TokenData`. The runner calls
it once per process (cached by the loader and its arguments), so a worker that trains many cells
reads, decodes and splits the data once. No DataLoader worker processes: everything is a tensor
or a numpy array in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class ImageData:
    """Labelled examples held in memory, already split: normalised images ``(N, C, H, W)`` or
    standardised table rows ``(N, F)``, float32, with integer labels. ``test_x``/``test_y`` are
    the held-out test split (disjoint from validation; ``None`` for tasks made before tables
    had a test metric): optimizers see validation, regret is reported on test."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    num_classes: int
    test_x: torch.Tensor | None = None
    test_y: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if (self.test_x is None) != (self.test_y is None):
            raise ValueError("test_x and test_y come together (both or neither)")

    def to(self, device: torch.device) -> ImageData:
        test_x = None if self.test_x is None else self.test_x.to(device)
        test_y = None if self.test_y is None else self.test_y.to(device)
        return ImageData(self.train_x.to(device), self.train_y.to(device),
                         self.val_x.to(device), self.val_y.to(device), self.num_classes,
                         test_x, test_y)


@dataclass(frozen=True)
class TokenData:
    """Token streams (1-D integer numpy arrays, possibly memory-mapped) for training,
    validation and (optionally) test; validation is scored on ``val[:n_val_windows * context +
    1]`` and test on the same length of ``test`` (disjoint from both)."""

    train: np.ndarray
    val: np.ndarray
    vocab_size: int
    context: int
    val_tokens: int
    test: np.ndarray | None = None

    def __post_init__(self) -> None:
        if len(self.train) <= self.context + 1:
            raise ValueError(f"training stream has {len(self.train)} tokens; need > context+1")
        if self.val_tokens < self.context or len(self.val) < self.val_tokens + 1:
            raise ValueError(
                f"validation stream has {len(self.val)} tokens; need val_tokens+1 = "
                f"{self.val_tokens + 1} and val_tokens >= context = {self.context}"
            )
        if self.test is not None and len(self.test) < self.val_tokens + 1:
            raise ValueError(f"test stream has {len(self.test)} tokens; need val_tokens+1 = "
                             f"{self.val_tokens + 1}")

    def to(self, device: torch.device) -> TokenData:
        return self  # batches are cut from host memory and moved per step


def normalize_images(train: torch.Tensor, val: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Scale by the training split's per-channel mean and std (no validation leakage)."""
    mean = train.mean(dim=(0, 2, 3), keepdim=True)
    std = train.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6)
    return (train - mean) / std, (val - mean) / std


def stratified_split(labels: np.ndarray, n_train: int, n_val: int,
                     seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed train/validation indices with the same class balance in both parts.

    The split depends on ``seed`` only (never on the training seed), so every cell of a table
    sees the same validation set.
    """
    labels = np.asarray(labels)
    if n_train + n_val > len(labels):
        raise ValueError(f"n_train + n_val = {n_train + n_val} > {len(labels)} examples")
    rng = np.random.default_rng(seed)
    # Shuffle within each class, then deal the classes round-robin: any prefix of `order` is
    # as balanced as the classes allow.
    rank = np.empty(len(labels), dtype=np.int64)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        rank[rng.permutation(idx)] = np.arange(len(idx))
    order = np.lexsort((rng.permutation(len(labels)), rank))
    val, train = order[:n_val], order[n_val:n_val + n_train]
    # Sorted indices: nothing downstream depends on the dealing order.
    return np.sort(train), np.sort(val)
