"""The suite's offline data sources: installed by scripts/install_data.sh, read without any
download, sized and labelled as documented, and a missing one names its install command."""

from __future__ import annotations

import numpy as np
import pytest

from frozenbench.errors import DataNotPrefetchedError, InvalidValueError, UnknownNameError
from frozenbench.tasks import sources

SIZES = {  # examples, features (images: pixels), classes
    "fashion-mnist": (70_000, 784, 10),
    "letter": (20_000, 16, 26),
    "shuttle": (58_000, 9, 7),
    "satellite": (6_435, 36, 6),
    "dna": (3_186, 180, 3),
    "spam": (4_601, 57, 2),
    "opencv-digits": (5_000, 400, 10),
}


@pytest.mark.parametrize("name", sorted(sources.SOURCES))
def test_each_source_reads_offline_with_its_documented_shape(name):
    data = sources.read(name)
    n, features, classes = SIZES[name]
    assert len(data.x) == len(data.y) == n
    assert int(np.prod(data.x.shape[1:])) == features
    assert len(data.classes) == classes and set(np.unique(data.y)) == set(range(classes))
    assert data.x.dtype == np.float32 and np.isfinite(data.x).all()


def test_a_missing_source_names_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setenv("FROZENBENCH_DATA", str(tmp_path))
    with pytest.raises(DataNotPrefetchedError, match=r"bash scripts/install_data\.sh"):
        sources.read("letter")
    monkeypatch.setattr(sources, "FASHION_MNIST_DIR", tmp_path / "none")
    with pytest.raises(DataNotPrefetchedError, match="dataset-fashion-mnist"):
        sources.read("fashion-mnist")
    with pytest.raises(UnknownNameError, match="'cifar'"):
        sources.read("cifar")


def test_three_way_split_is_disjoint_stratified_and_fixed_by_its_seed():
    labels = sources.read("satellite").y
    a = sources.three_way_split(labels, n_val=2000, n_test=2000, seed=0)
    b = sources.three_way_split(labels, n_val=2000, n_test=2000, seed=0)
    assert all(np.array_equal(x, y) for x, y in zip(vars(a).values(), vars(b).values()))
    assert not (set(a.train) & set(a.val) or set(a.train) & set(a.test) or set(a.val) & set(a.test))
    share = np.bincount(labels) / len(labels)
    for part in (a.val, a.test):
        assert np.abs(np.bincount(labels[part], minlength=len(share)) / len(part) - share).max() < 0.01
    with pytest.raises(InvalidValueError, match="n_val=5000"):
        sources.three_way_split(labels, n_val=5000, n_test=2000, seed=0)


@pytest.mark.parametrize("name", sorted(sources.CORPORA))
def test_each_corpus_reads_offline_as_megabytes_of_bytes(name):
    """Every corpus holds megabytes of text (Austen's six novels are the smallest, 4.0 MB)."""
    c = sources.corpus(name)
    assert c.data.dtype == np.uint8 and c.data.size > 4_000_000 and c.files >= 1  # Austen: 4.0 MB
    assert c.licence
    with pytest.raises(UnknownNameError, match="'klingon'"):
        sources.corpus("klingon")


def test_cora_reads_as_a_graph():
    g = sources.cora()
    assert g.x.shape == (2708, 1433) and len(g.y) == 2708 and len(g.classes) == 7
    assert g.edges.shape[0] == 2 and 5000 < g.edges.shape[1] <= 5429
    assert (g.edges[0] < g.edges[1]).all() and g.edges.max() < 2708
