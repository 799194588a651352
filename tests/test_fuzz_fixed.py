"""The fuzz harness's fixed hostile inputs (issue 24, items 6 and 8; the allocation bombs of
item 3 run in tests/test_load_bombs.py): each ends in a correct result or a clear error, within
its time limit. ``scripts/fuzz_report.py`` counts the same cases per class."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from frozenbench.synthetic import write_benchmark

sys.path.insert(0, str(Path(__file__).parent))
from fuzz_cases import FixedCase, replay_cases, traceback_cases

SOURCE_ARGS = {"n_configs": 5, "n_z": 2, "n_epochs": 3, "diverge_frac": 0.2, "seed": 4}


def _names(build) -> list[str]:
    """The case names, for the test ids (built once on a throwaway table)."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        source = write_benchmark(Path(d) / "src", **SOURCE_ARGS)
        return [c.name for c in build(source, Path(d))]


def _traceback(source: Path, root: Path) -> list[FixedCase]:
    return traceback_cases(source, root)


def _replay(source: Path, root: Path) -> list[FixedCase]:
    return replay_cases(source)


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return write_benchmark(tmp_path_factory.mktemp("fixed") / "src", **SOURCE_ARGS)


@pytest.mark.parametrize("build,name", [(b, n) for b in (_traceback, _replay)
                                        for n in _names(b)])
def test_fixed_case_is_correct_or_a_clear_error(build, name, source, tmp_path):
    case = next(c for c in build(source, tmp_path) if c.name == name)
    outcome = case.run()
    assert not outcome.bug, f"{name}: {outcome.kind}: {outcome.detail}"
