"""Cost of one training step at a given freezing level: FLOPs and memory, measured not assumed.

The cell runner records these per cell (``flops_per_step``, a CPU memory estimate); the tests use
them to check the fidelity's *cost monotonicity* (fewer trainable layers, strictly cheaper).

Method (:func:`measure_step` runs the caller's forward + backward once):

FLOPs
    ``torch.utils.flop_counter.FlopCounterMode`` over forward and backward. It counts matrix
    multiplications, convolutions and attention (2 FLOPs per multiply-add). We add estimates for
    normalisation layers, which it ignores, so that freezing a norm-only layer (ResNet's
    ``bn1``) is not free: 5 FLOPs per element forward (normalise and affine); backward 2 per
    element for the weight and bias gradients plus 5 per element when the input gradient is
    needed. Element-wise activations, the loss and the optimizer update are not counted.

Saved-for-backward bytes
    ``torch.autograd.graph.saved_tensors_hooks`` sees every tensor autograd keeps for the
    backward pass; we sum the sizes of the unique storages (views of one storage count once)
    that are not the model's own parameters or buffers (those are counted in ``param_bytes``).
    This is the activation memory a frozen prefix avoids: frozen layers whose outputs are
    detached (see :mod:`frozenbench.freezing`) save nothing.

Memory estimate
    :func:`cpu_memory_estimate` = all parameters + gradients of the trainable ones + optimizer
    state (:data:`OPTIMIZER_STATE_FACTOR` x trainable bytes: Adam keeps two moments, SGD with
    momentum one) + saved-for-backward bytes. It is an analytic estimate of the step's peak,
    independent of the allocator (on CUDA, measure ``torch.cuda.max_memory_allocated`` too).

torch is imported inside the functions, so importing this module stays light.

>>> import torch, torch.nn as nn
>>> model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
>>> x = torch.randn(4, 8)
>>> cost = measure_step(model, lambda: model(x).sum().backward())
>>> cost.flops  # forward 2*4*(8*16 + 16*2); backward twice that, minus the unneeded input grad
2816
>>> cost.trainable_params, cost.param_bytes
(178, 712)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from frozenbench.errors import InvalidValueError, unknown_name
from frozenbench.extras import require

__all__ = [
    "OPTIMIZER_STATE_FACTOR",
    "StepCost",
    "cpu_memory_estimate",
    "measure_step",
    "parameter_bytes",
]

#: Optimizer state per trainable parameter, in units of the parameter's own size.
#: ("sgd" is SGD with momentum, as in the paper's grid: one buffer.)
OPTIMIZER_STATE_FACTOR: dict[str, int] = {"adam": 2, "adamw": 2, "sgd": 1, "sgd-plain": 0}


@dataclass(frozen=True)
class StepCost:
    """FLOPs and memory (bytes) of one training step; see the module docstring for the method."""

    flops: int
    saved_bytes: int
    param_bytes: int
    grad_bytes: int
    optimizer_state_bytes: int
    trainable_params: int

    def __post_init__(self) -> None:
        for name in ("flops", "saved_bytes", "param_bytes", "grad_bytes", "optimizer_state_bytes"):
            value = getattr(self, name)
            if value < 0:
                raise InvalidValueError(f"{name}={value} must be >= 0")

    @property
    def memory_estimate_bytes(self) -> int:
        """Same as :func:`cpu_memory_estimate` of this cost."""
        return cpu_memory_estimate(self)


def cpu_memory_estimate(cost: StepCost) -> int:
    """Estimated peak memory of a step: params + grads + optimizer state + saved activations.

    >>> cpu_memory_estimate(StepCost(flops=0, saved_bytes=10, param_bytes=400, grad_bytes=100,
    ...                              optimizer_state_bytes=200, trainable_params=25))
    710
    """
    return cost.param_bytes + cost.grad_bytes + cost.optimizer_state_bytes + cost.saved_bytes


def parameter_bytes(model: Any) -> tuple[int, int, int]:
    """(all parameter bytes, trainable parameter bytes, trainable parameter count), unique.

    >>> import torch.nn as nn
    >>> lin = nn.Linear(3, 2)
    >>> lin.bias.requires_grad_(False)  # doctest: +ELLIPSIS
    Parameter containing:...
    >>> parameter_bytes(lin)
    (32, 24, 6)
    """
    total = trainable = count = 0
    for p in model.parameters():  # unique (tied parameters once)
        size = p.numel() * p.element_size()
        total += size
        if p.requires_grad:
            trainable += size
            count += p.numel()
    return total, trainable, count


# Normalisation ops FlopCounterMode does not count: (forward ops, backward ops).
_NORM_FORWARD = (
    "native_batch_norm",
    "_native_batch_norm_legit",
    "_native_batch_norm_legit_functional",
    "_batch_norm_with_update",
    "_batch_norm_with_update_functional",
    "cudnn_batch_norm",
    "miopen_batch_norm",
    "native_layer_norm",
    "native_group_norm",
    "_fused_rms_norm",
)
_NORM_BACKWARD = (
    "native_batch_norm_backward",
    "batch_norm_backward",
    "cudnn_batch_norm_backward",
    "miopen_batch_norm_backward",
    "native_layer_norm_backward",
    "native_group_norm_backward",
    "_fused_rms_norm_backward",
)


def _numel(shape: Any) -> int:
    out = 1
    for dim in shape:
        out *= int(dim)
    return out


def _norm_forward_flops(*args: Any, out_shape: Any = None, **kwargs: Any) -> int:
    return 5 * _numel(args[0])


def _norm_backward_flops(*args: Any, out_shape: Any = None, **kwargs: Any) -> int:
    # The output mask (which of input/weight/bias grads are needed), where the op has one.
    mask = next(
        (
            a
            for a in reversed(args)
            if isinstance(a, list | tuple) and a and all(isinstance(b, bool) for b in a)
        ),
        [True, True, True],
    )
    per_element = (5 if mask[0] else 0) + (2 if any(mask[1:]) else 0)
    return per_element * _numel(args[0])


def _flop_mapping(torch: Any) -> dict[Any, Callable[..., int]]:
    mapping: dict[Any, Callable[..., int]] = {}
    for names, formula in (
        (_NORM_FORWARD, _norm_forward_flops),
        (_NORM_BACKWARD, _norm_backward_flops),
    ):
        for name in names:
            try:  # not every op exists in every torch version
                mapping[getattr(torch.ops.aten, name)] = formula
            except (AttributeError, RuntimeError):
                continue
    return mapping


def measure_step(model: Any, step_fn: Callable[[], object], *, optimizer: str = "adam") -> StepCost:
    """Run ``step_fn`` (one forward + backward of ``model``) once and measure its cost.

    ``optimizer`` names the optimizer whose state is estimated (:data:`OPTIMIZER_STATE_FACTOR`).
    Gradients computed by ``step_fn`` are left on the parameters. See the module docstring for
    what is counted.

    >>> import torch, torch.nn as nn
    >>> from frozenbench.freezing import freeze
    >>> model = nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(),
    ...                       nn.Linear(8, 1))
    >>> x = torch.randn(16, 8)
    >>> costs = []
    >>> for z in (3, 2, 1):
    ...     _ = freeze(model, z)
    ...     costs.append(measure_step(model, lambda: model(x).sum().backward()))
    >>> [c.flops for c in costs]
    [11008, 6912, 4608]
    >>> [c.saved_bytes for c in costs]
    [1536, 1024, 512]
    """
    factor = OPTIMIZER_STATE_FACTOR.get(optimizer)
    if factor is None:
        raise unknown_name("optimizer", optimizer, OPTIMIZER_STATE_FACTOR)
    torch = require("torch")
    from torch.utils.flop_counter import FlopCounterMode

    resident = {_storage_key(t) for t in (*model.parameters(), *model.buffers())}
    saved: dict[tuple[str, int], int] = {}

    def pack(tensor: Any) -> Any:
        key = _storage_key(tensor)
        if key is not None and key not in resident:
            saved[key] = tensor.untyped_storage().nbytes()
        return tensor

    def unpack(tensor: Any) -> Any:
        return tensor

    counter = FlopCounterMode(display=False, custom_mapping=_flop_mapping(torch))
    with counter, torch.autograd.graph.saved_tensors_hooks(pack, unpack):
        step_fn()
    total, trainable, count = parameter_bytes(model)
    return StepCost(
        flops=int(counter.get_total_flops()),
        saved_bytes=sum(saved.values()),
        param_bytes=total,
        grad_bytes=trainable,
        optimizer_state_bytes=factor * trainable,
        trainable_params=count,
    )


def _storage_key(tensor: Any) -> tuple[str, int] | None:
    try:
        storage = tensor.untyped_storage()
        return (str(tensor.device), int(storage.data_ptr()))
    except (RuntimeError, NotImplementedError, AttributeError):  # sparse, meta, wrapper subclass
        return None
