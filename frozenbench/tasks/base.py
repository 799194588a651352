"""What a benchmark task is: a search space, fidelities, and how to build its model and data.

A :class:`Task` is pure data and torch-free, so the generation pipeline and the tabular core can
list tasks and validate configs without the training extra. The model and the data are named by
``"module:function"`` references (or given as callables, which tests use to inject stand-in data)
and resolved by the runner only when a cell is trained.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from frozenbench.errors import InvalidValueError
from frozenbench.space import Condition, Fidelities, SearchSpace, Value

#: Task kinds; each has its own batch sampler and evaluation in the runner.
KINDS = ("image", "tabular", "lm", "graph")
#: Learning-rate schedules the runner knows (see :func:`frozenbench.tasks.runner.lr_factor`).
SCHEDULES = ("constant", "cosine", "wsd")
#: Score metrics a task may declare.
TASK_METRICS = ("val_error", "val_loss")

Ref = str | Callable[..., Any]


def resolve(ref: Ref) -> Callable[..., Any]:
    """Turn a ``"package.module:function"`` reference into the function (callables pass through).

    >>> resolve("math:sqrt")(9.0)
    3.0
    """
    if callable(ref):
        return ref
    module, _, name = ref.partition(":")
    if not module or not name:
        raise InvalidValueError(f"a reference must look like 'package.module:function': {ref!r}")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return,unused-ignore]


@dataclass(frozen=True)
class Task:
    """A benchmark task: what is trained, on what, for how long, and which grid is searched.

    ``kind="image"``: ``budget`` is the number of epochs; one record per epoch.
    ``kind="lm"``: ``budget`` is the number of optimizer steps (or ``None`` to derive it from
    ``tokens_per_param``); ``fidelities.epoch`` are evenly spaced checkpoints.

    Hyperparameters not in ``space`` come from ``defaults`` (e.g. the fixed ``lr`` of the GPT
    tasks), so a config names exactly the searched hyperparameters.

    >>> from frozenbench.tasks import get_task
    >>> task = get_task("debug-mnist")
    >>> task.n_layers, task.metric, len(task.space)
    (6, 'val_error', 4)
    """

    name: str
    description: str
    kind: str
    space: SearchSpace
    fidelities: Fidelities
    metric: str
    model: Ref
    data: Ref
    model_args: Mapping[str, Any] = field(default_factory=dict)
    data_args: Mapping[str, Any] = field(default_factory=dict)
    defaults: Mapping[str, Value] = field(default_factory=dict)
    batch_size: int = 128
    budget: int | None = None
    tokens_per_param: float | None = None
    schedule: str = "constant"
    augment: Mapping[str, float] = field(default_factory=dict)
    eval_batch_size: int = 1024
    conditions: tuple[Condition, ...] = ()
    #: hyperparameters that change the work of a step (the merge's robust cost groups by them)
    cost_factors: tuple[str, ...] = ()
    #: every way the task departs from the paper's setup (listed in the benchmark's card)
    deviations: tuple[str, ...] = ()
    #: discrete hyperparameters that change tensor shapes or the batch stream: configs stack
    #: together only when they agree on these (see :meth:`for_shape`)
    stack_by: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidValueError(f"task kind={self.kind!r}; valid: {list(KINDS)}")
        if self.metric not in TASK_METRICS:
            raise InvalidValueError(f"task metric={self.metric!r}; valid: {list(TASK_METRICS)}")
        if self.schedule not in SCHEDULES:
            raise InvalidValueError(f"schedule={self.schedule!r}; valid: {list(SCHEDULES)}")
        if self.budget is None and self.tokens_per_param is None:
            raise InvalidValueError(f"task {self.name!r} needs a budget or tokens_per_param")
        if self.kind in ("image", "tabular") and self.budget is not None \
                and tuple(self.fidelities.epoch) != tuple(range(1, self.budget + 1)):
            raise InvalidValueError(
                f"task {self.name!r}: epochs {list(self.fidelities.epoch)} != 1..{self.budget}"
            )
        clash = sorted(set(self.defaults) & set(self.space.names))
        if clash:
            raise InvalidValueError(f"task {self.name!r}: {clash} both searched and fixed")
        unknown_factors = sorted(set(self.cost_factors) - set(self.space.names))
        if unknown_factors:
            raise InvalidValueError(f"task {self.name!r}: cost_factors {unknown_factors}; "
                                    f"valid: {list(self.space.names)}")
        self._check_stack_by()
        for cond in self.conditions:
            unknown = sorted({cond.child, cond.parent} - set(self.space.names))
            if unknown:
                raise InvalidValueError(f"task {self.name!r}: condition names {unknown}; "
                                        f"valid: {list(self.space.names)}")

    def _check_stack_by(self) -> None:
        by_name = {h.name: h for h in self.space.hyperparameters}
        unknown = sorted(set(self.stack_by) - set(by_name))
        if unknown:
            raise InvalidValueError(f"task {self.name!r}: stack_by {unknown}; "
                                    f"valid: {list(self.space.names)}")
        ranged = [n for n in self.stack_by if not by_name[n].values]
        if ranged:
            raise InvalidValueError(f"task {self.name!r}: stack_by {ranged} are ranges; a "
                                    "shape-changing hyperparameter takes declared choices")

    def for_shape(self, config: Mapping[str, Any]) -> Task:
        """The task as trained for ``config``'s values of :attr:`stack_by`: ``batch_size`` sets
        the batch size, every other one is passed to the model builder as a keyword argument.
        A task without ``stack_by`` is returned as it is.

        >>> from frozenbench.tasks import get_task
        >>> task = get_task("debug-mnist")
        >>> task.for_shape({"lr": 1e-3}) is task
        True
        """
        if not self.stack_by:
            return self
        values = {name: config[name] for name in self.stack_by}
        batch = values.pop("batch_size", self.batch_size)
        return replace(self, batch_size=int(batch), model_args={**self.model_args, **values})

    def distinct_config_ids(self) -> list[int]:
        """Indices of the configs that are not duplicates by construction: wherever a
        :class:`Condition` makes a hyperparameter inactive, only its fill value (a grid's first
        value, a range's low) is kept. A sampled design holds inactive values at their fill,
        so every one of its configs is kept.

        >>> from frozenbench.tasks import get_task
        >>> len(get_task("mnist-resnet").space), len(get_task("mnist-resnet").distinct_config_ids())
        (216, 144)
        >>> len(get_task("fb-cora-gcn").distinct_config_ids())
        512
        """
        if not self.conditions:
            return list(range(len(self.space)))
        keep = []
        fill = {h.name: h.fill for h in self.space.hyperparameters}
        for cid in range(len(self.space)):
            config = self.space.config(cid)
            if all(c.active(config) or config[c.child] == fill[c.child]
                   for c in self.conditions):
                keep.append(cid)
        return keep

    @property
    def n_layers(self) -> int:
        """n: layers under :func:`frozenbench.freezing.split`; z runs over 1..n."""
        return self.fidelities.n_layers

    @property
    def n_records(self) -> int:
        """Evaluation points per cell (epochs or checkpoints)."""
        return len(self.fidelities.epoch)

    def hyperparameters(self, config: Mapping[str, Any]) -> dict[str, Value]:
        """The full hyperparameters of a config: the grid values plus the task's fixed ones.

        >>> from frozenbench.tasks import get_task
        >>> get_task("debug-mnist").hyperparameters({"lr": 1e-3, "optimizer": "adam"})["beta1"]
        0.9
        """
        return {**self.defaults, **self.space.normalize(config)}

    def with_budget(self, budget: int, n_records: int | None = None) -> Task:
        """A copy trained for ``budget`` epochs (image) or steps (lm): for tests and sizing.

        >>> from frozenbench.tasks import get_task
        >>> get_task("mnist-resnet").with_budget(2).fidelities.epoch
        (1, 2)
        """
        if self.kind in ("image", "tabular"):
            epochs: tuple[int, ...] = tuple(range(1, budget + 1))
        else:
            epochs = tuple(range(1, (n_records or self.n_records) + 1))
        fid = Fidelities(z=self.fidelities.z, epoch=epochs, benchmark=self.name)
        return replace(self, budget=budget, tokens_per_param=None, fidelities=fid)
