"""Fuzzing generation output folders (issue 24, item 10): planted links at every write, full
disks and folders shared by a group. The only allowed outcomes are a correct result or a
frozenbench error; ``scripts/fuzz_report.py`` runs the same cases in bulk and counts them."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fuzz_cases import run_case
from fuzz_generation_cases import disk_full_case, grid_source, link_case, shared_case

CASES = 12  # per class; each is a fake grid of 12 cells (well under a second)


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return grid_source(tmp_path_factory.mktemp("fuzz-generation"))


def _check(outcome):
    assert not outcome.bug, f"{outcome.kind}: {outcome.detail}"


@pytest.mark.parametrize("seed", range(CASES))
def test_planted_links(source, tmp_path, seed):
    _check(run_case(link_case(source, tmp_path / "w", random.Random(seed))))


@pytest.mark.parametrize("seed", range(CASES))
def test_full_disk(source, tmp_path, seed):
    _check(run_case(disk_full_case(source, tmp_path / "w", random.Random(seed))))


@pytest.mark.parametrize("seed", range(CASES))
def test_shared_folder(source, seed):
    _check(run_case(shared_case(source, random.Random(seed))))
