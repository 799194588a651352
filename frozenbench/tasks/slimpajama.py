"""SlimPajama streamed with ``datasets`` and tokenized with the GPT-2 tokenizer.

Only as many tokens as the budget needs are streamed (documents in stream order, each followed
by the end-of-text token), stored as uint16 in a ``.bin`` file under the cache directory and
memory-mapped, as in nanoGPT. Streaming and tokenizing happen once, in
:func:`prefetch_slimpajama` (run by :mod:`frozenbench.tasks.prefetch` before any job starts);
:func:`load_slimpajama`, which the workers call, only reads the cache and raises
:class:`~frozenbench.errors.DataNotPrefetchedError` when it is missing, so that a hundred jobs
never stream ~292M tokens each. The Hub's files are ``.jsonl.zst`` chunks (``train/chunkK/``,
``validation/chunkK/``, ``test/chunkK/``), which ``datasets`` decompresses with ``zstandard``;
``dataset`` may also be a local directory in that layout. The stream and the tokenizer are
injectable so that tests run offline on stand-in text through exactly this code.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from frozenbench.atomic import atomic_file
from frozenbench.errors import DataNotPrefetchedError, InvalidValueError
from frozenbench.extras import require
from frozenbench.tasks.cifar import data_root
from frozenbench.tasks.data import TokenData
from frozenbench.tasks.prefetch import prefetch_hint

DATASET = "cerebras/SlimPajama-627B"
GPT2_VOCAB = 50257


def gpt2_tokenizer() -> Any:
    """The GPT-2 BPE tokenizer (downloaded from the Hugging Face Hub on first use)."""
    tok = require("transformers").GPT2TokenizerFast.from_pretrained("gpt2")
    tok.model_max_length = 10**12  # we cut documents into windows ourselves: no length warning
    return tok


def stream_texts(dataset: str, split: str) -> Iterator[str]:
    """Document texts of a Hub dataset (or a local directory in its layout), streamed: nothing
    is downloaded in bulk. SlimPajama's chunks are zstd-compressed, hence ``zstandard``."""
    require("zstandard")  # without it `datasets` fails late with "zstd not supported"
    for row in require("datasets").load_dataset(dataset, split=split, streaming=True):
        yield row["text"]


def tokenize_stream(texts: Iterable[str], tokenizer: Any, n_tokens: int,
                    batch: int = 256) -> np.ndarray:
    """The first ``n_tokens`` tokens of the concatenated documents (EOT after each), uint16.

    ``tokenizer`` is called like a Hugging Face tokenizer: ``tokenizer(list_of_texts)`` returns
    ``{"input_ids": [[...], ...]}``, and ``tokenizer.eos_token_id`` separates documents.
    """
    out = np.empty(n_tokens, dtype=np.uint16)
    filled, it = 0, iter(texts)
    while filled < n_tokens:
        docs = list(islice(it, batch))  # batched: the fast tokenizer encodes in parallel
        if not docs:
            raise ValueError(f"the text stream ended after {filled} tokens; {n_tokens} needed")
        for ids in tokenizer(docs)["input_ids"]:
            ids = [*ids, tokenizer.eos_token_id][: n_tokens - filled]
            out[filled:filled + len(ids)] = ids
            filled += len(ids)
            if filled == n_tokens:
                break
    return out


def cache_file(cache_dir: Path, dataset: str, split: str, n_tokens: int) -> Path:
    """Where the first ``n_tokens`` tokens of a split are cached.

    >>> cache_file(Path("c"), "cerebras/SlimPajama-627B", "train", 10).as_posix()
    'c/cerebras--SlimPajama-627B-train-10.bin'
    """
    return cache_dir / f"{dataset.strip('/').replace('/', '--')}-{split}-{n_tokens}.bin"


def _split_sizes(val_tokens: int, train_tokens: int | None) -> dict[str, int]:
    if train_tokens is None:
        raise InvalidValueError("SlimPajama needs train_tokens=None replaced by a token count "
                                "(the runner and the prefetch pass the task's budget)")
    return {"train": train_tokens, "validation": val_tokens + 1}


def _write_atomic(path: Path, tokens: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as f:  # a parallel reader never sees half a file
        tokens.tofile(f)


def prefetch_slimpajama(*, context: int, val_tokens: int, train_tokens: int | None,
                        dataset: str = DATASET, cache_dir: str | None = None,
                        tokenizer: Any = None, streams: Mapping[str, Iterable[str]] | None = None,
                        ) -> list[Path]:
    """Stream and tokenize each split into the cache once (files already there are kept);
    returns the cache files. Same arguments as :func:`load_slimpajama` (``context`` unused)."""
    cache = Path(cache_dir) if cache_dir else data_root() / "slimpajama"
    tok, paths = tokenizer, []
    for name, n in _split_sizes(val_tokens, train_tokens).items():
        path = cache_file(cache, dataset, name, n)
        if not path.exists():
            tok = tok if tok is not None else gpt2_tokenizer()
            texts = streams[name] if streams is not None else stream_texts(dataset, name)
            _write_atomic(path, tokenize_stream(texts, tok, n))
        paths.append(path)
    return paths


def load_slimpajama(*, context: int, val_tokens: int, train_tokens: int | None,
                    dataset: str = DATASET, cache_dir: str | None = None,
                    tokenizer: Any = None, streams: Mapping[str, Iterable[str]] | None = None,
                    ) -> TokenData:
    """``train_tokens`` from the ``train`` split and ``val_tokens + 1`` from ``validation``,
    memory-mapped from the cache that :func:`prefetch_slimpajama` filled.

    Never streams from the Hub: a missing cache file raises
    :class:`~frozenbench.errors.DataNotPrefetchedError` naming the prefetch command.
    ``streams`` ({"train": texts, "validation": texts}) and ``tokenizer`` replace the Hub
    stream and the GPT-2 tokenizer (tests): they are tokenized in memory, or into
    ``cache_dir`` when it is given.
    """
    sizes = _split_sizes(val_tokens, train_tokens)
    if streams is not None and cache_dir is None:
        tok = tokenizer if tokenizer is not None else gpt2_tokenizer()
        arrays = {name: tokenize_stream(streams[name], tok, n) for name, n in sizes.items()}
    else:
        if streams is not None:
            prefetch_slimpajama(context=context, val_tokens=val_tokens,
                                train_tokens=train_tokens, dataset=dataset,
                                cache_dir=cache_dir, tokenizer=tokenizer, streams=streams)
        cache = Path(cache_dir) if cache_dir else data_root() / "slimpajama"
        paths = {name: cache_file(cache, dataset, name, n) for name, n in sizes.items()}
        missing = [str(p) for p in paths.values() if not p.exists()]
        if missing:
            raise DataNotPrefetchedError(
                f"SlimPajama tokens are not in the cache: missing {missing}. Workers never "
                f"download; {prefetch_hint('gpt2-14m-slimpajama')}"
            )
        arrays = {name: np.memmap(p, dtype=np.uint16, mode="r") for name, p in paths.items()}
    return TokenData(train=arrays["train"], val=arrays["validation"], vocab_size=GPT2_VOCAB,
                     context=context, val_tokens=val_tokens)
