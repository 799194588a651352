"""Fuzz cases over generation output folders (issue 24, items 4, 5 and 10), shared by
tests/test_fuzz_generation.py and scripts/fuzz_report.py; outcomes as in ``fuzz_cases``.

Each case copies a finished fake grid (12 cells and its merged table) and attacks or starves it
while ``run``, ``compact``, ``merge`` or ``status`` work on it:

- **planted links**: symbolic links at every temporary name a writer used to use (and at the
  random ones it draws now, as if an attacker guessed them), and at final names, pointing to a
  file of someone else's or to a name that does not exist yet. Correct means: the victim is
  unchanged, nothing is created through a link, and the grid and its table come out right;
- **full disks**: every write fails (no space left) after a random number of whole files. Correct
  means: a frozenbench error (or a run that reports the disk in its job errors), no temporary
  file left behind, nothing judged corrupt; and once space is freed the same command finishes
  with the table of a clean run;
- **shared folders**: a colleague in the folder's group (uid nobody when the tests run as root;
  simulated read errors otherwise) runs ``status``, ``run`` or ``merge`` while some files or
  folders are private to their owner. Correct means: a frozenbench error naming what cannot
  be read, or the right result; nothing private is moved or judged corrupt.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import io
import os
import pickle
import random
import shutil
import signal
import tempfile
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

import frozenbench.atomic as atomic
from frozenbench.errors import FrozenbenchError
from frozenbench.generation.launch import run, status
from frozenbench.generation.merge import merge
from frozenbench.generation.spec import GridSpec, load_spec
from frozenbench.generation.store import ShardStore
from frozenbench.manifest import MANIFEST_NAME, TABLE_NAME

GRID = """task = "fake"
task_module = "frozenbench.generation.fake"
z = [1, 2]
output = "{out}"
[seeds]
base = [0]
"""
#: The fixed temporary names the writers used before frozenbench.atomic (issue 24, item 5).
LEGACY_NAMES = ["manifest.json.tmp", "README.md.tmp", "spec.json.tmp", ".table.parquet.tmp",
                f".table.parquet.{os.getpid()}.tmp", ".cost_profile.json.tmp"]
NOBODY = 65534


class ReportedError(FrozenbenchError):
    """A run that reported a clear error in its job errors (the run itself returns)."""


@contextlib.contextmanager
def no_debugger() -> Iterator[None]:
    """submitit's debug executor opens pdb on a job's exception (and prints and logs it): the
    run reports it in its job errors instead."""
    import logging
    import pdb

    old = pdb.post_mortem
    pdb.post_mortem = lambda *a, **k: None
    log = logging.getLogger("submitit")
    was = log.disabled
    log.disabled = True
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        pdb.post_mortem = old
        log.disabled = was


def grid_source(root: Path) -> Path:
    """A finished fake grid (``spec.toml``, ``out/``) and its merged table (``table/``)."""
    src = root / "grid"
    src.mkdir(parents=True)
    (src / "spec.toml").write_text(GRID.format(out=src / "out"))
    spec = load_spec(src / "spec.toml")
    with no_debugger():
        res = run(spec, "debug")
    assert res.complete, res
    merge(spec, dest=src / "table", allow_code_versions=True)
    return src


def _fresh(source: Path, work: Path) -> tuple[GridSpec, Path]:
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(source, work, symlinks=True)
    return load_spec(source / "spec.toml"), work / "out"


def same_table(a: Path, b: Path) -> bool:
    """The two tables hold the same rows (timing and provenance included: the fake task is
    deterministic)."""
    fa, fb = (pq.read_table(d / TABLE_NAME).to_pandas() for d in (a, b))
    return bool(fa.equals(fb))


def _leftovers(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.tmp")
                  if not p.is_symlink())


def _sound(spec: GridSpec, out: Path) -> str | None:
    """What is wrong with the grid in ``out`` (None: complete and nothing bad stored)."""
    st = status(spec, out)
    if st.corrupt or st.unreadable or st.duplicates:
        return f"bad files {[str(b) for b in (*st.corrupt, *st.unreadable, *st.duplicates)]}"
    if st.counts != {"ok": 8, "diverged": 4, "failed": 0, "pending": 0}:
        return f"counts {dict(st.counts)}"
    return None


# ---------------------------------------------------------------------------- planted links
def _plant(folder: Path, names: list[str], targets: list[Path], rng: random.Random) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        link = folder / name
        if not link.exists() and not link.is_symlink():
            link.symlink_to(rng.choice(targets))


@contextlib.contextmanager
def guessed_names(names: list[Path]) -> Iterator[None]:
    """The helper's next temporary names are ``names`` (an attacker who guessed them)."""
    queue = iter(names)
    real = atomic.temporary_name
    atomic.temporary_name = lambda path: next(queue, None) or real(path)  # type: ignore[assignment]
    try:
        yield
    finally:
        atomic.temporary_name = real  # type: ignore[assignment]


def link_case(source: Path, work: Path, rng: random.Random) -> Callable[[], str]:
    """Plant links, then ``run`` (with some cells to retrain), ``compact`` or ``merge``."""
    def case() -> str:
        spec, out = _fresh(source, work)
        victim = work / "victim"
        victim.mkdir()
        precious = victim / "precious"
        precious.write_text("precious")
        nowhere = victim / "created-through-a-link"
        targets = [precious, nowhere, source / "table" / MANIFEST_NAME]
        before = {p: p.read_bytes() for p in (precious, source / "table" / MANIFEST_NAME)}
        action = rng.choice(["run", "compact", "merge"])
        dest = work / "dest"
        if action == "merge" and rng.random() < 0.7:  # a table there already, to replace
            shutil.copytree(source / "table", dest)
        folders = {"run": [out, out / "shards", out / "failed"], "compact": [out / "packs"],
                   "merge": [dest]}[action]
        for folder in folders:
            _plant(folder, rng.sample(LEGACY_NAMES, rng.randint(0, len(LEGACY_NAMES))),
                   targets, rng)
        guessed = [rng.choice(folders) / f".guess-{i}.tmp" for i in range(rng.randint(0, 5))]
        for g in guessed:
            _plant(g.parent, [g.name], targets, rng)
        if action == "run":  # cells to train again; links at some of their final names
            for shard in rng.sample(sorted((out / "shards").iterdir()), rng.randint(0, 4)):
                shard.unlink()
                if rng.random() < 0.5:
                    _plant(shard.parent, [shard.name], targets, rng)
        elif action == "merge" and rng.random() < 0.5:  # a link where the table goes
            _plant(dest, [rng.choice([TABLE_NAME, MANIFEST_NAME])], targets, rng)
        error: FrozenbenchError | None = None
        try:
            with guessed_names(guessed), no_debugger():
                if action == "run":
                    res = run(spec, "debug", out=out)
                    if res.job_errors:
                        return f"wrong number: job errors {res.job_errors}"
                elif action == "compact":
                    ShardStore(out).compact()
                else:
                    merge(spec, dest=dest, out=out, allow_code_versions=True)
        except FrozenbenchError as exc:  # allowed (e.g. a link at --dest/manifest.json)
            error = exc
        if nowhere.exists() or any(p.read_bytes() != b for p, b in before.items()):
            return f"wrong number: {action} wrote through a planted link"
        problem = _sound(spec, out)
        if problem:
            return f"wrong number: after {action}: {problem}"
        if error is not None:
            raise error
        if action == "merge":
            files = [dest / TABLE_NAME, dest / MANIFEST_NAME]
            if any(f.is_symlink() for f in files) or not same_table(dest, source / "table"):
                return "wrong number: the merged table is not the clean run's"
        return "ok"
    return case


# ------------------------------------------------------------------------------ full disks
@contextlib.contextmanager
def disk_full_after(files: int) -> Iterator[None]:
    """Every whole-file write after the first ``files`` fails with ENOSPC (at its fsync, as
    a full disk fails a write that the cache accepted)."""
    real = os.fsync
    left = [files]

    def fsync(fd: int) -> None:
        if left[0] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        left[0] -= 1
        real(fd)

    os.fsync = fsync
    try:
        yield
    finally:
        os.fsync = real


def _act(action: str, spec: GridSpec, out: Path, dest: Path) -> None:
    if action == "run":
        res = run(spec, "debug", out=out)
        if res.job_errors:
            raise ReportedError("; ".join(res.job_errors))
    elif action == "compact":
        ShardStore(out).compact()
    else:
        merge(spec, dest=dest, out=out, allow_code_versions=True)


def disk_full_case(source: Path, work: Path, rng: random.Random) -> Callable[[], str]:
    """``run`` (some cells to retrain), ``compact`` or ``merge`` on a disk that fills up."""
    def case() -> str:
        spec, out = _fresh(source, work)
        action = rng.choice(["run", "compact", "merge"])
        dest = work / "dest"
        if action == "merge" and rng.random() < 0.5:  # a table there already, to replace
            shutil.copytree(source / "table", dest)
        if action == "run":
            for shard in rng.sample(sorted((out / "shards").iterdir()), rng.randint(1, 6)):
                shard.unlink()
        error: FrozenbenchError | None = None
        try:
            with disk_full_after(rng.randint(0, 6)), no_debugger():
                _act(action, spec, out, dest)
        except FrozenbenchError as exc:
            error = exc
        if error is not None and "No space left on device" not in str(error):
            return f"wrong number: a full disk reported as {type(error).__name__}: {error}"
        left = _leftovers(work)
        if left:
            return f"wrong number: temporary files left behind: {left[:5]}"
        st = status(spec, out)
        if st.corrupt or st.unreadable:
            return f"wrong number: judged bad after a full disk: {st.corrupt or st.unreadable}"
        with no_debugger():  # space freed: the same command finishes the job
            _act(action, spec, out, dest)
        problem = _sound(spec, out)
        if problem:
            return f"wrong number: after freeing space: {problem}"
        if action == "merge" and not same_table(dest, source / "table"):
            return "wrong number: the table merged after freeing space differs"
        if error is not None:
            raise error
        return "ok"
    return case


# --------------------------------------------------------------------------- shared folders
@contextlib.contextmanager
def _simulated_denials(paths: set[Path]) -> Iterator[None]:
    real = builtins.open

    def guarded(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, (str, os.PathLike)) and Path(file).resolve() in paths:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(file))
        return real(file, *args, **kwargs)

    builtins.open = guarded
    try:
        yield
    finally:
        builtins.open = real


def _colleague(fn: Callable[[], Any], private: set[Path]) -> tuple[str, Any]:
    """Run ``fn`` as a colleague: a forked child with uid nobody in root's group when this
    process is root, else in this process with reads of ``private`` files failing."""
    def outcome() -> tuple[str, Any]:
        try:
            with no_debugger():
                return "ok", fn()
        except FrozenbenchError as exc:
            return "frozenbench error", f"{type(exc).__name__}: {exc}"
        except Exception:
            return "raw", traceback.format_exc()

    if os.geteuid() != 0:
        with _simulated_denials({p.resolve() for p in private if p.is_file()}):
            return outcome()
    kind, value = as_group_member(outcome)
    return value if kind == "ok" else ("raw", value)


def as_group_member(fn: Callable[[], Any]) -> tuple[str, Any]:
    """Run ``fn()`` in a forked child as another user of the folder's group (uid nobody, gid
    root; needs root) and return ``("ok", its result)`` or ``("crashed", the traceback)``;
    everything ``fn`` needs must be imported already."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns into the caller
        try:
            os.close(r)
            signal.setitimer(signal.ITIMER_REAL, 0)
            os.setgroups([])
            os.setgid(0)
            os.setuid(NOBODY)
            result: tuple[str, Any] = ("ok", fn())
        except BaseException:
            result = ("crashed", traceback.format_exc())
        with os.fdopen(w, "wb") as f:
            f.write(pickle.dumps(result))
        os._exit(0)
    os.close(w)
    try:
        with os.fdopen(r, "rb") as f:
            data = f.read()
    finally:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    return pickle.loads(data)  # type: ignore[no-any-return]


def _share(root: Path) -> None:
    """Modes as a group-shared folder gives them (umask 002, setgid folders)."""
    for p in [root, *root.rglob("*")]:
        if not p.is_symlink():
            p.chmod(0o2775 if p.is_dir() else 0o664)


def shared_case(source: Path, rng: random.Random) -> Callable[[], str]:
    """Some files or folders of a grid are private to their owner; a colleague in the
    folder's group runs ``status``, ``run`` or ``merge``."""
    def case() -> str:
        root = Path(tempfile.mkdtemp(prefix="fb-fuzz-shared-", dir="/tmp"))
        try:
            return _shared(root, source, rng)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    return case


def _restrict(out: Path, rng: random.Random) -> tuple[set[Path], set[Path]]:
    """Make a few files (and, as root, folders) private to their owner, and (as root) a few
    folders read-only to the group; returns (private, read-only)."""
    files = sorted(p for p in out.rglob("*") if p.is_file() and "logs" not in p.parts)
    private = set(rng.sample(files, rng.randint(0, min(3, len(files)))))
    readonly: set[Path] = set()
    if os.geteuid() == 0:  # the owner is the colleague in the simulation: folders stay open
        private |= {d for d in (out / "shards", out / "packs")
                    if d.is_dir() and rng.random() < 0.15}
        readonly = {d for d in (out / "shards", out / "failed", out / "locks")
                    if d.is_dir() and d not in private and rng.random() < 0.15}
    for p in private:
        p.chmod(0o700 if p.is_dir() else 0o600)
    for d in readonly:
        d.chmod(0o2755)
    return private, readonly


def _shared(root: Path, source: Path, rng: random.Random) -> str:
    spec, out = _fresh(source, root / "w")
    if rng.random() < 0.5:
        ShardStore(out).compact()
    shards = sorted((out / "shards").glob("*.parquet"))
    removed = rng.sample(shards, rng.randint(0, min(2, len(shards))))
    for shard in removed:
        shard.unlink()  # cells left for the colleague to train (merge: missing)
    _share(root)
    private, readonly = _restrict(out, rng)
    before = {p: p.read_bytes() for p in private if p.is_file()}
    action = rng.choice(["status", "run", "merge"])
    dest = root / "table"

    def act() -> Any:
        if action == "status":
            st = status(spec, out)
            return (dict(st.counts), len(st.corrupt), len(st.unreadable))
        if action == "run":
            res = run(spec, "debug", out=out)
            store = ShardStore(out)
            failures = [str((store.failure(c) or {}).get("error")) for c in store.scan().failed]
            return (dict(res.counts or {}), res.job_errors, len(res.quarantined), failures)
        merge(spec, dest=dest, out=out, allow_code_versions=True)
        return None

    kind, value = _colleague(act, private)
    _share(root)
    if kind == "raw":
        raise RuntimeError(value)
    if any(p.read_bytes() != b for p, b in before.items()) or (out / "quarantine").exists():
        return f"wrong number: {action} moved or changed a private file"
    if kind == "frozenbench error":
        missing = action == "merge" and removed and "have no shard" in value
        if not missing and ("cannot" not in value or not (private or readonly)):
            return f"wrong number: {value[:300]}"
        raise ReportedError(value)
    return _judge(action, value, private, readonly, dest, source)


def _judge(action: str, value: Any, private: set[Path], readonly: set[Path], dest: Path,
           source: Path) -> str:
    """Whether the colleague's result (no error raised) is right."""
    if action == "status":
        counts, corrupt, unreadable = value
        if corrupt or (unreadable == 0) != all(p.suffix != ".parquet" for p in private):
            return f"wrong number: status {value} with private {sorted(map(str, private))}"
    elif action == "run":
        counts, job_errors, moved, failures = value
        if moved:
            return f"wrong number: run moved {moved} files"
        if counts != {"ok": 8, "diverged": 4, "failed": 0, "pending": 0}:
            said = [*job_errors, *failures]
            if not readonly or not said or not all("cannot" in e for e in said):
                return f"wrong number: run {value} with read-only {sorted(map(str, readonly))}"
            raise ReportedError("; ".join(said))  # reported clearly: the folder is read-only
    elif not same_table(dest, source / "table"):
        return "wrong number: the colleague's merge differs from the clean table"
    return "ok"


def generation_targets(root: Path) -> dict[str, Callable[[random.Random], Callable[[], str]]]:
    """The targets of this module for scripts/fuzz_report.py, on a grid made under ``root``."""
    source = grid_source(root)
    return {
        "generation: planted links": lambda r: link_case(source, root / "w", r),
        "generation: full disk": lambda r: disk_full_case(source, root / "w", r),
        "generation: shared folder": lambda r: shared_case(source, r),
    }
