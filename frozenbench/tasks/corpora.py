"""Byte-level language-model data from the suite's offline corpora (Jane Austen, GCIDE, the Go
and Rust standard libraries: :func:`frozenbench.tasks.sources.corpus`) with a held-out test
stream.

Each corpus is cut into three contiguous parts: the first ``1 - val_frac - test_frac`` trains,
the next ``val_frac`` validates and the last ``test_frac`` tests, so no byte is in two parts.
"""

from __future__ import annotations

import functools

import numpy as np

from frozenbench.errors import InvalidValueError
from frozenbench.tasks import sources
from frozenbench.tasks.data import TokenData


@functools.lru_cache(maxsize=2)
def _bytes(name: str) -> np.ndarray:
    return sources.corpus(name).data


def contiguous_parts(n: int, val_frac: float, test_frac: float) -> tuple[int, int]:
    """The two cut points (train end, validation end) of ``n`` bytes.

    >>> contiguous_parts(1000, 0.05, 0.05)
    (900, 950)
    """
    if not (val_frac > 0 and test_frac > 0 and val_frac + test_frac < 1):
        raise InvalidValueError(f"val_frac={val_frac}, test_frac={test_frac}: each must be > 0 "
                                "and together < 1")
    return round(n * (1 - val_frac - test_frac)), round(n * (1 - test_frac))


def load_corpus(*, name: str, context: int, val_tokens: int, val_frac: float = 0.05,
                test_frac: float = 0.05, train_tokens: int | None = None) -> TokenData:
    """Byte tokens (vocab 256) of corpus ``name`` split into contiguous train / validation /
    test parts (:func:`contiguous_parts`); validation and test are scored on their first
    ``val_tokens`` bytes. ``train_tokens`` is accepted for the common LM-loader interface."""
    data = _bytes(name)
    cut_val, cut_test = contiguous_parts(len(data), val_frac, test_frac)
    return TokenData(train=data[:cut_val], val=data[cut_val:cut_test], vocab_size=256,
                     context=context, val_tokens=val_tokens, test=data[cut_test:])
