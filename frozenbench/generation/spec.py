"""Grid specs: which cells of a task a table holds, and how the jobs that train them look.

A spec is a TOML file, one per benchmark; those shipped are in ``frozenbench/generation/grids/``::

    benchmark = "mnist-resnet"          # table name (default: the task name)
    task = "mnist-resnet"               # a name from frozenbench.tasks.task_names()
    description = "..."                 # optional, copied into the manifest
    configs = {subset = 48, seed = 0}   # or "all": the full grid
    z = "all"                           # or a list, e.g. [1, 2, 6]
    schedules = ["thaw"]                # optional: one thaw cell per (config, base seed)
    output = "out/generation/mnist-resnet"   # shards and logs; relative to the working dir

    [seeds]
    base = [0]                          # every config, every z
    full_z = [1]                        # every config, full z only
    repeat = {seeds = [1, 2], fraction = 0.125, seed = 0}  # every z, on a seeded fraction

    [resources]                         # one job (SLURM: sbatch options via submitit)
    gpus = 0
    cpus = 1
    mem_gb = 4
    time_min = 60
    partition = ""
    account = ""

    [packing]
    cells_per_job = 16                  # cells trained one after another by one job
    concurrent = 1                      # cells trained at once inside a job (worker processes)
    stack = 1                           # or: cells of one (z, seed) trained as one stacked model

All epochs of a cell are recorded (a cell trains for the task's full budget). Invalid keys and
values are collected and reported together, each with what would have been valid.

>>> spec = GridSpec.from_dict({"task": "debug-mnist", "seeds": {"base": [0, 1]}})
>>> plan = spec.plan()
>>> len(plan.cells), plan.seeds
(48, [0, 1])
>>> thaw = GridSpec.from_dict({"task": "debug-mnist", "schedules": ["thaw"]}).plan().cells
>>> len(thaw), thaw[-1]
(28, Cell(config_id=3, z=6, seed=0, schedule='thaw'))
>>> try:
...     GridSpec.from_dict({"task": "debug-mnist", "sedes": [0], "packing": {"concurent": 2}})
... except SpecError as exc:
...     print(exc)
invalid grid spec <dict>:
  - unknown key 'sedes'; valid: ['benchmark', 'configs', 'description', 'output', 'packing', \
'resources', 'schedules', 'seeds', 'task', 'task_module', 'z']
  - unknown key 'packing.concurent'; valid: ['cells_per_job', 'concurrent', 'stack']
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from frozenbench.cell import Cell
from frozenbench.errors import InvalidValueError, format_choices
from frozenbench.extras import require
from frozenbench.manifest import PLAIN_NAME
from frozenbench.schedules import SCHEDULES
from frozenbench.schema import FIXED

GRIDS_DIR = Path(__file__).resolve().parent / "grids"

#: Sections of a spec and their keys with defaults (``None``: required).
TOP_KEYS: dict[str, Any] = {
    "benchmark": "",
    "task": None,
    "description": "",
    "configs": "all",
    "z": "all",
    "schedules": [],
    "output": "",
    "task_module": "frozenbench.tasks",
    "seeds": {},
    "resources": {},
    "packing": {},
}
SEED_KEYS: dict[str, Any] = {"base": [0], "full_z": [], "repeat": {}}
REPEAT_KEYS: dict[str, Any] = {"seeds": [], "fraction": 0.0, "seed": 0}
SUBSET_KEYS: dict[str, Any] = {"subset": None, "seed": 0}
#: ``configs`` as a word: the whole grid, or the grid without duplicates by construction.
CONFIG_CHOICES = ("all", "distinct")
RESOURCE_KEYS: dict[str, Any] = {
    "gpus": 0,
    "cpus": 1,
    "mem_gb": 4.0,
    "time_min": 60,
    "partition": "",
    "account": "",
    "max_requeues": 3,
}
PACKING_KEYS: dict[str, Any] = {"cells_per_job": 16, "concurrent": 1, "stack": 1}


class SpecError(InvalidValueError):
    """A grid spec with invalid keys or values; the message lists every problem."""


def available_specs() -> list[str]:
    """Names of the specs shipped in ``frozenbench/generation/grids``.

    >>> "debug-mnist" in available_specs()
    True
    """
    return sorted(p.stem for p in GRIDS_DIR.glob("*.toml"))


class _Checker:
    """Collects problems instead of stopping at the first one (like submitit's executors)."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def keys(self, where: str, given: Mapping[str, Any], valid: Mapping[str, Any]) -> None:
        for key in given:
            if key not in valid:
                self.errors.append(
                    f"unknown key {where + key!r}; valid: {format_choices(sorted(valid), 20)}"
                )
        for key, default in valid.items():
            if default is None and key not in given:
                self.errors.append(f"missing required key {where + key!r}")

    def table(self, name: str, value: object) -> Mapping[str, Any]:
        if isinstance(value, Mapping):
            return value
        self.errors.append(f"{name} must be a table, got {value!r}")
        return {}

    def int_list(self, name: str, value: object, *, allow_empty: bool = True) -> list[int]:
        if isinstance(value, list) and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value
        ) and (value or allow_empty) and len(set(value)) == len(value):
            return list(value)
        need = "a list of distinct non-negative integers" + ("" if allow_empty else ", not empty")
        self.errors.append(f"{name} must be {need}, got {value!r}")
        return []

    def number(self, name: str, value: object, kind: type, lo: float, hi: float = math.inf) -> Any:
        ok = isinstance(value, (int, float) if kind is float else int)
        if ok and not isinstance(value, bool) and lo <= value <= hi:  # type: ignore[operator]
            return kind(value)
        rng = f"{lo}..{hi}" if hi != math.inf else f">= {lo}"
        self.errors.append(f"{name} must be {kind.__name__} in {rng}, got {value!r}")
        return kind(lo)

    def string(self, name: str, value: object) -> str:
        if isinstance(value, str):
            return value
        self.errors.append(f"{name} must be a string, got {value!r}")
        return ""


@dataclass(frozen=True)
class Resources:
    """What one job asks the scheduler for (per job, not per cell)."""

    gpus: int = 0
    cpus: int = 1
    mem_gb: float = 4.0
    time_min: int = 60
    partition: str = ""
    account: str = ""
    max_requeues: int = 3


@dataclass(frozen=True)
class Packing:
    """How cells are grouped into jobs and how many run at once inside a job; ``stack``: how
    many cells of one (z, seed) a job trains as one stacked model (1: one at a time). A cell's
    numbers do not depend on its batch-mates, so ``stack`` changes the cost, not the table."""

    cells_per_job: int = 16
    concurrent: int = 1
    stack: int = 1


@dataclass(frozen=True)
class RepeatSeeds:
    """Extra seeds at every z on a seeded random fraction of the spec's configs."""

    seeds: tuple[int, ...] = ()
    fraction: float = 0.0
    seed: int = 0


@dataclass(frozen=True)
class Plan:
    """A spec resolved against its task: the exact cells of the table.

    ``cells`` are sorted by (config_id, z, seed, schedule); ``repeat_config_ids`` are the
    configs that get the repeat seeds at every z.
    """

    task: Any  # frozenbench.tasks.Task (kept untyped so that this module stays torch-free)
    config_ids: list[int]
    z: list[int]
    cells: list[Cell]
    repeat_config_ids: list[int]

    @property
    def seeds(self) -> list[int]:
        return sorted({c.seed for c in self.cells})


@dataclass(frozen=True)
class GridSpec:
    """A validated grid spec; build it with :func:`load_spec` or :meth:`from_dict`."""

    task: str
    benchmark: str
    description: str = ""
    configs: str | tuple[int, int] = "all"  # "all", "distinct" or (subset size, seed)
    z: str | tuple[int, ...] = "all"
    schedules: tuple[str, ...] = ()  # z schedules besides fixed z: one cell per (config, seed)
    base_seeds: tuple[int, ...] = (0,)
    full_z_seeds: tuple[int, ...] = ()
    repeat: RepeatSeeds = field(default_factory=RepeatSeeds)
    resources: Resources = field(default_factory=Resources)
    packing: Packing = field(default_factory=Packing)
    output: str = ""
    task_module: str = "frozenbench.tasks"
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)
    source: str = "<dict>"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<dict>") -> GridSpec:
        """Validate a parsed spec; every problem is reported in one :class:`SpecError`."""
        chk = _Checker()
        chk.keys("", data, TOP_KEYS)
        task = chk.string("task", data.get("task", ""))
        benchmark = chk.string("benchmark", data.get("benchmark", "")) or task
        if benchmark and not PLAIN_NAME.fullmatch(benchmark):
            chk.errors.append(f"benchmark {benchmark!r} is not a plain name (letters, digits, "
                              "'.', '_', '-'; starting with a letter or digit; no '..')")

        configs: str | tuple[int, int] = "all"
        raw_configs = data.get("configs", "all")
        if isinstance(raw_configs, Mapping):
            chk.keys("configs.", raw_configs, SUBSET_KEYS)
            configs = (
                chk.number("configs.subset", raw_configs.get("subset", 1), int, 1),
                chk.number("configs.seed", raw_configs.get("seed", 0), int, 0),
            )
        elif raw_configs in CONFIG_CHOICES:
            configs = raw_configs
        else:
            chk.errors.append(
                f"configs must be one of {list(CONFIG_CHOICES)} or {{subset = N, seed = S}}, "
                f"got {raw_configs!r}"
            )

        z: str | tuple[int, ...] = "all"
        if data.get("z", "all") != "all":
            z = tuple(chk.int_list("z", data["z"], allow_empty=False))

        schedules = data.get("schedules", [])
        other = [s for s in SCHEDULES if s != FIXED]
        if not (isinstance(schedules, list) and all(s in other for s in schedules)
                and len(set(schedules)) == len(schedules)):
            chk.errors.append(f"schedules must be a list of distinct names from {other} (the "
                              f"fixed-z cells are always there), got {schedules!r}")
            schedules = []

        seeds = chk.table("seeds", data.get("seeds", {}))
        chk.keys("seeds.", seeds, SEED_KEYS)
        base = chk.int_list("seeds.base", seeds.get("base", [0]))
        full_z = chk.int_list("seeds.full_z", seeds.get("full_z", []))
        rep = chk.table("seeds.repeat", seeds.get("repeat", {}))
        chk.keys("seeds.repeat.", rep, REPEAT_KEYS)
        repeat = RepeatSeeds(
            tuple(chk.int_list("seeds.repeat.seeds", rep.get("seeds", []))),
            chk.number("seeds.repeat.fraction", rep.get("fraction", 0.0), float, 0.0, 1.0),
            chk.number("seeds.repeat.seed", rep.get("seed", 0), int, 0),
        )
        if not (base or full_z or repeat.seeds):
            chk.errors.append("seeds: no seed at all (set seeds.base, e.g. [0])")

        res = chk.table("resources", data.get("resources", {}))
        chk.keys("resources.", res, RESOURCE_KEYS)
        resources = Resources(
            gpus=chk.number("resources.gpus", res.get("gpus", 0), int, 0),
            cpus=chk.number("resources.cpus", res.get("cpus", 1), int, 1),
            mem_gb=chk.number("resources.mem_gb", res.get("mem_gb", 4.0), float, 0.01),
            time_min=chk.number("resources.time_min", res.get("time_min", 60), int, 1),
            partition=chk.string("resources.partition", res.get("partition", "")),
            account=chk.string("resources.account", res.get("account", "")),
            max_requeues=chk.number("resources.max_requeues", res.get("max_requeues", 3), int, 0),
        )
        pack = chk.table("packing", data.get("packing", {}))
        chk.keys("packing.", pack, PACKING_KEYS)
        packing = Packing(
            cells_per_job=chk.number("packing.cells_per_job", pack.get("cells_per_job", 16),
                                     int, 1),
            concurrent=chk.number("packing.concurrent", pack.get("concurrent", 1), int, 1),
            stack=chk.number("packing.stack", pack.get("stack", 1), int, 1),
        )
        if packing.stack > 1 and packing.concurrent > 1:
            chk.errors.append(f"packing.stack = {packing.stack} and packing.concurrent = "
                              f"{packing.concurrent}: a job either trains stacks or runs cells "
                              "side by side; give one of them")
        if chk.errors:
            problems = "\n".join(f"  - {e}" for e in chk.errors)
            raise SpecError(f"invalid grid spec {source}:\n{problems}")
        return cls(
            task=task,
            benchmark=benchmark,
            description=chk.string("description", data.get("description", "")),
            configs=configs,
            z=z,
            schedules=tuple(schedules),
            base_seeds=tuple(base),
            full_z_seeds=tuple(full_z),
            repeat=repeat,
            resources=resources,
            packing=packing,
            output=str(data.get("output", "")),
            task_module=str(data.get("task_module", "frozenbench.tasks")),
            raw=dict(data),
            source=source,
        )

    def output_dir(self, override: str | Path | None = None) -> Path:
        """Absolute output directory: ``override``, else the spec's, else out/generation/NAME."""
        out = Path(override or self.output or f"out/generation/{self.benchmark}")
        return out.resolve()

    def tasks_api(self) -> Any:
        """The module providing ``get_task`` and ``run_cell`` (normally frozenbench.tasks)."""
        return require(self.task_module)

    def plan(self) -> Plan:
        """Resolve the spec against its task: config ids, z values and the list of cells."""
        api = self.tasks_api()
        task = api.get_task(self.task)
        n_configs = len(task.space)
        errors: list[str] = []
        if self.configs == "all":
            config_ids = list(range(n_configs))
        elif self.configs == "distinct":  # no duplicates by construction (task conditions)
            config_ids = task.distinct_config_ids()
        elif isinstance(self.configs, tuple):
            n, seed = self.configs
            if n > n_configs:
                errors.append(f"configs.subset={n} exceeds the grid of {self.task} "
                              f"({n_configs} configs)")
                n = n_configs
            config_ids = task.space.subset(n, seed)
        valid_z: list[int] = list(task.fidelities.z)
        z: list[int] = valid_z if isinstance(self.z, str) else sorted(self.z)
        bad = [v for v in z if v not in valid_z]
        if bad:
            errors.append(f"z values {bad} are out of range for {self.task} "
                          f"(z in {min(valid_z)}..{max(valid_z)})")
        if errors:
            problems = "\n".join(f"  - {e}" for e in errors)
            raise SpecError(f"invalid grid spec {self.source}:\n{problems}")
        full = max(valid_z)
        repeat_ids: list[int] = []
        if self.repeat.seeds and self.repeat.fraction > 0:
            k = max(1, math.ceil(self.repeat.fraction * len(config_ids)))
            rng = np.random.default_rng(self.repeat.seed)
            picks = rng.choice(len(config_ids), size=min(k, len(config_ids)), replace=False)
            repeat_ids = sorted(config_ids[int(i)] for i in picks)
        cells: set[Cell] = set()
        for c in config_ids:
            cells.update(Cell(c, zz, s) for zz in z for s in self.base_seeds)
            if full in z:
                cells.update(Cell(c, full, s) for s in self.full_z_seeds)
        for c in repeat_ids:
            cells.update(Cell(c, zz, s) for zz in z for s in self.repeat.seeds)
        for name in self.schedules:  # a schedule cell's z is its final z, n
            cells.update(Cell(c, full, s, name) for c in config_ids for s in self.base_seeds)
        return Plan(task, config_ids, z, sorted(cells), repeat_ids)


def spec_path(name_or_path: str | Path) -> Path:
    """A spec file: an existing path, or the name of a shipped spec (in :data:`GRIDS_DIR`)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = GRIDS_DIR / f"{name_or_path}.toml"
    if shipped.is_file():
        return shipped
    raise SpecError(
        f"no grid spec {str(name_or_path)!r}: not a file, and not one of the shipped specs "
        f"{available_specs()}"
    )


def load_spec(name_or_path: str | Path) -> GridSpec:
    """Read and validate a spec from a TOML file (or a shipped spec's name).

    >>> load_spec("debug-mnist").task
    'debug-mnist'
    """
    path = spec_path(name_or_path)
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"grid spec {path} is not valid TOML: {exc}") from exc
    return GridSpec.from_dict(data, source=str(path))
