"""Every HPO library's optimizer named in frozenbench.interop.methods builds with the real
library and replays on a table; a run is reproducible from its seed and sees the table's values."""

from __future__ import annotations

import warnings

import pytest

import frozenbench as fb
from frozenbench.interop.methods import METHODS, build


@pytest.fixture(scope="module")
def bench():
    return fb.load("mnist-resnet")  # a table with a task condition (beta2 only with adam)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_method_replays_on_a_shipped_table(bench, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DEHB 0.1.2 on ConfigSpace 1.x: deprecations
        a = fb.simulate(bench, build(name, bench, seed=3), n_workers=2, max_evaluations=25,
                        seed=3, cell_seed=0)
        b = fb.simulate(bench, build(name, bench, seed=3), n_workers=2, max_evaluations=25,
                        seed=3, cell_seed=0)
    assert 0 < len(a) <= 25
    cols = ["config_id", "z", "epoch", "score"]
    if not name.startswith("synetune"):  # Syne Tune's ASHA adds its own wall-clock jitter
        assert a[cols].equals(b[cols]), "a run is reproducible from its seed"
    for row in a.itertuples():
        assert row.score == bench.query(int(row.config_id), int(row.z), int(row.epoch),
                                        seed=0).val_error
    assert set(a["config_id"]) <= set(bench.config_ids)


def test_unknown_method_names_the_valid_ones(bench):
    with pytest.raises(fb.UnknownNameError, match="optuna:tpe\\+hyperband"):
        build("optuna:nope", bench, seed=0)
