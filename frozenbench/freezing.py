"""The layer-freezing fidelity (Algorithm 1 of the paper): split a model into ``n`` layers and
train only the last ``z`` of them.

A model is split by descending containers and keeping everything else whole:

* ``nn.Sequential``, ``nn.ModuleList``, ``nn.ModuleDict`` and every instance of a class in the
  *set* ``unwrap`` are descended (their children are visited in registration order);
* any other module is a *leaf*; leaves that own no parameters (ReLU, pooling, dropout) are not
  layers. The remaining leaves are the layers, in input-to-output order. Registration order is
  taken as the order of use, which holds for the presets below and for most models.

When ``unwrap`` is None, a *preset* is chosen by the model's class (see :data:`PRESETS`); it
names the classes to unwrap and which adjacent leaves form one layer (a ``merge`` group, e.g.
GPT-2's ``wte`` and ``wpe``). Without a preset and without ``unwrap``, only the containers above
are descended.

Documented rules (each has a test):

Direct parameters
    Parameters owned directly by a descended module (a ViT's ``class_token``, the encoder's
    ``pos_embedding``) join the *first layer inside that module*, i.e. the first layer of the
    input side that follows them: ``class_token`` joins ``conv_proj`` and ``pos_embedding``
    joins ``encoder_layer_0``, the layer that consumes it. A descended module with direct
    parameters but no layer inside it becomes a layer of its own.

Tied (shared) parameters
    A parameter used by several layers (GPT-2's ``wte.weight`` is also ``lm_head.weight``) is
    trainable iff *any* layer that owns it is trainable, so it is never half frozen. It is
    counted once: in :attr:`Layer.n_params` of the first (input-most) layer that owns it, and
    once in :attr:`FreezeRecord.trainable_params`. Since frozen layers' outputs are detached
    (next rule), a tied parameter in a frozen layer is trained only through its uses in
    trainable layers (GPT-2's embedding matrix then learns through the output head only).

Detach (backward stops at the boundary)
    :func:`freeze` registers a forward hook on every module of every frozen layer that returns
    the layer's output detached. Backward therefore never enters the frozen prefix, even when
    a tied parameter would otherwise make the embedding output require grad and pull autograd
    back through all frozen blocks. Detaching *outputs of frozen layers* rather than *inputs
    of the first trainable layer* keeps direct parameters that are consumed between the two
    (a ViT's ``pos_embedding``) on the trainable side. Detaching is free (a view, no copy).
    Calling :func:`freeze` again on the same model removes the old hooks first; ``z = n``
    registers none.

Frozen layers keep their random initial weights; BatchNorm running statistics still update in
training mode (only ``requires_grad`` changes). Build the optimizer from
:func:`trainable_parameters` only.

>>> import torch.nn as nn
>>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
>>> [layer.name for layer in split(model)]
['0', '2', '4']
>>> record = freeze(model, 2)
>>> record.trainable_layer_names
('2', '4')
>>> model[0].weight.requires_grad, model[2].weight.requires_grad
(False, True)
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from frozenbench.errors import FidelityError, InvalidValueError
from frozenbench.extras import require

torch = require("torch")
nn = torch.nn

__all__ = [
    "PRESETS",
    "FreezeRecord",
    "Layer",
    "Plan",
    "freeze",
    "plan_for",
    "split",
    "thaw",
    "trainable_parameters",
    "unfreeze",
]

_CONTAINERS: tuple[type, ...] = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


@dataclass(frozen=True)
class Layer:
    """One layer of the split: a parameterised leaf (or a merge group of adjacent leaves).

    ``module`` is the leaf itself, or an ``nn.ModuleList`` view of the group's modules (not
    registered anywhere; hooks go on the members, see ``modules``). ``params`` are all
    parameters the layer uses (direct parameters joined by rule included, tied ones too);
    ``param_names`` their qualified names in the model; ``n_params`` counts only those not
    already counted in an earlier layer, so the layers' ``n_params`` sum to the model's number
    of unique parameters.
    """

    name: str
    module: Any  # nn.Module (Any keeps mypy independent of torch's stubs)
    n_params: int
    index: int
    modules: tuple[Any, ...] = field(repr=False)
    params: tuple[Any, ...] = field(repr=False)
    param_names: tuple[str, ...] = field(repr=False)


@dataclass(frozen=True)
class FreezeRecord:
    """What :func:`freeze` did: ``z`` of ``n`` layers trainable, with parameter counts.

    Counts are of unique parameters (a tied parameter counts once).
    """

    n: int
    z: int
    trainable_params: int
    frozen_params: int
    layer_names: tuple[str, ...]
    trainable_layer_names: tuple[str, ...]

    @property
    def frozen_layer_names(self) -> tuple[str, ...]:
        """Names of the frozen (input-side) layers."""
        return self.layer_names[: self.n - self.z]

    @property
    def total_params(self) -> int:
        """All unique parameters of the model."""
        return self.trainable_params + self.frozen_params


@dataclass(frozen=True)
class Plan:
    """How to split one model family: classes to unwrap and groups of leaves to merge.

    A merge group is a tuple of module names (qualified, as in ``model.named_modules()``); the
    leaves at or under any of these names form one layer named ``"+".join(group)``.
    """

    unwrap: frozenset[type]
    merge: tuple[tuple[str, ...], ...] = ()
    family: str = "custom"


# --------------------------------------------------------------------------- presets


def _classes(*modules: Any) -> frozenset[type]:
    return frozenset(type(m) for m in modules)


def _owns_params(module: Any) -> bool:
    return next(module.parameters(), None) is not None


def _names_of(model: Any, cls_name: str) -> list[str]:
    return [name for name, m in model.named_modules() if type(m).__name__ == cls_name]


def _resnet(model: Any) -> Plan:
    # conv1, bn1, every residual block, fc: n = 11 for ResNet-18, 19 for ResNet-50.
    return Plan(_classes(model), family="resnet")


def _vit(model: Any) -> Plan:
    # conv_proj (+class_token), each encoder block (the first + pos_embedding), ln + head.
    return Plan(_classes(model, model.encoder), (("encoder.ln", "heads"),), family="vit")


def _conv_norm_act_atoms(model: Any) -> list[tuple[str, ...]]:
    # torchvision's Conv2dNormActivation is an nn.Sequential: keep conv + norm as one layer.
    return [(name,) for name in _names_of(model, "Conv2dNormActivation")]


def _convnext(model: Any) -> Plan:
    # stem, each CNBlock, each downsampling (norm + conv), classifier (norm + linear): n = 23 (T).
    merge = [("features.0",)]
    merge += [
        (f"features.{i}",)
        for i, stage in enumerate(model.features)
        if i > 0 and not any(type(b).__name__ == "CNBlock" for b in stage)
    ]
    merge.append(("classifier",))
    return Plan(_classes(model), tuple(merge), family="convnext")


def _mobile_cnn(model: Any) -> Plan:
    # EfficientNet / MobileNetV3: stem, each inverted-residual block, last 1x1 conv, classifier
    # linears (kept apart: they are cut at a non-linearity).
    return Plan(_classes(model), tuple(_conv_norm_act_atoms(model)), family="mobile-cnn")


def _gpt2(model: Any) -> Plan:
    # embeddings (wte + wpe), each block, final norm with the head: n = n_layer + 2.
    base = model.transformer if hasattr(model, "transformer") else model
    pre = "transformer." if base is not model else ""
    merge: list[tuple[str, ...]] = [(f"{pre}wte", f"{pre}wpe")]
    tail = [f"{pre}ln_f"]
    tail += [n for n, m in model.named_children() if n != "transformer" and _owns_params(m)]
    merge.append(tuple(tail))
    return Plan(_classes(model, base), tuple(merge), family="gpt2")


def _llama(model: Any) -> Plan:
    # embed_tokens, each decoder layer, final norm with lm_head: n = num_hidden_layers + 2.
    base = model.model if hasattr(model, "model") else model
    pre = "model." if base is not model else ""
    tail = [f"{pre}norm"]
    tail += [name for name, m in model.named_children() if name != "model" and _owns_params(m)]
    return Plan(_classes(model, base), (tuple(tail),), family="llama")


def _bert(model: Any) -> Plan:
    # embeddings, each encoder layer, head (pooler with classifier, or the MLM head): n = L + 2.
    base = model.bert if hasattr(model, "bert") else model
    pre = "bert." if base is not model else ""
    tail = [f"{pre}pooler"] if getattr(base, "pooler", None) is not None else []
    tail += [name for name, m in model.named_children() if name != "bert" and _owns_params(m)]
    merge = (tuple(tail),) if tail else ()
    return Plan(_classes(model, base, base.encoder), merge, family="bert")


#: Preset planners by class name (matched along the model's MRO, so subclasses inherit them).
PRESETS: dict[str, Callable[[Any], Plan]] = {
    "ResNet": _resnet,
    "VisionTransformer": _vit,
    "ConvNeXt": _convnext,
    "EfficientNet": _mobile_cnn,
    "MobileNetV3": _mobile_cnn,
    "MobileNetV2": _mobile_cnn,
    "GPT2LMHeadModel": _gpt2,
    "GPT2Model": _gpt2,
    "LlamaForCausalLM": _llama,
    "LlamaModel": _llama,
    "BertModel": _bert,
    "BertForSequenceClassification": _bert,
    "BertForMaskedLM": _bert,
}


def plan_for(model: Any, unwrap: Iterable[type] | type | None = None) -> Plan:
    """The split plan used for ``model``: the preset of its class, or ``unwrap`` if given.

    >>> import torch.nn as nn
    >>> plan_for(nn.Sequential(nn.Linear(2, 2))).family
    'custom'
    """
    if unwrap is not None:
        classes = (unwrap,) if isinstance(unwrap, type) else tuple(unwrap)
        bad = [c for c in classes if not isinstance(c, type)]
        if bad:
            raise InvalidValueError(
                f"unwrap must be a set of classes; got {bad!r} "
                f"(e.g. unwrap={{{type(model).__name__}}})"
            )
        return Plan(frozenset(classes))
    for cls in type(model).__mro__:
        planner = PRESETS.get(cls.__name__)
        if planner is not None:
            return planner(model)
    return Plan(frozenset())


# --------------------------------------------------------------------------- split


def _leaves(model: Any, unwrap: frozenset[type]) -> list[tuple[str, Any, list[tuple[str, Any]]]]:
    """Algorithm 1's traversal: (name, leaf, direct parameters joined to it) in order."""
    out: list[tuple[str, Any, list[tuple[str, Any]]]] = []
    descended: tuple[type, ...] = (*_CONTAINERS, *unwrap)

    def visit(module: Any, name: str) -> None:
        descend = isinstance(module, descended)  # (a bool keeps ``module`` typed Any)
        if descend:
            start = len(out)
            direct = [
                (f"{name}.{p}" if name else p, param)
                for p, param in module.named_parameters(recurse=False)
            ]
            for child_name, child in module.named_children():
                visit(child, f"{name}.{child_name}" if name else child_name)
            if direct:
                first = next(
                    (i for i in range(start, len(out)) if _has_params(out[i][1], out[i][2])),
                    None,
                )
                if first is None:  # no layer inside: the module's direct parameters stand alone
                    out.append((name or type(module).__name__, None, direct))
                else:
                    out[first][2].extend(direct)
        else:
            out.append((name, module, []))

    visit(model, "")
    return out


def _has_params(module: Any, direct: list[tuple[str, Any]]) -> bool:
    if direct:
        return True
    return module is not None and next(module.parameters(), None) is not None


def split(
    model: Any,
    unwrap: Iterable[type] | type | None = None,
    *,
    merge: Sequence[Sequence[str]] | None = None,
) -> list[Layer]:
    """Split ``model`` into its layers (input to output), as in the paper's Algorithm 1.

    ``unwrap`` is a set (or tuple) of classes to descend besides the containers; when None, the
    preset of the model's class is used (:data:`PRESETS`). ``merge`` lists groups of module
    names whose leaves form one layer (default: the preset's groups if ``unwrap`` is None).

    >>> import torch.nn as nn
    >>> model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
    ...                       nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10))
    >>> [(layer.name, layer.n_params) for layer in split(model)]
    [('0', 112), ('1', 8), ('5', 50)]
    >>> [layer.name for layer in split(model, merge=[("0", "1")])]
    ['0+1', '5']
    """
    plan = plan_for(model, unwrap)
    for group in merge or ():
        if isinstance(group, str) or not group:
            raise InvalidValueError(
                f"merge group {group!r} must be a non-empty tuple of module names"
            )
    groups = tuple(tuple(g) for g in merge) if merge is not None else plan.merge
    module_names = {name for name, _ in model.named_modules()}
    unknown = [n for g in groups for n in g if n not in module_names]
    if unknown:
        raise InvalidValueError(
            f"merge names {unknown!r} are not modules of {type(model).__name__}"
        )

    def group_of(leaf_name: str) -> tuple[str, ...] | None:
        for group in groups:
            for g in group:
                if leaf_name == g or leaf_name.startswith(g + "."):
                    return group
        return None

    # Collect (name, modules, named params) per layer, merging grouped leaves.
    raw: list[tuple[str, list[Any], list[tuple[str, Any]]]] = []
    seen_group: dict[tuple[str, ...], int] = {}
    for leaf_name, leaf, direct in _leaves(model, plan.unwrap):
        if not _has_params(leaf, direct):
            continue
        named = list(direct)
        if leaf is not None:
            own = leaf.named_parameters(remove_duplicate=False)
            named = [(f"{leaf_name}.{p}" if leaf_name else p, t) for p, t in own] + named
        grp = group_of(leaf_name)
        if grp is not None and grp in seen_group:
            entry = raw[seen_group[grp]]
            if leaf is not None:
                entry[1].append(leaf)
            entry[2].extend(named)
            continue
        name = "+".join(grp) if grp is not None else leaf_name
        if grp is not None:
            seen_group[grp] = len(raw)
        raw.append((name, [leaf] if leaf is not None else [], named))

    layers: list[Layer] = []
    counted: set[int] = set()
    for index, (name, modules, named) in enumerate(raw):
        uniq: dict[int, tuple[str, Any]] = {}
        for pname, p in named:
            uniq.setdefault(id(p), (pname, p))
        n_params = sum(p.numel() for pid, (_, p) in uniq.items() if pid not in counted)
        counted.update(uniq)
        module = modules[0] if len(modules) == 1 else nn.ModuleList(modules)
        layers.append(
            Layer(
                name=name,
                module=module,
                n_params=n_params,
                index=index,
                modules=tuple(modules),
                params=tuple(p for _, p in uniq.values()),
                param_names=tuple(n for n, _ in uniq.values()),
            )
        )
    return layers


# --------------------------------------------------------------------------- freeze

_HOOKS: weakref.WeakKeyDictionary[Any, list[Any]] = weakref.WeakKeyDictionary()


def _detach(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach()
    if isinstance(value, tuple):
        items = [_detach(v) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if isinstance(value, list):
        return [_detach(v) for v in value]
    if isinstance(value, dict):
        for key in list(value):  # in place: keeps dict subclasses (e.g. ModelOutput) intact
            value[key] = _detach(value[key])
        return value
    return value


def _detach_output_hook(module: Any, args: Any, output: Any) -> Any:
    return _detach(output)


def _remove_hooks(model: Any) -> None:
    for handle in _HOOKS.pop(model, []):
        handle.remove()


def freeze(
    model: Any,
    z: int,
    unwrap: Iterable[type] | type | None = None,
    *,
    merge: Sequence[Sequence[str]] | None = None,
) -> FreezeRecord:
    """Train exactly the last ``z`` layers of ``model``; freeze (and detach) the rest.

    Sets ``requires_grad`` on every parameter (True iff one of its layers is among the last
    ``z``), and hooks the frozen layers so that their outputs are detached. Re-callable with
    another ``z`` (old hooks are removed). Raises :class:`FidelityError` for z outside 1..n.

    >>> import torch, torch.nn as nn
    >>> model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    >>> freeze(model, 1)
    FreezeRecord(n=2, z=1, trainable_params=5, frozen_params=16, layer_names=('0', '2'), \
trainable_layer_names=('2',))
    >>> model(torch.randn(5, 3)).sum().backward()
    >>> model[0].weight.grad is None, model[2].weight.grad is not None
    (True, True)
    >>> freeze(model, 9)
    Traceback (most recent call last):
    ...
    frozenbench.errors.FidelityError: z=9 is out of range for Sequential (n=2 layers, z in 1..2)
    """
    layers = split(model, unwrap, merge=merge)
    n = len(layers)
    if isinstance(z, bool) or not isinstance(z, int) or not 1 <= z <= n:
        raise FidelityError(
            f"z={z!r} is out of range for {type(model).__name__} (n={n} layers, z in 1..{n})"
        )
    trainable = layers[n - z :]
    frozen = layers[: n - z]
    trainable_ids = {id(p) for layer in trainable for p in layer.params}
    n_trainable = n_frozen = 0
    for p in model.parameters():  # unique parameters
        on = id(p) in trainable_ids
        p.requires_grad_(on)
        if on:
            n_trainable += p.numel()
        else:
            n_frozen += p.numel()
            p.grad = None
    _remove_hooks(model)
    handles = [
        m.register_forward_hook(_detach_output_hook) for layer in frozen for m in layer.modules
    ]
    if handles:
        _HOOKS[model] = handles
    return FreezeRecord(
        n=n,
        z=z,
        trainable_params=n_trainable,
        frozen_params=n_frozen,
        layer_names=tuple(layer.name for layer in layers),
        trainable_layer_names=tuple(layer.name for layer in trainable),
    )


def thaw(
    model: Any,
    z: int,
    unwrap: Iterable[type] | type | None = None,
    *,
    merge: Sequence[Sequence[str]] | None = None,
) -> FreezeRecord:
    """Freeze an already-frozen ``model`` to a larger ``z``: layers ``n - z .. n - z_old - 1``
    become trainable (their hooks go), the rest stays as it was. A thaw never freezes: a ``z``
    below the layers trainable now is a :class:`FidelityError` (call :func:`freeze` for that).

    Only ``requires_grad`` and the hooks change; the weights are untouched, so the newly
    trainable layers start from the values they have now (their initialisation, since frozen
    layers do not train; BatchNorm statistics as they were updated).

    >>> import torch.nn as nn
    >>> model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 3), nn.Linear(3, 1))
    >>> freeze(model, 1).trainable_layer_names
    ('3',)
    >>> thaw(model, 2).trainable_layer_names
    ('2', '3')
    >>> thaw(model, 1)
    Traceback (most recent call last):
    ...
    frozenbench.errors.FidelityError: thaw to z=1 would freeze layers: 2 of 3 are trainable \
(z in 2..3)
    """
    layers = split(model, unwrap, merge=merge)
    now = 0  # trainable layers: the output-side run of layers trainable in full (a tied
    while now < len(layers) and all(p.requires_grad for p in layers[-1 - now].params):
        now += 1  # parameter makes a frozen layer partly trainable, see the rules above)
    if isinstance(z, int) and not isinstance(z, bool) and z < now:
        raise FidelityError(f"thaw to z={z} would freeze layers: {now} of {len(layers)} are "
                            f"trainable (z in {now}..{len(layers)})")
    return freeze(model, z, unwrap, merge=merge)


def unfreeze(model: Any) -> None:
    """Make every parameter trainable again and remove :func:`freeze`'s hooks.

    >>> import torch.nn as nn
    >>> model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    >>> _ = freeze(model, 1); unfreeze(model)
    >>> all(p.requires_grad for p in model.parameters())
    True
    """
    _remove_hooks(model)
    for p in model.parameters():
        p.requires_grad_(True)


def trainable_parameters(model: Any) -> list[Any]:
    """The parameters that require grad (each once): build the optimizer from these only.

    >>> import torch.nn as nn
    >>> model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    >>> _ = freeze(model, 1)
    >>> [tuple(p.shape) for p in trainable_parameters(model)]
    [(1, 3), (1,)]
    """
    return [p for p in model.parameters() if p.requires_grad]
