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


def write_slimpajama_layout(root, docs_per_file: int = 8) -> dict[str, list[str]]:
    """A local directory in SlimPajama-627B's layout: ``{split}/chunk{K}/example_*_{i}.jsonl.zst``
    chunks of JSON lines ``{"text", "meta"}``, compressed with zstandard as on the Hub."""
    import json

    import zstandard

    written: dict[str, list[str]] = {}
    for split, stem, n_chunks in [("train", "example_train", 2), ("validation", "example_holdout", 1),
                                  ("test", "example_holdout", 1)]:
        docs = texts(n_chunks * 2 * docs_per_file, seed=len(split))
        written[split] = docs
        for i, start in enumerate(range(0, len(docs), docs_per_file)):
            path = root / split / f"chunk{i // 2 + 1}" / f"{stem}_{i % 2}.jsonl.zst"
            path.parent.mkdir(parents=True, exist_ok=True)
            lines = "".join(json.dumps({"text": t, "meta": {"redpajama_set_name": "RedPajamaC4"}})
                            + "\n" for t in docs[start:start + docs_per_file])
            path.write_bytes(zstandard.ZstdCompressor().compress(lines.encode()))
    return written


def test_slimpajama_real_layout_streams_through_datasets_and_prefetch(tmp_path, monkeypatch):
    """The real path: zstd chunks -> datasets.load_dataset(streaming=True) -> tokenizer ->
    atomic cache, filled once by the prefetch; the worker's loader only reads that cache."""
    from frozenbench.errors import DataNotPrefetchedError
    from frozenbench.tasks import prefetch

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    local = tmp_path / "SlimPajama-627B"
    written = write_slimpajama_layout(local)
    task = get_task("gpt2-14m-slimpajama")
    loader = functools.partial(load_slimpajama, dataset=str(local), tokenizer=ByteTokenizer(),
                               cache_dir=str(tmp_path / "cache"))
    fid = dataclasses.replace(task.fidelities, epoch=(1, 2))
    tiny = dataclasses.replace(task, data=loader, data_args={"context": 32, "val_tokens": 64},
                               batch_size=2, tokens_per_param=1e-5, fidelities=fid)
    config = {"weight_decay": 1e-4, "beta1": 0.9, "beta2": 0.95, "warmup_frac": 0.25,
              "cooldown_frac": 0.5}
    with pytest.raises(DataNotPrefetchedError, match=r"frozenbench generate prefetch"):
        run_cell(tiny, config, 10, seed=1)  # a worker never streams

    done = prefetch.prefetch_task(tiny)
    assert done.loader == "frozenbench.tasks.slimpajama:load_slimpajama"
    train_bin, val_bin = done.paths
    assert train_bin.name.endswith("-train-193.bin") and val_bin.name.endswith("-validation-65.bin")
    tokens = np.fromfile(train_bin, dtype=np.uint16)
    expected = [b for doc in written["train"] for b in [*doc.encode(), ByteTokenizer.eos_token_id]]
    assert tokens.tolist() == expected[:193]  # chunks in order, each document then EOT
    assert list(tmp_path.glob("cache/*.tmp*")) == []  # written atomically

    stamp = train_bin.stat().st_mtime_ns
    assert prefetch.prefetch_task(tiny).paths == done.paths  # once: a second call keeps files
    assert train_bin.stat().st_mtime_ns == stamp
    cell = run_cell(tiny, config, 10, seed=1)  # the worker reads exactly what was prefetched
    assert cell.status == "ok" and [r.samples_seen for r in cell.records] == [128, 192]


def test_cifar_prefetch_is_atomic_and_once_and_workers_never_download(tmp_path):
    from frozenbench.errors import DataNotPrefetchedError
    from frozenbench.tasks.cifar import CIFAR100_FOLDER, prefetch_cifar100

    with pytest.raises(DataNotPrefetchedError, match="resnet18-cifar100"):
        load_cifar100(root=str(tmp_path))
    calls = []

    def download(folder):  # stand-in for torchvision's download: archive + extracted folder
        calls.append(folder)
        (folder / "cifar-100-python.tar.gz").write_bytes(b"archive")
        (folder / CIFAR100_FOLDER).mkdir()
        (folder / CIFAR100_FOLDER / "train").write_bytes(b"pickled")
        assert not (tmp_path / CIFAR100_FOLDER).exists()  # invisible until complete

    assert prefetch_cifar100(root=str(tmp_path), download=download) == [tmp_path / CIFAR100_FOLDER]
    assert prefetch_cifar100(root=str(tmp_path), download=download) == [tmp_path / CIFAR100_FOLDER]
    assert len(calls) == 1 and calls[0].parent == tmp_path and not calls[0].exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [CIFAR100_FOLDER]  # no archive left
    assert prefetch_cifar100(dataset=FakeCifar()) == []  # injected data: nothing to fetch


@pytest.mark.parametrize("name, topics", [
    ("resnet18-cifar100", ["lr schedule", "precision", "augmentation padding", "BatchNorm",
                           "checkpoint placement"]),
    ("gpt2-14m-slimpajama", ["lr:", "positional embeddings", "precision", "checkpoint placement"]),
    ("mnist-resnet", ["reduced input size", "merged layers", "lr schedule", "reduced grid",
                      "precision", "BatchNorm", "checkpoint placement"]),
    ("kjv-gpt2", ["reduced grid", "merged layers", "lr:", "positional embeddings", "precision",
                  "checkpoint placement"]),
])
def test_every_deviation_from_the_paper_is_listed_and_in_the_card(name, topics, tmp_path):
    from frozenbench.card import render
    from frozenbench.manifest import Manifest
    from frozenbench.synthetic import write_benchmark

    task = get_task(name)
    for topic in topics:
        assert any(d.startswith(topic) or topic in d for d in task.deviations), topic
    d = write_benchmark(tmp_path / name, name=name, n_configs=4, n_z=2, n_epochs=2)
    dataclasses.replace(Manifest.read(d), task=name).write(d)  # a table of the real task
    card = render(d, repo_id="ns/x", analysis=False)
    assert f"- task: `{name}`" in card and "deviations from the paper's setup" in card
    assert all(f"  - {dev}" in card for dev in task.deviations)


def test_generate_prefetch_command_fills_the_cache_of_a_spec(capsys):
    """`frozenbench generate prefetch SPEC` is the command every "not prefetched" error names."""
    from frozenbench.cli import main as cli
    from frozenbench.tasks.prefetch import PREFETCH_COMMAND, prefetch_hint

    assert cli(["generate", "prefetch", "debug-mnist", "kjv-gpt2"]) == 0
    assert capsys.readouterr().out.splitlines() == ["debug-mnist: nothing to fetch",
                                                    "kjv-gpt2: nothing to fetch"]
    assert prefetch_hint("x").startswith(f"run `{PREFETCH_COMMAND} x`")
    assert cli(["generate", "prefetch", "no-such-task"]) == 1
    assert "no-such-task" in capsys.readouterr().err
