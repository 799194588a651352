"""MNIST-1D (Greydanus & Kobak, 2024): ten 1-D templates of length 40 under random padding,
translation, scaling, shear and noise. ``mnist1d.data.make_dataset`` generates the data locally
from a seed, so nothing is downloaded (its ``get_dataset`` downloads a pickle: never used here).
"""

from __future__ import annotations

import random

import numpy as np
import torch

from frozenbench.errors import InvalidValueError
from frozenbench.extras import require
from frozenbench.tasks.data import ImageData


def load_mnist1d(*, num_samples: int = 5000, train_split: float = 0.8,
                 seed: int = 42, n_test: int = 0) -> ImageData:
    """The MNIST-1D data set as sequences ``(N, 1, 40)`` (already standardised by the generator):
    ``num_samples`` examples, the first ``train_split`` of them train, the rest validate;
    with ``n_test > 0`` the last ``n_test`` of the rest are a held-out test set instead.

    The defaults are the package's own (``get_dataset_args()``: 4000/1000, seed 42). The
    generator seeds numpy's and Python's global generators; their states are restored after.
    """
    data_module = require("mnist1d.data")
    args = data_module.get_dataset_args()
    args.num_samples, args.train_split, args.seed = num_samples, train_split, seed
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        data = data_module.make_dataset(args)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)

    def xs(key: str) -> torch.Tensor:
        return torch.as_tensor(np.asarray(data[key], dtype=np.float32)).unsqueeze(1).contiguous()

    def ys(key: str) -> torch.Tensor:
        return torch.as_tensor(np.asarray(data[key]), dtype=torch.long)

    if not n_test:
        return ImageData(xs("x"), ys("y"), xs("x_test"), ys("y_test"), num_classes=10)
    rest_x, rest_y = xs("x_test"), ys("y_test")
    if not 0 < n_test < len(rest_y):
        raise InvalidValueError(f"n_test={n_test}; valid: 1..{len(rest_y) - 1} (the "
                                f"{len(rest_y)} examples not training)")
    cut = len(rest_y) - n_test
    return ImageData(xs("x"), ys("y"), rest_x[:cut].contiguous(), rest_y[:cut],
                     num_classes=10, test_x=rest_x[cut:].contiguous(), test_y=rest_y[cut:])
