"""``frozenbench list`` and ``frozenbench query``."""

from __future__ import annotations

import pytest

import frozenbench as fb
from frozenbench.cli import main
from frozenbench.synthetic import write_benchmark


@pytest.fixture(scope="module")
def bench_dir(tmp_path_factory):
    return write_benchmark(tmp_path_factory.mktemp("cli") / "b", n_configs=8, n_z=3, n_epochs=4)


def test_list(bench_dir, capsys):
    assert main(["list", str(bench_dir)]) == 0
    out = capsys.readouterr().out
    line = next(r for r in out.splitlines() if r.startswith(str(bench_dir)))
    assert line.split()[1:] == ["directory", "?", "3", "8/216", "0..2", "1..4", "1..3",
                                "val_error", *line.split()[-2:]]


def test_query_cell_and_curve(bench_dir, capsys):
    bench = fb.load(bench_dir)
    cfg = bench.configs[0]
    pairs = [f"{k}={v}" for k, v in cfg.items()]
    assert main(["query", str(bench_dir), *pairs, "--z", "3", "--epoch", "2"]) == 0
    out = capsys.readouterr().out
    assert f"val_error          {bench.query(cfg, 3, 2).val_error:.6g}" in out
    cid = int(bench.config_ids[1])
    assert main(["query", str(bench_dir), "--config-id", str(cid), "--z", "1",
                 "--curve"]) == 0
    assert "train_time_s" in capsys.readouterr().out


def test_query_errors_are_clear(bench_dir, capsys):
    assert main(["query", str(bench_dir), "lr=0.5", "--z", "1"]) == 1
    assert "config is missing" in capsys.readouterr().err
    cfg = fb.load(bench_dir).configs[0]
    pairs = [f"{k}={v}" for k, v in cfg.items()]
    assert main(["query", str(bench_dir), *pairs, "--z", "9"]) == 1
    assert "z=9 is out of range" in capsys.readouterr().err
    assert main(["query", "nope", "--z", "1", "--config-id", "0"]) == 1
    assert "unknown benchmark 'nope'" in capsys.readouterr().err


def test_one_config_grammar(bench_dir, capsys):
    """NAME=VALUE pairs, --config JSON and --config-id name the same cell; a name given twice,
    or two ways of naming a config, is an error (exit 1) before any work."""
    import json

    bench = fb.load(bench_dir)
    cfg, cid = bench.configs[0], int(bench.config_ids[0])
    pairs = [f"{k}={v}" for k, v in cfg.items()]
    outs = []
    for how in (pairs, ["--config", json.dumps(cfg)], ["--config-id", str(cid)]):
        assert main(["query", str(bench_dir), *how, "--z", "2"]) == 0
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1] == outs[2]
    assert main(["query", str(bench_dir), *pairs, pairs[0], "--z", "2"]) == 1
    assert "is given twice" in capsys.readouterr().err
    assert main(["query", str(bench_dir), *pairs, "--config-id", str(cid), "--z", "2"]) == 1
    assert "name the config one way" in capsys.readouterr().err


def test_simulate_lists_every_bad_argument_at_once(bench_dir, capsys):
    assert main(["simulate", str(bench_dir), "--optimizers", "bohb:z", "--runs", "0",
                 "--seed", "99", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "--runs 0 must be positive" in err and "unknown optimizer 'bohb'" in err
    assert "--seed 99; valid: 'draw', 'mean' or one of the seeds" in err


def test_query_json_is_machine_readable_and_matches_the_table(bench_dir, capsys):
    import json

    bench = fb.load(bench_dir)
    cid = int(bench.config_ids[1])
    assert main(["query", str(bench_dir), "--config-id", str(cid), "--z", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    expected = bench.query(cid, 2)
    assert out["config_id"] == cid and out["z"] == 2 and out["epoch"] == bench.fidelities["epoch"][-1]
    assert out["val_error"] == pytest.approx(expected.val_error)
    assert main(["query", str(bench_dir), "--config-id", str(cid), "--z", "2", "--curve",
                 "--json"]) == 0
    curve = json.loads(capsys.readouterr().out)["curve"]
    assert [row["epoch"] for row in curve] == bench.fidelities["epoch"]


def test_download_of_a_shipped_table_says_where_it_is(capsys):
    assert main(["download", "mnist-resnet"]) == 0
    out = capsys.readouterr().out
    assert "ships inside the package" in out and "frozenbench/data/mnist-resnet" in out
