"""A sampled design through the generation pipeline: a spec over a sampled task generates with
stacks, the merge writes the task's space declaration into the manifest, and the loaded table
answers queries by config dict (exact values, or the nearest sampled config)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")

from sampled_stand_in import STAND_IN

import frozenbench as fb
from frozenbench.generation.launch import run
from frozenbench.generation.merge import merge
from frozenbench.generation.spec import load_spec
from frozenbench.manifest import MANIFEST_NAME


def test_a_sampled_task_generates_merges_and_loads_with_its_space(write_spec, tmp_path):
    spec = load_spec(write_spec(task=STAND_IN.name, task_module="sampled_stand_in",
                                configs="all", z="all", seeds={"base": [0, 1]},
                                packing={"stack": 4, "cells_per_job": 12}))
    assert run(spec, "debug").counts["ok"] == 6 * 3 * 2
    dest = tmp_path / "table"
    merge(spec, dest=dest)
    stored = json.loads((dest / MANIFEST_NAME).read_text())["space_declaration"]
    assert stored["design"] == {"kind": "sobol", "seed": 5,
                                "configs": [list(STAND_IN.space.config(i).values())
                                            for i in range(6)]}
    bench = fb.load(dest)
    assert bench.space == STAND_IN.space and bench.fidelities["z"] == [1, 2, 3]
    config = STAND_IN.space.config(4)
    row = bench.query(config, 3, epoch=2, seed=1)
    assert row == bench.query(4, 3, epoch=2, seed=1)
    near = {**config, "lr": config["lr"] * 1.01}
    assert bench.query(near, 3, epoch=2, seed=1, nearest=True) == row
    with pytest.raises(fb.InvalidValueError):
        bench.query(near, 3, epoch=2, seed=1)


def test_a_cost_profile_builds_each_shape_groups_own_model():
    """The profile of a task whose width is a choice measures each width's model (it built
    the task's default model, which has no width, before the fix)."""
    from frozenbench.generation.cost_profile import factor_groups, measure

    groups = factor_groups(STAND_IN, range(len(STAND_IN.space)))
    assert {k[0] for k in groups} == {8, 16}
    profile = measure(STAND_IN, list(groups.values()), benchmark="stand-in", z=[3],
                      warmup=1, iters=2)
    params = {e.factors["width"]: e.total_params for e in profile.entries}
    assert params[8] < params[16]
