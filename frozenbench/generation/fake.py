"""A torch-free stand-in for :mod:`frozenbench.tasks` with scripted outcomes, for testing the
pipeline's bookkeeping (failures, divergence, packing) in milliseconds.

It has the same API the pipeline uses (``get_task``, ``task_names``, ``run_cell``); a spec selects
it with ``task_module = "frozenbench.generation.fake"``. The one task, ``fake``, has a ``mode``
hyperparameter: ``"ok"`` trains normally, ``"diverge"`` stops after epoch 1 with a NaN loss, and
``"fail"`` raises while the environment variable ``FROZENBENCH_FAKE_FAIL`` is ``"1"`` (so a rerun
without it retries and succeeds). ``FROZENBENCH_FAKE_SLEEP_S`` makes every cell take that long.
Its cells have a test split (test = 1.1 x validation). Real training is tested with the real
runner on the ``debug-mnist`` task (no test split).

>>> cell = run_cell(get_task("fake"), {"lr": 0.1, "mode": "ok"}, z=2, seed=0)
>>> cell.status, [r.epoch for r in cell.records]
('ok', [1, 2, 3])
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from frozenbench.cell import CellJob, CellResult, EpochRecord
from frozenbench.errors import unknown_name
from frozenbench.space import Fidelities, SearchSpace


@dataclass(frozen=True)
class FakeTask:
    """The subset of :class:`frozenbench.tasks.Task` the pipeline reads."""

    name: str
    space: SearchSpace
    fidelities: Fidelities
    metric: str = "val_error"
    description: str = "Fake task for pipeline tests."

    @property
    def n_layers(self) -> int:
        return self.fidelities.n_layers


FAKE = FakeTask(
    name="fake",
    space=SearchSpace.from_dict({"lr": [0.1, 0.01], "mode": ["ok", "diverge", "fail"]},
                                log=("lr",)),
    fidelities=Fidelities(z=(1, 2, 3), epoch=(1, 2, 3), benchmark="fake"),
)


def task_names() -> list[str]:
    return [FAKE.name]


def get_task(name: str | FakeTask) -> FakeTask:
    if isinstance(name, FakeTask):
        return name
    if name != FAKE.name:
        raise unknown_name("task", name, task_names())
    return FAKE


def run_cell(task: FakeTask | str, config: Mapping[str, Any], z: int, seed: int, *,
             device: str = "cpu", threads: int | None = None) -> CellResult:
    """A deterministic learning curve; see the module docstring for the scripted outcomes."""
    task = get_task(task)
    config = task.space.normalize(config)
    if config["mode"] == "fail" and os.environ.get("FROZENBENCH_FAKE_FAIL") == "1":
        raise RuntimeError(f"scripted failure of config {task.space.index(config)}")
    time.sleep(float(os.environ.get("FROZENBENCH_FAKE_SLEEP_S", "0")))
    epochs = task.fidelities.epoch[:1] if config["mode"] == "diverge" else task.fidelities.epoch
    lr = float(config["lr"])
    records = []
    for e in epochs:
        loss = math.nan if config["mode"] == "diverge" else 2.0 / (1 + e * z * lr * 10) + seed / 100
        records.append(EpochRecord(
            epoch=e, samples_seen=100 * e, train_loss=loss, val_loss=loss,
            val_error=min(1.0, loss / 3), train_time_s=0.01 * e * z, train_cpu_s=0.01 * e * z,
            eval_time_s=0.001, eval_cpu_s=0.001, peak_memory_bytes=1000 * z, peak_rss_bytes=0,
            train_flops=1e6 * e * z, test_loss=loss * 1.1, test_error=min(1.0, loss / 3 * 1.1),
        ))
    return CellResult(
        key=CellJob(task.name, task.space.index(config), z, seed), config=config,
        n_layers=task.n_layers, trainable_params=10 * z, total_params=10 * task.n_layers,
        memory_method="cpu_tensor_estimate", device=device, versions={"fake": "1"},
        hardware={"cpu_model": "fake"}, records=tuple(records),
        status="diverged" if config["mode"] == "diverge" else "ok",
    )
