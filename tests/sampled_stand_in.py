"""A task module (``task_module = "sampled_stand_in"`` in a spec) holding one tiny sampled
tabular task, for the end-to-end test of sampled designs through generation, merge and load:
6 Sobol configs with a shape choice (width, in ``stack_by``), n = 3, 2 epochs, 200 rows of
spam. Training is frozenbench's own runner."""

from __future__ import annotations

from frozenbench.space import Fidelities, Hyperparameter, SearchSpace
from frozenbench.tasks import run_cell, run_cells
from frozenbench.tasks.base import Task
from frozenbench.tasks.catalog import get_task as _catalog_task

__all__ = ["STAND_IN", "get_task", "run_cell", "run_cells", "task_names"]

STAND_IN = Task(
    name="sampled-stand-in",
    description="A tiny sampled tabular task (tests only).",
    kind="tabular",
    space=SearchSpace.sample(
        [Hyperparameter("lr", low=1e-3, high=1e-1, log=True),
         Hyperparameter("optimizer", ("adam", "sgd")),
         Hyperparameter("width", (8, 16))], 6, seed=5),
    fidelities=Fidelities(z=(1, 2, 3), epoch=(1, 2), benchmark="sampled-stand-in"),
    metric="val_error",
    model="frozenbench.tasks.tabular_models:mlp",
    data="frozenbench.tasks.tabular:load",
    model_args={"in_features": 57, "num_classes": 2, "n_layers": 3},
    data_args={"source": "spam", "n_train": 200, "n_val": 100, "n_test": 100},
    budget=2,
    batch_size=64,
    stack_by=("width",),
    cost_factors=("width",),
)


def task_names() -> list[str]:
    return [STAND_IN.name]


def get_task(name: str | Task) -> Task:
    return STAND_IN if name == STAND_IN.name else _catalog_task(name)
