"""Tables whose configs are sampled from declared ranges, and configs from the ecosystem.

A sampled design's manifest stores the exact configs and the Sobol seed; queries, curves and
replays read configs through the space, never through grid arithmetic. Every shipped table
answers 1,000 samples of its own exported ConfigSpace.
"""

from __future__ import annotations

import json

import ConfigSpace as CS
import numpy as np
import pytest

import frozenbench as fb
from frozenbench.errors import InvalidValueError, SchemaError
from frozenbench.interop.configspace import config_id, configuration, search_space
from frozenbench.manifest import MANIFEST_NAME, Manifest
from frozenbench.registry import DATA_DIR, shipped
from frozenbench.synthetic import make_benchmark, sampled_space, write_benchmark

SPACE = sampled_space(64, seed=7)


@pytest.fixture(scope="module")
def sampled(tmp_path_factory):
    """40 of the 64 sampled configs, written and loaded like any table."""
    root = write_benchmark(tmp_path_factory.mktemp("sampled"), space=SPACE, n_configs=40,
                           n_z=3, n_epochs=4, diverge_frac=0.0, seed=1)
    return fb.load(root)


def test_the_manifest_stores_the_sampled_design(sampled):
    m = Manifest.read(sampled.directory)
    assert m.space == SPACE and sampled.space == SPACE
    stored = json.loads((sampled.directory / MANIFEST_NAME).read_text())["space_declaration"]
    assert stored["design"]["kind"] == "sobol" and stored["design"]["seed"] == 7
    assert stored["design"]["configs"][3] == list(SPACE.config(3).values())  # exact values
    assert m.grid["lr"] == [1e-4, 1e-1] and m.grid["optimizer"] == ["adam", "sgd"]
    assert len(sampled) == 40 and max(sampled.config_ids) < 64


@pytest.mark.parametrize("name", sorted(shipped()))
def test_shipped_manifests_are_written_back_unchanged(name):
    """Those without a declared space (written before it existed) and mnist-resnet's with one."""
    text = (DATA_DIR / name / MANIFEST_NAME).read_text()
    m = Manifest.from_json(text)
    assert m.to_json() == text
    assert m.space.is_grid


def test_a_manifest_whose_grid_disagrees_with_its_space_is_refused(sampled):
    m = Manifest.read(sampled.directory)
    data = json.loads(m.to_json())
    data.pop("manifest_sha256")
    data["grid"]["lr"] = [1e-5, 1e-1]
    with pytest.raises(SchemaError, match="disagrees with the declared space"):
        Manifest(**data)


def test_queries_take_dicts_configurations_and_ids(sampled):
    cs = search_space(sampled, seed=0)
    assert isinstance(cs["lr"], CS.UniformFloatHyperparameter) and cs["lr"].log
    for k, cid in enumerate(sampled.config_ids[:10]):
        cid = int(cid)
        cfg = sampled.configs[k]
        conf = configuration(sampled, cid, cs)
        assert config_id(sampled, conf) == cid
        want = sampled.query(cid, 3)
        assert sampled.query(cfg, 3) == want == sampled.query(conf, 3)
        assert sampled.curve(conf, 2).equals(sampled.curve(cid, 2))
        if cfg["optimizer"] == "sgd":  # beta2 is inactive: left out, or given and ignored
            assert "beta2" not in dict(conf)
            assert sampled.query({**cfg, "beta2": 0.95}, 3) == want
    out = sampled.query_many([sampled.configs[1], configuration(sampled, int(sampled.config_ids[2]), cs)], 3)
    np.testing.assert_array_equal(
        out["val_error"], sampled.query_many(sampled.config_ids[1:3], 3)["val_error"])


def test_a_config_off_the_table_names_the_nearest(sampled):
    absent = next(i for i in range(len(SPACE)) if i not in set(sampled.config_ids.tolist()))
    cfg = SPACE.config(absent)
    near, distance = sampled.nearest(cfg)
    assert distance > 0 and near in sampled.config_ids
    with pytest.raises(InvalidValueError, match=rf"is in the design but not in the synthetic "
                       rf"table.*nearest config in the synthetic table is .*config id {near}\) at "
                       rf"distance {distance:.3g}"):
        sampled.query(cfg, 3)
    assert sampled.query(cfg, 3, nearest=True) == sampled.query(near, 3)
    off = {**sampled.configs[0], "lr": sampled.configs[0]["lr"] * 1.01}
    with pytest.raises(InvalidValueError, match="not one of the 64 configs sampled by sobol"):
        sampled.query(off, 3)
    assert sampled.config_id(off, nearest=True) == int(sampled.config_ids[0])
    assert sampled.nearest(off)[1] == pytest.approx(np.log(1.01) / np.log(1e3), rel=1e-6)


def test_a_replay_reads_configs_through_the_space(sampled):
    for optimizer in ("asha", "random"):
        traj = fb.simulate(sampled, optimizer, n_workers=3, max_evaluations=60, seed=2)
        assert len(traj) == 60
        for row in traj.sample(10, random_state=0).itertuples():
            cfg = SPACE.config(int(row.config_id))
            assert all(getattr(row, k) == v for k, v in cfg.items())


def test_a_sampled_table_in_memory_and_a_hyperparameter_that_lies():
    bench = make_benchmark(space=SPACE, n_configs=None, n_z=2, n_epochs=2)
    assert len(bench) == 64 and bench.query(bench.configs[5], 2).n_seeds >= 1
    from frozenbench.synthetic import make_table

    table, _, _ = make_table(space=SPACE, n_configs=None, n_z=2, n_epochs=2)
    lr = table.column("lr").to_numpy().copy()
    lr[0] *= 1.5
    import pyarrow as pa

    bad = table.set_column(table.schema.get_field_index("lr"), "lr", pa.array(lr))
    with pytest.raises(SchemaError, match=r"has lr=.* but config_id .* means lr="):
        fb.Benchmark.from_arrow(bad, bench.manifest)


@pytest.mark.parametrize("name", sorted(shipped()))
def test_1000_samples_of_each_shipped_tables_configspace_query(name):
    bench = fb.load(name)
    cs = search_space(bench, seed=0)
    confs = cs.sample_configuration(1000)
    assert len({tuple(sorted(dict(c).items())) for c in confs}) > 1
    nearest = not bench.space.is_grid
    for conf in confs:
        r = bench.query(conf, max(bench.fidelities["z"]), nearest=nearest)
        assert r.n_seeds >= 1


def test_1000_samples_of_a_sampled_tables_configspace_query_the_nearest(sampled):
    cs = search_space(sampled, seed=1)
    for conf in cs.sample_configuration(1000):
        assert sampled.query(conf, 3, nearest=True).n_seeds >= 1


def test_mnist_resnet_sgd_ignores_beta2():
    bench = fb.load("mnist-resnet")
    sgd = {"lr": 1e-3, "weight_decay": 1e-4, "optimizer": "sgd", "beta1": 0.9}
    want = bench.query({**sgd, "beta2": 0.9}, 3)
    assert bench.query(sgd, 3) == want == bench.query({**sgd, "beta2": 0.95}, 3)
    with pytest.raises(InvalidValueError, match=r"missing \['beta2'\]"):
        bench.query({**sgd, "optimizer": "adam"}, 3)
