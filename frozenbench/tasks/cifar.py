"""CIFAR-100 through torchvision, with the paper's fixed 45k/5k split.

The archive is downloaded once, by :func:`prefetch_cifar100` (run by
:mod:`frozenbench.tasks.prefetch` before any job starts), into a temporary folder that is moved
into place with ``os.replace``: parallel jobs never see a half-extracted dataset. The loader the
workers call never downloads; a missing dataset raises
:class:`~frozenbench.errors.DataNotPrefetchedError` naming the prefetch command.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from frozenbench.errors import DataNotPrefetchedError
from frozenbench.extras import require
from frozenbench.tasks.data import ImageData, normalize_images, stratified_split
from frozenbench.tasks.prefetch import prefetch_hint

#: The folder torchvision extracts CIFAR-100 into (under the data root).
CIFAR100_FOLDER = "cifar-100-python"


def data_root() -> Path:
    """Where datasets are cached: ``$FROZENBENCH_DATA`` or ``~/.cache/frozenbench/data``.

    On a cluster, point it at a filesystem that every node sees.
    """
    env = os.environ.get("FROZENBENCH_DATA")
    return Path(env) if env else Path.home() / ".cache" / "frozenbench" / "data"


def _torchvision_download(folder: Path) -> None:
    require("torchvision.datasets").CIFAR100(str(folder), train=True, download=True)


def prefetch_cifar100(*, n_val: int = 5000, split_seed: int = 0, root: str | None = None,
                      dataset: Any = None,
                      download: Callable[[Path], None] | None = None) -> list[Path]:
    """Download CIFAR-100 once into ``root`` (default :func:`data_root`), atomically; returns
    the dataset folder (nothing when it is already there, or when ``dataset`` is injected).

    ``download(folder)`` must leave torchvision's ``cifar-100-python/`` in ``folder`` (default:
    torchvision's checked download); tests inject a stand-in. Same arguments as
    :func:`load_cifar100` otherwise.
    """
    if dataset is not None:
        return []
    base = Path(root) if root else data_root()
    final = base / CIFAR100_FOLDER
    if final.is_dir():
        return [final]
    base.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".cifar100-", dir=base))
    try:
        (download or _torchvision_download)(tmp)
        try:
            os.replace(tmp / CIFAR100_FOLDER, final)  # atomic on one filesystem
        except OSError:
            if not final.is_dir():  # not a concurrent prefetch that won the race
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # the archive and any leftovers
    return [final]


def load_cifar100(*, n_val: int = 5000, split_seed: int = 0, root: str | None = None,
                  dataset: Any = None) -> ImageData:
    """The CIFAR-100 *training* set split into ``50000 - n_val`` / ``n_val`` (stratified, fixed
    by ``split_seed``); the official test set stays untouched.

    ``dataset`` injects a stand-in with torchvision's ``.data`` (N, H, W, 3 uint8) and
    ``.targets`` (tests run offline); by default torchvision reads the prefetched copy under
    ``root`` and never downloads.
    """
    if dataset is None:
        base = Path(root) if root else data_root()
        if not (base / CIFAR100_FOLDER).is_dir():
            raise DataNotPrefetchedError(
                f"CIFAR-100 is not in the cache: no {base / CIFAR100_FOLDER}. Workers never "
                f"download; {prefetch_hint('resnet18-cifar100')}"
            )
        datasets = require("torchvision.datasets")
        dataset = datasets.CIFAR100(str(base), train=True, download=False)
    images = np.asarray(dataset.data, dtype=np.uint8)
    labels = np.asarray(dataset.targets, dtype=np.int64)
    train_idx, val_idx = stratified_split(labels, len(labels) - n_val, n_val, split_seed)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float().div_(255.0)
    train_x, val_x = normalize_images(x[train_idx], x[val_idx])
    y = torch.from_numpy(labels)
    return ImageData(train_x.contiguous(), y[train_idx], val_x.contiguous(), y[val_idx],
                     num_classes=100)
