from __future__ import annotations

import json

import numpy as np
import pytest

from frozenbench.errors import FidelityError, InvalidValueError, UnknownNameError
from frozenbench.space import Condition, Fidelities, Hyperparameter, Sample, SearchSpace

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


# ---------------------------------------------------------------- declared spaces and samples
COND = Condition("beta2", "optimizer", ("adam",))
RANGES = [Hyperparameter("lr", low=1e-4, high=1e-1, log=True),
          Hyperparameter("momentum", low=0.0, high=0.99),
          Hyperparameter("width", low=16, high=256, type="int", log=True),
          Hyperparameter("optimizer", ("adam", "sgd")),
          Hyperparameter("beta2", low=0.9, high=0.999)]


def test_sobol_sample_is_seeded_in_range_and_log_scaled():
    space = SearchSpace.sample(RANGES, 256, seed=3, conditions=[COND])
    assert len(space) == 256 and space.design.seed == 3 and space.design.method == "sobol"
    assert space == SearchSpace.sample(RANGES, 256, seed=3, conditions=[COND])
    assert space != SearchSpace.sample(RANGES, 256, seed=4, conditions=[COND])
    cols = space.columns(np.arange(256))
    assert ((cols["lr"] >= 1e-4) & (cols["lr"] <= 1e-1)).all()
    assert cols["width"].dtype == np.int64
    assert 16 <= cols["width"].min() <= cols["width"].max() <= 256
    # log scale: a quarter of the draws per decade-and-a-quarter, not 90% in the last decade
    assert 0.2 < np.mean(cols["lr"] < 1e-3) < 0.45
    assert 0.4 < np.mean(cols["momentum"] < 0.5) < 0.6  # linear scale
    sgd = cols["optimizer"] == "sgd"
    assert 0.4 < sgd.mean() < 0.6 and (cols["beta2"][sgd] == 0.9).all()  # inactive: filled
    assert len(set(cols["beta2"][~sgd].tolist())) == int((~sgd).sum())


def test_sampled_configs_are_exact_and_survive_json():
    space = SearchSpace.sample(RANGES, 64, seed=0, conditions=[COND])
    again = SearchSpace.from_declaration(json.loads(json.dumps(space.declaration())))
    assert again == space and again.config(17) == space.config(17)
    for i in (0, 17, 63):
        assert space.index(space.config(i)) == i
    cfg = space.config(5)
    assert space.index({**cfg, "lr": np.float32(cfg["lr"])}) == 5  # robust like the grid


def test_sampled_design_is_checked():
    base = SearchSpace.sample(RANGES, 4, seed=0, conditions=[COND]).design.configs
    with pytest.raises(InvalidValueError, match="are the same config"):
        SearchSpace(tuple(RANGES), (COND,), Sample((base[0], base[0])))
    with pytest.raises(InvalidValueError, match=r"lr=0\.5 is outside its range"):
        SearchSpace(tuple(RANGES), (COND,), Sample(((0.5, *base[0][1:]),)))
    sgd = next(c for c in base if c[3] == "sgd")
    with pytest.raises(InvalidValueError, match="inactive hyperparameter"):
        SearchSpace(tuple(RANGES), (COND,), Sample(((*sgd[:4], 0.95),)))
    with pytest.raises(InvalidValueError, match="a grid needs values"):
        SearchSpace(tuple(RANGES))
    with pytest.raises(InvalidValueError, match="log-scale range needs low > 0"):
        Hyperparameter("lr", low=0.0, high=1.0, log=True)
    with pytest.raises(InvalidValueError, match="outside the declared range"):
        Hyperparameter("lr", (0.5, 2.0), low=0.0, high=1.0)


def test_inactive_hyperparameters_are_filled_or_ignored():
    space = SearchSpace.from_dict({"optimizer": ["adam", "sgd"], "beta2": [0.9, 0.95, 0.99]},
                                  conditions=[COND])
    sgd = space.index({"optimizer": "sgd", "beta2": 0.9})
    assert space.index({"optimizer": "sgd"}) == sgd  # left out, as ConfigSpace leaves it out
    assert space.index({"optimizer": "sgd", "beta2": 0.95}) == sgd  # given: ignored
    assert space.index({"optimizer": "adam", "beta2": 0.95}) != sgd
    with pytest.raises(InvalidValueError, match=r"missing \['beta2'\].*may be left out"):
        space.index({"optimizer": "adam"})


class _OldConfiguration:
    """What an older ConfigSpace Configuration offers: only get_dictionary()."""

    def __init__(self, values):
        self._values = values

    def get_dictionary(self):
        return dict(self._values)


def test_configuration_objects_are_duck_typed():
    assert SPACE.index(_OldConfiguration({"lr": 1e-2, "optimizer": "sgd", "beta1": 0.99})) == 17
    with pytest.raises(InvalidValueError, match="a config must be a dict"):
        SPACE.index([("lr", 1e-2)])


def test_distances_scale_each_hyperparameter_to_its_range():
    space = SearchSpace.from_dict({"lr": [1e-4, 1e-3, 1e-2], "opt": ["adam", "sgd"]},
                                  log=["lr"])
    d = space.distances({"lr": 1e-3, "opt": "adam"}, np.arange(len(space)))
    # ids: (1e-4, adam), (1e-4, sgd), (1e-3, adam), ...: log lr spans [0, 1] in two decades
    np.testing.assert_allclose(d, [0.5, np.hypot(0.5, 1), 0.0, 1.0, 0.5, np.hypot(0.5, 1)])
