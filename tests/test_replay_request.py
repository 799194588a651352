"""One replay request, one method registry, budgets in units (issue 20, point 4)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import frozenbench as fb
from frozenbench.analysis import hpo
from frozenbench.cli import main
from frozenbench.errors import InvalidValueError, UnknownNameError
from frozenbench.optimizers.fidelity import fidelity_levels
from frozenbench.sim import budget as sim_budget
from frozenbench.sim import request as sim_request
from frozenbench.sim.budget import DEFAULT_BUDGET_UNITS, budget_unit
from frozenbench.sim.methods import DEFAULT_FIDELITY, Method
from frozenbench.sim.request import ReplayRequest
from frozenbench.synthetic import make_benchmark, write_benchmark


@pytest.fixture(scope="module")
def bench() -> fb.Benchmark:
    return make_benchmark(n_configs=30, n_z=4, n_epochs=9, diverge_frac=0.0)


# ---------------------------------------------------------------------- budgets in units
def test_a_budget_is_in_units_of_the_median_full_fidelity_cost(bench):
    unit = budget_unit(bench)
    in_units = fb.simulate(bench, "asha", budget=3, seed=2)
    in_seconds = fb.simulate(bench, "asha", budget_seconds=3 * unit, seed=2)
    assert len(in_units) > 0 and in_units.equals(in_seconds)
    assert in_units.attrs["budget_time"] == pytest.approx(3 * unit)
    with pytest.raises(InvalidValueError, match="not both"):
        fb.simulate(bench, "asha", budget=3, budget_seconds=3.0)


def test_one_formula_and_one_default_for_the_budget_unit(bench):
    assert hpo.budget_unit is sim_budget.budget_unit  # the analysis re-exports, not redefines
    full = sim_budget.common_cost(bench)[:, -1, -1]
    assert budget_unit(bench) == pytest.approx(float(np.nanmedian(full)))
    assert sim_budget.default_budget(bench) == pytest.approx(DEFAULT_BUDGET_UNITS * budget_unit(bench))
    import inspect

    from frozenbench.analysis.suite import run_suite
    from frozenbench.report import write_report

    for fn in (hpo.compare, run_suite, write_report):
        assert inspect.signature(fn).parameters["budget_units"].default == DEFAULT_BUDGET_UNITS


def test_simulate_cli_budget_is_in_units(tmp_path, capsys):
    d = write_benchmark(tmp_path / "b", n_configs=12, n_z=3, n_epochs=4)
    unit = budget_unit(fb.load(d))
    for flags, units, time in ((["--budget", "2"], 2.0, 2 * unit),
                               (["--budget-seconds", "5"], None, 5.0),
                               ([], DEFAULT_BUDGET_UNITS, DEFAULT_BUDGET_UNITS * unit)):
        assert main(["simulate", str(d), "--optimizers", "random:full", "--runs", "1",
                     "--json", "--no-progress", *flags]) == 0
        got = json.loads(capsys.readouterr().out)["budget"]
        assert got["units"] == units and got["time"] == pytest.approx(time), flags


# ---------------------------------------------------------------------- one method registry
@pytest.mark.parametrize("label", ["asha:z+epoch-geometric", "hyperband:z", "random:full",
                                   "sh:1@2,4@9", "asha:z+epoch-linear", "optuna:tpe+hyperband",
                                   "neps:priorband+medium-epoch", "smac:mf-z+epoch-linear"])
def test_a_label_parses_back_to_itself(label):
    assert Method.parse(label).label == label


def test_z_plus_epoch_is_one_path_everywhere(bench):
    from frozenbench.interop.budget import BudgetAxis

    f = bench.fidelity_values
    # the old name is the optimizers' geometric diagonal, and only that
    assert fidelity_levels(f, "z+epoch") == fidelity_levels(f, "z+epoch-geometric")
    # a library's one budget axis takes the linear diagonal by its own name ...
    axis = BudgetAxis.of(bench, "z+epoch-linear")
    assert list(axis.levels) == fidelity_levels(f, "z+epoch-linear")
    # ... and refuses the old name instead of reading it as another path
    with pytest.raises(UnknownNameError, match="'z\\+epoch-linear'"):
        BudgetAxis.of(bench, "z+epoch")
    from frozenbench.interop.methods import METHODS

    assert not [m for m in METHODS if m.endswith("-z+epoch")]


def test_no_default_uses_the_deprecated_alias():
    import inspect

    from frozenbench.analysis.discrimination import METHODS as DISCRIMINATION
    from frozenbench.cli import build_parser
    from frozenbench.optimizers import make_optimizer
    from frozenbench.sim import simulate

    defaults = [m.fidelity for m in hpo.DEFAULT_METHODS.values()]
    defaults += [Method.parse(m).fidelity for m in DISCRIMINATION]
    defaults += [inspect.signature(fn).parameters["fidelity"].default
                 for fn in (simulate, make_optimizer)]
    sub = build_parser()._subparsers._group_actions[0].choices["simulate"]  # type: ignore[union-attr]
    defaults += [Method.parse(m).fidelity for m in sub.get_default("optimizers")]
    defaults += [Method.parse("asha").fidelity, DEFAULT_FIDELITY]
    assert "z+epoch" not in defaults and "z+epoch-geometric" in defaults


# ---------------------------------------------------------------------- one replay request
def test_every_problem_of_a_request_in_one_message(bench):
    with pytest.raises(InvalidValueError) as err:
        ReplayRequest("bohb", "layers", n_workers=0, budget=-1, cell_seed="x",
                      metric="acc", incumbent="best").prepare(bench)
    text = str(err.value)
    assert text.startswith("7 problems with the arguments of simulate:")
    for part in ("budget=-1", "n_workers=0", "unknown optimizer 'bohb'", "fidelity='layers'",
                 "cell_seed='x'", "unknown incumbent 'best'", "acc"):
        assert part in text, part


def test_a_request_is_checked_once_for_all_its_seeds_and_methods(bench, monkeypatch):
    from frozenbench.sim import methods as sim_methods

    calls: list[str] = []
    measured = sim_request.metric_measured
    monkeypatch.setattr(sim_request, "metric_measured",
                        lambda b, m: calls.append("metric") or measured(b, m))
    for module, name in ((sim_request, "path_levels"), (sim_methods, "optimizer_levels")):
        original = getattr(module, name)
        monkeypatch.setattr(module, name,
                            lambda *a, f=original, **k: calls.append("levels") or f(*a, **k))
    methods = {"r": ("random", "full"), "a": ("asha", "z")}
    counts = []
    for runs in (1, 4):
        calls.clear()
        cmp = hpo.compare(bench, methods, runs=runs, budget_units=2, n_workers=2)
        assert [len(t) for t in cmp.runs.values()] == [runs, runs]
        counts.append((calls.count("metric"), calls.count("levels")))
    assert counts[0] == counts[1]  # nothing is checked or computed again per seed
    assert counts[0][0] == 1  # the metric once for all methods (it used to be once per run)
