"""One CLI grammar: ``--seed`` is a cell's training seed in every command, ``--bootstrap N``
and ``--bootstrap-seed S`` name the bootstrap, ``--out`` is a directory, ``--json`` prints one
strict JSON object, renamed options fail naming their new spelling (issue 23, point 3)."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import frozenbench as fb
from frozenbench.cli import COMMANDS, build_parser, main
from frozenbench.cli.args import is_renamed
from frozenbench.registry import resolve, shipped
from frozenbench.synthetic import write_benchmark


@pytest.fixture(scope="module")
def bench_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_benchmark(tmp_path_factory.mktemp("grammar") / "b", n_configs=12, n_z=3,
                           n_epochs=4)


def _parsers(parser: argparse.ArgumentParser, prog: str = "frozenbench"
             ) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every parser and subparser, with its command line (``frozenbench generate run``)."""
    yield prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{prog} {name}")


def _options() -> Iterator[tuple[str, argparse.Action]]:
    for prog, parser in _parsers(build_parser()):
        for action in parser._actions:
            yield prog, action


ALL = [prog.split(" ", 1)[1] for prog, _ in _parsers(build_parser()) if " " in prog]


def test_the_walk_sees_every_command():
    assert set(COMMANDS) <= set(ALL) and "generate merge" in ALL


@pytest.mark.parametrize("command", ALL)
def test_every_commands_help_parses(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*command.split(), "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: frozenbench {command}")


def test_seed_is_the_training_seed_wherever_it_appears():
    seeds = [(prog, a) for prog, a in _options() if "--seed" in a.option_strings]
    assert {p for p, _ in seeds} >= {"frozenbench query", "frozenbench simulate",
                                     "frozenbench verify", "frozenbench run-cell"}
    for prog, action in seeds:
        if is_renamed(action):  # an old spelling: a usage error, tested below
            continue
        assert "training seed" in (action.help or ""), (prog, action.help)
    for prog, action in _options():  # any other seed is named after what it seeds
        for option in action.option_strings:
            if option.endswith("seed") and option != "--seed":
                assert option in ("--bootstrap-seed", "--sample-seed"), (prog, option)
                assert "training" not in (action.help or ""), (prog, option)


def test_one_name_for_the_bootstrap_count():
    names = {o for _, a in _options() if not is_renamed(a) for o in a.option_strings
             if "boot" in o}
    assert names == {"--bootstrap", "--bootstrap-seed"}
    counts = {p for p, a in _options() if "--bootstrap" in a.option_strings}
    assert counts == {"frozenbench correlate", "frozenbench suite", "frozenbench report"}


def test_every_out_is_a_directory():
    outs = [(prog, a) for prog, a in _options() if "--out" in a.option_strings]
    assert len(outs) >= 10
    for prog, action in outs:
        assert action.metavar == "DIR" and "directory" in (action.help or ""), \
            (prog, action.help)


@pytest.mark.parametrize(("argv", "old", "new"), [
    (["correlate", "{b}", "--seed", "3"], "--seed", "--bootstrap-seed"),
    (["correlate", "{b}", "--seed=3"], "--seed", "--bootstrap-seed"),
    (["suite", "--n-boot", "100"], "--n-boot", "--bootstrap"),
])
def test_a_renamed_option_is_a_usage_error_naming_the_new_one(argv, old, new, bench_dir,
                                                              capsys):
    with pytest.raises(SystemExit) as exc:
        main([a.replace("{b}", str(bench_dir)) for a in argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"error: {old} is now {new}" in err


def test_correlate_bootstrap_seed_seeds_the_intervals(bench_dir, tmp_path, capsys):
    frames = []
    for seed, name in ((1, "a"), (1, "b"), (2, "c")):
        assert main(["correlate", str(bench_dir), "--bootstrap", "20", "--bootstrap-seed",
                     str(seed), "--out", str(tmp_path / name)]) == 0
        frames.append(pd.read_csv(tmp_path / name / "correlations.csv"))
    capsys.readouterr()
    pd.testing.assert_frame_equal(frames[0], frames[1])
    assert not frames[0]["spearman_low"].equals(frames[2]["spearman_low"])


# ---------------------------------------------------------------------- --out DIR
@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Where ``report`` would write (the report itself is not made: minutes of replays)."""
    import frozenbench.report

    paths: list[str] = []
    monkeypatch.setattr(frozenbench.report, "write_report",
                        lambda bench, path, **kw: paths.append(str(path)) or Path(path))
    return paths


def test_report_out_is_a_directory_receiving_report_html(bench_dir, tmp_path, written,
                                                          capsys):
    assert main(["report", str(bench_dir), "--out", str(tmp_path / "new" / "dir")]) == 0
    assert written == [str(tmp_path / "new" / "dir" / "report.html")]
    assert f"wrote {tmp_path / 'new' / 'dir' / 'report.html'}" in capsys.readouterr().out


def test_report_default_is_report_html_here(bench_dir, tmp_path, written, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["report", str(bench_dir)]) == 0
    assert [Path(p).resolve() for p in written] == [tmp_path / "report.html"]


@pytest.mark.parametrize("out", ["x/report.html", "file"])
def test_report_out_naming_a_file_is_refused_before_any_work(out, bench_dir, tmp_path, written,
                                                             capsys):
    (tmp_path / "file").write_text("keep me")
    assert main(["report", str(bench_dir), "--out", str(tmp_path / out)]) == 1
    err = capsys.readouterr().err
    assert f"--out {tmp_path / out}" in err and "directory" in err
    assert written == [] and not (tmp_path / "x").exists()
    assert (tmp_path / "file").read_text() == "keep me"


def test_card_out_is_a_directory(bench_dir, tmp_path, capsys):
    assert main(["card", str(bench_dir), "--out", str(tmp_path / "cards")]) == 0
    assert (tmp_path / "cards" / "README.md").read_text().startswith("---\n")
    assert main(["card", str(bench_dir), "--out", str(tmp_path / "card.md")]) == 1
    assert "--out is a directory" in capsys.readouterr().err


def test_run_cell_out_is_a_directory(tmp_path, capsys):
    cell = ["run-cell", "debug-mnist", "--config", '{"lr": 0.01, "optimizer": "sgd"}', "--z",
            "1", "--seed", "0", "--threads", "1"]
    assert main([*cell, "--out", str(tmp_path / "rows.parquet")]) == 1  # before training
    assert "--out is a directory" in capsys.readouterr().err
    assert main([*cell, "--out", str(tmp_path / "cell")]) == 0
    rows = pd.read_parquet(tmp_path / "cell" / "cell.parquet")
    assert set(rows["seed"]) == {0} and len(rows) > 0


# ---------------------------------------------------------------------- --json
def test_simulate_json_is_one_object_matching_the_csv_summary(bench_dir, tmp_path, capsys):
    out = tmp_path / "sim"
    assert main(["simulate", str(bench_dir), "--optimizers", "hyperband:z", "random:full",
                 "--runs", "3", "--workers", "2", "--out", str(out), "--json",
                 "--no-progress"]) == 0
    result = json.loads(capsys.readouterr().out)  # all of stdout: nothing but the object
    assert result["benchmark"] == fb.load(bench_dir).name
    assert result["regret_metric"] == "val_error"
    assert result["budget"]["time"] > 0 and result["budget"]["unit"] == "s"
    assert result["runs"] == 3 and result["seed"] == "draw"
    assert {k: Path(v) for k, v in result["files"].items()} == {
        "trajectories": out / "trajectories.parquet", "summary": out / "summary.csv",
        "plot": out / "incumbent.png"}
    csv = pd.read_csv(out / "summary.csv")
    assert list(result["methods"]) == list(csv["label"]) == ["hyperband:z", "random:full"]
    for row in csv.to_dict(orient="records"):
        got = result["methods"][row["label"]]
        assert set(got) == set(row)
        for key, value in row.items():
            if isinstance(value, float) and not math.isfinite(value):
                assert got[key] is None, key  # strict JSON: NaN and inf as null
            elif isinstance(value, float):
                assert got[key] == pytest.approx(value, rel=1e-12), key
            else:
                assert got[key] == value, key


def test_simulate_json_without_out_writes_nothing(bench_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["simulate", str(bench_dir), "--optimizers", "random:full", "--runs", "1",
                 "--max-evaluations", "3", "--json", "--no-progress"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["files"] == {} and result["budget"]["max_evaluations"] == 3
    assert list(tmp_path.iterdir()) == []


def test_query_and_simulate_print_json_through_one_helper():
    import inspect

    import frozenbench.cli.query
    import frozenbench.cli.simulate
    from frozenbench.cli import json_output

    for module in (frozenbench.cli.query, frozenbench.cli.simulate):
        assert module.print_json is json_output.print_json
        assert "json.dumps" not in inspect.getsource(module)


def test_json_is_strict():
    from frozenbench.cli.json_output import to_json

    text = to_json({"a": float("nan"), "b": [float("inf"), -float("inf")], "c": 1.5})
    assert json.loads(text) == {"a": None, "b": [None, None], "c": 1.5}
    assert "NaN" not in text and "Infinity" not in text


# ---------------------------------------------------------------------- download, publish
@pytest.mark.parametrize("name", shipped())
def test_download_of_every_suite_table_says_where_it_is(name, capsys):
    assert main(["download", name]) == 0
    out = capsys.readouterr().out
    assert f"{name} ships inside the package" in out
    assert f"directory: {resolve(name)}" in out and f"fb.load({name!r})" in out


def test_download_of_an_unknown_name_lists_what_is_valid(capsys):
    assert main(["download", "no-such-table"]) == 1
    err = capsys.readouterr().err
    assert "valid: [] (published)" not in err
    assert "none published yet" in err and "'mnist-resnet'" in err and "namespace/name" in err


def test_publish_prints_the_pin_and_no_instruction_to_edit_the_package(bench_dir, monkeypatch,
                                                                       capsys):
    from frozenbench import hub, publish

    sha = "0123456789abcdef0123456789abcdef01234567"
    calls = []

    def fake_publish(directory, repo_id, **kw):
        calls.append((Path(directory), repo_id, kw["revision"]))
        return hub.Published(repo_id, kw["revision"], sha, f"https://hf.co/datasets/{repo_id}")

    monkeypatch.setattr(publish, "publish", fake_publish)
    assert main(["publish", str(bench_dir), "--repo", "me/tbl"]) == 0
    assert calls == [(bench_dir, "me/tbl", "main")]
    out = capsys.readouterr().out
    assert f"commit: {sha}" in out and f"fb.load('hub:me/tbl@{sha}')" in out
    assert f"frozenbench download hub:me/tbl@{sha}" in out
    for word in ("edit", "PUBLISHED", "hub.py", "add this"):
        assert word not in out


# ---------------------------------------------------------------------- documented commands
REPO = Path(__file__).resolve().parents[1]


def _command_lines(text: str, prefix: str) -> list[list[str]]:
    """The ``frozenbench ...`` command lines of ``text`` (continuations joined, comments off)."""
    import shlex

    joined = text.replace("\\\n", " ")
    lines = []
    for raw in joined.splitlines():
        line = raw.strip()  # a code block's line (README) or a recipe's (Makefile): indented
        if raw[:1] in (" ", "\t") and line.startswith(prefix):
            argv = shlex.split(line[len(prefix):], comments=True)
            lines.append(argv)
    return lines


def test_readme_and_makefile_commands_parse_with_the_grammar_of_today(monkeypatch, capsys):
    readme = _command_lines((REPO / "README.md").read_text(), "frozenbench ")
    make = _command_lines((REPO / "Makefile").read_text().replace("$(OUT)", "out/demo"),
                          "$(BIN)/frozenbench ")
    assert len(readme) >= 8 and len(make) == 2
    parser = build_parser()
    for argv in readme + make:
        try:
            parser.parse_args(argv)
        except SystemExit as exc:
            pytest.fail(f"frozenbench {' '.join(argv)}: exit {exc.code}: "
                        f"{capsys.readouterr().err}")
    assert ["report", "mnist-resnet", "--out", "out/demo"] in make  # a directory
