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
