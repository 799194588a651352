"""Paper-scale tasks end to end at tiny scale on stand-in data, through the real loaders.

CIFAR-100 and SlimPajama cannot be downloaded here: the tests inject a stand-in dataset object
(torchvision's ``.data`` / ``.targets``) and a stand-in text stream and tokenizer into the same
loader functions the tasks use; the model code is the paper-scale model.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest
import torch

from frozenbench.tasks import get_task, run_cell
from frozenbench.tasks.augment import augment
from frozenbench.tasks.cifar import load_cifar100
from frozenbench.tasks.slimpajama import load_slimpajama


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


class FakeCifar:
    """Random 32x32 RGB images in torchvision's CIFAR layout, 3 per class."""

    def __init__(self, per_class: int = 3, classes: int = 100):
        rng = np.random.default_rng(0)
        self.data = rng.integers(0, 256, (per_class * classes, 32, 32, 3), dtype=np.uint8)
        self.targets = [i % classes for i in range(per_class * classes)]


class ByteTokenizer:
    """Stand-in for the GPT-2 tokenizer: called like a Hugging Face tokenizer."""

    eos_token_id = 50256

    def __call__(self, texts):
        return {"input_ids": [list(t.encode()) for t in texts]}


def texts(n: int, seed: int):
    rng = np.random.default_rng(seed)
    words = ["the", "lord", "frozen", "layer", "token", "budget", "of", "and", "a"]
    return [" ".join(rng.choice(words, size=20)) for _ in range(n)]


def test_cifar_loader_split_is_fixed_stratified_and_normalised():
    data = load_cifar100(n_val=100, dataset=FakeCifar())
    assert data.train_x.shape == (200, 3, 32, 32) and data.val_x.shape == (100, 3, 32, 32)
    assert sorted(data.val_y.tolist()) == list(range(100))  # one per class
    assert abs(float(data.train_x.mean())) < 1e-4
    again = load_cifar100(n_val=100, dataset=FakeCifar())
    assert torch.equal(data.val_x, again.val_x)


def test_resnet18_cifar100_cell_on_stand_in_data():
    task = get_task("resnet18-cifar100")
    tiny = dataclasses.replace(
        task.with_budget(1), batch_size=50,
        data=functools.partial(load_cifar100, dataset=FakeCifar()), data_args={"n_val": 100})
    config = {"lr": 1e-3, "weight_decay": 1e-4, "optimizer": "sgd", "beta1": 0.9, "beta2": 0.99}
    full = run_cell(tiny, config, 11, seed=0)
    low = run_cell(tiny, config, 2, seed=0)
    assert full.n_layers == low.n_layers == 11 and full.status == "ok"
    assert low.extra["trainable_layers"] == ["layer4.1", "fc"]
    assert full.records[0].samples_seen == 200
    assert low.records[0].train_flops < full.records[0].train_flops
    assert low.trainable_params < full.trainable_params == full.total_params


def test_augmentation_is_seeded_per_image_and_flip_is_exact():
    x = torch.randn(8, 3, 32, 32)
    spec = get_task("resnet18-cifar100").augment
    a = augment(x, spec, torch.Generator().manual_seed(0))
    b = augment(x, spec, torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and a.shape == x.shape and not torch.equal(a, x)
    # A pure flip maps pixel centres onto pixel centres: it must equal torch.flip.
    flipped = augment(x, {"flip": 1.0}, torch.Generator().manual_seed(0))
    assert torch.allclose(flipped, torch.flip(x, dims=[3]), atol=1e-5)
    same = augment(x, {"flip": 0.0}, torch.Generator().manual_seed(0))
    assert torch.allclose(same, x, atol=1e-5)


def test_slimpajama_loader_tokenizes_the_stream_and_caches(tmp_path):
    streams = {"train": texts(50, 0), "validation": texts(10, 1)}
    data = load_slimpajama(context=16, val_tokens=64, train_tokens=500, streams=streams,
                           tokenizer=ByteTokenizer(), cache_dir=str(tmp_path))
    assert len(data.train) == 500 and len(data.val) == 65
    assert data.train.dtype == np.uint16
    first = streams["train"][0].encode()
    assert bytes(data.train[: len(first)].astype(np.uint8)) == first
    assert data.train[len(first)] == ByteTokenizer.eos_token_id  # documents end with EOT
    assert len(list(tmp_path.glob("*.bin"))) == 2
    again = load_slimpajama(context=16, val_tokens=64, train_tokens=500, streams={},
                            tokenizer=ByteTokenizer(), cache_dir=str(tmp_path))
    assert np.array_equal(again.train, data.train)  # read back from the cache, not the stream
    with pytest.raises(ValueError, match="ended after"):
        load_slimpajama(context=16, val_tokens=64, train_tokens=10**6, streams=streams,
                        tokenizer=ByteTokenizer())


def test_gpt2_14m_slimpajama_cell_on_stand_in_data():
    task = get_task("gpt2-14m-slimpajama")
    loader = functools.partial(
        load_slimpajama, tokenizer=ByteTokenizer(),
        streams={"train": texts(60, 0), "validation": texts(10, 1)})
    # The real 14.6M-parameter model; a token budget of 1e-5 tokens per parameter -> 3 steps of
    # 2 x 32 tokens, 2 checkpoints.
    fid = dataclasses.replace(task.fidelities, epoch=(1, 2))
    tiny = dataclasses.replace(task, data=loader, data_args={"context": 32, "val_tokens": 64},
                               batch_size=2, tokens_per_param=1e-5, fidelities=fid)
    config = {"weight_decay": 1e-4, "beta1": 0.9, "beta2": 0.95, "warmup_frac": 0.25,
              "cooldown_frac": 0.5}
    cell = run_cell(tiny, config, 10, seed=0)
    assert cell.status == "ok" and cell.n_layers == 10
    assert 14_000_000 < cell.total_params < 15_000_000
    assert cell.extra["total_steps"] == 3
    assert [r.samples_seen for r in cell.records] == [2 * 2 * 32, 3 * 2 * 32]  # tokens
    assert all(np.isnan(r.val_error) for r in cell.records)
    low = run_cell(tiny, config, 1, seed=0)
    assert low.trainable_params < cell.trainable_params
    assert low.extra["trainable_layers"] == ["lm_head"] or len(low.extra["trainable_layers"]) == 1
