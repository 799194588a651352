"""Benchmark: dense arrays built from the long table answer exactly what the table says."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from frozenbench.errors import FidelityError, InvalidValueError, SchemaError, UnknownNameError
from frozenbench.manifest import Manifest, describe_files
from frozenbench.synthetic import make_table, write_benchmark
from frozenbench.table import QUANTITIES, Benchmark


def same(a, b):
    np.testing.assert_equal(tuple(a), tuple(b))


KW = dict(n_configs=12, n_z=4, n_epochs=5, diverge_frac=0.1, seed=3)


@pytest.fixture(scope="module")
def bench_dir(tmp_path_factory):
    return write_benchmark(tmp_path_factory.mktemp("bench") / "syn", **KW)


@pytest.fixture(scope="module")
def bench(bench_dir):
    return Benchmark.from_directory(bench_dir)


@pytest.fixture(scope="module")
def long(bench_dir):
    return pq.read_table(bench_dir / "table.parquet").to_pandas()


def test_every_row_is_queryable_per_seed(bench, long):
    for row in long.itertuples(index=False):
        r = bench.query(int(row.config_id), int(row.z), int(row.epoch), seed=int(row.seed))
        for q in QUANTITIES:
            np.testing.assert_equal(getattr(r, q), float(getattr(row, q)))
        assert r.n_diverged == (row.status == "diverged")


def test_seed_none_is_mean_over_available_seeds(bench, long):
    ok = long[long.status == "ok"]
    # cells (config, z, epoch) all of whose seeds are ok
    div_cells = set(map(tuple, long.loc[long.status == "diverged", ["config_id", "z"]].values))
    grouped = ok.groupby(["config_id", "z", "epoch"])
    checked = 0
    for (cid, z, e), g in grouped:
        if (cid, z) in div_cells:
            continue
        r = bench.query(int(cid), int(z), int(e))
        assert r.n_seeds == len(g)
        assert r.val_error == pytest.approx(g.val_error.mean(), rel=1e-12)
        assert r.train_time_s == pytest.approx(g.train_time_s.mean(), rel=1e-12)
        checked += 1
    assert checked > 100


def test_config_dict_and_id_agree_and_numbers_match_robustly(bench):
    cfg = bench.configs[2]
    by_id = bench.query(int(bench.config_ids[2]), z=4)
    same(bench.query(cfg, z=4), by_id)
    loose = {k: (np.float32(v) if isinstance(v, float) else v) for k, v in cfg.items()}
    same(bench.query(loose, z=4), by_id)
    reordered = dict(reversed(list(cfg.items())))
    same(bench.query(reordered, z=np.int64(4)), by_id)


def test_epoch_none_is_last_epoch(bench):
    cfg = bench.configs[0]
    same(bench.query(cfg, 2), bench.query(cfg, 2, 5))


def test_seed_pattern_absent_seed_is_clear_error(bench):
    low = bench.configs[-1]  # not one of the first multi-seed configs
    assert bench.query(low, 4, seed=1).n_seeds == 1
    with pytest.raises(InvalidValueError, match=r"no seed 1 for config \d+ at z=1, epoch=5; seeds there: \[0\]"):
        bench.query(low, 1, seed=1)
    with pytest.raises(InvalidValueError, match=r"seed=7 is not in"):
        bench.query(low, 1, seed=7)


def test_bad_inputs_name_valid_values(bench):
    cfg = bench.configs[0]
    with pytest.raises(FidelityError, match=r"z=0 is out of range for synthetic \(z in 1\.\.4\)"):
        bench.query(cfg, 0)
    with pytest.raises(FidelityError, match=r"epoch=9 is out of range"):
        bench.query(cfg, 1, 9)
    with pytest.raises(UnknownNameError, match="unknown hyperparameter 'learning_rate'"):
        bench.query({**cfg, "learning_rate": 1}, 1)
    with pytest.raises(InvalidValueError, match="is not on the grid; valid"):
        bench.query({**cfg, "lr": 0.3}, 1)
    with pytest.raises(InvalidValueError, match="a config is a dict"):
        bench.query("adam", 1)
    with pytest.raises(FidelityError):
        bench.query(cfg, True)
    with pytest.raises(FidelityError):
        bench.query(cfg, 2.0)


def test_config_outside_the_table_subset(bench):
    missing = next(i for i in range(len(bench.space)) if i not in set(bench.config_ids.tolist()))
    with pytest.raises(InvalidValueError, match="is on the grid but not in the synthetic table, which covers 12 of 216"):
        bench.query(bench.space.config(missing), 1)
    with pytest.raises(InvalidValueError, match="not in the synthetic table"):
        bench.query_many([missing], 1)


def test_diverged_cells_fill_nan_and_freeze_cost(bench, long):
    div = long[long.status == "diverged"]
    assert len(div), "fixture should contain diverged cells"
    key = div.iloc[0]
    cid, z, s = int(key.config_id), int(key.z), int(key.seed)
    rows = long[(long.config_id == cid) & (long.z == z) & (long.seed == s)].sort_values("epoch")
    last = int(rows.epoch.max())
    r_last = bench.query(cid, z, last, seed=s)
    assert not np.isfinite(r_last.val_loss) and r_last.n_diverged == 1
    if last < 5:
        after = bench.query(cid, z, 5, seed=s)
        assert np.isnan(after.val_error)
        assert after.train_time_s == r_last.train_time_s  # training stopped: nothing more paid
    # the objective treats it as the worst finite value
    obj = bench.objective(per_seed=True)
    c = int(np.nonzero(bench.config_ids == cid)[0][0])
    assert obj[c, z - 1, 4, bench.seeds.index(s)] == np.nanmax(obj)


def test_query_many_matches_query(bench):
    rng = np.random.default_rng(0)
    ids = rng.choice(bench.config_ids, 50)
    zs = rng.integers(1, 5, 50)
    es = rng.integers(1, 6, 50)
    out = bench.query_many(ids, zs, es)
    for i in range(50):
        r = bench.query(int(ids[i]), int(zs[i]), int(es[i]))
        np.testing.assert_equal(out["val_error"][i], r.val_error)
        assert out["n_seeds"][i] == r.n_seeds
    seed0 = bench.query_many(ids, zs, es, seed=0, quantities=["train_time_s"])
    assert set(seed0) == {"train_time_s", "n_seeds"}
    assert seed0["train_time_s"][3] == bench.query(int(ids[3]), int(zs[3]), int(es[3]), seed=0).train_time_s
    dicts = bench.query_many([bench.configs[0], bench.configs[1]], 2)
    assert dicts["val_error"].shape == (2,)


def test_query_many_bad_inputs(bench):
    with pytest.raises(FidelityError, match="z=12"):
        bench.query_many(bench.config_ids, 12)
    with pytest.raises(InvalidValueError, match="must be integers"):
        bench.query_many(bench.config_ids, 1.5)
    with pytest.raises(InvalidValueError, match="out of range"):
        bench.query_many([10_000], 1)
    with pytest.raises(InvalidValueError, match="broadcast"):
        bench.query_many(bench.config_ids, [1, 2])
    with pytest.raises(UnknownNameError, match="unknown quantity"):
        bench.query_many(bench.config_ids, 1, quantities=["acc"])
    with pytest.raises(InvalidValueError, match="no seed 1"):
        bench.query_many(bench.config_ids[-1:], 1, seed=1)


def test_curve(bench, long):
    cid = int(bench.config_ids[0])
    curve = bench.curve(cid, 4, seed=0)
    rows = long[(long.config_id == cid) & (long.z == 4) & (long.seed == 0)].sort_values("epoch")
    np.testing.assert_array_equal(curve.loc[rows.epoch, "train_time_s"], rows.train_time_s)
    assert list(bench.curve(cid, 1).columns) == [*QUANTITIES, "n_seeds", "n_diverged"]


def _rewrite(src, dst, frame=None, manifest_changes=None):
    dst.mkdir()
    man = Manifest.read(src)
    table = pq.read_table(src / "table.parquet")
    if frame is not None:
        table = pa.Table.from_pandas(frame, schema=table.schema, preserve_index=False)
    pq.write_table(table, dst / "table.parquet")
    data = {**man.__dict__, "files": describe_files(dst, ["table.parquet"]), **(manifest_changes or {})}
    Manifest(**data).write(dst)
    return dst


def test_sha256_mismatch_is_caught(bench_dir, tmp_path):
    d = _rewrite(bench_dir, tmp_path / "b")
    with open(d / "table.parquet", "ab") as f:
        f.write(b"junk")
    with pytest.raises(SchemaError, match="sha256"):
        Benchmark.from_directory(d)


def test_duplicate_rows_and_bad_hyperparameters(bench_dir, long, tmp_path):
    dup = pd.concat([long, long.iloc[:1]])
    with pytest.raises(SchemaError, match="duplicate rows"):
        Benchmark.from_directory(_rewrite(bench_dir, tmp_path / "dup", dup, {"rows": len(dup)}))
    bad = long.copy()
    bad.loc[0, "optimizer"] = "sgd" if bad.loc[0, "optimizer"] == "adam" else "adam"
    with pytest.raises(SchemaError, match="but config_id"):
        Benchmark.from_directory(_rewrite(bench_dir, tmp_path / "hp", bad))
    with pytest.raises(SchemaError, match=r"config_id=.* is not in the manifest"):
        Benchmark.from_directory(_rewrite(bench_dir, tmp_path / "ids", None,
                                          {"config_ids": Manifest.read(bench_dir).config_ids[1:]}))


def test_one_seed_table_shares_memory():
    table, ids, seeds = make_table(n_configs=5, n_z=2, n_epochs=3, full_z_seeds=1,
                                   multi_seed_configs=0, diverge_frac=0.0)
    man = Manifest(benchmark="one", task="t", grid=write_grid(), fidelities={"z": [1, 2], "epoch": [1, 2, 3]},
                   metric="val_error", config_ids=ids, seeds=seeds, files={}, rows=table.num_rows, cells={})
    b = Benchmark.from_arrow(table, man)
    assert b.seeds == (0,)
    assert b.query(b.configs[0], 2, seed=0)[:6] == b.query(b.configs[0], 2)[:6]


def write_grid():
    from frozenbench.tasks.catalog import RESNET_GRID
    return {k: list(v) for k, v in RESNET_GRID.items()}
