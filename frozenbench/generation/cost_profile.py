"""The isolated per-z cost profile: what one training step of a task costs at each z when the
cell runs alone on the device, and the cost column a table derives from it.

Why: packed generation (:mod:`~frozenbench.generation.gpu_pack`) trains K cells at once on one
GPU. Their wall and CPU clocks then measure the neighbours as much as the cell: on a GPU the
host thread spins while other processes' kernels run. A table made that way takes its default
cost, ``train_cost_s``, from this profile instead: the median step time of the task at each z
(and each value of its cost factors, e.g. the optimizer), measured alone on the device before
packing starts, times the optimizer steps up to each epoch. The profile is written next to the
shards (:data:`PROFILE_NAME`); :func:`frozenbench.generation.merge.merge` uses it when it is
there, copies it next to the table and says so in the manifest (``provenance.default_cost``).

Protocol (that of ``scripts/freezing_cost.py``, on the task's own training step): per (z, cost
factors) a fresh model built and frozen exactly as the cell runner does it and trained alone by
the runner's stacked step (K = 1), the task's real batches, loss, optimizer and lr schedule,
bf16 autocast on CUDA as the runner trains;
``warmup`` steps, then ``iters`` measured steps. CUDA: one pair of CUDA events per step (no
host synchronisation between steps). CPU: the training thread's CPU time per step (one torch
thread). Both: the evaluation of the validation set timed alone (median of
:data:`EVAL_REPEATS`), and the peak memory of ONE config's training step measured on a copy of
the frozen model with its own optimizer (parameters and buffers, gradients, optimizer state and
activations; :func:`step_peak_bytes`): ``torch.cuda.max_memory_allocated`` on CUDA, the
``torch.profiler`` memory events on the CPU (:func:`cpu_step_peak_bytes`). The analytic
estimate (:func:`frozenbench.costs.cpu_memory_estimate`) is kept beside it as
``memory_estimate_bytes``.

This module is torch-free except :func:`measure`.

>>> p = CostProfile(benchmark="b", task="t", device="cpu", device_name="cpu",
...                 timer="thread_time", warmup=1, iters=2, cost_factors=("optimizer",),
...                 epochs=(1, 2), steps_per_record=(3, 6), entries=(
...                     ZCost(z=1, factors={"optimizer": "adam"}, config_id=0, step_s=0.5),
...                     ZCost(z=2, factors={"optimizer": "adam"}, config_id=0, step_s=1.0),
...                     ZCost(z=3, factors={"optimizer": "adam"}, config_id=0, step_s=0.8)))
>>> import pandas as pd
>>> rows = pd.DataFrame({"z": [1, 1, 2, 3], "epoch": [1, 2, 2, 2], "optimizer": ["adam"] * 4})
>>> p.cost_column(rows).tolist()  # z=2 and z=3 came out inverted: they share their mean
[1.5, 3.0, 5.4, 5.4]
>>> p.missing(pd.DataFrame({"z": [3], "epoch": [1], "optimizer": ["sgd"]}))
["z=3, optimizer='sgd'"]
>>> CostProfile.from_json(p.to_json()) == p
True
"""

from __future__ import annotations

import functools
import json
import os
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from frozenbench.atomic import write_text_atomic
from frozenbench.errors import SchemaError

#: The profile's file name, next to the shards (and next to the merged table).
PROFILE_NAME = "cost_profile.json"
#: Version of the profile's JSON layout.
PROFILE_FORMAT = 1
#: Evaluations timed per entry (the median is kept).
EVAL_REPEATS = 3


@dataclass(frozen=True)
class ZCost:
    """One z (at one set of cost-factor values) measured alone: step time in seconds (median,
    10th and 90th percentiles), wall time per step over the measured block, the time of one
    evaluation (median of :data:`EVAL_REPEATS`), the MEASURED peak memory of one training step
    (``memory_method`` says how) and the analytic estimate beside it (-1: not measured)."""

    z: int
    factors: Mapping[str, Any]
    config_id: int
    step_s: float
    step_s_p10: float = -1.0
    step_s_p90: float = -1.0
    step_wall_s: float = -1.0
    peak_memory_bytes: int = -1
    memory_method: str = ""
    flops_per_step: int = -1
    trainable_params: int = -1
    total_params: int = -1
    eval_s: float = -1.0
    memory_estimate_bytes: int = -1

    def __post_init__(self) -> None:
        if not (self.step_s > 0 and np.isfinite(self.step_s)):
            raise SchemaError(f"z={self.z} {dict(self.factors)}: step_s={self.step_s} must be a "
                              "positive finite number of seconds")


@dataclass(frozen=True)
class CostProfile:
    """Per-(z, cost factors) step times of one benchmark's task on one device; see the
    module docstring. ``steps_per_record[i]``: optimizer steps up to ``epochs[i]``."""

    benchmark: str
    task: str
    device: str
    device_name: str
    timer: str
    warmup: int
    iters: int
    cost_factors: tuple[str, ...]
    epochs: tuple[int, ...]
    steps_per_record: tuple[int, ...]
    entries: tuple[ZCost, ...]
    precision: str = ""
    hardware: Mapping[str, str] = field(default_factory=dict)
    versions: Mapping[str, str] = field(default_factory=dict)
    elapsed_s: float = 0.0
    created: str = ""

    def __post_init__(self) -> None:
        if len(self.epochs) != len(self.steps_per_record) or not self.epochs:
            raise SchemaError(f"cost profile of {self.benchmark}: {len(self.epochs)} epochs but "
                              f"{len(self.steps_per_record)} step counts")
        seen = [self._key(e.z, e.factors) for e in self.entries]
        if len(set(seen)) != len(seen):
            raise SchemaError(f"cost profile of {self.benchmark}: an entry appears twice")

    def _key(self, z: int, factors: Mapping[str, Any]) -> tuple[Any, ...]:
        return (int(z), *(factors[f] for f in self.cost_factors))

    def _row_keys(self, frame: pd.DataFrame) -> list[tuple[Any, ...]]:
        cols = [frame["z"].astype(int).tolist(), *(frame[f].tolist() for f in self.cost_factors)]
        return list(zip(*cols))

    def step_s(self, z: int, factors: Mapping[str, Any] | None = None) -> float:
        """The profiled step time (s) at ``z`` and cost-factor values ``factors``."""
        key = self._key(z, factors or {})
        for e in self.entries:
            if self._key(e.z, e.factors) == key:
                return e.step_s
        raise KeyError(f"{self.benchmark}: no profile entry for z={z} {dict(factors or {})}")

    def missing(self, frame: pd.DataFrame) -> list[str]:
        """The (z, cost factors) of ``frame``'s rows that the profile does not cover, and its
        epochs that it has no step count for."""
        have = {self._key(e.z, e.factors) for e in self.entries}
        out = []
        for key in sorted(set(self._row_keys(frame)) - have, key=str):
            names = ", ".join(f"{f}={v!r}" for f, v in zip(self.cost_factors, key[1:]))
            out.append(f"z={key[0]}" + (f", {names}" if names else ""))
        out += [f"epoch={e}" for e in sorted(set(frame["epoch"].astype(int)) - set(self.epochs))]
        return out

    def fitted_step_s(self) -> dict[tuple[Any, ...], float]:
        """The step times the cost column uses, by (z, *cost-factor values): for each set of
        cost-factor values, the measured medians along z made non-decreasing (their
        least-squares fit, as :func:`frozenbench.generation.cost_clock.robust_cost` does for CPU
        time): training more layers never costs less, so a pair of adjacent z whose medians
        came out in the wrong order shares their mean."""
        from frozenbench.generation.cost_clock import non_decreasing

        by_factors: dict[tuple[Any, ...], list[ZCost]] = {}
        for e in self.entries:
            by_factors.setdefault(self._key(e.z, e.factors)[1:], []).append(e)
        out = {}
        for rest, entries in by_factors.items():
            ordered = sorted(entries, key=lambda e: e.z)
            fit = non_decreasing(np.array([e.step_s for e in ordered]), np.ones(len(ordered)))
            out.update({(e.z, *rest): float(v) for e, v in zip(ordered, fit)})
        return out

    def cost_column(self, frame: pd.DataFrame) -> pd.Series:
        """Cumulative profiled training time of every row of ``frame`` (columns ``z``,
        ``epoch`` and the cost factors): the step time at its (z, factors)
        (:meth:`fitted_step_s`) times the optimizer steps up to its epoch."""
        problems = self.missing(frame)
        if problems:
            raise SchemaError(f"cost profile of {self.benchmark} does not cover {problems}")
        step = self.fitted_step_s()
        steps = dict(zip(self.epochs, self.steps_per_record))
        values = [step[k] * steps[int(e)] for k, e in zip(self._row_keys(frame), frame["epoch"])]
        return pd.Series(values, index=frame.index, dtype="float64", name="train_cost_s")

    def describe(self) -> dict[str, Any]:
        """What the manifest records about a cost column taken from this profile."""
        return {"column": "train_cost_s", "source": PROFILE_NAME,
                "method": "isolated per-z profile: the median step time of the task at the "
                          "row's z and cost factors, measured alone on the device (made "
                          "non-decreasing in z), times the optimizer steps up to the row's "
                          "epoch (evaluation excluded)",
                "device": self.device_name, "timer": self.timer, "precision": self.precision,
                "warmup": self.warmup, "iters": self.iters,
                "cost_factors": list(self.cost_factors)}

    # ------------------------------------------------------------------------ files
    def to_json(self) -> str:
        data = {"format": PROFILE_FORMAT, **asdict(self)}
        return json.dumps(data, indent=1, default=str) + "\n"

    @classmethod
    def from_json(cls, text: str, *, source: str = PROFILE_NAME) -> CostProfile:
        """Parse a profile; a file of another layout or with missing fields is a
        :class:`~frozenbench.errors.SchemaError` naming ``source``."""
        try:
            data = json.loads(text)
            fmt = data.pop("format", None)
            if fmt != PROFILE_FORMAT:
                raise SchemaError(f"{source}: profile format {fmt!r}, this frozenbench reads "
                                  f"{PROFILE_FORMAT}")
            entries = tuple(ZCost(**e) for e in data.pop("entries"))
            return cls(**{**data, "entries": entries,
                          "cost_factors": tuple(data["cost_factors"]),
                          "epochs": tuple(data["epochs"]),
                          "steps_per_record": tuple(data["steps_per_record"])})
        except SchemaError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise SchemaError(f"{source} is not a cost profile ({type(exc).__name__}: "
                              f"{exc})") from None

    def write(self, directory: str | os.PathLike[str]) -> Path:
        """Write :data:`PROFILE_NAME` atomically into ``directory``."""
        return write_text_atomic(Path(directory) / PROFILE_NAME, self.to_json())

    @classmethod
    def find(cls, directory: str | os.PathLike[str]) -> CostProfile | None:
        """The profile in ``directory`` (an output directory), or None when it has none."""
        path = Path(directory) / PROFILE_NAME
        if not path.is_file():
            return None
        return cls.from_json(path.read_text(), source=str(path))


def factor_groups(task: Any, config_ids: Sequence[int]) -> dict[tuple[Any, ...], int]:
    """Each combination of the task's cost-factor values among ``config_ids``, with the first
    config that has it (the one profiled for it).

    >>> from frozenbench.tasks import get_task
    >>> factor_groups(get_task("mnist-resnet"), range(216))
    {('adam',): 0, ('sgd',): 9}
    >>> factor_groups(get_task("debug-mnist"), [3, 1])
    {(): 1}
    """
    out: dict[tuple[Any, ...], int] = {}
    for cid in sorted(config_ids):
        config = task.space.config(cid)
        out.setdefault(tuple(config[f] for f in task.cost_factors), cid)
    return out


def measure(task: Any, config_ids: Sequence[int], *, benchmark: str, device: str = "cpu",
            z: Sequence[int] | None = None, warmup: int = 100, iters: int = 100) -> CostProfile:
    """Profile ``task`` in this process on ``device``: every z (or those in ``z``) at each
    cost-factor combination of ``config_ids`` (see the module docstring for the protocol).
    Run it where nothing else uses the device: the numbers are the cost of a cell alone."""
    import torch

    from frozenbench.provenance import library_versions
    from frozenbench.tasks.runner import hardware, torch_settings

    if iters < 1 or warmup < 0:
        raise SchemaError(f"warmup={warmup} must be >= 0 and iters={iters} >= 1")
    dev = torch.device(device)
    started = time.monotonic()
    entries: list[ZCost] = []
    ends: list[int] = []
    with torch_settings(dev, threads=1):
        for cid in factor_groups(task, config_ids).values():
            for zz in sorted(z or task.fidelities.z):
                entry, ends = _measure_z(task, cid, zz, dev, warmup, iters)
                entries.append(entry)
        info = hardware(dev)
    cuda = dev.type == "cuda"
    return CostProfile(
        benchmark=benchmark, task=task.name, device=dev.type,
        device_name=info.get("gpu", "") if cuda else info["cpu_model"],
        timer="cuda.Event pair per step" if cuda else "time.thread_time per step",
        warmup=warmup, iters=iters, cost_factors=tuple(task.cost_factors),
        epochs=tuple(task.fidelities.epoch), steps_per_record=tuple(ends),
        entries=tuple(entries), precision="bfloat16 autocast" if cuda else "float32",
        hardware=info, versions=library_versions(), elapsed_s=time.monotonic() - started,
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )


def cpu_step_peak_bytes(step: Callable[[], object]) -> int:
    """The peak of the bytes of CPU tensors that ``step()`` allocates, measured from
    ``torch.profiler``'s memory events at operator granularity (an operator's allocations count
    from its start, its frees from its end); tensors that existed before are not included.

    >>> import torch
    >>> cpu_step_peak_bytes(lambda: torch.ones(1000).sum()) >= 4000
    True
    """
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    deltas = sorted((e.time_range.start if e.self_cpu_memory_usage > 0 else e.time_range.end,
                     e.self_cpu_memory_usage) for e in prof.events() if e.self_cpu_memory_usage)
    live = peak = 0
    for _, delta in deltas:
        live += delta
        peak = max(peak, live)
    return int(peak)


def step_peak_bytes(task: Any, model: Any, hp: Mapping[str, Any], batch: Any, dev: Any,
                    amp: Any) -> tuple[int, str]:
    """The measured peak memory of one training step of ONE config (forward, backward and its
    optimizer's first step, which allocates the optimizer state) on a copy of the frozen
    ``model``, with the copy's parameters and buffers; and how it was measured."""
    import copy

    import torch

    from frozenbench import freezing
    from frozenbench.tasks.runner import KINDS

    kind, probe = KINDS[task.kind], copy.deepcopy(model)
    held = sum(t.numel() * t.element_size() for t in [*probe.parameters(), *probe.buffers()])
    opt = kind.optimizer(hp, freezing.trainable_parameters(probe))

    def step() -> None:
        with amp() if amp else nullcontext():
            loss = kind.loss(probe, *batch)
        loss.backward()
        opt.step()

    with torch.random.fork_rng(devices=[]):
        if dev.type != "cuda":
            return held + cpu_step_peak_bytes(step), "cpu_profiler_peak"
        torch.cuda.synchronize(dev)
        torch.cuda.reset_peak_memory_stats(dev)
        before = torch.cuda.memory_allocated(dev)
        step()
        torch.cuda.synchronize(dev)
        return held + int(torch.cuda.max_memory_allocated(dev)) - before, "cuda_max_allocated"


def _eval_s(trainer: Any, kind: Any, task: Any, data: Any, dev: Any) -> float:
    """Median time of one evaluation of the validation set (thread CPU, or wall on CUDA)."""
    import torch

    cuda = dev.type == "cuda"
    clock = time.perf_counter if cuda else time.thread_time
    times = []
    for _ in range(EVAL_REPEATS):
        t0 = clock()
        for x, y in kind.val_batches(task, data, dev):
            trainer.evaluate(kind.eval_sums, x, y)
        if cuda:
            torch.cuda.synchronize(dev)
        times.append(clock() - t0)
    return float(statistics.median(times))


def _measure_z(task: Any, config_id: int, z: int, dev: Any, warmup: int,
               iters: int) -> tuple[ZCost, list[int]]:
    """One (config, z) alone: the runner's stacked training step with K = 1, ``warmup`` +
    ``iters`` times."""
    import torch

    from frozenbench import freezing
    from frozenbench.tasks.base import resolve
    from frozenbench.tasks.runner import KINDS, load_data, lr_factor, measure_step
    from frozenbench.tasks.stacked import StackedHyperparameters, StackedTrainer

    kind, config = KINDS[task.kind], task.space.config(config_id)
    task = task.for_shape(config)  # the config's width, batch size... (Task.stack_by)
    hp, cuda = task.hyperparameters(config), dev.type == "cuda"
    amp: Any = functools.partial(torch.autocast, "cuda", dtype=torch.bfloat16) if cuda else None
    torch.manual_seed(0)
    built = resolve(task.model)(**task.model_args)
    frozen = freezing.freeze(built.model, z, built.unwrap, merge=built.merge)
    data = load_data(task, dev, frozen.total_params)
    ends = list(kind.record_ends(task, data, frozen.total_params))
    if cuda:
        torch.cuda.synchronize(dev)
        torch.cuda.empty_cache()
    model = built.model.to(dev).train()
    batches = kind.batches(task, data, torch.Generator().manual_seed(0), dev)
    optimizer = kind.stack_optimizer(hp)
    trainer = StackedTrainer(model, StackedHyperparameters.from_configs(optimizer, [hp]), amp)
    total = max(ends[-1], warmup + iters)  # never past the schedule's end (a negative lr)
    warm, cool = float(hp.get("warmup_frac", 0.0)), float(hp.get("cooldown_frac", 0.0))
    probe = next(kind.batches(task, data, torch.Generator().manual_seed(1), dev))
    cost = measure_step(task, model, optimizer, probe, amp() if amp else nullcontext())
    loss_sum = torch.zeros(1, device=dev)
    steps = iter(range(warmup + iters))

    def step() -> None:  # the runner's own step
        x, y = next(batches)
        factor = lr_factor(task.schedule, next(steps), total, warm, cool)
        loss_sum.add_(trainer.step(kind.loss, x, y, lr_factors=[factor]))

    for _ in range(warmup):
        step()
    times: list[float] = []
    if cuda:
        torch.cuda.synchronize(dev)
        events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
                  for _ in range(iters)]
        t0 = time.perf_counter()
        for start, end in events:
            start.record()
            step()
            end.record()
        torch.cuda.synchronize(dev)
        wall = time.perf_counter() - t0
        times = [start.elapsed_time(end) / 1000.0 for start, end in events]
    else:
        t0 = time.perf_counter()
        for _ in range(iters):
            c0 = time.thread_time()
            step()
            times.append(time.thread_time() - c0)
        wall = time.perf_counter() - t0
    eval_s = _eval_s(trainer, kind, task, data, dev)
    peak, method = step_peak_bytes(task, model, hp, probe, dev, amp)
    entry = ZCost(
        z=z, factors={f: config[f] for f in task.cost_factors}, config_id=config_id,
        step_s=statistics.median(times), step_s_p10=float(np.quantile(times, 0.1)),
        step_s_p90=float(np.quantile(times, 0.9)), step_wall_s=wall / iters,
        peak_memory_bytes=peak, memory_method=method, eval_s=eval_s,
        memory_estimate_bytes=cost.memory_estimate_bytes, flops_per_step=int(cost.flops),
        trainable_params=frozen.trainable_params, total_params=frozen.total_params)
    return entry, ends
