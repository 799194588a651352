"""Many configs in one model: the stacked-parameter machinery of the batched cell runner.

K configs that share (task, z, seed and every choice that changes tensor shapes) start from the
same weights and see the same batches in the same order, so they can train as ONE model:

Stacked parameters
    The trainable parameters (those of the last z layers, see :mod:`frozenbench.freezing`) are
    copied K times onto a leading axis (``(K, *shape)``), and so are the running statistics of
    the normalisation layers among them. The frozen prefix keeps ONE copy: no gradient, no
    optimizer state, and no stacked buffer.

One forward for all K
    :meth:`StackedModel.map` runs a per-config function (the task kind's loss or evaluation,
    written for one model) under ``torch.func.vmap`` with ``torch.func.functional_call``. An
    operation whose inputs are all unstacked runs once, unbatched: the frozen prefix is
    therefore computed ONCE per batch for all K configs, and only from the first trainable layer
    on does the work grow with K. Layers written batched by hand (``bmm``, grouped convolutions)
    measured no faster on the CPU than what ``vmap`` emits, and would have to be written per
    model family.

Per-config hyperparameters as tensors
    :class:`StackedOptimizer` steps all K configs at once: Adam (L2 weight decay), AdamW
    (decoupled, on matrices only, as nanoGPT) or SGD with momentum, with each config's learning
    rate (scheduled), betas or momentum and weight decay broadcast along the leading axis.

A cell does not depend on its batch-mates
    Every slot of the stack is computed by the same kernels whatever K is. Two rules make this
    hold bit for bit on one machine: (1) the optimizer uses only operations that round once per
    element (multiply, add, divide, square root), never fused or interpolating kernels (``lerp``,
    ``addcdiv``, ``add(alpha=)``) whose vectorised body and scalar tail may round differently,
    so where an element falls in the tensor does not matter; (2) the stack always carries one
    extra slot after the real configs (:data:`PAD_SLOTS`), so that a cell alone runs the same
    kernels as inside any larger batch and no real config sits in the scalar tail of an
    element-wise kernel. Measured without it (torch 2.14 CPU, AVX-512): at the full z of
    mnist1d-cnn and mnist-resnet, where the first trainable layer is a convolution of the
    unstacked input with the K stacked weights (one convolution of K x 16 output channels),
    16 channels alone round differently from 32 or more (2.4e-7 after one step; 8e-4 in
    mnist1d-cnn's training loss and one validation image after one epoch), while every batch of
    two or more slots agreed bit for bit with every other. A cell alone is therefore a stack of
    two slots (its cost on a CPU: about that of one more config at its z, see ``bench_runner``).
    ``tests/test_tasks_stacked.py`` checks this on the CPU for every task kind. On CUDA, where
    batched matrix kernels may choose their algorithm by batch size, it is not yet measured.

Thawing
    At a record boundary a stack can thaw (:meth:`StackedTrainer.thaw`, after
    :func:`frozenbench.freezing.thaw` on the module): the parameters of the layers that became
    trainable are stacked from their current shared values (their initialisation; BatchNorm
    statistics as the frozen layer updated them), and join the optimizer with FRESH state: zero
    moments, and Adam's bias correction counted from each parameter's own first step
    (:attr:`StackedOptimizer.param_steps`), as ``torch.optim`` does for a parameter added by
    ``add_param_group``. The lr schedule is not restarted: it follows the optimizer's steps over
    the whole run. Both rules above still hold: the new tensors carry the pad slot, and the
    update is the same element-wise arithmetic.

Divergence
    A config whose loss turns NaN or infinite keeps its slot until the end of the record (the
    slots do not interact), is then recorded as diverged and dropped from the stack
    (:meth:`StackedTrainer.keep`); the others continue unchanged.

>>> import torch, torch.nn as nn, torch.nn.functional as F
>>> from frozenbench import freezing
>>> torch.manual_seed(0) and None
>>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
>>> _ = freezing.freeze(model, 1)
>>> hp = StackedHyperparameters.from_configs("adam", [{"lr": 0.1}, {"lr": 0.01}])
>>> trainer = StackedTrainer(model, hp)
>>> x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
>>> def loss(forward, x, y):
...     return F.cross_entropy(forward(x), y)
>>> losses = [trainer.step(loss, x, y, lr_factors=[1.0, 1.0]) for _ in range(3)]
>>> losses[-1].shape, bool(losses[-1][0] < losses[-1][1])  # the larger lr learns faster here
(torch.Size([2]), True)
>>> tuple(trainer.model.params["2.weight"].shape), "0.weight" in trainer.model.params
((3, 3, 8), False)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.func import functional_call, vmap

from frozenbench.errors import InvalidValueError
from frozenbench.space import Value

__all__ = [
    "OPTIMIZERS",
    "PAD_SLOTS",
    "StackedHyperparameters",
    "StackedModel",
    "StackedOptimizer",
    "StackedTrainer",
]

#: Optimizers a stack can run (one per stack: configs with different optimizers are stacked
#: apart). ``adam``: L2 weight decay added to the gradient; ``adamw``: decoupled weight decay on
#: parameters of two or more dimensions; ``sgd``: SGD with momentum ``beta1`` and L2 decay.
OPTIMIZERS = ("adam", "adamw", "sgd")

#: Extra slots after the real configs (see the module docstring, rule 2); they repeat the
#: first config and are never reported.
PAD_SLOTS = 1

#: Adam's epsilon (torch.optim's default).
ADAM_EPS = 1e-8

Tensor = torch.Tensor


@dataclass(frozen=True)
class StackedHyperparameters:
    """The optimizer of a stack and each config's hyperparameters, one entry per config.

    >>> hp = StackedHyperparameters.from_configs("sgd", [{"lr": 0.1, "beta1": 0.9}])
    >>> hp.size, hp.beta1, hp.weight_decay
    (1, (0.9,), (0.0,))
    >>> StackedHyperparameters.from_configs("rmsprop", [{"lr": 0.1}])
    Traceback (most recent call last):
    ...
    frozenbench.errors.InvalidValueError: optimizer='rmsprop'; valid: ['adam', 'adamw', 'sgd']
    """

    optimizer: str
    lr: tuple[float, ...]
    beta1: tuple[float, ...]
    beta2: tuple[float, ...]
    weight_decay: tuple[float, ...]
    warmup_frac: tuple[float, ...]
    cooldown_frac: tuple[float, ...]

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise InvalidValueError(f"optimizer={self.optimizer!r}; valid: {list(OPTIMIZERS)}")
        sizes = {len(getattr(self, f)) for f in ("lr", "beta1", "beta2", "weight_decay",
                                                 "warmup_frac", "cooldown_frac")}
        if len(sizes) != 1 or 0 in sizes:
            raise InvalidValueError(f"every hyperparameter needs one value per config, and at "
                                    f"least one config; got lengths {sorted(sizes)}")

    @classmethod
    def from_configs(cls, optimizer: str, configs: Sequence[Mapping[str, Value]]
                     ) -> StackedHyperparameters:
        """Collect each config's values (torch.optim's defaults where a config has none:
        betas (0.9, 0.999), no weight decay, no warmup or cooldown)."""
        def column(name: str, default: float) -> tuple[float, ...]:
            return tuple(float(c.get(name, default)) for c in configs)  # type: ignore[arg-type,unused-ignore]

        return cls(optimizer, column("lr", 1e-3), column("beta1", 0.9), column("beta2", 0.999),
                   column("weight_decay", 0.0), column("warmup_frac", 0.0),
                   column("cooldown_frac", 0.0))

    @property
    def size(self) -> int:
        """K: the number of configs."""
        return len(self.lr)

    def select(self, keep: Sequence[int]) -> StackedHyperparameters:
        """The hyperparameters of the configs at positions ``keep``."""
        fields = ("lr", "beta1", "beta2", "weight_decay", "warmup_frac", "cooldown_frac")
        return StackedHyperparameters(self.optimizer, *(tuple(getattr(self, f)[i] for i in keep)
                                                         for f in fields))


def _padded(values: Sequence[float]) -> list[float]:
    """A per-config list with the pad slots appended (they repeat the first config)."""
    return [*values, *[values[0]] * PAD_SLOTS]


def _is_running_stat(module: nn.Module) -> bool:
    return bool(getattr(module, "track_running_stats", False))


class StackedModel:
    """A frozen model's trainable parameters stacked K (+ :data:`PAD_SLOTS`) times.

    ``params``: leaf tensors ``(slots, *shape)`` that require grad, by parameter name.
    ``buffers``: the running statistics of normalisation layers among the trainable layers,
    stacked the same way. Everything else (the frozen prefix) is the module's own, shared.
    """

    def __init__(self, module: nn.Module, k: int) -> None:
        if k < 1:
            raise InvalidValueError(f"k={k}: a stack needs at least one config")
        self.module = module
        slots = k + PAD_SLOTS
        trainable = {n: p for n, p in module.named_parameters() if p.requires_grad}
        if not trainable:
            raise InvalidValueError("the model has no trainable parameters (call freeze first)")
        self.params: dict[str, Tensor] = {
            n: _repeat(p.detach(), slots).requires_grad_(True) for n, p in trainable.items()}
        self.buffers: dict[str, Tensor] = {
            n: _repeat(b, slots) for n, b in _owned_buffers(module)}

    def grow(self) -> list[str]:
        """Stack the parameters that became trainable since (see
        :func:`frozenbench.freezing.thaw`) and the running statistics of the normalisation
        layers they belong to, every slot from the module's current (shared) values; returns
        the names of the new parameters, in the module's order."""
        slots = self.slots
        new = [(n, p) for n, p in self.module.named_parameters()
               if p.requires_grad and n not in self.params]
        for n, p in new:
            self.params[n] = _repeat(p.detach(), slots).requires_grad_(True)
        self.buffers.update({n: _repeat(b, slots) for n, b in _owned_buffers(self.module)
                             if n not in self.buffers})
        return [n for n, _ in new]

    @property
    def slots(self) -> int:
        """Configs plus pad slots: the leading size of every stacked tensor."""
        return next(iter(self.params.values())).shape[0]

    def map(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(forward, *args)`` for every slot at once; ``forward`` calls the module with that
        slot's parameters. ``args`` are shared (not stacked); outputs get a leading slot axis.
        Randomness inside ``fn`` is an error: every slot must compute the same thing."""
        def one(params: dict[str, Tensor], buffers: dict[str, Tensor], *a: Any) -> Any:
            state = {**params, **buffers}

            def forward(*inputs: Any, **kwargs: Any) -> Any:
                return functional_call(self.module, state, inputs, kwargs)

            return fn(forward, *a)

        dims = (0, 0, *[None] * len(args))
        return vmap(one, in_dims=dims, randomness="error")(self.params, self.buffers, *args)

    def select(self, keep: Sequence[int]) -> None:
        """Keep the slots at positions ``keep`` (the real configs to continue) plus the pad
        slots; the kept tensors are copied into fresh leaves."""
        idx = _keep_index(keep, self.slots)
        self.params = {n: p.detach()[idx].requires_grad_(True) for n, p in self.params.items()}
        self.buffers = {n: b[idx] for n, b in self.buffers.items()}


def _owned_buffers(module: nn.Module) -> list[tuple[str, Tensor]]:
    """The buffers of the normalisation layers with a trainable parameter (those stacked)."""
    owners = {n for n, m in module.named_modules()
              if _is_running_stat(m) and any(p.requires_grad for p in m.parameters())}
    return [(n, b) for n, b in module.named_buffers() if n.rpartition(".")[0] in owners]


def _repeat(t: Tensor, slots: int) -> Tensor:
    return t.unsqueeze(0).repeat(slots, *[1] * t.dim()).contiguous()


def _keep_index(keep: Sequence[int], slots: int) -> Tensor:
    """Positions of the kept configs followed by the pad slots."""
    real = slots - PAD_SLOTS
    bad = [i for i in keep if not 0 <= i < real]
    if bad:
        raise InvalidValueError(f"keep={list(keep)}: positions {bad} outside 0..{real - 1}")
    return torch.tensor([*keep, *range(real, slots)], dtype=torch.long)


class StackedOptimizer:
    """One optimizer step for every slot of a :class:`StackedModel`, each with its own
    hyperparameters (see the module docstring for why only single-rounding operations).

    Matches ``torch.optim.Adam`` / ``AdamW`` / ``SGD(momentum=beta1)`` on each config up to
    float rounding (the test compares them step by step). The per-slot values are held as
    one float32 column per quantity (computed in float64, rounded once, as torch.optim rounds
    its Python floats) and broadcast against each parameter through a view."""

    def __init__(self, params: Mapping[str, Tensor], hp: StackedHyperparameters) -> None:
        self.steps = 0  # optimizer steps taken: the lr schedule's clock
        self.state: dict[str, dict[str, Tensor]] = {}
        self.param_steps: dict[str, int] = {}  # each parameter's own steps (bias correction)
        self.add(params)
        self._like = next(iter(params.values()))
        self._set(hp)

    def add(self, names: Iterable[str]) -> None:
        """Parameters that join the optimizer now (thawed layers) with fresh state: zero
        moments, and Adam's bias correction counts their steps from here, as torch.optim
        does for a parameter added through ``add_param_group``."""
        for name in names:
            if name in self.state:
                raise InvalidValueError(f"parameter {name!r} is already in the optimizer")
            self.state[name], self.param_steps[name] = {}, 0

    def _set(self, hp: StackedHyperparameters) -> None:
        self.hp = hp
        self.lr, self.wd = _padded(hp.lr), _padded(hp.weight_decay)
        self.beta1, self.beta2 = _padded(hp.beta1), _padded(hp.beta2)
        self.decays = any(w != 0.0 for w in hp.weight_decay)
        self.fixed = {"beta1": self._col(self.beta1), "beta2": self._col(self.beta2),
                      "1-beta1": self._col([1.0 - b for b in self.beta1]),
                      "1-beta2": self._col([1.0 - b for b in self.beta2]),
                      "wd": self._col(self.wd)}

    def _col(self, values: Sequence[float]) -> Tensor:
        return torch.tensor(values, dtype=torch.float64).to(self._like.device, self._like.dtype)

    def _per_step(self, lr: Sequence[float]) -> dict[str, Tensor]:
        """The columns that change with the step: the scheduled lr ``lr`` (per slot)."""
        return {"-lr": self._col([-a for a in lr]),
                "decay": self._col([1.0 - a * w for a, w in zip(lr, self.wd)])}

    def _bias_corrections(self, lr: Sequence[float], t: int) -> dict[str, Tensor]:
        """Adam's bias-correction columns for a parameter at its own step ``t``."""
        return {"-step": self._col([-a / (1.0 - b ** t) for a, b in zip(lr, self.beta1)]),
                "bc2_sqrt": self._col([(1.0 - b ** t) ** 0.5 for b in self.beta2])}

    def step(self, params: Mapping[str, Tensor], lr_factors: Sequence[float]) -> None:
        """Update every parameter from its ``.grad``; ``lr_factors``: each config's schedule
        multiplier at this step (the pad slots follow the first config)."""
        self.steps += 1
        lr = [base * f for base, f in zip(self.lr, _padded(lr_factors))]
        cols = {**self.fixed, **self._per_step(lr)}
        corrections: dict[int, dict[str, Tensor]] = {}  # by a parameter's own step count
        with torch.no_grad():
            for name, p in params.items():
                if p.grad is None:
                    continue
                self.param_steps[name] = t = self.param_steps[name] + 1
                if t not in corrections and self.hp.optimizer != "sgd":
                    corrections[t] = self._bias_corrections(lr, t)
                shape = (-1, *[1] * (p.dim() - 1))
                c = {k: v.view(shape) for k, v in {**cols, **corrections.get(t, {})}.items()}
                if self.hp.optimizer == "sgd":
                    self._sgd(self.state[name], p, p.grad, c)
                else:
                    self._adam(self.state[name], p, p.grad, c)
                p.grad = None

    def _sgd(self, state: dict[str, Tensor], p: Tensor, g: Tensor, c: dict[str, Tensor]) -> None:
        if self.decays:
            g = g + p * c["wd"]
        if "buf" not in state:
            state["buf"] = g.clone()
        else:
            state["buf"].mul_(c["beta1"]).add_(g)
        p.add_(state["buf"] * c["-lr"])

    def _adam(self, state: dict[str, Tensor], p: Tensor, g: Tensor,
              c: dict[str, Tensor]) -> None:
        decoupled = self.hp.optimizer == "adamw"
        if self.decays and decoupled and p.dim() >= 3:  # a matrix (or more) per slot
            p.mul_(c["decay"])
        elif self.decays and not decoupled:
            g = g + p * c["wd"]
        if "m" not in state:
            state["m"], state["v"] = torch.zeros_like(p), torch.zeros_like(p)
        m, v = state["m"], state["v"]
        m.mul_(c["beta1"]).add_(g * c["1-beta1"])
        v.mul_(c["beta2"]).add_((g * g) * c["1-beta2"])
        denom = v.sqrt().div_(c["bc2_sqrt"]).add_(ADAM_EPS)
        p.add_((m * c["-step"]).div_(denom))

    def select(self, keep: Sequence[int]) -> None:
        """Keep the optimizer state and hyperparameters of the configs at ``keep``."""
        idx = _keep_index(keep, len(self.lr))
        self.state = {n: {k: v[idx] for k, v in s.items()} for n, s in self.state.items()}
        self._set(self.hp.select(keep))


class StackedTrainer:
    """A :class:`StackedModel` with its :class:`StackedOptimizer`: one training step for K
    configs from one shared batch, and the evaluation of all of them.

    ``amp``: a context manager entered around the forward pass (bf16 autocast on CUDA)."""

    def __init__(self, module: nn.Module, hp: StackedHyperparameters,
                 amp: Callable[[], Any] | None = None) -> None:
        self.model = StackedModel(module, hp.size)
        self.optimizer = StackedOptimizer(self.model.params, hp)
        self._amp = amp

    @property
    def size(self) -> int:
        """K: the real configs in the stack."""
        return self.model.slots - PAD_SLOTS

    def step(self, loss: Callable[..., Tensor], *batch: Any,
             lr_factors: Sequence[float]) -> Tensor:
        """One optimizer step of every config on ``batch``: ``loss(forward, *batch)`` is the
        task kind's loss for one model. Returns the K losses (detached)."""
        self.model.module.train()
        if self._amp is not None:
            with self._amp():
                losses = self.model.map(loss, *batch)
        else:
            losses = self.model.map(loss, *batch)
        losses.sum().backward()  # the slots are independent: each gets its own gradient
        self.optimizer.step(self.model.params, lr_factors)
        return losses.detach()[:self.size]

    def evaluate(self, fn: Callable[..., Any], *batch: Any) -> Any:
        """``fn(forward, *batch)`` for every config in evaluation mode, without autograd;
        outputs get a leading axis of K."""
        self.model.module.eval()
        try:
            with torch.inference_mode():
                if self._amp is not None:
                    with self._amp():
                        out = self.model.map(fn, *batch)
                else:
                    out = self.model.map(fn, *batch)
        finally:
            self.model.module.train()
        return _head(out, self.size)

    def thaw(self) -> list[str]:
        """Take on the parameters the module's layers made trainable since (after
        :func:`frozenbench.freezing.thaw`): stacked from their current shared values, with their
        normalisation statistics, and added to the optimizer with fresh state. Returns their
        names.

        >>> import torch, torch.nn as nn
        >>> from frozenbench import freezing
        >>> model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 3))
        >>> _ = freezing.freeze(model, 1)
        >>> trainer = StackedTrainer(model, StackedHyperparameters.from_configs("adam", [{}]))
        >>> _ = freezing.thaw(model, 2)
        >>> trainer.thaw(), tuple(trainer.model.buffers["1.running_mean"].shape)
        (['1.weight', '1.bias'], (2, 8))
        """
        new = self.model.grow()
        self.optimizer.add(new)
        return new

    def keep(self, positions: Sequence[int]) -> None:
        """Continue with the configs at ``positions`` only (the others diverged)."""
        self.model.select(positions)
        self.optimizer.select(positions)


def _head(out: Any, k: int) -> Any:
    if isinstance(out, tuple):
        return tuple(_head(o, k) for o in out)
    return out[:k]
