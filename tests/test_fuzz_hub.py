"""Fuzzing the Hub fetch with hostile repos served by the test Hub server (issue 24, item 10):
files no manifest lists (odd names, huge declared sizes), listed files of another size or
missing, huge manifests, manifests tampered with or re-signed, paths outside the benchmark
directory. Allowed outcomes: the right table (only the manifest and its files fetched, an
exact copy of an official table official) or a frozenbench error, each case within a time
limit in a client process under a memory limit. ``scripts/fuzz_report.py`` counts them."""

from __future__ import annotations

import random
import sys
from collections import Counter
from pathlib import Path

import pytest

from frozenbench.registry import DATA_DIR

sys.path.insert(0, str(Path(__file__).parent))
from fuzz_cases import HUB_KINDS, hub_repo, run_hub_cases
from hub_server import HubServer

#: The source is an official table, so that a re-signed copy can be told from the original.
SOURCE = DATA_DIR / "kjv-gpt2"


@pytest.fixture(scope="module")
def server():
    with HubServer() as srv:
        yield srv


def test_hostile_hub_repos_end_in_the_table_or_a_frozenbench_error(server, tmp_path):
    rng = random.Random(24)
    repos = [hub_repo(SOURCE, random.Random(rng.getrandbits(64)), kind)
             for kind in sorted(HUB_KINDS) for _ in range(3)]
    outcomes = run_hub_cases(server, SOURCE, repos, tmp_path / "hf", seconds=30,
                             memory=3 << 30)
    bugs = [(r.kind, o.kind, o.detail) for r, o in zip(repos, outcomes, strict=True) if o.bug]
    assert bugs == []
    ended = Counter((r.expect, o.kind) for r, o in zip(repos, outcomes, strict=True))
    assert ended[("error", "ok")] == 0  # a hostile repo never loads ...
    assert ended[("same", "ok")] >= 3  # ... and the harmless ones do
    for repo in repos:  # what no manifest lists was never asked for
        for name in repo.files.keys() - {"manifest.json", "table.parquet"}:
            asked = [p for _, p in server.requests if p.endswith("/" + name)]
            assert asked == [], (repo.kind, name)
