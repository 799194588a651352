from __future__ import annotations

import numpy as np
import pytest

from frozenbench.errors import FidelityError, InvalidValueError, UnknownNameError
from frozenbench.space import Fidelities, SearchSpace

SPACE = SearchSpace.from_dict(
    {"lr": [1e-4, 1e-3, 1e-2], "optimizer": ["adam", "sgd"], "beta1": [0.9, 0.95, 0.99]}
)


def test_index_roundtrip_covers_grid():
    ids = [SPACE.index(c) for c in SPACE]
    assert ids == list(range(len(SPACE))) == list(range(18))


@pytest.mark.parametrize("lr", [0.001, 1e-3, np.float32(0.001), np.float64(1e-3), 0.0010000001])
def test_numbers_match_robustly(lr):
    assert SPACE.index({"lr": lr, "optimizer": "adam", "beta1": 0.9}) == SPACE.index(
        {"lr": 0.001, "optimizer": "adam", "beta1": 0.9}
    )


def test_off_grid_value_names_valid_values():
    with pytest.raises(InvalidValueError, match=r"lr=0\.5 is not on the grid; valid: \[0\.0001, 0\.001, 0\.01\]"):
        SPACE.index({"lr": 0.5, "optimizer": "adam", "beta1": 0.9})


def test_unknown_and_missing_names():
    with pytest.raises(UnknownNameError, match="unknown hyperparameter 'lrr'"):
        SPACE.index({"lrr": 0.001, "optimizer": "adam", "beta1": 0.9})
    with pytest.raises(KeyError):
        SPACE.index({"lrr": 0.001, "optimizer": "adam", "beta1": 0.9})
    with pytest.raises(InvalidValueError, match=r"missing \['beta1'\]"):
        SPACE.index({"lr": 0.001, "optimizer": "adam"})


def test_string_not_matched_numerically():
    with pytest.raises(InvalidValueError, match="optimizer='ADAM'"):
        SPACE.index({"lr": 0.001, "optimizer": "ADAM", "beta1": 0.9})


def test_fidelities_messages():
    f = Fidelities(z=range(1, 12), epoch=range(1, 21), benchmark="resnet18-cifar100")
    assert f.check_z(np.int64(3)) == 3
    with pytest.raises(FidelityError, match=r"z=12 is out of range for resnet18-cifar100 \(z in 1\.\.11\)"):
        f.check_z(12)
    with pytest.raises(FidelityError, match="epoch=0"):
        f.check_epoch(0)
    with pytest.raises(ValueError):
        f.check_z(True)
