"""Fuzzing query and simulate arguments: every bad input is a frozenbench error that is also a
built-in KeyError/ValueError with a message; nothing leaks an IndexError/TypeError from inside."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import frozenbench as fb
from frozenbench.errors import FrozenbenchError
from frozenbench.synthetic import make_benchmark
from frozenbench.table import Result

BENCH = make_benchmark(n_configs=12, n_z=3, n_epochs=4, diverge_frac=0.1, seed=5)
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 300), st.floats(allow_nan=True),
    st.text(max_size=6), st.sampled_from([1e-3, 0.001, "adam", "sgd", 0.9, 0.99, 1e-5]),
    st.just(np.int64(2)), st.just(np.float32(0.001)), st.lists(st.integers(), max_size=2),
)
names = st.sampled_from(["lr", "weight_decay", "optimizer", "beta1", "beta2", "momentum", ""])
configs = st.one_of(
    st.sampled_from(BENCH.configs),
    st.builds(lambda c, k, v: {**c, k: v}, st.sampled_from(BENCH.configs), names, scalars),
    st.dictionaries(names, scalars, max_size=6),
    scalars,
    st.builds(lambda c, k: {kk: vv for kk, vv in c.items() if kk != k},
              st.sampled_from(BENCH.configs), names),
)


def _ok_error(exc: BaseException) -> None:
    assert isinstance(exc, FrozenbenchError), f"{type(exc).__name__}: {exc}"
    assert isinstance(exc, (KeyError, ValueError, ImportError))
    assert str(exc), "an error needs a message"


@SETTINGS
@given(config=configs, z=scalars, epoch=scalars, seed=scalars)
def test_query_fuzz(config, z, epoch, seed):
    try:
        r = BENCH.query(config, z, epoch, seed=seed)
    except Exception as exc:
        _ok_error(exc)
    else:
        assert isinstance(r, Result) and r.n_seeds >= 1


@SETTINGS
@given(config=configs, z=scalars, seed=scalars)
def test_curve_and_fb_query_fuzz(config, z, seed):
    for call in (lambda: BENCH.curve(config, z, seed=seed),
                 lambda: fb.query(config, z, benchmark=BENCH, seed=seed)):
        try:
            call()
        except Exception as exc:
            _ok_error(exc)


arrays = st.one_of(
    scalars,
    st.lists(st.integers(-3, 250), min_size=0, max_size=5),
    st.lists(st.floats(allow_nan=True), max_size=3),
    st.just(BENCH.config_ids), st.just(np.array([[1, 2]])), st.just(np.array(["a"])),
)


@SETTINGS
@given(configs_=arrays, z=arrays, epoch=arrays, seed=arrays,
       quantities=st.one_of(st.none(), st.just(["val_error"]), st.just(["x"]), st.just("val_error")))
def test_query_many_fuzz(configs_, z, epoch, seed, quantities):
    try:
        out = BENCH.query_many(configs_, z, epoch, seed=seed, quantities=quantities)
    except Exception as exc:
        _ok_error(exc)
    else:
        assert "n_seeds" in out


sim_values = st.one_of(scalars, st.just(-1.0), st.just(math.inf), st.just(3))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    optimizer=st.one_of(st.sampled_from(["random", "sh", "hyperband", "asha", "bohb"]), scalars),
    fidelity=st.one_of(st.sampled_from(["z", "epoch", "z+epoch", "full", "layers"]), scalars,
                       st.lists(st.tuples(st.integers(-1, 5), st.integers(-1, 6)), max_size=3)),
    n_workers=st.one_of(st.integers(-1, 5), scalars),
    budget=st.one_of(st.none(), st.floats(allow_nan=True), scalars),
    max_evaluations=st.one_of(st.just(20), st.integers(-2, 30),  # never None: runs stay short
                              st.sampled_from([0.5, "x", True, np.int64(4), math.nan])),
    seed=st.one_of(st.integers(-2, 10), scalars),
    eta=st.one_of(st.just(3.0), st.floats(allow_nan=True), scalars),
    memory=st.one_of(st.none(), st.sampled_from(["1GB", "10MB", "2GiB", "x", "-1GB", "inf"]),
                     st.lists(st.sampled_from(["1GB", "2GB", 5, None]), max_size=3), scalars),
    cell_seed=st.one_of(st.sampled_from(["draw", "mean", 0, 1, 9, "x"]), scalars),
    cost=st.sampled_from(["train_time_s", "flops", "time", "energy", 3]),
)
def test_simulate_fuzz(optimizer, fidelity, n_workers, budget, max_evaluations, seed, eta,
                       memory, cell_seed, cost):
    try:
        traj = fb.simulate(BENCH, optimizer, fidelity, n_workers=n_workers, budget=budget,
                           max_evaluations=max_evaluations, seed=seed, eta=eta, memory=memory,
                           cell_seed=cell_seed, cost=cost)
    except Exception as exc:
        _ok_error(exc)
    else:
        assert len(traj) <= (max_evaluations or 10**9)


@pytest.mark.parametrize("bad", [None, 3, [1, 2], object()])
def test_simulate_bad_bench(bad):
    with pytest.raises(FrozenbenchError):
        fb.simulate(bad, "asha", max_evaluations=3)
