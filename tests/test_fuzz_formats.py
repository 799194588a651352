"""Fuzzing the on-disk formats and the CLI (issue 12, item 6): random corruptions of the Parquet
table and the manifest, random command lines. The only allowed outcomes are a correct result or
a frozenbench error; a hang (each case has a time limit), a raw exception or a wrong number
fails. ``scripts/fuzz_report.py`` runs the same cases in bulk and counts the outcomes."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frozenbench.synthetic import write_benchmark

sys.path.insert(0, str(Path(__file__).parent))
from fuzz_cases import cli_argv, cli_case, manifest_case, run_case, table_case, warm_up

SETTINGS = settings(max_examples=15, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return write_benchmark(tmp_path_factory.mktemp("fuzz") / "syn", n_configs=5, n_z=2,
                           n_epochs=3, diverge_frac=0.2, seed=4)


@pytest.fixture(scope="module")
def warm(source) -> None:
    warm_up(source)


def _check(outcome):
    assert not outcome.bug, f"{outcome.kind}: {outcome.detail}"


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), verify=st.booleans())
def test_corrupt_parquet(source, tmp_path, seed, verify):
    _check(run_case(table_case(source, tmp_path / "t", random.Random(seed), verify=verify)))


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1))
def test_edited_manifest(source, tmp_path, seed):
    outcome = run_case(manifest_case(source, tmp_path / "m", random.Random(seed)))
    _check(outcome)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1))
def test_random_command_lines(source, warm, seed):
    _check(run_case(cli_case(cli_argv(source, random.Random(seed)))))
