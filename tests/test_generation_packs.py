"""Packs stay lean: the per-cell index (status, provenance, row checksum) is stored compressed,
once per pack, so that a suite of tables fits the repository; packs written before still read."""

from __future__ import annotations

import base64
import json

import pyarrow.parquet as pq
import pytest

from frozenbench.generation.launch import run
from frozenbench.generation.spec import load_spec
from frozenbench.generation.store import PACK_METADATA, ShardStore

FAKE = {"task": "fake", "task_module": "frozenbench.generation.fake"}


@pytest.fixture
def store(write_spec, tmp_path):
    spec = load_spec(write_spec(**FAKE, seeds={"base": [0, 1]}))
    run(spec, "debug")
    return ShardStore(tmp_path / "out")


def test_a_pack_stores_its_index_compressed(store):
    before = {c.stem for c in store.scan().done}
    pack = store.compact()
    meta = _file_metadata(pack)
    # Stored, the index is far smaller than its plain JSON.
    index_bytes = sum(len(v) for k, v in meta.items() if k.startswith(PACK_METADATA))
    assert index_bytes < 0.5 * len(json.dumps(_read_index(meta)).encode())
    assert set(_read_index(meta)) == before
    assert {c.stem for c in store.scan().done} == set(before)


def test_a_pack_stores_its_index_once(store):
    """Arrow's schema metadata is written twice (key-value and inside the serialised schema);
    the index goes into the file's key-value metadata alone."""
    pack = store.compact()
    stored = _file_metadata(pack)
    index = stored[PACK_METADATA + b"_zlib"]
    assert index[:64] not in base64.b64decode(stored[b"ARROW:schema"])
    assert pack.stat().st_size < 2 * len(index) + 10_000


def _file_metadata(path):
    return pq.ParquetFile(path).metadata.metadata


def test_packs_of_the_earlier_format_still_read(store):
    """An index stored as plain JSON (every pack committed before this change)."""
    cells = {c.stem for c in store.scan().done}
    pack = store.compact()
    table = pq.read_table(pack)
    index = _read_index(_file_metadata(pack))
    meta = {PACK_METADATA: json.dumps(index).encode()}  # as schema metadata, as then
    pq.write_table(table.replace_schema_metadata(meta), pack)
    assert {c.stem for c in store.scan().done} == cells


def _read_index(meta):
    from frozenbench.generation.store import pack_index_from_metadata

    return pack_index_from_metadata(meta)
