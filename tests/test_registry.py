"""load() / query() / benchmarks() / benchmark_names(): names, directories, caching, errors."""

from __future__ import annotations

import numpy as np
import pytest

import frozenbench as fb
from frozenbench import registry
from frozenbench.errors import UnknownNameError
from frozenbench.synthetic import write_benchmark


@pytest.fixture(scope="module")
def bench_dir(tmp_path_factory):
    return write_benchmark(tmp_path_factory.mktemp("reg") / "syn", n_configs=6, n_z=3, n_epochs=3)


def test_load_directory_path_and_string(bench_dir):
    a = fb.load(bench_dir)
    b = fb.load(str(bench_dir))
    assert a is b  # cached
    assert a.name == "synthetic" and a.metric == "val_error"
    assert a.fidelities == {"z": [1, 2, 3], "epoch": [1, 2, 3]}


def test_fb_query_by_path_matches_bench(bench_dir):
    bench = fb.load(bench_dir)
    cfg = bench.configs[1]
    np.testing.assert_equal(tuple(fb.query(cfg, 3, benchmark=str(bench_dir))), tuple(bench.query(cfg, 3)))
    np.testing.assert_equal(tuple(fb.query(cfg, 3, 2, benchmark=bench, seed=0)),
                            tuple(bench.query(cfg, 3, 2, seed=0)))


def test_unknown_name_lists_valid(monkeypatch, tmp_path):
    monkeypatch.setattr(registry, "DATA_DIR", tmp_path)
    monkeypatch.setattr(registry, "CHECKOUT_DIR", tmp_path / "no-suite")
    write_benchmark(tmp_path / "tiny", name="tiny", n_configs=3, n_z=2, n_epochs=2)
    assert fb.benchmark_names() == ["tiny"]
    assert [(b.name, b.where, b.n_configs) for b in fb.benchmarks()] == [("tiny", "shipped", 3)]
    with pytest.raises(UnknownNameError, match=r"unknown benchmark 'tinny'; valid: \['tiny'\]"):
        fb.load("tinny")
    with pytest.raises(KeyError):  # also a built-in KeyError
        fb.load("tinny")
    assert fb.load("tiny").name == "tiny"


def test_bad_paths(tmp_path):
    with pytest.raises(UnknownNameError, match="not a benchmark directory"):
        fb.load(tmp_path)
    with pytest.raises(UnknownNameError):
        fb.load(123)  # type: ignore[arg-type]


def test_published_names_are_fetched_from_the_hub(monkeypatch, bench_dir):
    from frozenbench import hub

    monkeypatch.setitem(hub.PUBLISHED, "from-hub", hub.HubRef("ns/from-hub", "0" * 40))

    def fetch(name):
        assert name == "from-hub"
        return bench_dir

    monkeypatch.setattr(hub, "fetch", fetch)
    assert "from-hub" in fb.benchmark_names()
    info = {b.name: b for b in fb.benchmarks()}["from-hub"]  # not downloaded: shape unknown
    assert info.where == "hub" and not info.known and info.n_configs is None
    assert fb.load("from-hub").name == "synthetic"


def test_resolution_order_path_then_shipped_then_hub(monkeypatch, tmp_path):
    """A bare word is a shipped name even where the working directory holds a benchmark of
    that name; ``./NAME`` is the path."""
    shipped_dir, cwd = tmp_path / "data", tmp_path / "cwd"
    monkeypatch.setattr(registry, "DATA_DIR", shipped_dir)
    monkeypatch.setattr(registry, "CHECKOUT_DIR", tmp_path / "no-suite")
    write_benchmark(shipped_dir / "tiny", name="tiny", n_configs=3, n_z=2, n_epochs=2)
    write_benchmark(cwd / "tiny", name="local-tiny", n_configs=3, n_z=2, n_epochs=2)
    monkeypatch.chdir(cwd)
    assert fb.load("tiny").name == "tiny"
    assert fb.load("./tiny").name == "local-tiny"
    assert registry.resolve("./tiny") == (cwd / "tiny").resolve()
    with pytest.raises(UnknownNameError, match="not a benchmark directory"):
        fb.load("./nope")


def test_a_checkout_suite_table_loads_by_name(monkeypatch, tmp_path):
    """The suite's tables live in the checkout's data directory (not in the wheel): a bare
    name finds them after the shipped tables and before the Hub, and they are listed."""
    shipped_dir, suite_dir = tmp_path / "data", tmp_path / "suite"
    monkeypatch.setattr(registry, "DATA_DIR", shipped_dir)
    monkeypatch.setattr(registry, "CHECKOUT_DIR", suite_dir)
    write_benchmark(shipped_dir / "tiny", name="tiny", n_configs=3, n_z=2, n_epochs=2)
    write_benchmark(suite_dir / "tiny", name="other-tiny", n_configs=3, n_z=2, n_epochs=2)
    write_benchmark(suite_dir / "fb-x", name="fb-x", n_configs=4, n_z=2, n_epochs=2)
    assert fb.benchmark_names() == ["tiny", "fb-x"]
    assert [(b.name, b.where, b.n_configs) for b in fb.benchmarks()] == [
        ("tiny", "shipped", 3), ("fb-x", "checkout", 4)]
    assert fb.load("fb-x").name == "fb-x"
    assert fb.load("tiny").name == "tiny"  # shipped first
    assert registry.resolve("fb-x") == suite_dir / "fb-x"


def test_a_sampled_table_lists_its_design_size_not_a_grid(tmp_path):
    """``frozenbench list`` showed fb-dna-mlp's 512 sampled configs as '512/8': the product of
    the declared ranges' ends taken for a grid."""
    from frozenbench.info import describe
    from frozenbench.synthetic import sampled_space

    d = write_benchmark(tmp_path / "s", space=sampled_space(24), n_configs=20, n_z=2, n_epochs=2)
    info = describe(d)
    assert (info.n_configs, info.grid_size) == (20, 24)
