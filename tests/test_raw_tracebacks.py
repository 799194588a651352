"""Raw tracebacks left (issue 24, item 8): each input below gives a frozenbench error through
the API, or a clear CLI error (exit status 1 with ``error:`` on stderr, or argparse's 2), never
a raw exception."""

from __future__ import annotations

import contextlib
import errno
import io
import json
from pathlib import Path

import pytest

import frozenbench as fb
from frozenbench.cli import main
from frozenbench.errors import FrozenbenchError
from frozenbench.synthetic import make_benchmark, write_benchmark

BENCH = make_benchmark(n_configs=5, n_z=2, n_epochs=3)
#: A torch-free grid spec (the generation pipeline's fake task).
FAKE = {"task": "fake", "task_module": "frozenbench.generation.fake",
        "packing": {"cells_per_job": 5}}


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return write_benchmark(tmp_path_factory.mktemp("raw") / "b", n_configs=5, n_z=2,
                           n_epochs=3)


def cli(argv: list[str]) -> tuple[int, str]:
    """Exit status and stderr of the CLI; a raw exception propagates (and fails the test)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            rc = main(argv)
        except SystemExit as exc:
            rc = int(exc.code or 0)
    return rc, err.getvalue()


def clear_cli_error(argv: list[str], *needles: str, status: int = 1) -> str:
    rc, err = cli(argv)
    assert rc == status and "error:" in err and "Traceback" not in err, (rc, err)
    for needle in needles:
        assert needle in err, err
    return err


# ---------------------------------------------------------------------- loading
def test_a_manifest_of_nested_brackets_is_a_schema_error(tmp_path):
    (tmp_path / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(FrozenbenchError, match="nested too deeply"):
        fb.load(tmp_path)


def test_a_path_under_an_unknown_user_is_an_unknown_benchmark():
    with pytest.raises(FrozenbenchError, match="~nouser"):
        fb.load("~nouser/x")


@pytest.mark.parametrize("path", ["./" + "a" * 5000, "/tmp/" + "a/" * 2500])
def test_a_5000_character_path_is_an_unknown_benchmark(path):
    with pytest.raises(FrozenbenchError, match="is not a benchmark directory"):
        fb.load(path)


# ---------------------------------------------------------------------- values
@pytest.mark.parametrize("value", [10**400, -(10**400), 10**5000], ids=["1e400", "-1e400",
                                                                         "1e5000"])
def test_a_huge_integer_hyperparameter_is_off_the_grid(value):
    config = {**BENCH.configs[0], "lr": value}
    with pytest.raises(FrozenbenchError, match=r"lr=.* is not on the grid"):
        BENCH.query(config, 1)
    with pytest.raises(FrozenbenchError, match="is not on the grid"):
        BENCH.curve(config, 1)


def test_cli_query_with_a_huge_value(source):
    names = ["weight_decay=1e-05", "optimizer=adam", "beta1=0.9", "beta2=0.9", "--z", "1"]
    for lr in ["lr=10**400", "lr=1e400", "lr=1" + "0" * 400]:
        clear_cli_error(["query", str(source), lr, *names])
    clear_cli_error(["query", str(source), "--config",
                     json.dumps({**BENCH.configs[0], "lr": 10**400}), "--z", "1"])


@pytest.mark.parametrize("seed", [str(2**70), "-1", str(2**31)])
@pytest.mark.parametrize("command", [["run-cell", "mnist-resnet", "--config-id", "0", "--z",
                                      "1"], ["query", "mnist-resnet", "--config-id", "0",
                                             "--z", "1"]])
def test_a_seed_out_of_range_is_refused_before_anything_runs(command, seed):
    clear_cli_error([*command, "--seed", seed], f"seed={seed}", "not a training seed",
                    "0..2147483647", status=2)


# ---------------------------------------------------------------------- --out under /proc
@pytest.mark.parametrize("argv", [
    ["simulate", "{src}", "--max-evaluations", "5", "--out", "/proc/x/out.csv"],
    ["correlate", "{src}", "--out", "/proc/x/out.csv"],
    ["card", "{src}", "--out", "/proc/x/README.md"],
    ["simulate", "{src}", "--max-evaluations", "5", "--out", "/proc/version"],
])
def test_an_output_that_cannot_be_written_is_a_clear_error(argv, source):
    clear_cli_error([a.replace("{src}", str(source)) for a in argv], "/proc/")


def test_merge_into_proc_is_a_clear_error(write_spec):
    toml = write_spec(**FAKE, seeds={"base": [0]}, z=[1])
    assert cli(["generate", "run", str(toml), "--executor", "debug", "--quiet"])[0] == 0
    clear_cli_error(["generate", "merge", str(toml), "--dest", "/proc/x/dest", "--quiet"],
                    "/proc/x")


# ---------------------------------------------------------------------- generate run
def test_a_spec_json_that_is_not_json_is_a_clear_error(write_spec, tmp_path):
    toml = write_spec(**FAKE, seeds={"base": [0]}, z=[1])
    (tmp_path / "out").mkdir()
    for text in ["{not json", "[1, 2]", "\xff\xfe"]:
        (tmp_path / "out" / "spec.json").write_text(text, errors="surrogateescape")
        clear_cli_error(["generate", "run", str(toml), "--executor", "debug", "--quiet"],
                        "spec.json")


@pytest.mark.parametrize("full", ["shards", "every file"])
def test_a_full_disk_during_generate_run_is_a_clear_error_and_loses_nothing(
        full, write_spec, tmp_path, monkeypatch):
    """ENOSPC on the shard writes (the cell is reported failed) or on every write (spec.json
    first): exit status 1, the reason on stderr, no traceback, and no finished shard lost; the
    next run on a disk with room completes."""
    toml = write_spec(**FAKE, seeds={"base": [0]}, z=[1, 2])
    assert cli(["generate", "run", str(toml), "--executor", "debug", "--quiet"])[0] == 0
    out = tmp_path / "out"
    before = {p.name: p.read_bytes() for p in (out / "shards").iterdir()}
    victim = sorted(before)[0]
    (out / "shards" / victim).unlink()  # one cell to train again, onto a full disk

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("pyarrow.parquet.write_table", no_space)
    monkeypatch.setattr("pyarrow.parquet.ParquetWriter", no_space)
    if full == "every file":
        monkeypatch.setattr(Path, "write_text", no_space)
        monkeypatch.setattr(Path, "write_bytes", no_space)
    rc, err = cli(["generate", "run", str(toml), "--executor", "debug", "--quiet"])
    assert rc == 1 and "No space left on device" in err and "Traceback" not in err, (rc, err)
    after = {p.name: p.read_bytes() for p in (out / "shards").iterdir()}
    assert after == {k: v for k, v in before.items() if k != victim}  # nothing else lost
    monkeypatch.undo()
    assert cli(["generate", "run", str(toml), "--executor", "debug", "--quiet"])[0] == 0
    assert sorted(p.name for p in (out / "shards").iterdir()) == sorted(before)
