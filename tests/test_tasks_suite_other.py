"""The suite's image, 1-D signal, text and code, and graph tables: their declarations (512
Sobol configs, 6 <= n <= 12, 9 records, no inactive hyperparameter), their loaders' disjoint
validation and test splits, and the graph kind (the GCN's message passing, stacking, a short
cell that learns)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from frozenbench import freezing  # noqa: E402
from frozenbench.tasks import get_task  # noqa: E402
from frozenbench.tasks.base import resolve  # noqa: E402
from frozenbench.tasks.runner import KINDS, run_cells  # noqa: E402
from frozenbench.tasks.suite_other import N_CONFIGS, OTHER_TASKS  # noqa: E402

NAMES = [t.name for t in OTHER_TASKS]


@pytest.fixture(autouse=True)
def _one_thread():
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


@pytest.mark.parametrize("name", NAMES)
def test_declaration_meets_the_suite_standard(name):
    task = get_task(name)
    assert len(task.space) == N_CONFIGS == 512
    assert task.space.design is not None and task.space.design.method == "sobol"
    assert task.space.design.seed is not None
    assert 6 <= task.n_layers <= 12 and task.n_records >= 9
    # no two configs alike; an inactive hyperparameter (beta2 with SGD) holds one fill value
    configs = list(task.space)
    assert len({tuple(c.values()) for c in configs}) == len(task.space)
    for cond in task.space.conditions:
        inactive = {c[cond.child] for c in configs if not cond.active(c)}
        assert len(inactive) <= 1
    # every shape choice (Task.stack_by) builds a model of the declared n layers
    shapes = {tuple(c[h] for h in task.stack_by): c for c in configs}
    for config in shapes.values():
        shaped = task.for_shape(config)
        built = resolve(shaped.model)(**shaped.model_args)
        layers = freezing.split(built.model, built.unwrap, merge=built.merge)
        assert len(layers) == task.n_layers
    # the configs of one shape are neighbours in the design, so stacks share one
    order = [tuple(c[h] for h in ("optimizer", *task.stack_by) if h in c) for c in configs]
    assert order == sorted(order)


def test_a_third_of_the_suite_has_a_config_dependent_cost():
    from frozenbench.tasks.suite_tabular import TABULAR_TASKS

    varying = [t.name for t in (*TABULAR_TASKS, *OTHER_TASKS) if t.stack_by]
    assert len(varying) * 3 >= len(TABULAR_TASKS) + len(OTHER_TASKS)
    assert all(set(t.stack_by) <= set(t.cost_factors) for t in OTHER_TASKS)


def test_sobol_seeds_differ_between_tables():
    seeds = [t.space.design.seed for t in OTHER_TASKS]
    assert len(set(seeds)) == len(seeds)


@pytest.mark.parametrize("name", [t.name for t in OTHER_TASKS if t.kind != "lm"])
def test_classification_splits_are_disjoint_and_large(name):
    task = get_task(name)
    data = resolve(task.data)(**task.data_args)
    assert data.test_x is not None
    assert len(data.val_y) >= 800 and len(data.test_y) >= 1000
    if task.kind == "image":
        assert len(data.val_y) >= 2000 and len(data.test_y) >= 2000
        rows = {bytes(r.numpy().tobytes()) for r in data.val_x}
        assert not rows & {bytes(r.numpy().tobytes()) for r in data.test_x}
    else:  # node ids
        parts = [set(data.train_x.tolist()), set(data.val_x.tolist()), set(data.test_x.tolist())]
        assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])


@pytest.mark.parametrize("name", [t.name for t in OTHER_TASKS if t.kind == "lm"])
def test_token_streams_have_a_held_out_test_part(name):
    task = get_task(name)
    data = resolve(task.data)(**task.data_args)
    assert data.test is not None and len(data.test) > data.val_tokens
    # the scored parts differ (they come from disjoint places of the corpus)
    n = data.val_tokens
    assert not np.array_equal(data.val[:n], data.test[:n])


def test_existing_loaders_keep_their_data_without_the_test_option():
    from frozenbench.tasks.mnist import load_mnist
    from frozenbench.tasks.pystdlib import load_pystdlib

    old = load_mnist(n_train=512, n_val=256, size=14, split_seed=0)
    assert old.test_x is None and tuple(old.train_x.shape) == (512, 1, 14, 14)
    plain = load_pystdlib(context=32, val_tokens=1024)
    held = load_pystdlib(context=32, val_tokens=1024, with_test=True)
    assert plain.test is None and held.test is not None
    assert np.array_equal(plain.val[:1025], held.val[:1025])
    assert len(held.train) < len(plain.train)


def test_austen_is_read_without_r():
    from frozenbench.tasks.sources import corpus

    c = corpus("austen")
    assert c.files == 6 and c.data[:4].tobytes() == b"EMMA"
    assert b"It is a truth universally acknowledged" in c.data.tobytes()


def test_opencv_digits_are_cut_in_label_order():
    from frozenbench.tasks.sources import read

    digits = read("opencv-digits")
    assert digits.x.shape == (5000, 20, 20)
    assert np.bincount(digits.y).tolist() == [500] * 10
    # the digit 1 has the least ink
    ink = [float(digits.x[digits.y == k].mean()) for k in range(10)]
    assert int(np.argmin(ink)) == 1


def test_gcn_message_passing_is_the_normalised_adjacency_product():
    from frozenbench.tasks.cora import cora_graph
    from frozenbench.tasks.gcn import Graph

    g = cora_graph(256)
    n = g.features.shape[0]
    dense = torch.zeros(n, n).index_put_((g.dst, g.src), g.weight, accumulate=True)
    assert torch.allclose(dense, dense.T)  # symmetric: every citation both ways
    h = torch.randn(n, 5)
    assert torch.allclose(Graph(g).propagate(h), dense @ h, atol=1e-5)


def test_graph_kind_is_registered_and_full_batch():
    task = get_task("fb-cora-gcn")
    kind = KINDS["graph"]
    data = resolve(task.data)(**task.data_args)
    x, y = next(kind.batches(task, data, torch.Generator(), torch.device("cpu")))
    assert torch.equal(x, data.train_x) and len(y) == len(data.train_y)
    assert kind.record_ends(task, data, 0) == [10 * k for k in range(1, 10)]
    assert kind.has_test(data)
    (tx, ty), = kind.held_out_batches(task, data, torch.device("cpu"))
    assert torch.equal(tx, data.test_x)
    assert kind.held_out_metrics(10.0, 5.0, data) == (10.0 / len(ty), 5.0 / len(ty))


def test_a_gcn_cell_does_not_depend_on_its_batch_mates_and_learns():
    task = get_task("fb-cora-gcn").with_budget(20, n_records=2)
    configs = [task.space.config(i) for i in range(3)]
    for z in (2, task.n_layers):
        alone = run_cells(task, configs[:1], z, seed=0, threads=1)[0]
        stacked = run_cells(task, configs, z, seed=0, threads=1)[0]
        assert [(r.train_loss, r.val_loss, r.val_error, r.test_loss, r.test_error)
                for r in alone.records] == \
            [(r.train_loss, r.val_loss, r.val_error, r.test_loss, r.test_error)
             for r in stacked.records]
        assert all(0 < r.test_error < 1 for r in alone.records)  # the test nodes are scored
    # trained fully, better than the majority class (30% of Cora)
    best = min(c.records[-1].val_error for c in run_cells(task, configs, task.n_layers, 0,
                                                          threads=1))
    assert best < 0.5
