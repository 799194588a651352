"""CIFAR-100 through torchvision (downloaded on first use), with the paper's fixed 45k/5k split."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from frozenbench.extras import require
from frozenbench.tasks.data import ImageData, normalize_images, stratified_split


def data_root() -> Path:
    """Where datasets are downloaded: ``$FROZENBENCH_DATA`` or ``~/.cache/frozenbench/data``."""
    env = os.environ.get("FROZENBENCH_DATA")
    return Path(env) if env else Path.home() / ".cache" / "frozenbench" / "data"


def load_cifar100(*, n_val: int = 5000, split_seed: int = 0, root: str | None = None,
                  dataset: Any = None) -> ImageData:
    """The CIFAR-100 *training* set split into ``50000 - n_val`` / ``n_val`` (stratified, fixed
    by ``split_seed``); the official test set stays untouched.

    ``dataset`` injects a stand-in with torchvision's ``.data`` (N, H, W, 3 uint8) and
    ``.targets`` (tests run offline); by default torchvision downloads the real one.
    """
    if dataset is None:
        datasets = require("torchvision.datasets")
        dataset = datasets.CIFAR100(str(root or data_root()), train=True, download=True)
    images = np.asarray(dataset.data, dtype=np.uint8)
    labels = np.asarray(dataset.targets, dtype=np.int64)
    train_idx, val_idx = stratified_split(labels, len(labels) - n_val, n_val, split_seed)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float().div_(255.0)
    train_x, val_x = normalize_images(x[train_idx], x[val_idx])
    y = torch.from_numpy(labels)
    return ImageData(train_x.contiguous(), y[train_idx], val_x.contiguous(), y[val_idx],
                     num_classes=100)
