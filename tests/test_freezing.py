"""Layer freezing (Algorithm 1): layer counts, the documented rules, and that backward stops."""

from __future__ import annotations

import pytest
import torch
import torchvision
import transformers
from torch import nn

from frozenbench.errors import FidelityError, InvalidValueError
from frozenbench.freezing import (
    freeze,
    plan_for,
    split,
    thaw,
    trainable_parameters,
    unfreeze,
)

torch.set_num_threads(1)
tvm = torchvision.models


# --------------------------------------------------------------------------- helpers


def numel(*modules, extra=()):
    """Unique parameter count of some modules plus extra parameters (the oracle)."""
    seen = {}
    for m in modules:
        for p in m.parameters():
            seen[id(p)] = p.numel()
    for p in extra:
        seen[id(p)] = p.numel()
    return sum(seen.values())


def counts(model, unwrap=None):
    return [(layer.name, layer.n_params) for layer in split(model, unwrap)]


def unique_total(model):
    return sum(p.numel() for p in model.parameters())


def small_gpt2(n_layer=8, d=32, vocab=64, ctx=32):
    config = transformers.GPT2Config(
        n_layer=n_layer, n_embd=d, n_head=2, n_positions=ctx, vocab_size=vocab,
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=0, eos_token_id=0,
    )
    torch.manual_seed(0)
    return transformers.GPT2LMHeadModel(config)


def small_vit():
    torch.manual_seed(0)
    return tvm.VisionTransformer(image_size=16, patch_size=8, num_layers=2, num_heads=2,
                                 hidden_dim=16, mlp_dim=32, num_classes=5)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def resnet18():
    torch.manual_seed(0)
    return tvm.resnet18(num_classes=100)


@pytest.fixture(scope="module")
def big_models():
    """The larger torchvision models, built once (random init, nothing downloaded)."""
    return {
        "resnet50": tvm.resnet50(),
        "vit_b_16": tvm.vit_b_16(),
        "convnext_tiny": tvm.convnext_tiny(),
        "efficientnet_b0": tvm.efficientnet_b0(),
        "mobilenet_v3_large": tvm.mobilenet_v3_large(),
    }


# --------------------------------------------------------------------------- layer counts


def test_resnet18_has_the_papers_eleven_layers(resnet18):
    got = counts(resnet18)
    blocks = [f"layer{i}.{j}" for i in range(1, 5) for j in range(2)]
    assert [name for name, _ in got] == ["conv1", "bn1", *blocks, "fc"]
    assert len(got) == 11
    m = resnet18
    expected = [numel(m.conv1), numel(m.bn1)]
    expected += [numel(m.get_submodule(b)) for b in blocks] + [numel(m.fc)]
    assert [c for _, c in got] == expected
    # Anchors, independent of the oracle: 3*64*7*7, 2*64, first BasicBlock, 512*100+100.
    assert expected[:3] == [9408, 128, 73984] and expected[-1] == 51300


def test_resnet50(big_models):
    m = big_models["resnet50"]
    got = counts(m)
    blocks = [f"layer{i}.{j}" for i, k in zip(range(1, 5), (3, 4, 6, 3)) for j in range(k)]
    assert [name for name, _ in got] == ["conv1", "bn1", *blocks, "fc"]
    assert len(got) == 19
    assert [c for _, c in got] == [numel(m.get_submodule(n)) for n in ["conv1", "bn1", *blocks, "fc"]]


def test_vit_b16_and_the_direct_parameter_rule(big_models):
    m = big_models["vit_b_16"]
    layers = split(m)
    assert len(layers) == 14  # embedding, 12 blocks, final norm + head
    blocks = [f"encoder.layers.encoder_layer_{i}" for i in range(12)]
    assert [layer.name for layer in layers] == ["conv_proj", *blocks, "encoder.ln+heads"]
    expected = [numel(m.conv_proj, extra=[m.class_token])]
    expected.append(numel(m.encoder.layers[0], extra=[m.encoder.pos_embedding]))
    expected += [numel(m.encoder.layers[i]) for i in range(1, 12)]
    expected.append(numel(m.encoder.ln, m.heads))
    assert [layer.n_params for layer in layers] == expected
    assert sum(expected) == unique_total(m)
    # Direct parameters join the first layer inside their module (the one that consumes them).
    assert "class_token" in layers[0].param_names
    assert "encoder.pos_embedding" in layers[1].param_names


def test_convnext_tiny(big_models):
    m = big_models["convnext_tiny"]
    got = counts(m)
    assert len(got) == 23  # stem, 3+3+9+3 blocks, 3 downsamplings, classifier
    names = ["features.0"]
    for stage, depth in zip((1, 3, 5, 7), (3, 3, 9, 3)):
        names += [f"features.{stage}.{j}" for j in range(depth)]
        if stage < 7:
            names.append(f"features.{stage + 1}")
    names.append("classifier")
    assert [n for n, _ in got] == names
    assert [c for _, c in got] == [numel(m.get_submodule(n)) for n in names]


def test_efficientnet_b0(big_models):
    m = big_models["efficientnet_b0"]
    got = counts(m)
    assert len(got) == 19  # stem, 16 MBConv blocks, head conv, classifier linear
    names = ["features.0"]
    names += [f"features.{s}.{j}" for s, k in zip(range(1, 8), (1, 2, 2, 3, 3, 4, 1)) for j in range(k)]
    names += ["features.8", "classifier.1"]
    assert [n for n, _ in got] == names
    assert [c for _, c in got] == [numel(m.get_submodule(n)) for n in names]


def test_mobilenet_v3_large(big_models):
    m = big_models["mobilenet_v3_large"]
    got = counts(m)
    assert len(got) == 19  # stem, 15 inverted residuals, last conv, two classifier linears
    names = [f"features.{i}" for i in range(17)] + ["classifier.0", "classifier.3"]
    assert [n for n, _ in got] == names
    assert [c for _, c in got] == [numel(m.get_submodule(n)) for n in names]


def test_gpt2_preset_has_n_layer_plus_two():
    m = small_gpt2(n_layer=8)
    layers = split(m)
    assert len(layers) == 10
    t = m.transformer
    assert [layer.name for layer in layers] == [
        "transformer.wte+transformer.wpe",
        *[f"transformer.h.{i}" for i in range(8)],
        "transformer.ln_f+lm_head",
    ]
    expected = [numel(t.wte, t.wpe), *[numel(b) for b in t.h], numel(t.ln_f)]
    assert [layer.n_params for layer in layers] == expected  # tied lm_head counted in wte
    assert sum(expected) == unique_total(m)
    assert layers[-1].params[-1] is t.wte.weight  # the head still owns the tied weight


def test_llama_preset():
    config = transformers.LlamaConfig(
        vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=3,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=32,
    )
    m = transformers.LlamaForCausalLM(config)
    layers = split(m)
    assert len(layers) == 5
    names = ["model.embed_tokens", "model.layers.0", "model.layers.1", "model.layers.2"]
    assert [layer.name for layer in layers] == [*names, "model.norm+lm_head"]
    expected = [numel(m.get_submodule(n)) for n in names] + [numel(m.model.norm, m.lm_head)]
    assert [layer.n_params for layer in layers] == expected
    assert expected[-1] == 32 + 64 * 32


@pytest.mark.parametrize("head", ["classification", "mlm"])
def test_bert_presets(head):
    config = transformers.BertConfig(
        vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=3,
        num_attention_heads=4, max_position_embeddings=32, num_labels=3,
    )
    if head == "classification":
        m = transformers.BertForSequenceClassification(config)
        tail_name, tail = "bert.pooler+classifier", [m.bert.pooler, m.classifier]
    else:
        m = transformers.BertForMaskedLM(config)
        tail_name, tail = "cls", [m.cls]
    layers = split(m)
    assert len(layers) == 5
    names = ["bert.embeddings", *[f"bert.encoder.layer.{i}" for i in range(3)]]
    assert [layer.name for layer in layers] == [*names, tail_name]
    seen = numel(*[m.get_submodule(n) for n in names])
    tail_count = numel(*tail) - (numel(m.bert.embeddings.word_embeddings) if head == "mlm" else 0)
    assert [layer.n_params for layer in layers] == [
        *[numel(m.get_submodule(n)) for n in names], tail_count,
    ]
    assert seen + tail_count == unique_total(m)


def test_plain_algorithm_1_and_custom_unwrap_set():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 2)
            self.b = nn.Linear(2, 2)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Linear(2, 2)
            self.blocks = nn.ModuleList([Block(), Block()])
            self.act = nn.ReLU()
            self.heads = nn.ModuleDict({"x": nn.Linear(2, 1)})

    net = Net()
    assert [layer.name for layer in split(net)] == [""]  # not unwrapped: one layer
    assert [layer.name for layer in split(net, {Net})] == ["stem", "blocks.0", "blocks.1",
                                                             "heads.x"]
    assert [layer.name for layer in split(net, (Net, Block))] == [
        "stem", "blocks.0.a", "blocks.0.b", "blocks.1.a", "blocks.1.b", "heads.x",
    ]
    assert plan_for(net, Net).unwrap == frozenset({Net})


def test_direct_parameters_without_an_inner_layer_stand_alone():
    class Scale(nn.Module):
        def __init__(self):
            super().__init__()
            self.gain = nn.Parameter(torch.ones(3))
            self.act = nn.ReLU()

    model = nn.Sequential(nn.Linear(3, 3), Scale(), nn.Linear(3, 1))
    layers = split(model, {Scale})
    assert [(layer.name, layer.n_params) for layer in layers] == [("0", 12), ("1", 3), ("2", 4)]


def test_bad_arguments_are_clear_errors(resnet18):
    with pytest.raises(InvalidValueError, match="set of classes"):
        split(resnet18, {"ResNet"})
    with pytest.raises(InvalidValueError, match="nope"):
        split(resnet18, merge=[("nope",)])
    with pytest.raises(InvalidValueError, match="non-empty tuple"):
        split(resnet18, merge=["conv1"])


# --------------------------------------------------------------------------- freeze


@pytest.mark.parametrize("z", [0, 12, -1, True, 2.0])
def test_z_out_of_range_names_n(resnet18, z):
    with pytest.raises(FidelityError, match=r"ResNet \(n=11 layers, z in 1\.\.11\)"):
        freeze(resnet18, z)


def test_freeze_sets_exactly_the_last_z_layers(resnet18):
    for z in (1, 4, 11):
        record = freeze(resnet18, z)
        layers = split(resnet18)
        assert record.n == 11 and record.z == z
        assert record.trainable_layer_names == tuple(layer.name for layer in layers[-z:])
        assert record.frozen_layer_names == tuple(layer.name for layer in layers[:-z])
        for i, layer in enumerate(layers):
            assert all(p.requires_grad == (i >= 11 - z) for p in layer.params), layer.name
        assert record.trainable_params == sum(layer.n_params for layer in layers[-z:])
        assert record.total_params == unique_total(resnet18)
    unfreeze(resnet18)


def test_backward_stops_at_the_boundary_and_refreeze(resnet18):
    model = resnet18
    x = torch.randn(2, 3, 32, 32)
    freeze(model, 3)
    model(x).sum().backward()
    frozen_have_grad = [n for n, p in model.named_parameters() if not p.requires_grad and
                        p.grad is not None]
    assert frozen_have_grad == []
    assert all(p.grad is not None for p in trainable_parameters(model))
    # Re-freeze with another z: grads of newly frozen params are dropped, hooks replaced.
    model.zero_grad(set_to_none=True)
    freeze(model, 11)
    model(x).sum().backward()
    assert model.conv1.weight.grad is not None  # no stale detach hook left on conv1
    model.zero_grad(set_to_none=True)
    freeze(model, 1)
    out = model(x)
    assert out.requires_grad
    out.sum().backward()
    assert model.layer4[1].conv2.weight.grad is None and model.fc.weight.grad is not None
    model.zero_grad(set_to_none=True)
    unfreeze(model)


def test_optimizer_sees_only_trainable_parameters(resnet18):
    model = resnet18
    freeze(model, 2)
    params = trainable_parameters(model)
    assert {id(p) for p in params} == {
        id(p) for layer in split(model)[-2:] for p in layer.params
    }
    opt = torch.optim.SGD(params, lr=0.1)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    model(torch.randn(2, 3, 32, 32)).sum().backward()
    opt.step()
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed and all(n.startswith(("layer4.1.", "fc.")) for n in changed)
    model.zero_grad(set_to_none=True)
    unfreeze(model)


@pytest.mark.filterwarnings("ignore:Full backward hook")
def test_tied_weights_never_half_frozen_and_detach_stops_backward():
    model = small_gpt2(n_layer=4)
    t = model.transformer
    assert model.lm_head.weight is t.wte.weight
    ids = torch.randint(0, 64, (2, 16))
    for z in range(1, 7):
        freeze(model, z)
        assert t.wte.weight.requires_grad  # shared with the always-trainable head
    record = freeze(model, 2)  # h.3 and ln_f + head
    assert record.trainable_params == numel(t.h[3], t.ln_f, t.wte)  # tied weight once
    reached = []
    for i, block in enumerate(t.h):
        block.register_full_backward_hook(lambda *a, i=i: reached.append(i))
    model(input_ids=ids, labels=ids).loss.backward()
    assert reached == [3]  # backward never entered the frozen blocks
    assert t.wte.weight.grad is not None  # trained through the head
    assert t.wpe.weight.grad is None and t.h[0].attn.c_attn.weight.grad is None
    # Control: without the detach hooks autograd would go back through all frozen blocks.
    from frozenbench.freezing import _remove_hooks

    model.zero_grad(set_to_none=True)
    reached.clear()
    _remove_hooks(model)
    model(input_ids=ids, labels=ids).loss.backward()
    assert sorted(reached) == [0, 1, 2, 3]


def test_direct_parameters_train_with_their_layer_vit():
    model = small_vit()
    n = len(split(model))
    assert n == 4  # conv_proj, 2 blocks, ln + head
    x = torch.randn(2, 3, 16, 16)
    freeze(model, n - 1)  # conv_proj (+ class_token) frozen, block 0 (+ pos_embedding) trains
    assert not model.class_token.requires_grad and model.encoder.pos_embedding.requires_grad
    model(x).sum().backward()
    assert model.encoder.pos_embedding.grad is not None  # consumed after the detached conv_proj
    assert model.class_token.grad is None and model.conv_proj.weight.grad is None
    model.zero_grad(set_to_none=True)
    freeze(model, n)
    model(x).sum().backward()
    assert model.class_token.grad is not None and model.conv_proj.weight.grad is not None


@pytest.mark.slow
def test_vit_b16_freezes_and_backward_stops(big_models):
    model = big_models["vit_b_16"]
    freeze(model, 2)  # last block and head: one small forward at 224
    model(torch.randn(1, 3, 224, 224)).sum().backward()
    assert all(p.grad is None for p in model.encoder.layers[10].parameters())
    assert model.encoder.layers[11].mlp[0].weight.grad is not None
    model.zero_grad(set_to_none=True)
    unfreeze(model)


def test_presets_follow_subclasses():
    class MyResNet(tvm.ResNet):
        pass

    m = MyResNet(tvm.resnet.BasicBlock, [1, 1, 1, 1], num_classes=10)
    assert len(split(m)) == 2 + 4 + 1
    assert plan_for(m).family == "resnet"


def test_lazy_attribute_of_the_package():
    import frozenbench as fb

    assert fb.freezing.freeze is freeze


def test_thaw_makes_the_next_layers_trainable_and_never_freezes():
    """thaw(model, z) on a model frozen at z_old < z: layers n-z..n-z_old-1 become trainable
    and lose their detach hooks; the weights are untouched; a smaller z is refused. A tied
    weight (GPT-2's wte, trainable through the head) does not count its layer as thawed."""
    model = small_gpt2(n_layer=4)
    t = model.transformer
    freeze(model, 1)
    before = t.h[3].attn.c_attn.weight.detach().clone()
    record = thaw(model, 3)
    assert record.trainable_layer_names == freeze(small_gpt2(n_layer=4), 3).trainable_layer_names
    assert t.h[3].attn.c_attn.weight.requires_grad and t.h[2].mlp.c_fc.weight.requires_grad
    assert not t.h[1].mlp.c_fc.weight.requires_grad
    assert torch.equal(t.h[3].attn.c_attn.weight, before)
    reached = []
    for i, block in enumerate(t.h):
        block.register_full_backward_hook(lambda *a, i=i: reached.append(i))
    ids = torch.randint(0, 64, (2, 16))
    model(input_ids=ids, labels=ids).loss.backward()
    assert sorted(reached) == [2, 3]  # the thawed blocks lost their hooks, the others kept them
    assert thaw(model, 3).z == 3  # the same z is a no-op
    with pytest.raises(FidelityError, match=r"thaw to z=2 would freeze layers: 3 of 6"):
        thaw(model, 2)
    freeze(model, 1)
    assert thaw(model, 1).z == 1  # the tied embedding does not make its layer count as thawed
