"""The manifest that travels next to every table: what it is, how it was made, file checksums.

A benchmark directory holds ``table.parquet`` (or several Parquet files) and ``manifest.json``.
:func:`Manifest.verify` checks the sha256 of every listed file, so a truncated download or a
hand-edited table is caught before it is used.

The manifest verifies itself: :meth:`Manifest.to_json` stores the sha256 of its own canonical
content (sorted keys, no whitespace) under ``manifest_sha256``, and :meth:`Manifest.from_json`
recomputes it, so an edited metric, fidelity list or checksum is caught too (locally and in the
Hub cache). Manifests of schema version 1 (written before the field existed) load without it;
from schema version 2 on it is required. Every field is checked for its type and range when a
manifest is built or read; all problems are reported together.

>>> m = Manifest(benchmark="demo", task="t", grid={"lr": [0.1, 0.01]},
...              fidelities={"z": [1, 2], "epoch": [1, 2, 3]}, metric="val_error",
...              config_ids=[0, 1], seeds=[0], files={}, rows=12, cells={"ok": 4})
>>> Manifest.from_json(m.to_json()) == m
True
>>> Manifest.from_json(m.to_json().replace('"val_error"', '"val_loss"'))
Traceback (most recent call last):
...
frozenbench.errors.SchemaError: manifest.json of demo was modified after it was written: ...
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, asdict, dataclass, field, fields
from functools import cached_property
from numbers import Integral, Real
from pathlib import Path, PurePosixPath
from typing import Any

from frozenbench.atomic import write_text_atomic
from frozenbench.errors import InvalidValueError, SchemaError, format_choices, list_problems
from frozenbench.schema import (
    READABLE_VERSIONS,
    SCHEMA_VERSION,
    SEARCH_METRICS,
    TEST_METRICS,
    key_range,
)
from frozenbench.space import Fidelities, SearchSpace

#: The manifest's file name in a benchmark directory.
MANIFEST_NAME = "manifest.json"
#: The long table's file name where one file holds it (the pipeline's merge, synthetic tables).
TABLE_NAME = "table.parquet"
#: The key under which ``manifest.json`` stores the sha256 of its own canonical content.
DIGEST_KEY = "manifest_sha256"
#: The first schema version whose manifests must carry :data:`DIGEST_KEY`.
DIGEST_REQUIRED_FROM = 2
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
#: A benchmark name is a plain name: tools build file and directory names from it (a generation
#: output folder, a card), so it has no path separator, no leading dot and no '..'.
PLAIN_NAME = re.compile(r"(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


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

    ``space_declaration`` (:meth:`frozenbench.space.SearchSpace.declaration`) declares each
    hyperparameter's type, range and scale, the conditions, and the design: a grid, or sampled
    configs with their exact values; ``config_ids`` are then positions in the design, and
    ``grid`` lists each hyperparameter's values or ``[low, high]`` (the column types). A
    manifest without it (written before it existed) is a grid of ``grid`` with ``log_scale``
    and no conditions, and is written back without it, byte for byte.
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
    #: the declared space (see above); empty: the grid of ``grid`` and ``log_scale``
    space_declaration: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = field_problems(self)
        if problems:
            raise SchemaError(_listing(f"the manifest of {_shown(self.benchmark)}", problems))

    @cached_property
    def space(self) -> SearchSpace:
        """The table's search space: the declared one, or the grid of ``grid``."""
        if self.space_declaration:
            return SearchSpace.from_declaration(self.space_declaration)
        return SearchSpace.from_dict(self.grid, log=self.log_scale)

    def fidelity_values(self) -> Fidelities:
        return Fidelities(
            tuple(self.fidelities["z"]), tuple(self.fidelities["epoch"]), benchmark=self.benchmark
        )

    def content(self) -> dict[str, Any]:
        """The manifest's fields as stored (what :meth:`digest` hashes)."""
        data = asdict(self)
        if not data["space_declaration"]:  # manifests from before the field stay as they were
            del data["space_declaration"]
        return data

    def digest(self) -> str:
        """The sha256 of the manifest's canonical content (stored under :data:`DIGEST_KEY`)."""
        return content_digest(self.content())

    def to_json(self) -> str:
        """The manifest as JSON, with :data:`DIGEST_KEY` holding the sha256 of the rest."""
        data = self.content()
        data[DIGEST_KEY] = content_digest(data)
        return json.dumps(data, indent=1, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes, *, source: str = MANIFEST_NAME) -> Manifest:
        """Parse and check a manifest: valid JSON, every field present with a valid value,
        no unknown field, and the content digest (see the module docstring). ``source`` names
        the file in error messages."""
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SchemaError(f"{source} is not valid JSON ({exc}); a manifest is a JSON object "
                              "written by frozenbench") from None
        except RecursionError:
            raise SchemaError(f"{source} holds JSON nested too deeply to read (arrays or objects "
                              "inside each other thousands of levels down); a manifest is a "
                              "flat JSON object written by frozenbench") from None
        if not isinstance(data, dict):
            raise SchemaError(f"{source} holds a JSON {type(data).__name__}, not an object "
                              "with the manifest's fields")
        known = [f.name for f in fields(cls)]
        required = [f.name for f in fields(cls)
                    if f.default is MISSING and f.default_factory is MISSING]
        name = data.get("benchmark")
        where = source if _shown(name) == _UNNAMED else f"{source} of {name}"
        stored = data.pop(DIGEST_KEY, None)
        problems = []
        unknown = sorted(set(data) - set(known))
        if unknown:
            problems.append(f"unknown fields {unknown}; known: {known}")
        missing = [k for k in required if k not in data]
        if missing:
            problems.append(f"missing fields {missing}; a manifest has all of {required}")
        if problems:
            raise SchemaError(_listing(where, problems))
        version = data.get("schema_version", SCHEMA_VERSION)
        if stored is None:
            if isinstance(version, int) and version >= DIGEST_REQUIRED_FROM:
                raise SchemaError(
                    f"{where} has no {DIGEST_KEY} (required from schema version "
                    f"{DIGEST_REQUIRED_FROM}): it was not written by frozenbench or was edited; "
                    "write manifests with Manifest.write (the generation merge does)")
        elif stored != content_digest(data):
            raise SchemaError(
                f"{where} was modified after it was written: its content has sha256 "
                f"{content_digest(data)[:12]}..., its {DIGEST_KEY} says {str(stored)[:12]}... "
                "(edited by hand or corrupt); restore it, or download or merge the table again")
        try:
            return cls(**data)
        except SchemaError as exc:
            raise SchemaError(str(exc).replace(f"the manifest of {_shown(name)}", where, 1)) \
                from None

    def write(self, directory: str | os.PathLike[str]) -> Path:
        """Write ``manifest.json`` atomically into ``directory``."""
        return write_text_atomic(Path(directory) / MANIFEST_NAME, self.to_json())

    @classmethod
    def read(cls, directory: str | os.PathLike[str]) -> Manifest:
        path = Path(directory) / MANIFEST_NAME
        if not path.is_file():
            raise SchemaError(f"no {MANIFEST_NAME} in {directory}")
        try:
            text = path.read_bytes()
        except OSError as exc:
            raise SchemaError(f"cannot read {path}: {exc}") from None
        return cls.from_json(text, source=str(path))

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


def content_digest(data: Mapping[str, Any]) -> str:
    """The sha256 of a manifest's canonical JSON (sorted keys, no whitespace), without
    :data:`DIGEST_KEY` itself."""
    body = {k: v for k, v in data.items() if k != DIGEST_KEY}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


_UNNAMED = "a benchmark"


def _shown(name: object) -> str:
    """``name`` where it is a plain name, else a neutral word (a message never echoes a hostile
    name as if it were one)."""
    return name if isinstance(name, str) and PLAIN_NAME.fullmatch(name) else _UNNAMED


def _listing(where: str, problems: Sequence[str]) -> str:
    if len(problems) == 1:
        return f"{where}: {problems[0]}"
    return list_problems(f"{where}: {len(problems)} problems", problems)


def _is_int(v: object) -> bool:
    return isinstance(v, Integral) and not isinstance(v, bool)


def _int_list(value: object) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str) \
        and all(_is_int(v) for v in value)


def _scalar(v: object) -> bool:
    if isinstance(v, (str, bool)) or _is_int(v):
        return True
    return isinstance(v, Real) and math.isfinite(float(v))


def field_problems(m: Manifest) -> list[str]:
    """Every problem with the fields of a manifest: types, ranges and agreement between them
    (an empty list when it is valid).

    >>> m = Manifest(benchmark="demo", task="t", grid={"lr": [0.1]},
    ...              fidelities={"z": [1], "epoch": [1]}, metric="val_error",
    ...              config_ids=[0], seeds=[0], files={}, rows=1, cells={})
    >>> field_problems(m)
    []
    """
    p: list[str] = []
    for name in ("benchmark", "task", "description", "code_version", "hardware", "created"):
        if not isinstance(getattr(m, name), str):
            p.append(f"{name} must be a string, got {getattr(m, name)!r:.60}")
    if isinstance(m.benchmark, str) and not PLAIN_NAME.fullmatch(m.benchmark):
        p.append(f"benchmark {m.benchmark!r:.120} is not a plain name (1 to 100 letters, "
                 "digits, '.', '_', '-', starting with a letter or digit, no '..')")
    if not _is_int(m.schema_version) or m.schema_version not in READABLE_VERSIONS:
        p.append(f"schema version {m.schema_version!r} is not supported (this frozenbench reads "
                 f"versions {list(READABLE_VERSIONS)}); upgrade frozenbench")
    if m.metric in TEST_METRICS.values():
        p.append(f"metric {m.metric!r} is a test metric: regret is reported on it, optimizers "
                 f"never see it; valid: {list(SEARCH_METRICS)}")
    elif m.metric not in SEARCH_METRICS:
        p.append(f"metric {m.metric!r} is not a metric; valid: {list(SEARCH_METRICS)}")
    grid_ok = isinstance(m.grid, Mapping) and len(m.grid) > 0
    if not grid_ok:
        p.append(f"grid must be a non-empty object {{name: [values]}}, got {m.grid!r:.60}")
    else:
        for k, values in m.grid.items():
            if not isinstance(values, Sequence) or isinstance(values, str) or not values \
                    or not all(_scalar(v) for v in values):
                p.append(f"grid[{k!r}] must be a non-empty list of strings, booleans or finite "
                         f"numbers, got {values!r:.60}")
            elif len({repr(v) for v in values}) != len(values):
                p.append(f"grid[{k!r}] lists a value twice: {list(values)!r:.60}")
        bad_log = [n for n in (m.log_scale if isinstance(m.log_scale, Sequence) else [m.log_scale])
                   if not isinstance(n, str) or n not in m.grid]
        if bad_log or isinstance(m.log_scale, str):
            p.append(f"log_scale names {bad_log or m.log_scale!r} that are not in the grid "
                     f"{list(m.grid)}")
    if not isinstance(m.fidelities, Mapping) or set(m.fidelities) != {"z", "epoch"}:
        p.append(f"fidelities must be an object with exactly 'z' and 'epoch', got "
                 f"{m.fidelities!r:.80}")
    else:
        for k in ("z", "epoch"):
            v = m.fidelities[k]
            top = key_range(k)[1]
            if not _int_list(v) or not v or min(v) < 1 \
                    or any(a >= b for a, b in itertools.pairwise(v)):
                p.append(f"fidelities[{k!r}] must be increasing positive integers, got "
                         f"{v!r:.80}")
            elif max(v) > top:
                p.append(f"fidelities[{k!r}] lists {k}={max(v)}, more than the table's {k} "
                         f"column holds ({k} in 1..{top})")
    if not _int_list(m.config_ids) or not m.config_ids:
        p.append(f"config_ids must be a non-empty list of grid indices, got "
                 f"{m.config_ids!r:.60}")
    elif grid_ok and not p:
        size = _design_size(m, p)
        top = key_range("config_id")[1]
        if size > top + 1:
            p.append(f"the design has {size} configs, more than the table's config_id column "
                     f"can number (at most {top + 1})")
        bad = [c for c in m.config_ids if not 0 <= c < size]
        if bad or len(set(m.config_ids)) != len(m.config_ids):
            p.append(f"config_ids must be distinct grid indices in 0..{size - 1}, got "
                     f"{format_choices(bad or m.config_ids)}")
    lo, hi = key_range("seed")
    if not _int_list(m.seeds) or not m.seeds or len(set(m.seeds)) != len(m.seeds):
        p.append(f"seeds must be a non-empty list of distinct integers, got {m.seeds!r:.60}")
    elif not lo <= min(m.seeds) <= max(m.seeds) <= hi:
        bad_seed = next(s for s in m.seeds if not lo <= s <= hi)
        p.append(f"seeds lists seed={bad_seed}, which the table's seed column cannot hold "
                 f"(seeds in {lo}..{hi})")
    if not isinstance(m.files, Mapping):
        p.append(f"files must be an object {{path: {{sha256, bytes}}}}, got {m.files!r:.60}")
    else:
        for rel, meta in m.files.items():
            pure = PurePosixPath(str(rel))
            if pure.is_absolute() or ".." in pure.parts or "\\" in str(rel) or not str(rel):
                p.append(f"files lists {rel!r}: a path inside the benchmark directory is "
                         "relative and has no '..'")
            if not isinstance(meta, Mapping) or not isinstance(meta.get("sha256"), str) \
                    or not _SHA256_RE.fullmatch(meta["sha256"]) \
                    or not _is_int(meta.get("bytes")) or meta["bytes"] < 0:
                p.append(f"files[{rel!r}] must be {{'sha256': 64 hex digits, 'bytes': a "
                         f"non-negative integer}}, got {meta!r:.80}")
    if not _is_int(m.rows) or m.rows < 0:
        p.append(f"rows must be a non-negative integer, got {m.rows!r}")
    if not isinstance(m.cells, Mapping) or not all(
            isinstance(k, str) and _is_int(v) and v >= 0 for k, v in m.cells.items()):
        p.append(f"cells must be an object {{status: non-negative count}}, got {m.cells!r:.80}")
    for name in ("spec", "provenance"):
        if not isinstance(getattr(m, name), Mapping):
            p.append(f"{name} must be an object, got {getattr(m, name)!r:.60}")
    if not isinstance(m.failed_cells, list) or \
            not all(isinstance(c, Mapping) for c in m.failed_cells):
        p.append(f"failed_cells must be a list of objects, got {m.failed_cells!r:.60}")
    return p


def _design_size(m: Manifest, problems: list[str]) -> int:
    """The number of configs in the manifest's design; a problem with its space declaration
    (malformed, or disagreeing with ``grid``) is added to ``problems``."""
    if not m.space_declaration:
        return math.prod(len(v) for v in m.grid.values())
    if not isinstance(m.space_declaration, Mapping):
        problems.append(f"space_declaration must be an object, got {m.space_declaration!r:.60}")
        return 0
    try:
        space = SearchSpace.from_declaration(m.space_declaration)
    except InvalidValueError as exc:
        problems.append(f"space_declaration is not a valid space: {exc}")
        return 0
    if {k: list(v) for k, v in m.grid.items()} != space.to_dict():
        problems.append(f"grid {dict(m.grid)!r:.80} disagrees with the declared space, whose "
                        f"values and ranges are {space.to_dict()!r:.80}")
    return len(space)


def describe_files(
    directory: str | os.PathLike[str], names: list[str]
) -> dict[str, dict[str, Any]]:
    """``{name: {"sha256", "bytes"}}`` for files in ``directory`` (for :attr:`Manifest.files`)."""
    root = Path(directory)
    return {n: {"sha256": sha256_file(root / n), "bytes": (root / n).stat().st_size} for n in names}
