"""Good, medium and bad priors: the configs at the stated quantiles of each table's ranking by
full-fidelity score, plain dicts any library reads, and the NePS methods that start from them."""

from __future__ import annotations

import json

import numpy as np
import pytest

import frozenbench as fb
from frozenbench.errors import UnknownNameError
from frozenbench.priors import QUANTILES, SPREAD, prior, priors
from frozenbench.synthetic import make_benchmark


@pytest.mark.parametrize("name", fb.benchmark_names())
def test_every_shipped_table_has_priors_at_their_quantiles(name):
    bench = fb.load(name)
    scores = bench.full_fidelity_scores()
    ps = priors(bench)
    assert list(ps) == ["good", "medium", "bad"]
    for p in ps.values():
        row = list(bench.config_ids).index(p.config_id)
        assert p.score == pytest.approx(scores[row])
        assert bench.query(p.config, z=max(bench.fidelities["z"])) is not None
        # the share of configs strictly better than the prior is the stated quantile
        better = float(np.mean(scores < p.score))
        assert abs(better - QUANTILES[p.name]) <= 1.5 / len(scores) + 0.02, (p.name, better)
    assert ps["good"].score < ps["medium"].score < ps["bad"].score
    assert ps["good"].score > scores.min()  # a good prior is not the optimum itself
    # a plain dict: JSON round trip, spread spelled out
    d = json.loads(json.dumps(ps["good"].to_dict()))
    assert d["config"] == ps["good"].config and d["spread"] == SPREAD[d["confidence"]]


def test_priors_are_deterministic_and_follow_the_metric():
    bench = make_benchmark(n_configs=40, n_z=2, n_epochs=3, seed=3)
    assert priors(bench) == priors(bench)
    assert prior(bench, "good", metric="val_loss").metric == "val_loss"
    with pytest.raises(UnknownNameError, match="'excellent'"):
        prior(bench, "excellent")


def test_neps_priorband_methods_name_their_prior():
    from frozenbench.interop.methods import METHODS

    for p in ("", "+medium", "+bad"):
        for b in ("epoch", "z", "z+epoch-linear"):
            assert f"neps:priorband{p}-{b}" in METHODS
