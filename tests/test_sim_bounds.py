"""Replays that crawl (issue 24, item 6): an ``eta`` just above 1 and a worker too small for any
job. Every case runs under a time limit: a clear error or a result, quickly."""

from __future__ import annotations

import contextlib
import io
import time

import pytest
from fuzz_cases import time_limit

import frozenbench as fb
from frozenbench.cli import main
from frozenbench.errors import InvalidValueError
from frozenbench.optimizers.fidelity import fidelity_levels
from frozenbench.space import Fidelities
from frozenbench.synthetic import make_benchmark, write_benchmark

BENCH = make_benchmark(n_configs=40, n_z=4, n_epochs=9, seed=3)


# ---------------------------------------------------------------------- eta just above 1
@pytest.mark.parametrize("eta", [1 + 1e-7, 1.0000000001, 1 + 1e-15, 1.001])
@pytest.mark.parametrize("fidelity", ["epoch", "z", "z+epoch-geometric"])
def test_eta_near_one_is_refused_quickly(eta, fidelity):
    f = Fidelities(z=tuple(range(1, 12)), epoch=tuple(range(1, 21)))
    with time_limit(2.0), pytest.raises(InvalidValueError) as info:
        fidelity_levels(f, fidelity, eta)
    message = str(info.value)
    assert f"eta={eta!r}" in message and "eta >=" in message, message


def test_eta_above_the_bound_still_works():
    f = Fidelities(z=tuple(range(1, 12)), epoch=tuple(range(1, 21)))
    with time_limit(2.0):
        assert fidelity_levels(f, "epoch", 1.05)[-1] == (11, 20)


@pytest.mark.parametrize("optimizer", ["sh", "hyperband", "asha", "bohb", "random"])
def test_simulate_with_eta_near_one_ends_quickly(optimizer):
    with time_limit(10.0):
        try:
            traj = fb.simulate(BENCH, optimizer, "epoch", eta=1 + 1e-7, max_evaluations=50)
        except InvalidValueError as exc:
            assert "eta=" in str(exc)
        else:
            assert len(traj) <= 50


def test_cli_simulate_with_eta_near_one_is_an_error(tmp_path):
    source = write_benchmark(tmp_path / "b", n_configs=6, n_z=3, n_epochs=4)
    err = io.StringIO()
    with time_limit(20.0), contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = main(["simulate", str(source), "--eta", "1.0000000001", "--max-evaluations", "20"])
    assert rc == 1 and "eta=1.0000000001" in err.getvalue(), err.getvalue()


# ---------------------------------------------------------------------- a worker too small
def _needs() -> tuple[float, float]:
    mem = BENCH.peak_memory()
    return float(mem[mem == mem].min()), float(mem[mem == mem].max())


@pytest.mark.parametrize("memory", [["1B", "100GB"], ["1B"] * 7 + ["100GB"], ["1B"]])
def test_a_worker_that_fits_no_job_is_refused_up_front(memory):
    smallest, _ = _needs()
    with time_limit(5.0), pytest.raises(InvalidValueError) as info:
        fb.simulate(BENCH, "asha", "z+epoch", n_workers=len(memory), memory=memory,
                    max_evaluations=500, seed=1)
    message = str(info.value)
    assert "1 B" in message and "smallest" in message, message
    assert fb.sim.workers.format_bytes(smallest) in message, message


def test_a_worker_that_fits_only_small_jobs_never_floods_the_queue():
    """A worker that fits only the lowest z asks the optimizer only while there is room in the
    waiting list: the run stays fast, and every job runs on a worker that fits it."""
    mem = BENCH.peak_memory()
    lowest_z_need = float(mem[:, 0].max())
    start = time.perf_counter()
    with time_limit(10.0):
        traj = fb.simulate(BENCH, "asha", "z", n_workers=3,
                           memory=[lowest_z_need, lowest_z_need, "100GB"],
                           max_evaluations=400, seed=1)
    assert time.perf_counter() - start < 10.0
    assert len(traj) == 400
    small = traj["worker"] < 2
    assert (traj.loc[small, "z"] == BENCH.fidelities["z"][0]).all()


@pytest.mark.parametrize("optimizer", ["asha", "hyperband", "random"])
def test_engine_asks_a_bounded_number_of_times(optimizer):
    """The optimizer is asked at most about once per job run plus the waiting list's size,
    not 64 times per event for a worker that cannot take the jobs."""
    mem = BENCH.peak_memory()
    lowest_z_need = float(mem[:, 0].max())
    asked = []
    real = fb.optimizers.make_optimizer

    opt = real(optimizer, BENCH, "z", eta=3.0)
    ask = opt.ask

    def counting(rng):
        asked.append(1)
        return ask(rng)

    opt.ask = counting  # type: ignore[method-assign]
    with time_limit(10.0):
        traj = fb.simulate(BENCH, opt, "z", n_workers=4,
                           memory=[lowest_z_need] * 3 + ["100GB"], max_evaluations=300, seed=2)
    assert len(asked) <= len(traj) + 2 * 4 + 64, (len(asked), len(traj))
