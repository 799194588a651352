"""Merge the shards of a spec into one validated table plus its manifest.

The merged table holds exactly the spec's cells: no duplicates, none missing, and every cell has
all epochs of its task unless it diverged (then it keeps the epochs it finished). Every stored
cell is verified first (:mod:`~frozenbench.generation.integrity`: checksum, schema, values); a
corrupt one stops the merge with a list of them. The destination is explicit and is never
another benchmark's table. Failed or
missing cells stop the merge with a list of them, unless ``allow_missing`` records them in the
manifest instead. Rows are sorted by (config_id, z, seed, epoch) and written with zstd.

The default cost ``train_cost_s`` is :func:`~frozenbench.generation.cost_clock.robust_cost`
(the cost clock, its own module), unless the output directory holds an isolated per-z cost
profile (:mod:`~frozenbench.generation.cost_profile`, written by packed GPU
generation): then it comes from that profile, which is copied next to the table. The manifest's
``provenance.default_cost`` says which. Either is made from the fixed-z rows only.

Rows of schedule cells (``schedule = "thaw"``, whose ``z`` is the z trained during that record)
are costed on the same clock: a thaw row's ``train_cost_s`` is the cumulative sum over its
cell's records of the fixed-z table's per-record cost increment at that record's z
(:func:`~frozenbench.generation.cost_clock.schedule_cost`), so a thaw run and restarts at fixed
z are compared at equal cost. A table with thaw cells therefore needs the fixed-z cells of every
z its thaw records trained at.
"""

from __future__ import annotations

import contextlib
import json
import platform
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from frozenbench.atomic import atomic_file
from frozenbench.cell import Cell
from frozenbench.errors import InvalidValueError, SchemaError
from frozenbench.generation.cost_clock import robust_cost, robust_cost_note, schedule_cost
from frozenbench.generation.cost_profile import PROFILE_NAME, CostProfile
from frozenbench.generation.integrity import CellCheck
from frozenbench.generation.spec import GridSpec
from frozenbench.generation.store import ShardStore
from frozenbench.manifest import MANIFEST_NAME, TABLE_NAME, Manifest, describe_files
from frozenbench.provenance import code_version, is_clean
from frozenbench.schema import FIXED, arrow_schema, validate

SORT_COLUMNS = ["config_id", "z", "seed", "epoch"]
#: Rows of one cell stay together: a thaw cell's rows (several z) sort after the fixed ones.
SCHEDULE_SORT_COLUMNS = ["schedule", "config_id", "z", "seed", "epoch"]


class MergeError(SchemaError):
    """Shards that do not make a complete, valid table; the message lists the cells."""


def _list(cells: list[Cell], limit: int = 20) -> str:
    shown = ", ".join(c.stem for c in cells[:limit])
    return shown + (f", ... ({len(cells)} in all)" if len(cells) > limit else "")


def check_code_versions(versions: set[str], *, allow_mixed: bool) -> None:
    """A table is made by one committed code version: refuse shards from a dirty tree, from an
    unknown version or from several versions, unless ``allow_mixed`` (then the manifest says
    so).

    >>> check_code_versions({"a1b2c3d"}, allow_mixed=False)
    >>> check_code_versions({"a1b2c3d-dirty"}, allow_mixed=False)
    Traceback (most recent call last):
    ...
    frozenbench.generation.merge.MergeError: shards were made from uncommitted code ...
    """
    if allow_mixed:
        return
    dirty = sorted(v for v in versions if not is_clean(v))
    if dirty:
        raise MergeError(f"shards were made from uncommitted code ({', '.join(dirty)}); commit, "
                         "regenerate, or merge with --allow-code-versions (recorded in the "
                         "manifest)")
    if len(versions) > 1:
        raise MergeError(f"shards come from {len(versions)} code versions "
                         f"({', '.join(sorted(versions))}); regenerate the older cells, or merge "
                         "with --allow-code-versions (recorded in the manifest)")


def check_sources(spec: GridSpec, out: Path) -> None:
    """The output directory must hold shards of ``spec``'s task and benchmark (as recorded in
    its ``spec.json`` by ``run``)."""
    try:
        recorded = ShardStore(out).identity()
    except InvalidValueError as exc:
        raise MergeError(str(exc)) from None
    if recorded is None:
        return  # nothing recorded (e.g. shards copied by hand): the cells are checked one by one
    for key in ("benchmark", "task"):
        want = getattr(spec, key)
        if recorded.get(key) != want:
            raise MergeError(f"{out} holds shards of {key} {recorded.get(key)!r}, not {want!r}; "
                             "pass the right spec or --out")


def check_dest(spec: GridSpec, dest: Path) -> None:
    """``dest`` must be new, empty, or hold a table of the same task and benchmark (which is
    replaced): a merge never overwrites another benchmark's table or unrelated files."""
    if not dest.exists():
        return
    if not dest.is_dir():
        raise MergeError(f"--dest {dest} is a file, not a directory")
    manifest = dest / "manifest.json"
    names: list[str] = []
    try:
        names = [p.name for p in dest.iterdir()]
        if not names:
            return
        recorded = json.loads(manifest.read_text())
    except FileNotFoundError:
        raise MergeError(f"--dest {dest} is not empty and holds no frozenbench table "
                         f"({len(names)} entries, no manifest.json); choose a new or empty "
                         "directory") from None
    except OSError as exc:
        raise MergeError(f"--dest {dest}: cannot read what is there ({exc.strerror or exc}); "
                         "refusing to overwrite it (choose another --dest)") from None
    except (ValueError, RecursionError) as exc:
        raise MergeError(f"--dest {dest}: manifest.json is not valid JSON ({exc}); refusing "
                         "to overwrite it") from None
    if not isinstance(recorded, dict):
        raise MergeError(f"--dest {dest}: manifest.json holds a JSON {type(recorded).__name__}, "
                         "not a frozenbench manifest; refusing to overwrite it")
    for key in ("benchmark", "task"):
        want = getattr(spec, key)
        if recorded.get(key) != want:
            raise MergeError(f"--dest {dest} holds the table of {key} {recorded.get(key)!r}, "
                             f"not {want!r}; refusing to overwrite it (choose another --dest)")


@contextlib.contextmanager
def _all_or_nothing(dest: Path) -> Iterator[None]:
    """A merge into a new (or empty) ``dest`` that fails before its manifest is written (a
    full disk) removes the files it wrote, so that the same command can simply be run again;
    a merge that replaces a table leaves a mismatch that loading reports (checksums)."""
    fresh = not (dest / MANIFEST_NAME).exists()
    try:
        yield
    except BaseException:
        if fresh:
            for name in (TABLE_NAME, PROFILE_NAME):
                (dest / name).unlink(missing_ok=True)
        raise


def _default_cost(frame: pd.DataFrame, spec: GridSpec, task: Any, root: Path,
                  profile: CostProfile | None) -> tuple[pd.Series, dict[str, Any]]:
    """The default cost column of ``frame`` and what the manifest says about it: the fixed-z
    rows from the robust clock or the profile; schedule rows from the fixed rows' increments
    (see the module docstring)."""
    factors = getattr(task, "cost_factors", ())
    fixed_rows = frame["schedule"] == FIXED if "schedule" in frame else \
        pd.Series(True, index=frame.index)
    fixed = frame[fixed_rows]
    if profile is None:
        cost = robust_cost(fixed, factors)
        note = robust_cost_note(fixed, factors)
    else:
        problems = [f"no entry for {m}" for m in profile.missing(fixed)]
        if (profile.benchmark, profile.task) != (spec.benchmark, task.name):
            problems.insert(0, f"it is the profile of {profile.benchmark} ({profile.task})")
        if problems:
            raise MergeError(f"{root / PROFILE_NAME} cannot cost the cells of "
                             f"{spec.benchmark}: {'; '.join(problems[:10])}")
        cost = profile.cost_column(fixed)
        note = profile.describe()
    out = pd.Series(float("nan"), index=frame.index, name="train_cost_s", dtype="float64")
    out[fixed.index] = cost.to_numpy()
    if fixed_rows.all():
        return out, note
    rows = frame[~fixed_rows]
    out[rows.index] = schedule_cost(rows, fixed.assign(train_cost_s=cost.to_numpy()),
                                    factors).to_numpy()
    uncosted = rows[out[rows.index].isna()]
    if len(uncosted):
        zs = sorted({int(z) for z in uncosted["z"]})
        raise MergeError(f"{spec.benchmark}: {len(uncosted)} rows of schedule cells trained at "
                         f"z {zs} where the table has no fixed-z cost to charge them (add "
                         "those z to the spec)")
    note = {**note, "schedules": "thaw rows: the cumulative sum of the fixed-z cost increment "
                                 "at each record's z (cost_clock.schedule_cost)"}
    return out, note


def merge(spec: GridSpec, *, dest: str | Path, out: str | Path | None = None,
          allow_missing: bool = False, allow_code_versions: bool = False,
          on_progress: Callable[[int, int], object] | None = None) -> Manifest:
    """Merge the shards and packs under ``out`` (default: the spec's output) into the directory
    ``dest`` (``table.parquet`` and ``manifest.json``; there is no default destination).

    Refuses shards made from uncommitted code or from several code versions unless
    ``allow_code_versions``. ``on_progress(done, total)`` is called as each cell is read
    (the command line draws a bar with it). Returns the manifest written next to the table.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    plan = spec.plan()
    task = plan.task
    store = ShardStore(spec.output_dir(out))
    dest_dir = Path(dest)
    check_sources(spec, store.root)
    check_dest(spec, dest_dir)
    cells = plan.cells
    stored, bad = store.read_cells(CellCheck.of(task))
    wanted = set(cells)
    bad = [b for b in bad if b.cell is None or b.cell in wanted]
    unreadable = [b for b in bad if b.kind == "unreadable"]
    if unreadable:
        raise MergeError(
            f"{spec.benchmark}: {len(unreadable)} stored files in {store.root} cannot be read "
            "by this user:\n  " + "\n  ".join(f"{b.path.name}: {b.reason}"
                                            for b in unreadable[:30])
            + ("\n  ..." if len(unreadable) > 30 else "")
            + "\nmake them readable (their owner can run `chmod g+r` on them) and merge again")
    bad = [b for b in bad if b.kind == "corrupt"]  # a duplicate loses to a verified copy
    if bad:
        raise MergeError(
            f"{spec.benchmark}: {len(bad)} corrupt shards in {store.root} (they fail "
            "verification):\n  " + "\n  ".join(str(b) for b in bad[:30])
            + ("\n  ..." if len(bad) > 30 else "")
            + "\nrerun `frozenbench generate run` to quarantine and retrain them")
    failed_before = store.scan().failed
    missing = [c for c in cells if c not in stored]
    failed = [c for c in missing if c in failed_before]
    if missing and not allow_missing:
        lines = [f"{spec.benchmark}: {len(missing)} of {len(cells)} cells have no shard in "
                 f"{store.shards} ({len(failed)} failed, {len(missing) - len(failed)} never ran)"]
        for c in failed[:10]:
            rec = store.failure(c) or {}
            lines.append(f"  failed {c.stem}: {rec.get('error', '?')}")
        lines.append(f"  missing: {_list(missing)}")
        lines.append("rerun `frozenbench generate run` to finish them, or merge with "
                     "--allow-missing to record them in the manifest")
        raise MergeError("\n".join(lines))

    grid = task.space.to_dict()
    tables = []
    statuses: Counter[str] = Counter()
    hardware: Counter[str] = Counter()
    versions: set[str] = set()
    provenance: dict[str, Counter[str]] = {"cpu": Counter(), "versions": Counter()}
    present = [c for c in cells if c in stored]
    for n, cell in enumerate(present, 1):
        if on_progress is not None:
            on_progress(n, len(present))
        item = stored[cell]
        meta = item.provenance
        statuses[item.status] += 1
        hardware[f"{meta.get('cpu', '?')} | {meta.get('device', '?')}"] += 1
        first = item.rows.slice(0, 1).select(["hardware", "versions"]).to_pydict()
        provenance["cpu"][first["hardware"][0]] += 1
        provenance["versions"][first["versions"][0]] += 1
        versions.add(str(meta.get("code_version", "unknown")))
        tables.append(item.rows)
    if not tables:
        raise MergeError(f"{spec.benchmark}: no shards to merge in {store.root}")
    check_code_versions(versions, allow_mixed=allow_code_versions)

    merged = pa.concat_tables(tables)
    frame = merged.to_pandas()
    order = SCHEDULE_SORT_COLUMNS if "schedule" in frame else SORT_COLUMNS
    frame = frame.sort_values(order, kind="stable").reset_index(drop=True)
    profile = CostProfile.find(store.root)
    frame["train_cost_s"], cost_note = _default_cost(frame, spec, task, store.root, profile)
    schema = arrow_schema(grid)
    validate(frame, grid)  # schema, statuses, z range, no duplicate (config, z, epoch, seed)
    final = pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)

    dest_dir.mkdir(parents=True, exist_ok=True)
    with _all_or_nothing(dest_dir):
        with atomic_file(dest_dir / TABLE_NAME) as f:
            pq.write_table(final, f, compression="zstd")
        files = [TABLE_NAME]
        if profile is not None:
            profile.write(dest_dir)
            files.append(PROFILE_NAME)

        cell_counts = {"ok": statuses["ok"], "diverged": statuses["diverged"],
                       "failed": len(failed), "missing": len(missing) - len(failed)}
        failed_cells: list[Mapping[str, Any]] = []
        for c in missing:
            rec = store.failure(c) or {}
            failed_cells.append({"config_id": c.config_id, "z": c.z, "seed": c.seed,
                                 **({} if c.schedule == FIXED else {"schedule": c.schedule}),
                                 "status": "failed" if c in failed_before else "missing",
                                 "error": rec.get("error", "")})
        manifest = Manifest(
            benchmark=spec.benchmark,
            task=task.name,
            grid=grid,
            fidelities={"z": list(plan.z), "epoch": list(task.fidelities.epoch)},
            metric=task.metric,
            config_ids=list(plan.config_ids),
            seeds=plan.seeds,
            files=describe_files(dest_dir, files),
            rows=final.num_rows,
            cells=cell_counts,
            log_scale=[h.name for h in task.space.hyperparameters if h.log],
            # a sampled design's configs and seed (a grid's manifest stays as it was)
            space_declaration={} if task.space.is_grid else task.space.declaration(),
            description=spec.description or task.description,
            spec={"source": Path(spec.source).name, **dict(spec.raw),
                  "repeat_config_ids": plan.repeat_config_ids},
            code_version=", ".join(sorted(versions)),
            provenance={
                "code_versions": sorted(versions),
                "code_versions_override": allow_code_versions,
                "merged_by": code_version(),
                "default_cost": cost_note,
                "hardware": [{"cells": n, **json.loads(hw)}
                             for hw, n in provenance["cpu"].most_common()],
                "libraries": [{"cells": n, **json.loads(v)}
                              for v, n in provenance["versions"].most_common()],
            },
            hardware="; ".join(f"{hw} ({n} cells)" for hw, n in hardware.most_common())
            + f"; merged on {platform.node()}",
            created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            failed_cells=failed_cells,
        )
        manifest.write(dest_dir)
    return manifest
