"""Versioned suites: a citable, frozen list of tables (``fb.suite("fb-30")``).

A suite name fixes the exact set of tables a paper compares on; a suite, once published, never
changes (a new set is a new name). The lists are plain names, so this module is part of the
light core and imports nothing heavy.

>>> import frozenbench as fb
>>> s = fb.suite("fb-30")
>>> s.name, "fb-letter-mlp" in s.tables
('fb-30', True)
>>> fb.suite("fb-31")
Traceback (most recent call last):
...
frozenbench.errors.UnknownNameError: unknown suite 'fb-31'; valid: ['fb-30']
"""

from __future__ import annotations

from dataclasses import dataclass

from frozenbench.errors import InvalidValueError, unknown_name

#: The tabular half of fb-30 (frozenbench.tasks.suite_tabular): 8 tables x {MLP, ResNet-MLP}.
_FB30_TABULAR = (
    "fb-letter-mlp", "fb-letter-resmlp",
    "fb-income-mlp", "fb-income-resmlp",
    "fb-satellite-mlp", "fb-satellite-resmlp",
    "fb-dna-mlp", "fb-dna-resmlp",
    "fb-gssvocab-mlp", "fb-gssvocab-resmlp",
    "fb-diamonds-mlp", "fb-diamonds-resmlp",
    "fb-chem97-mlp", "fb-chem97-resmlp",
    "fb-spam-mlp", "fb-spam-resmlp",
)

#: The image, 1-D signal, text and code, and graph half (frozenbench.tasks.suite_other).
_FB30_OTHER = (
    "fb-fashion-cnn", "fb-fashion-vit", "fb-mnist-cnn", "fb-mnist-vit", "fb-digits-cnn",
    "fb-mnist1d-cnn",
    "fb-austen-gpt2", "fb-go-gpt2", "fb-kjv-gpt2",
    "fb-pystdlib-llama", "fb-go-llama", "fb-rust-llama",
    "fb-cora-gcn", "fb-cora-gcn-deep",
)


@dataclass(frozen=True)
class Suite:
    """A named, frozen set of tables (their benchmark names, in suite order)."""

    name: str
    tables: tuple[str, ...]
    description: str = ""

    def __post_init__(self) -> None:
        twice = sorted({t for t in self.tables if self.tables.count(t) > 1})
        if twice:
            raise InvalidValueError(f"suite {self.name!r} lists {twice} more than once")

    def __len__(self) -> int:
        return len(self.tables)


SUITES: dict[str, Suite] = {s.name: s for s in [
    Suite("fb-30", _FB30_TABULAR + _FB30_OTHER,
          "30+ tables: 512 Sobol-sampled configs each, every z, 9+ epochs, seeds 0 and 1, "
          "validation and test splits"),
]}


def suite_names() -> list[str]:
    """Names of the versioned suites, sorted.

    >>> suite_names()
    ['fb-30']
    """
    return sorted(SUITES)


def suite(name: str) -> Suite:
    """The suite called ``name``; an unknown name lists the valid ones (see the module)."""
    if name not in SUITES:
        raise unknown_name("suite", name, suite_names())
    return SUITES[name]
