"""Allocation bombs (issue 24, item 3): a small table whose manifest or Parquet footer asks for
huge arrays gives a frozenbench error, within a memory limit (10x its bytes on disk plus a
floor; RLIMIT_AS in a forked child), and a real table still loads within that limit."""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

import pytest

from frozenbench.errors import SchemaError
from frozenbench.manifest import Manifest
from frozenbench.registry import DATA_DIR
from frozenbench.synthetic import write_benchmark
from frozenbench.table import Benchmark
from frozenbench.table import load as table_load

sys.path.insert(0, str(Path(__file__).parent))
from fuzz_cases import BOMBS, bomb_case, build_bomb, directory_limit, run_case, run_limited


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return write_benchmark(tmp_path_factory.mktemp("bombs") / "syn", n_configs=5, n_z=2,
                           n_epochs=3, diverge_frac=0.2, seed=4)


@pytest.mark.parametrize("name", list(BOMBS))
def test_bomb_is_a_clear_error_within_memory(name, source, tmp_path):
    work = build_bomb(source, tmp_path / "bomb", BOMBS[name])
    outcome = run_limited(bomb_case(work), directory_limit(work), seconds=30)
    assert outcome.kind == "frozenbench error", f"{outcome.kind}: {outcome.detail}"


@pytest.mark.parametrize("name", ["z level 10**13", "z level 2**64", "seed 2**70"])
def test_out_of_range_key_values_are_named(name, source, tmp_path):
    """The error names the value and the range the table's key column can hold."""
    work = build_bomb(source, tmp_path / "bomb", BOMBS[name])
    outcome = run_case(bomb_case(work))
    value = {"z level 10**13": str(10**13), "z level 2**64": str(2**64),
             "seed 2**70": str(2**70)}[name]
    assert outcome.kind == "frozenbench error" and value in outcome.detail, outcome.detail


@pytest.mark.parametrize("name", ["mnist-resnet", "kjv-gpt2"])
def test_a_real_table_loads_within_the_limit(name):
    """The bound is not so tight that a real table fails it: the shipped table loads in a
    child under the same limit, and numpy's peak stays under 10x its row data in memory."""
    directory = DATA_DIR / name
    outcome = run_limited(lambda: (Benchmark.from_directory(directory), "ok")[1],
                          directory_limit(directory), seconds=30)
    assert outcome.kind == "ok", outcome.detail
    manifest = Manifest.read(directory)
    row_data = table_load.read_directory(directory, manifest).nbytes
    tracemalloc.start()
    try:
        Benchmark.from_directory(directory)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= 10 * row_data, (peak, row_data)


def test_a_table_at_the_density_bound_loads_within_10x_its_row_data(tmp_path):
    """The sparsest table the load accepts (8 slots per row: 8 seeds listed, 1 with rows)
    loads, and numpy's peak stays under 10x its row data (measured: 4.3x)."""
    from fuzz_cases import _rewrite_manifest

    directory = write_benchmark(tmp_path / "sparse", n_configs=200, n_z=5, n_epochs=10,
                                full_z_seeds=1, multi_seed_configs=0, diverge_frac=0.0)
    _rewrite_manifest(directory, seeds=list(range(table_load.SLOTS_PER_ROW)))
    manifest = Manifest.read(directory)
    assert len(manifest.config_ids) * 5 * 10 * 8 == table_load.SLOTS_PER_ROW * manifest.rows
    row_data = table_load.read_directory(directory, manifest).nbytes
    tracemalloc.start()
    try:
        bench = Benchmark.from_directory(directory)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert bench.seeds == tuple(range(8))
    assert peak <= 10 * row_data, (peak, row_data)
    _rewrite_manifest(directory, seeds=list(range(table_load.SLOTS_PER_ROW + 1)))
    with pytest.raises(SchemaError, match="slots for 10000 rows"):
        Benchmark.from_directory(directory)
