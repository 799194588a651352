"""Unclear errors made clear (issue 12, item 5, outside the simulator): each names the bad value
and what is valid."""

from __future__ import annotations

import numpy as np
import pytest

import frozenbench as fb
from frozenbench.cli import main
from frozenbench.errors import FidelityError, InvalidValueError, UnknownNameError
from frozenbench.space import Hyperparameter
from frozenbench.synthetic import make_benchmark, write_benchmark

pytestmark = pytest.mark.timeout(60)

BENCH = make_benchmark(n_configs=6, n_z=3, n_epochs=3, diverge_frac=0.0)


@pytest.fixture(scope="module")
def bench_dir(tmp_path_factory):
    return write_benchmark(tmp_path_factory.mktemp("b") / "syn", n_configs=6, n_z=3,
                           n_epochs=3, diverge_frac=0.0)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"z": 2.0}, r"z=2\.0 is a float; z is an integer \(z in 1\.\.3\)"),
    ({"z": True}, r"z=True is a bool; z is an integer"),
    ({"z": "2"}, r"z='2' is a str; z is an integer"),
    ({"z": 2, "epoch": 3.0}, r"epoch=3\.0 is a float; epoch is an integer \(epoch in 1\.\.3\)"),
])
def test_a_fidelity_of_the_wrong_type_says_so(kwargs, match):
    with pytest.raises(FidelityError, match=match):
        BENCH.query(BENCH.configs[0], **kwargs)
    assert BENCH.query(BENCH.configs[0], z=np.int64(2)).n_seeds >= 1  # numpy ints are ints


def test_query_many_with_one_quantity_as_a_string():
    with pytest.raises(InvalidValueError, match=r"quantities is a list of names, got the string "
                                                r"'val_error'; write quantities=\['val_error'\]"):
        BENCH.query_many(BENCH.config_ids, 3, quantities="val_error")
    with pytest.raises(UnknownNameError, match="unknown quantity 'acc'"):
        BENCH.query_many(BENCH.config_ids, 3, quantities=["val_error", "acc"])


def test_query_many_with_no_configs_is_an_empty_result():
    out = BENCH.query_many([], 3, quantities=["val_error"])
    assert out["val_error"].shape == (0,) and out["n_seeds"].shape == (0,)
    out = BENCH.query_many(np.array([], dtype=np.int64), [], seed=0)
    assert all(v.shape == (0,) for v in out.values())


def test_a_bool_is_not_a_number_hyperparameter():
    wd = Hyperparameter("weight_decay", (0.0, 1e-4))  # False == 0.0 in Python
    with pytest.raises(InvalidValueError, match=r"weight_decay=False is a bool; weight_decay "
                                                r"takes one of \[0\.0, 0\.0001\]"):
        wd.index(False)
    assert wd.index(0) == 0
    assert Hyperparameter("nesterov", (False, True)).index(np.bool_(True)) == 1
    with pytest.raises(InvalidValueError, match="nesterov=1 is a int"):
        Hyperparameter("nesterov", (False, True)).index(1)
    cfg = {**BENCH.configs[0], "weight_decay": False}
    with pytest.raises(InvalidValueError, match=r"weight_decay=False is a bool; weight_decay "
                                                r"takes one of \[1e-05, "):
        BENCH.query(cfg, 3)
    with pytest.raises(InvalidValueError, match=r"weight_decay=\S*True\S* is a bool"):
        BENCH.space.index({**BENCH.configs[0], "weight_decay": np.bool_(True)})
    assert BENCH.space.index({**BENCH.configs[0], "weight_decay": np.float32(1e-4)}) == \
        BENCH.space.index({**BENCH.configs[0], "weight_decay": 0.0001})


def test_a_hub_name_without_the_prefix_gets_a_hint(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UnknownNameError, match="write 'hub:ns/name'"):
        fb.load("ns/name")
    with pytest.raises(UnknownNameError) as info:
        fb.load("./ns/name")
    assert "hub:" not in str(info.value)  # an explicit relative path is a path


def _cli(capsys, *argv):
    rc = main([str(a) for a in argv])
    out = capsys.readouterr()
    return rc, out.out + out.err


def test_query_flags_that_do_not_apply(bench_dir, capsys):
    rc, text = _cli(capsys, "query", bench_dir, "--config-id", 0, "--z", 3, "--curve",
                    "--epoch", 2)
    assert rc == 1 and "--epoch 2 does not apply with --curve" in text


def test_query_duplicate_pairs(bench_dir, capsys):
    cfg = make_benchmark(n_configs=6, n_z=3, n_epochs=3).configs[0]
    pairs = [f"{k}={v}" for k, v in cfg.items()]
    rc, text = _cli(capsys, "query", bench_dir, *pairs, pairs[0].split("=")[0] + "=0.5",
                    "--z", 3)
    assert rc == 1 and "is given twice" in text


def test_verify_z_without_a_config(bench_dir, capsys):
    rc, text = _cli(capsys, "verify", bench_dir, "--z", 2)
    assert rc == 1 and "--z and --seed name a cell together with a config" in text


@pytest.mark.timeout(300)  # imports torch (a few seconds; minutes on a loaded machine)
def test_verify_on_a_gpu_that_is_not_there(bench_dir, capsys):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    rc, text = _cli(capsys, "verify", bench_dir, "--config-id", 0, "--z", 1, "--seed", 0,
                    "--device", "cuda")
    assert rc == 1 and "--device cuda: no CUDA GPU is visible here; use --device cpu" in text
    rc, text = _cli(capsys, "verify", bench_dir, "--device", "gpu0")
    assert rc == 1 and "--device 'gpu0' is not a torch device" in text
