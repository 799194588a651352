"""Publish a benchmark to the Hugging Face Hub: check it, render its card, upload it.

A benchmark directory is loaded first (schema, value and sha256 checks) and only read: the
table files and ``manifest.json`` are copied into a temporary folder next to a ``README.md``
dataset card rendered from the loaded table (:mod:`frozenbench.card`), the copy is verified
again, and exactly those files are committed from there by :func:`frozenbench.hub.upload`
(the transport). ``frozenbench publish`` is the command line.

>>> import tempfile
>>> from frozenbench.synthetic import write_benchmark
>>> with tempfile.TemporaryDirectory() as d, tempfile.TemporaryDirectory() as stage:
...     table = write_benchmark(d, n_configs=4, n_z=2, n_epochs=2)
...     bench = load_checked(table)
...     files = stage_files(table, bench, stage, repo_id="me/table")
>>> files[-1], commit_message(bench.manifest)[:25]
('README.md', 'frozenbench publish synth')
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from frozenbench.atomic import copy_file_atomic, write_text_atomic
from frozenbench.card import render
from frozenbench.hub import CARD_NAME, HubRef, Published, upload
from frozenbench.manifest import MANIFEST_NAME, Manifest
from frozenbench.table import Benchmark

__all__ = ["Published", "commit_message", "load_checked", "publish", "stage_files"]


def publish(
    directory: str | os.PathLike[str],
    repo_id: str,
    *,
    revision: str = "main",
    private: bool = False,
    token: str | bool | None = None,
    message: str | None = None,
) -> Published:
    """Validate a benchmark directory, build its dataset card, upload it as a dataset repo.

    Files of an earlier upload that are no longer part of the benchmark are deleted in the same
    commit. A read-only directory (a shipped table inside the installed package) publishes as
    well. Returns the commit sha to pin (``fb.load(str(result.ref))``).
    """
    ref = HubRef(repo_id, revision)
    bench = load_checked(directory)
    with tempfile.TemporaryDirectory(prefix="frozenbench-publish-") as staging:
        files = stage_files(directory, bench, staging, repo_id=repo_id)
        return upload(Path(staging), ref, files, private=private, token=token,
                      message=message or commit_message(bench.manifest), shown=directory)


def load_checked(directory: str | os.PathLike[str]) -> Benchmark:
    """The benchmark in ``directory``, with every check (sha256 included) passed."""
    return Benchmark.from_directory(Path(directory), verify=True)


def stage_files(directory: str | os.PathLike[str], bench: Benchmark,
                stage: str | os.PathLike[str], *, repo_id: str) -> list[str]:
    """Copy the table files and manifest of ``bench`` (loaded from ``directory``) into
    ``stage`` next to its rendered card, check the copy against the manifest, and return the
    staged paths (card last)."""
    root, out = Path(directory), Path(stage)
    manifest = bench.manifest
    files = [*manifest.files, MANIFEST_NAME]
    for rel in files:
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        copy_file_atomic(root / rel, out / rel)
    write_text_atomic(out / CARD_NAME, render(bench=bench, repo_id=repo_id))
    manifest.verify(out)  # what is uploaded is what was checked
    return [*files, CARD_NAME]


def commit_message(manifest: Manifest) -> str:
    """The default commit message: the benchmark, its rows and its code version."""
    return (f"frozenbench publish {manifest.benchmark}: {manifest.rows} rows, "
            f"code {manifest.code_version or 'unknown'}")
