"""Benchmark names are plain names, and no output path is built from a table's contents
(issue 24, item 1): a manifest whose ``benchmark`` is ``x/../../../escaped`` made
``frozenbench report ./t`` write ``escaped.html`` three directories up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from frozenbench.errors import SchemaError
from frozenbench.manifest import DIGEST_KEY, MANIFEST_NAME, Manifest, content_digest
from frozenbench.synthetic import write_benchmark
from frozenbench.table import Benchmark

HOSTILE = ["x/../../../escaped", "..", "a/b", "/abs", "a\\b", ".hidden", "-x", "a..b",
           "x" * 101, "a b", "<script>", "a\nb", ""]


def rename(directory: Path, name: object) -> None:
    """Give the table in ``directory`` another benchmark name and re-sign its manifest, as an
    attacker who controls the whole file would."""
    data = json.loads((directory / MANIFEST_NAME).read_text())
    data["benchmark"] = name
    data[DIGEST_KEY] = content_digest(data)
    (directory / MANIFEST_NAME).write_text(json.dumps(data))


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return write_benchmark(tmp_path_factory.mktemp("names") / "t", name="tiny", n_configs=4,
                           n_z=2, n_epochs=2)


@pytest.mark.parametrize("name", HOSTILE)
def test_a_table_with_a_name_that_is_not_plain_is_refused_at_load(source, tmp_path, name):
    import shutil

    d = tmp_path / "t"
    shutil.copytree(source, d)
    rename(d, name)
    with pytest.raises(SchemaError, match="is not a plain name") as info:
        Benchmark.from_directory(d)
    assert repr(name)[:40] in str(info.value)


@pytest.mark.parametrize("name", ["mnist-resnet", "fb-30", "a.b_c", "X1", "x" * 100])
def test_plain_names_load(name):
    m = Manifest(benchmark=name, task="t", grid={"lr": [0.1]},
                 fidelities={"z": [1], "epoch": [1]}, metric="val_error", config_ids=[0],
                 seeds=[0], files={}, rows=1, cells={})
    assert Manifest.from_json(m.to_json()).benchmark == name


def test_report_of_a_hostile_table_writes_nothing(source, tmp_path, monkeypatch, capsys):
    import shutil

    from frozenbench.cli import main

    work = tmp_path / "a" / "b" / "c"
    d = work / "t"
    shutil.copytree(source, d)
    rename(d, "x/../../../escaped")
    monkeypatch.chdir(work)
    assert main(["report", "./t", "--runs", "2", "--bootstrap", "10"]) == 1
    assert "is not a plain name" in capsys.readouterr().err
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")
                  if p.is_file() and p.parent != d) == []


def test_report_default_output_does_not_depend_on_the_table(source, tmp_path, monkeypatch):
    import frozenbench.report

    written = []
    monkeypatch.setattr(frozenbench.report, "write_report",
                        lambda bench, path, **kw: written.append(path) or Path(path))
    monkeypatch.chdir(tmp_path)
    from frozenbench.cli import main

    assert main(["report", str(source)]) == 0
    assert written == ["report.html"]


@pytest.mark.parametrize("name", ["../x", "a/b", "", ".x"])
def test_a_published_name_is_a_plain_name(name):
    from frozenbench import hub
    from frozenbench.errors import InvalidValueError

    with pytest.raises(InvalidValueError, match="is not a plain benchmark name"):
        hub.register(name, "hub:ns/table@main")
    assert name not in hub.PUBLISHED
