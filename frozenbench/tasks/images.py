"""Image classification data of the suite with a held-out test split: Fashion-MNIST and
OpenCV's digits (offline sources, :mod:`frozenbench.tasks.sources`), subsampled and
average-pooled to a small size so that a cell costs a fraction of a CPU second.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from frozenbench.errors import unknown_name
from frozenbench.tasks import sources
from frozenbench.tasks.data import ImageData

#: The image sources a suite task may name.
IMAGE_SOURCES = ("fashion-mnist", "opencv-digits")


def labelled_images(labelled: sources.Labelled, *, n_train: int, n_val: int, n_test: int,
                    size: int, split_seed: int) -> ImageData:
    """A fixed stratified train / validation / test split of ``labelled`` images
    ``(N, H, W)``, average-pooled to ``size`` x ``size`` and normalised by the training
    split's mean and standard deviation (no leakage from validation or test)."""
    split = sources.three_way_split(labelled.y, n_val, n_test, seed=split_seed,
                                    n_train=n_train)
    x = torch.as_tensor(labelled.x).unsqueeze(1)
    labels = torch.as_tensor(labelled.y, dtype=torch.long)

    def part(idx: np.ndarray) -> torch.Tensor:
        images = x[torch.as_tensor(idx)]
        return F.adaptive_avg_pool2d(images, size) if images.shape[-1] != size else images

    train, val, test = part(split.train), part(split.val), part(split.test)
    mean, std = train.mean(), train.std().clamp_min(1e-6)

    def norm(t: torch.Tensor) -> torch.Tensor:
        return ((t - mean) / std).contiguous()

    return ImageData(norm(train), labels[split.train], norm(val), labels[split.val],
                     num_classes=len(labelled.classes), test_x=norm(test),
                     test_y=labels[split.test])


def load_images(*, source: str, n_train: int, n_val: int, n_test: int, size: int,
                split_seed: int = 0) -> ImageData:
    """The image source ``source`` (one of :data:`IMAGE_SOURCES`) split and pooled by
    :func:`labelled_images`."""
    if source not in IMAGE_SOURCES:
        raise unknown_name("image source", source, IMAGE_SOURCES)
    return labelled_images(sources.read(source), n_train=n_train, n_val=n_val, n_test=n_test,
                           size=size, split_seed=split_seed)
