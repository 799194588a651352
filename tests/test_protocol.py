"""The Table protocol: what the replay engine reads. A stand-in that is not a Benchmark, only
implements the protocol by delegation, drives the engine to the same trajectory."""

from __future__ import annotations

import math

import numpy as np
import pytest

import frozenbench as fb
from frozenbench.optimizers import ASHA
from frozenbench.optimizers.fidelity import fidelity_levels
from frozenbench.sim.engine import Engine
from frozenbench.synthetic import make_benchmark, sampled_space
from frozenbench.table import Table


class StandIn:
    """A table behind the protocol only (what a surrogate would be): every member the
    protocol names, each answered by a Benchmark it does not expose."""

    def __init__(self, bench: fb.Benchmark) -> None:
        self._bench = bench

    name = property(lambda self: self._bench.name)
    space = property(lambda self: self._bench.space)
    config_ids = property(lambda self: self._bench.config_ids)
    seeds = property(lambda self: self._bench.seeds)
    index = property(lambda self: self._bench.index)
    metric = property(lambda self: self._bench.metric)
    fidelities = property(lambda self: self._bench.fidelities)
    fidelity_values = property(lambda self: self._bench.fidelity_values)
    default_cost = property(lambda self: self._bench.default_cost)

    def row(self, config_id):
        return self._bench.row(config_id)

    def config_id(self, config, *, nearest=False):
        return self._bench.config_id(config, nearest=nearest)

    def metric_name(self, metric=None):
        return self._bench.metric_name(metric)

    def objective(self, metric=None, *, per_seed=False):
        return self._bench.objective(metric, per_seed=per_seed)

    def cost_array(self, cost=None, *, per_seed=False):
        return self._bench.cost_array(cost, per_seed=per_seed)

    def peak_memory(self):
        return self._bench.peak_memory()

    def seed_mask(self):
        return self._bench.seed_mask()

    def full_fidelity_scores(self, metric=None):
        return self._bench.full_fidelity_scores(metric)

    schedules = property(lambda self: self._bench.schedules)

    def query(self, config, z=None, epoch=None, *, seed=None, nearest=False, schedule="fixed"):
        return self._bench.query(config, z, epoch, seed=seed, nearest=nearest,
                                 schedule=schedule)

    def schedule_arrays(self, schedule):
        return self._bench.schedule_arrays(schedule)

    def query_many(self, configs, z, epoch=None, *, seed=None, quantities=None, nearest=False):
        return self._bench.query_many(configs, z, epoch, seed=seed, quantities=quantities,
                                      nearest=nearest)

    def absent(self, c, zi, ei, si):
        return self._bench.absent(c, zi, ei, si)


def _replay(table: Table, seed: int) -> list[tuple]:
    levels = fidelity_levels(table.fidelity_values, "z+epoch", 3.0)
    full = table.full_fidelity_scores()
    engine = Engine(table, ASHA(table.config_ids, levels), capacities=[math.inf] * 3,
                    rng=np.random.default_rng(seed), metric=table.metric,
                    cost=table.default_cost, cell_seed="draw", budget=None, cost_budget=None,
                    max_evaluations=400, best_full=float(np.nanmin(full)), full=full)
    return engine.run().rows


@pytest.mark.parametrize("space", [None, sampled_space(48, seed=2)], ids=["grid", "sampled"])
def test_the_engine_reads_a_table_through_the_protocol_only(space):
    bench = make_benchmark(space=space, n_configs=30, n_z=4, n_epochs=6, seed=5)
    stand_in = StandIn(bench)
    assert isinstance(bench, Table) and isinstance(stand_in, Table)
    assert not isinstance(stand_in, fb.Benchmark)
    rows = _replay(stand_in, seed=1)
    assert len(rows) == 400 and rows == _replay(bench, seed=1)
    held = set(bench.config_ids.tolist())
    assert {r[4] for r in rows} <= held  # config ids of the table, whatever the design


def test_row_maps_config_ids_and_refuses_others():
    bench = make_benchmark(space=sampled_space(16), n_configs=10, n_z=2, n_epochs=2)
    assert [bench.row(int(c)) for c in bench.config_ids] == list(range(10))
    absent = next(i for i in range(16) if i not in set(bench.config_ids.tolist()))
    assert bench.row(absent) == -1 and bench.row(10**12) == -1 and bench.row(-1) == -1
