"""Official tables: the sha256 of every released table's manifest, pinned in the package.

A table is *official* when the sha256 of its manifest's canonical content (the
``manifest_sha256`` that :meth:`~frozenbench.manifest.Manifest.to_json` writes, see
:func:`frozenbench.manifest.content_digest`) is the one pinned here under its name, and its
files match the manifest's sha256. The manifest lists the sha256 of every table file, so the
pin fixes every number of the table: an edited cell changes a file's sha256, hence the
manifest, hence its digest. A copy of a shipped table, or the same table published on the Hub,
is official too; a table regenerated, extended or edited (and re-signed) is not, whatever its
name.

Why it matters: ``frozenbench verify`` judges a re-run against the seed noise the table
itself reports. For an official table that yardstick is pinned with it; for any other table
the verdict says that its yardstick comes from the table itself (see :mod:`frozenbench.verify`).

A regenerated official table must update its pin here (a test compares the pins with the
shipped manifests).

>>> from frozenbench.registry import load
>>> load("mnist-resnet").official
True
>>> official_digest("mnist-resnet") == OFFICIAL["mnist-resnet"]
True
>>> official_digest("my-own-table") is None
True
"""

from __future__ import annotations

import os
from pathlib import Path
from types import MappingProxyType

from frozenbench.manifest import Manifest

#: Benchmark name -> sha256 of its official manifest's canonical content (its
#: ``manifest_sha256``): the shipped tables, and any published one.
OFFICIAL: MappingProxyType[str, str] = MappingProxyType({
    "kjv-gpt2": "eb64963b49f6972cf0571b106e1e27c055740b490992f58385311e9c6af2e8cf",
    "mnist-resnet": "8f59b0ebf44c2f14f0b7e1d6aec96cb5d8189c65aaba4e9ff68468566e9b13a1",
    "mnist1d-cnn": "9c9f17a844ddb4025a03566c1a4917361bb6eca4facc52f569f56cceccb63dab",
    "pystdlib-llama": "4ff8c2c885f8388d495672f3222556455d09d0192ec259a2f77d01e352ef64af",
    "vit-mnist": "50459703842f786c95be3cdf1864dd83ed3d485775ac3091b5bcd056dda3c460",
})


def official_digest(name: str) -> str | None:
    """The pinned manifest sha256 of the official table ``name``, or None if there is none."""
    return OFFICIAL.get(name)


def manifest_digest(manifest: Manifest) -> str:
    """The sha256 of a manifest's canonical content (what :data:`OFFICIAL` pins).

    >>> m = Manifest(benchmark="demo", task="t", grid={"lr": [0.1]},
    ...              fidelities={"z": [1], "epoch": [1]}, metric="val_error",
    ...              config_ids=[0], seeds=[0], files={}, rows=1, cells={})
    >>> import json
    >>> manifest_digest(m) == json.loads(m.to_json())["manifest_sha256"]
    True
    """
    return manifest.digest()


def is_official(manifest: Manifest, directory: str | os.PathLike[str] | None = None) -> bool:
    """Whether ``manifest`` is the pinned manifest of the official table of its name, and
    (given ``directory``) the files there match it. Without ``directory`` only the manifest is
    compared (the caller checked the files).

    >>> from frozenbench.registry import DATA_DIR
    >>> is_official(Manifest.read(DATA_DIR / "kjv-gpt2"), DATA_DIR / "kjv-gpt2")
    True
    """
    pinned = official_digest(manifest.benchmark)
    if pinned is None or manifest_digest(manifest) != pinned:
        return False
    if directory is not None:
        from frozenbench.errors import SchemaError

        try:
            manifest.verify(Path(directory))
        except (SchemaError, OSError):
            return False
    return True


def describe(manifest: Manifest, official: bool) -> str:
    """One sentence on whether a table is official, for ``verify`` and other reports.

    >>> from frozenbench.registry import load
    >>> describe(load("kjv-gpt2").manifest, True)[:60]
    'official table kjv-gpt2 (its manifest sha256 eb64963b49f6...'
    """
    name = manifest.benchmark
    if official:
        return (f"official table {name} (its manifest sha256 {OFFICIAL[name][:12]}... is pinned "
                "in frozenbench.official)")
    pinned = official_digest(name)
    if pinned is None:
        return f"unofficial table {name} (no official table has this name)"
    return (f"unofficial table {name}: named like an official table, but its manifest sha256 "
            f"is {manifest_digest(manifest)[:12]}..., the official one {pinned[:12]}... "
            "(regenerated, edited or re-signed)")
