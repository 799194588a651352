"""The CPU-scale suite tasks (vit-mnist, mnist1d-cnn, pystdlib-llama): layer splits with their
parameter counts, the ViT's class-token and position-embedding freezing rules on the real
torchvision model, short real-data cells, determinism, and the two new loaders."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from frozenbench import freezing  # noqa: E402
from frozenbench.tasks import get_task, run_cell  # noqa: E402
from frozenbench.tasks.base import resolve  # noqa: E402
from frozenbench.tasks.pystdlib import (  # noqa: E402
    load_pystdlib,
    split_files,
    stdlib_files,
)

SUITE = ("vit-mnist", "mnist1d-cnn", "pystdlib-llama")

# Per-layer parameter counts, derived by hand from each task's model_args.
_VIT_BLOCK = 2 * 32 + (32 * 96 + 96) + (32 * 32 + 32) + 2 * 32 + (32 * 64 + 64) + (64 * 32 + 32)
_CNN_BLOCK = 16 * 16 * 5 + 2 * 16
_LLAMA_BLOCK = 4 * 16 * 16 + 3 * 16 * 48 + 2 * 16
EXPECTED_LAYERS = {
    # conv_proj (49 pixels -> 32) + class token + position embedding (5 x 32) + block 0;
    # six blocks; final LayerNorm + head
    "vit-mnist": [49 * 32 + 32 + 32 + 5 * 32 + _VIT_BLOCK, *[_VIT_BLOCK] * 6, 64 + 330],
    # first conv block (1 input channel), six 16-channel blocks, linear head
    "mnist1d-cnn": [1 * 16 * 5 + 2 * 16, *[_CNN_BLOCK] * 6, 16 * 10 + 10],
    # byte embeddings + decoder layer 0, six decoder layers, RMSNorm + untied head
    "pystdlib-llama": [256 * 16 + _LLAMA_BLOCK, *[_LLAMA_BLOCK] * 6, 16 + 16 * 256],
}


@pytest.fixture(autouse=True)
def _one_thread():
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


def _built(name: str):
    task = get_task(name)
    return task, resolve(task.model)(**task.model_args)


@pytest.mark.parametrize("name", SUITE)
def test_task_splits_into_its_declared_layers_with_the_expected_sizes(name):
    task, built = _built(name)
    layers = freezing.split(built.model, built.unwrap, merge=built.merge)
    assert len(layers) == task.n_layers >= 8
    assert [layer.n_params for layer in layers] == EXPECTED_LAYERS[name]
    assert sum(layer.n_params for layer in layers) == sum(
        p.numel() for p in built.model.parameters())
    assert len(task.space) >= 64 and len(task.distinct_config_ids()) == len(task.space)
    assert "lr" in task.space.names and task.n_records >= 6


def test_vit_class_token_and_position_embedding_join_the_patch_projection_and_first_block():
    _, built = _built("vit-mnist")
    model = built.model
    assert type(model).__name__ == "VisionTransformer"  # the library's preset, for real
    layers = freezing.split(model, built.unwrap, merge=built.merge)
    assert layers[0].name == "conv_proj+encoder.layers.encoder_layer_0"
    assert {"class_token", "encoder.pos_embedding", "conv_proj.weight"} <= \
        set(layers[0].param_names)
    assert layers[1].name == "encoder.layers.encoder_layer_1"
    assert layers[-1].name == "encoder.ln+heads"
    # The preset alone (no merge) keeps the rules the merge builds on: the class token joins
    # the patch projection, the position embedding the first block, which consumes it.
    alone = freezing.split(model, built.unwrap)
    assert alone[0].name == "conv_proj" and "class_token" in alone[0].param_names
    assert "encoder.pos_embedding" in alone[1].param_names


def test_vit_freezing_the_first_layer_freezes_class_token_and_position_embedding():
    _, built = _built("vit-mnist")
    model, n = built.model, get_task("vit-mnist").n_layers
    x = torch.randn(4, 1, 14, 14)

    record = freezing.freeze(model, n - 1, built.unwrap, merge=built.merge)
    assert record.frozen_layer_names == ("conv_proj+encoder.layers.encoder_layer_0",)
    assert not model.class_token.requires_grad and not model.conv_proj.weight.requires_grad
    assert not model.encoder.pos_embedding.requires_grad
    model(x).sum().backward()
    assert model.encoder.pos_embedding.grad is None and model.class_token.grad is None
    assert model.encoder.layers.encoder_layer_1.mlp[0].weight.grad is not None

    model.zero_grad(set_to_none=True)
    freezing.freeze(model, n, built.unwrap, merge=built.merge)
    assert all(p.requires_grad for p in model.parameters())
    model(x).sum().backward()
    # Trained fully, the class token and the position embedding learn.
    assert model.class_token.grad is not None and model.encoder.pos_embedding.grad is not None


def _short(name: str):
    task = get_task(name)
    return task.with_budget(8, n_records=2) if task.kind == "lm" else task.with_budget(1)


#: a config per task that trains visibly within a short budget
CONFIGS = {
    "vit-mnist": {"lr": 3e-3, "optimizer": "adam", "beta1": 0.5, "weight_decay": 1e-3},
    "mnist1d-cnn": {"lr": 3e-3, "optimizer": "adam", "beta1": 0.9, "weight_decay": 1e-3},
    "pystdlib-llama": {"lr": 8e-3, "beta1": 0.9, "warmup_frac": 0.0, "cooldown_frac": 0.8},
}


@pytest.mark.parametrize("name", SUITE)
def test_a_short_cell_learns_on_the_real_data(name):
    task = _short(name)
    cell = run_cell(task, CONFIGS[name], z=task.n_layers, seed=0, threads=1)
    last = cell.records[-1]
    assert cell.status == "ok" and cell.n_layers == task.n_layers
    assert len(cell.records) == task.n_records
    assert cell.trainable_params == cell.total_params  # full z: every layer trains
    assert last.train_cpu_s > 0
    # Better than guessing: uniform over 10 classes, or over 256 bytes.
    chance = math.log(10) if task.kind == "image" else math.log(256)
    assert last.val_loss < chance
    if task.kind == "image":
        assert last.val_error < 0.9


def test_vit_cells_are_deterministic():
    task = _short("vit-mnist")
    a = run_cell(task, CONFIGS["vit-mnist"], z=3, seed=1, threads=1)
    b = run_cell(task, CONFIGS["vit-mnist"], z=3, seed=1, threads=1)
    c = run_cell(task, CONFIGS["vit-mnist"], z=3, seed=2, threads=1)
    losses = [(r.train_loss, r.val_loss, r.val_error) for r in a.records]
    assert losses == [(r.train_loss, r.val_loss, r.val_error) for r in b.records]
    assert losses != [(r.train_loss, r.val_loss, r.val_error) for r in c.records]


def test_mnist1d_is_generated_locally_as_sequences_and_leaves_global_rngs_alone():
    from frozenbench.tasks.mnist1d import load_mnist1d

    np.random.seed(7)
    random.seed(7)
    expected_np, expected_py = np.random.random(), random.random()
    np.random.seed(7)
    random.seed(7)
    data = load_mnist1d()
    assert (np.random.random(), random.random()) == (expected_np, expected_py)
    assert tuple(data.train_x.shape) == (4000, 1, 40) and tuple(data.val_x.shape) == (1000, 1, 40)
    assert sorted(data.train_y.unique().tolist()) == list(range(10))
    again = load_mnist1d()
    assert torch.equal(data.train_x, again.train_x) and torch.equal(data.val_y, again.val_y)


def test_pystdlib_split_is_by_file_and_fixed(tmp_path: Path):
    for i in range(20):
        (tmp_path / f"m{i:02d}.py").write_bytes(bytes([65 + i]) * 1000)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "inner.py").write_text("x = 1\n")  # packages are not part of it
    files = stdlib_files(tmp_path)
    assert [f.name for f in files] == [f"m{i:02d}.py" for i in range(20)]
    train, val = split_files(files, 10)
    assert [f.name for f in val] == ["m09.py", "m19.py"] and not set(train) & set(val)

    data = load_pystdlib(context=16, val_every=10, val_tokens=64, root=str(tmp_path))
    assert set(np.unique(data.val).tolist()) == {65 + 9, 65 + 19}
    assert not set(np.unique(data.train).tolist()) & {65 + 9, 65 + 19}
    # The scored prefix draws equally from both validation files.
    scored = data.val[:65]
    assert int((scored == 65 + 9).sum()) == 33 and int((scored == 65 + 19).sum()) == 32
    assert len(data.train) == 18 * 1000 and len(data.val) == 2 * 1000


def test_pystdlib_reads_the_real_standard_library():
    data = load_pystdlib(context=64, val_tokens=4096)
    assert len(stdlib_files()) > 100 and len(data.train) > 1_000_000
    assert b"def " in data.train[:100_000].tobytes()
    assert len(data.val) > data.val_tokens


@pytest.mark.parametrize("scale", [0.02, 0.25])
def test_llama_weights_start_at_the_initializer_range(scale):
    task = get_task("pystdlib-llama")
    args = {**task.model_args, "initializer_range": scale}
    model = resolve(task.model)(**args).model
    for name in ("model.layers.3.self_attn.q_proj.weight", "model.layers.3.mlp.up_proj.weight",
                 "lm_head.weight"):
        std = float(model.get_parameter(name).detach().std())
        assert std == pytest.approx(scale, rel=0.15), name
