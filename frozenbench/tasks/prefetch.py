"""Fetch each dataset of a task once, into the shared cache, before any job starts.

A cluster run of a paper-scale task starts ~100 jobs of several processes each. If each of them
downloaded CIFAR-100 or streamed and tokenized its ~292M SlimPajama tokens, the run would fetch
the same data hundreds of times and race on half-written files. So the loaders that the workers
call never download (a missing cache raises
:class:`~frozenbench.errors.DataNotPrefetchedError` naming the command below), and this module
fills the cache once: each loader that reads downloaded data has a *fetcher* twin taking the
same keywords, which writes into a temporary name and ``os.replace``-s it into place.

Run it on a node with network access, with ``FROZENBENCH_DATA`` pointing at the cache that
every job sees::

    frozenbench generate prefetch gpt2-14m-slimpajama resnet18-cifar100

Tasks whose data ships with a package (mnist-resnet, kjv-gpt2) have nothing to fetch. The
command also takes a grid spec's name or file (:mod:`frozenbench.generation.prefetch`: specs
belong to generation, which uses the tasks, not the other way round).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from frozenbench.tasks.base import Ref, Task, resolve

#: The command that fills the cache (named by every "not prefetched" error).
PREFETCH_COMMAND = "frozenbench generate prefetch"

#: Loaders that read downloaded data -> the function that fills their cache (same keywords).
FETCHERS: dict[str, str] = {
    "frozenbench.tasks.cifar:load_cifar100": "frozenbench.tasks.cifar:prefetch_cifar100",
    "frozenbench.tasks.slimpajama:load_slimpajama":
        "frozenbench.tasks.slimpajama:prefetch_slimpajama",
}


def prefetch_hint(name: str) -> str:
    """The sentence a "not prefetched" error ends with.

    >>> prefetch_hint("resnet18-cifar100")  # doctest: +ELLIPSIS
    'run `frozenbench generate prefetch resnet18-cifar100` once before any job starts...'
    """
    return (f"run `{PREFETCH_COMMAND} {name}` once before any job starts, with "
            f"FROZENBENCH_DATA set to a cache that every job sees")


@dataclass(frozen=True)
class Prefetched:
    """What :func:`prefetch_task` did for one task: the loader and the cached paths."""

    task: str
    loader: str
    paths: tuple[Path, ...]


def _unwrap(ref: Ref) -> tuple[str, dict[str, Any]]:
    """``"module:function"`` of a loader and the keywords bound by ``functools.partial``."""
    fn = resolve(ref)
    bound: dict[str, Any] = {}
    while isinstance(fn, functools.partial):
        bound = {**fn.keywords, **bound}
        fn = fn.func
    return f"{fn.__module__}:{fn.__qualname__}", bound


def loader_arguments(task: Task, total_params: int) -> dict[str, Any]:
    """The keywords the runner passes to the task's loader (an LM's token budget depends on
    the model's size), so that the prefetch fills exactly the cache the workers read.

    >>> from frozenbench.tasks import get_task
    >>> loader_arguments(get_task("gpt2-14m-slimpajama"), 14_583_296)["train_tokens"]
    291700737
    """
    args = dict(task.data_args)
    if task.kind == "lm":
        from frozenbench.tasks import lm

        args["train_tokens"] = lm.train_tokens(task, total_params)
    return args


def _total_params(task: Task) -> int:
    from frozenbench import freezing

    built = resolve(task.model)(**task.model_args)
    return freezing.freeze(built.model, task.n_layers, built.unwrap,
                           merge=built.merge).total_params


def prefetch_task(task: Task | str) -> Prefetched:
    """Fill the shared cache for ``task`` (a :class:`Task` or a task name); idempotent.

    >>> prefetch_task("debug-mnist").paths  # its data ships with a package
    ()
    """
    if isinstance(task, str):
        from frozenbench.tasks.catalog import get_task

        task = get_task(task)
    loader, bound = _unwrap(task.data)
    fetcher_ref = FETCHERS.get(loader)
    if fetcher_ref is None:
        return Prefetched(task.name, loader, ())
    fetcher: Callable[..., list[Path]] = resolve(fetcher_ref)
    total = _total_params(task) if task.kind == "lm" else 0
    paths = fetcher(**{**loader_arguments(task, total), **bound})
    return Prefetched(task.name, loader, tuple(paths))
