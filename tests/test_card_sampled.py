"""A card of a table whose configs were sampled (the suite's tables) describes the design it
has: no grid, the declared ranges and the Sobol seed."""

from __future__ import annotations

from frozenbench.card import render
from frozenbench.synthetic import sampled_space, write_benchmark


def test_a_sampled_table_card_names_its_design_not_a_grid(tmp_path):
    d = write_benchmark(tmp_path / "s", space=sampled_space(24), n_configs=24, n_z=3,
                        n_epochs=3, test_split=True)
    text = render(d, analysis=False)
    assert "configurations of a grid" not in text and "row-major grid index" not in text
    assert "24 configurations drawn by a scrambled Sobol design (seed 0)" in text
    assert "| `lr` | 0.0001 .. 0.1 | log |" in text
    assert "| `optimizer` | adam, sgd | categorical |" in text


def test_effects_of_a_sampled_design_compare_bins_with_shuffled_values():
    """A sampled design has no pairs of configs that differ in one hyperparameter: the effect is
    the range of bin means against seed noise, beside the same for shuffled values."""
    import numpy as np

    from frozenbench.analysis.effects import sampled_effects_from_scores

    rng = np.random.default_rng(0)
    configs = [{"lr": float(x), "noise": float(y)} for x, y in rng.random((300, 2))]
    truth = np.array([10 * c["lr"] for c in configs])
    a, b = truth + rng.normal(0, 0.1, 300), truth + rng.normal(0, 0.1, 300)
    out = sampled_effects_from_scores(configs, a, b, names=["lr", "noise"]).set_index(
        "hyperparameter")
    assert out.loc["lr", "effect_over_noise"] > 10 * out.loc["lr", "shuffled_over_noise"]
    assert out.loc["noise", "effect_over_noise"] < 2 * out.loc["noise", "shuffled_over_noise"]


def test_a_sampled_table_card_lists_every_hyperparameters_effect(tmp_path):
    d = write_benchmark(tmp_path / "s", space=sampled_space(64), n_configs=64, n_z=2,
                        n_epochs=2, multi_seed_configs=64)
    text = render(d)
    assert "| `lr` | nan" not in text and "config pairs" not in text
    assert "shuffled values" in text
