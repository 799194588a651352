"""The manifest that travels next to every table: what it is, how it was made, file checksums.

A benchmark directory holds ``table.parquet`` (or several Parquet files) and ``manifest.json``.
:func:`Manifest.verify` checks the sha256 of every listed file, so a truncated download or a
hand-edited table is caught before it is used.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from frozenbench.errors import SchemaError
from frozenbench.schema import METRICS, READABLE_VERSIONS, SCHEMA_VERSION
from frozenbench.space import Fidelities, SearchSpace

#: The manifest's file name in a benchmark directory.
MANIFEST_NAME = "manifest.json"
#: The long table's file name where one file holds it (the pipeline's merge, synthetic tables).
TABLE_NAME = "table.parquet"


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class Manifest:
    """Describes one benchmark table.

    ``grid`` is the task's full search space ({name: values}); ``config_ids`` lists the grid
    indices the table covers (a seeded subset or all). ``files`` maps a relative path to its
    ``{"sha256": ..., "bytes": ...}``. ``cells`` counts cells by status (ok, diverged, failed).
    """

    benchmark: str
    task: str
    grid: Mapping[str, list[Any]]
    fidelities: Mapping[str, list[int]]
    metric: str
    config_ids: list[int]
    seeds: list[int]
    files: Mapping[str, Mapping[str, Any]]
    rows: int
    cells: Mapping[str, int]
    schema_version: int = SCHEMA_VERSION
    log_scale: list[str] = field(default_factory=list)
    description: str = ""
    spec: Mapping[str, Any] = field(default_factory=dict)
    code_version: str = ""
    hardware: str = ""
    #: code versions of the cells, CPU models / instruction-set levels / threads and library
    #: versions with their cell counts (the pipeline's merge fills it)
    provenance: Mapping[str, Any] = field(default_factory=dict)
    created: str = ""
    failed_cells: list[Mapping[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.schema_version not in READABLE_VERSIONS:
            raise SchemaError(
                f"{self.benchmark}: schema version {self.schema_version} is not supported "
                f"(this frozenbench reads versions {list(READABLE_VERSIONS)}); upgrade "
                "frozenbench"
            )
        if self.metric not in METRICS:
            raise SchemaError(f"{self.benchmark}: metric {self.metric!r} not in {list(METRICS)}")

    @property
    def space(self) -> SearchSpace:
        return SearchSpace.from_dict(self.grid, log=self.log_scale)

    def fidelity_values(self) -> Fidelities:
        return Fidelities(
            tuple(self.fidelities["z"]), tuple(self.fidelities["epoch"]), benchmark=self.benchmark
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise SchemaError(f"manifest has unknown fields {unknown}; known: {sorted(known)}")
        return cls(**data)

    def write(self, directory: str | os.PathLike[str]) -> Path:
        """Write ``manifest.json`` atomically into ``directory``."""
        path = Path(directory) / MANIFEST_NAME
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(self.to_json())
        os.replace(tmp, path)
        return path

    @classmethod
    def read(cls, directory: str | os.PathLike[str]) -> Manifest:
        path = Path(directory) / MANIFEST_NAME
        if not path.is_file():
            raise SchemaError(f"no {MANIFEST_NAME} in {directory}")
        return cls.from_json(path.read_text())

    def verify(self, directory: str | os.PathLike[str]) -> None:
        """Check that every listed file exists with the recorded sha256."""
        for rel, meta in self.files.items():
            path = Path(directory) / rel
            if not path.is_file():
                raise SchemaError(f"{self.benchmark}: file {rel} listed in the manifest is missing")
            digest = sha256_file(path)
            if digest != meta["sha256"]:
                raise SchemaError(
                    f"{self.benchmark}: {rel} has sha256 {digest[:12]}..., the manifest says "
                    f"{str(meta['sha256'])[:12]}... (corrupt or modified file)"
                )


def describe_files(
    directory: str | os.PathLike[str], names: list[str]
) -> dict[str, dict[str, Any]]:
    """``{name: {"sha256", "bytes"}}`` for files in ``directory`` (for :attr:`Manifest.files`)."""
    root = Path(directory)
    return {n: {"sha256": sha256_file(root / n), "bytes": (root / n).stat().st_size} for n in names}
