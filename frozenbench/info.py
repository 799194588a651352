"""What a benchmark is, read from its manifest without loading its table: :class:`BenchmarkInfo`.

``fb.benchmarks()`` and ``frozenbench list`` show one per table: its task and the task's
architecture family and depth n (z runs over 1..n), how many configs of how large a grid, the
seeds, epochs and z values, the metric, the row count and the bytes on disk. Only
``manifest.json`` is read (and the task registry consulted, which is torch-free), so listing
stays fast and light. A table published on the Hub whose files are not in the local Hugging
Face cache gets an info whose shape fields are ``None``: listing never downloads.

>>> import tempfile
>>> from frozenbench.synthetic import write_benchmark
>>> with tempfile.TemporaryDirectory() as d:
...     info = describe(write_benchmark(d, n_configs=6, n_z=3, n_epochs=4), where="directory")
>>> info.name, info.n_layers, info.n_configs, info.z, info.epochs, info.seeds
('synthetic', 3, 6, (1, 2, 3), (1, 2, 3, 4), (0, 1, 2))
>>> info.family is None, info.size_bytes > 0  # no task called 'synthetic': family unknown
(True, True)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from frozenbench.errors import InvalidValueError, format_choices
from frozenbench.manifest import MANIFEST_NAME, Manifest

if TYPE_CHECKING:
    from frozenbench.tasks import Task

#: Where a listed table lives.
WHERE = ("shipped", "checkout", "directory", "hub")

#: Architecture family of a task's model builder (``frozenbench.tasks.models:<function>``).
FAMILIES: dict[str, str] = {
    "torchvision_resnet18": "ResNet",
    "small_resnet": "ResNet",
    "gpt2": "GPT-2",
    "vit": "ViT",
    "cnn1d": "CNN-1D",
    "llama": "Llama",
    "mlp": "MLP",
    "resmlp": "ResNet-MLP",
    "gcn": "GCN",
}


@dataclass(frozen=True)
class BenchmarkInfo:
    """One table as listed: name, where it lives, and its shape from the manifest.

    ``where`` is ``"shipped"`` (inside the package), ``"checkout"`` (the suite in a checkout's
    data directory), ``"directory"`` (a path given by the user)
    or ``"hub"`` (published on the Hugging Face Hub). ``family`` is the architecture family
    of the task's model (``None`` for a task this frozenbench does not define); ``n_layers`` is
    n, the number of layers z counts (the task's, else the largest z in the table).
    ``n_configs`` of the ``grid_size`` configs of the design (a grid or a sample) are in the
    table. ``size_bytes`` counts the
    manifest and every table file on disk. Every field but ``name``, ``where`` and ``path`` is
    ``None`` when the manifest is not available locally (a Hub table not yet downloaded).
    """

    name: str
    where: str
    path: Path | None = None
    task: str | None = None
    family: str | None = None
    n_layers: int | None = None
    n_configs: int | None = None
    grid_size: int | None = None
    z: tuple[int, ...] | None = None
    epochs: tuple[int, ...] | None = None
    seeds: tuple[int, ...] | None = None
    metric: str | None = None
    rows: int | None = None
    size_bytes: int | None = None
    description: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if self.where not in WHERE:
            raise InvalidValueError(
                f"where={self.where!r} is not a place a table lives; valid: "
                f"{format_choices(WHERE)}")

    @property
    def known(self) -> bool:
        """Whether the manifest was read (False: a Hub table not downloaded yet)."""
        return self.rows is not None


def family_of(task: str) -> str | None:
    """The architecture family of a task's model, or None for a task not defined here.

    >>> family_of("mnist-resnet"), family_of("kjv-gpt2"), family_of("my-own-task")
    ('ResNet', 'GPT-2', None)
    """
    spec = _task(task)
    if spec is None:
        return None
    model = spec.model if isinstance(spec.model, str) else getattr(spec.model, "__name__", "")
    function = model.rpartition(":")[2]
    return FAMILIES.get(function, function or None)


def describe(directory: str | os.PathLike[str], *, where: str = "directory",
             name: str | None = None) -> BenchmarkInfo:
    """The :class:`BenchmarkInfo` of a benchmark directory (its manifest is read and checked,
    the table is not). ``name`` defaults to the manifest's benchmark name.

    >>> from frozenbench.registry import DATA_DIR
    >>> info = describe(DATA_DIR / "kjv-gpt2", where="shipped")
    >>> info.family, info.n_layers, info.n_configs, info.metric
    ('GPT-2', 5, 36, 'val_loss')
    """
    path = Path(directory)
    m = Manifest.read(path)
    task = _task(m.task)
    z = tuple(int(v) for v in m.fidelities["z"])
    size = (path / MANIFEST_NAME).stat().st_size
    for rel, meta in m.files.items():
        file = path / rel
        size += file.stat().st_size if file.is_file() else int(meta["bytes"])
    return BenchmarkInfo(
        name=name or m.benchmark, where=where, path=path, task=m.task,
        family=family_of(m.task), n_layers=task.n_layers if task is not None else max(z),
        n_configs=len(m.config_ids), grid_size=len(m.space),
        z=z, epochs=tuple(int(e) for e in m.fidelities["epoch"]),
        seeds=tuple(int(s) for s in m.seeds), metric=m.metric, rows=int(m.rows),
        size_bytes=size, description=m.description)


def _task(name: str) -> Task | None:
    """The task called ``name`` in the (torch-free) task registry, or None."""
    from frozenbench.tasks.catalog import TASKS

    return TASKS.get(name)
