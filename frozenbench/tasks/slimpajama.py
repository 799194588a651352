"""SlimPajama streamed with ``datasets`` and tokenized with the GPT-2 tokenizer.

Only as many tokens as the budget needs are streamed (documents in stream order, each followed
by the end-of-text token), stored as uint16 in a ``.bin`` file under the cache directory and
memory-mapped, as in nanoGPT: the first cell of a worker tokenizes, later cells and later
processes reuse the file. The stream and the tokenizer are injectable so that tests run offline
on stand-in text through exactly this code.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from frozenbench.extras import require
from frozenbench.tasks.cifar import data_root
from frozenbench.tasks.data import TokenData

DATASET = "cerebras/SlimPajama-627B"
GPT2_VOCAB = 50257


def gpt2_tokenizer() -> Any:
    """The GPT-2 BPE tokenizer (downloaded from the Hugging Face Hub on first use)."""
    tok = require("transformers").GPT2TokenizerFast.from_pretrained("gpt2")
    tok.model_max_length = 10**12  # we cut documents into windows ourselves: no length warning
    return tok


def stream_texts(dataset: str, split: str) -> Iterator[str]:
    """Document texts of a Hub dataset, streamed (nothing is downloaded in bulk)."""
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


def _cached(path: Path | None, make: Any) -> np.ndarray:
    if path is None:
        return make()  # type: ignore[no-any-return,unused-ignore]
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        make().tofile(tmp)
        os.replace(tmp, path)  # atomic: parallel workers never read half a file
    return np.memmap(path, dtype=np.uint16, mode="r")


def load_slimpajama(*, context: int, val_tokens: int, train_tokens: int | None,
                    dataset: str = DATASET, cache_dir: str | None = None,
                    tokenizer: Any = None, streams: Mapping[str, Iterable[str]] | None = None,
                    ) -> TokenData:
    """``train_tokens`` from the ``train`` split and ``val_tokens + 1`` from ``validation``.

    ``streams`` ({"train": texts, "validation": texts}) and ``tokenizer`` replace the Hub
    stream and the GPT-2 tokenizer (tests); with ``streams`` given nothing is cached unless
    ``cache_dir`` is given too.
    """
    if train_tokens is None:
        raise ValueError("load_slimpajama needs train_tokens (the runner passes the budget)")
    tok = tokenizer if tokenizer is not None else gpt2_tokenizer()
    cache = Path(cache_dir) if cache_dir else (None if streams else data_root() / "slimpajama")

    def split(name: str, n: int) -> np.ndarray:
        def make() -> np.ndarray:  # only runs on a cache miss: no stream opened otherwise
            texts = streams[name] if streams is not None else stream_texts(dataset, name)
            return tokenize_stream(texts, tok, n)

        path = cache / f"{dataset.replace('/', '--')}-{name}-{n}.bin" if cache else None
        return _cached(path, make)

    return TokenData(train=split("train", train_tokens), val=split("validation", val_tokens + 1),
                     vocab_size=GPT2_VOCAB, context=context, val_tokens=val_tokens)
