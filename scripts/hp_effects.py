"""Does each hyperparameter of a table measurably matter? Its effect against seed noise
(:func:`frozenbench.analysis.effects.hyperparameter_effects`).

    python scripts/hp_effects.py kjv-gpt2 mnist-resnet
"""

from __future__ import annotations

import argparse

import frozenbench as fb
from frozenbench.analysis.effects import hyperparameter_effects


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("benchmarks", nargs="+", help="shipped names or table directories")
    args = p.parse_args()
    for name in args.benchmarks:
        bench = fb.load(name)
        print(f"{bench.name} ({bench.metric}, full fidelity, mean of two common seeds)")
        print(hyperparameter_effects(bench).to_string(
            index=False, float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
