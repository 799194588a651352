"""Fuzz cases over the on-disk formats and the CLI, shared by tests/test_fuzz_formats.py
(Hypothesis) and scripts/fuzz_report.py (counts of outcomes).

A case corrupts a copy of a valid benchmark directory (its Parquet table or its manifest) or
builds a command line, runs it under a time limit and classifies what happened:

- ``ok``: a correct result (a corrupted directory only loads when the corruption changed
  nothing that matters, and then its numbers equal the original's);
- ``frozenbench error``: a :class:`~frozenbench.errors.FrozenbenchError` with a message;
- ``usage error``: argparse's exit status 2 (the CLI only);
- the bugs: ``raw exception`` (any other exception), ``timeout`` and ``wrong number``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import shutil
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from frozenbench.errors import FrozenbenchError
from frozenbench.manifest import MANIFEST_NAME, TABLE_NAME
from frozenbench.table import Benchmark

GOOD = ("ok", "frozenbench error", "usage error")
BUGS = ("raw exception", "timeout", "wrong number", "over memory")


class CaseTimeout(BaseException):
    """Raised inside a case that ran past its time limit (BaseException: no case catches it)."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    def fire(signum: int, frame: Any) -> None:
        raise CaseTimeout(f"over {seconds:g} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


class UsageError(Exception):
    """argparse refused the command line (exit status 2)."""


@dataclass(frozen=True)
class Outcome:
    kind: str
    detail: str = ""

    @property
    def bug(self) -> bool:
        return self.kind in BUGS


def run_case(case: Callable[[], str], seconds: float = 20.0) -> Outcome:
    """Run a case (returns ``"ok"`` or ``"wrong number: ..."``) and classify how it ended."""
    try:
        with time_limit(seconds):
            result = case()
    except CaseTimeout as exc:
        return Outcome("timeout", str(exc))
    except FrozenbenchError as exc:
        if not str(exc):
            return Outcome("raw exception", f"{type(exc).__name__} without a message")
        return Outcome("frozenbench error", f"{type(exc).__name__}: {str(exc)[:200]}")
    except UsageError:
        return Outcome("usage error")
    except Exception as exc:
        return Outcome("raw exception", f"{type(exc).__name__}: {str(exc)[:200]}")
    if result == "ok":
        return Outcome("ok")
    return Outcome("wrong number", result)


def same_numbers(a: Benchmark, b: Benchmark) -> bool:
    return a.manifest == b.manifest and all(
        np.array_equal(x, y, equal_nan=True) for x, y in (
            (a.objective(per_seed=True), b.objective(per_seed=True)),
            (a.cost_array(per_seed=True), b.cost_array(per_seed=True)),
            (a.peak_memory(), b.peak_memory())))


# ---------------------------------------------------------------------- the Parquet table
def corrupt_bytes(data: bytes, rng: random.Random) -> bytes:
    """One random corruption: flip a bit, overwrite a range, truncate, append or cut a range."""
    n = len(data)
    kind = rng.choice(["flip", "overwrite", "truncate", "append", "cut"])
    at = rng.randrange(n)
    if kind == "flip":
        return data[:at] + bytes([data[at] ^ (1 << rng.randrange(8))]) + data[at + 1:]
    if kind == "overwrite":
        k = rng.randint(1, 64)
        return data[:at] + bytes(rng.randrange(256) for _ in range(k)) + data[at + k:]
    if kind == "truncate":
        return data[:at]
    if kind == "append":
        return data + bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    return data[:at] + data[at + rng.randint(1, 256):]


def table_case(source: Path, work: Path, rng: random.Random, *, verify: bool) -> Callable[[],
                                                                                          str]:
    """Corrupt ``table.parquet`` of a copy of ``source``; loading must fail or be right."""
    def case() -> str:
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(source, work)
        original = (source / TABLE_NAME).read_bytes()
        data = corrupt_bytes(original, rng)
        (work / TABLE_NAME).write_bytes(data)
        bench = Benchmark.from_directory(work, verify=verify)
        bench.to_frame()
        if data == original:
            ref = Benchmark.from_directory(source)
            return "ok" if same_numbers(bench, ref) else "wrong number: unchanged bytes differ"
        if verify:
            return f"wrong number: a corrupt table ({len(data)} of {len(original)} bytes) loaded"
        return "ok"  # without the checksums a changed value in range is not detectable
    return case


# ---------------------------------------------------------------------- the manifest
def _random_json(rng: random.Random, depth: int = 0) -> Any:
    choices = [None, True, False, 0, -1, 1, 2**40, 0.5, -1e300, float("nan"), "", "x",
               "val_loss", "../x", [], {}, [1, 2, 3]]
    if depth < 2 and rng.random() < 0.2:
        return {rng.choice(["z", "epoch", "sha256", "bytes", "ok"]): _random_json(rng, depth + 1)}
    if depth < 2 and rng.random() < 0.2:
        return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return rng.choice(choices)


def mutate_manifest(text: str, rng: random.Random) -> str:
    """One random edit: a field replaced, deleted or added (as JSON), a nested value changed,
    or the raw text corrupted."""
    data = json.loads(text)
    kind = rng.choice(["replace", "delete", "add", "nested", "text"])
    if kind == "text":
        return corrupt_bytes(text.encode(), rng).decode("utf-8", errors="replace")
    key = rng.choice(sorted(data))
    if kind == "replace":
        data[key] = _random_json(rng)
    elif kind == "delete":
        del data[key]
    elif kind == "add":
        data[rng.choice(["extra", "metric2", key])] = _random_json(rng)
    else:
        value = data[key]
        if isinstance(value, dict) and value:
            value[rng.choice(sorted(value))] = _random_json(rng)
        elif isinstance(value, list) and value:
            value[rng.randrange(len(value))] = _random_json(rng)
        else:
            data[key] = _random_json(rng)
    return json.dumps(data, indent=rng.choice([None, 1]))


def manifest_case(source: Path, work: Path, rng: random.Random) -> Callable[[], str]:
    """Edit ``manifest.json`` of a copy of ``source``; loading must fail unless the edit
    changed nothing (then the numbers must be the original's)."""
    def case() -> str:
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(source, work)
        text = (source / MANIFEST_NAME).read_text()
        new = mutate_manifest(text, rng)
        (work / MANIFEST_NAME).write_text(new)
        bench = Benchmark.from_directory(work)
        try:
            unchanged = json.loads(new) == json.loads(text)
        except ValueError:
            unchanged = False
        if not unchanged:
            return "wrong number: an edited manifest loaded"
        return "ok" if same_numbers(bench, Benchmark.from_directory(source)) else \
            "wrong number: an unchanged manifest gave other numbers"
    return case


# ---------------------------------------------------------------------- the CLI
CLI_WORDS = ["query", "list", "correlate", "--z", "--epoch", "--seed", "--curve",
             "--config-id", "--config", "0", "1", "2", "3", "-1", "99", "2.0", "x", "lr=0.001",
             "lr=1e-3", "lr=x", "optimizer=adam", "weight_decay=False", "{}", '{"lr": 0.001}',
             "[1]", "--out", "hub:ns/x", "ns/name", "--help-me", ""]


def cli_argv(source: Path, rng: random.Random) -> list[str]:
    words = [rng.choice(CLI_WORDS) for _ in range(rng.randint(0, 8))]
    command = rng.choice(["query", "list", "correlate"])
    bench = rng.choice([str(source), "no-such-table", "./nowhere", str(source)])
    return [command, bench, *words] if command != "list" else [command, *words]


def warm_up(source: Path) -> None:
    """Import what the CLI imports on first use (scipy for correlate: seconds, more on a loaded
    machine), so that the per-case time limit measures the case, not the first import."""
    from frozenbench.cli import main

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        main(["correlate", str(source)])


def cli_case(argv: list[str]) -> Callable[[], str]:
    """Run the CLI; exit 0/1 (or argparse's 2) only, and query's numbers equal the API's."""
    from frozenbench.cli import main

    def case() -> str:
        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                rc = main(argv)
        except SystemExit as exc:
            if exc.code == 2:
                raise UsageError from None
            return f"wrong number: exit status {exc.code}"
        if rc == 1:
            if "error:" not in err.getvalue():
                return "wrong number: exit 1 without an error message"
            raise CliError(err.getvalue().strip().splitlines()[-1])
        return "ok" if rc == 0 else f"wrong number: exit status {rc}"
    return case


class CliError(FrozenbenchError):
    """The CLI reported a frozenbench error (exit status 1, a message on stderr)."""


# ---------------------------------------------------------------------- allocation bombs
# Issue 24, item 3: small hostile tables whose manifest or Parquet footer asks for huge arrays.
# Each bomb is a valid-looking benchmark directory (the manifest's digest and the files'
# sha256 recomputed, as a hostile publisher would); loading it must give a frozenbench error
# within a memory limit (:func:`run_limited`: RLIMIT_AS in a forked child).

#: What a load may use above what the process already holds: 10x the table's bytes on disk
#: (the issue's bound: a load of a table under 10 MB uses at most 10x its data) plus a fixed
#: floor for a table of a few rows (Arrow's buffers, numpy's temporaries).
MEMORY_FACTOR = 10
MEMORY_FLOOR = 64 << 20
OVER_MEMORY = "over memory"


def _rewrite_manifest(work: Path, **changes: Any) -> None:
    """Replace manifest fields of ``work`` and write it with a valid digest, as a hostile
    publisher would (no checks); ``files`` re-described (the Parquet file may have changed)."""
    import dataclasses

    from frozenbench.manifest import DIGEST_KEY, Manifest, content_digest, describe_files

    m = Manifest.read(work)
    data = {**dataclasses.asdict(m), "files": describe_files(work, list(m.files)), **changes}
    data[DIGEST_KEY] = content_digest(data)
    (work / MANIFEST_NAME).write_text(json.dumps(data))


def _identical_rows(work: Path, n_rows: int, *, consistent: bool) -> None:
    """``table.parquet`` holding one row ``n_rows`` times (compresses to almost nothing);
    ``consistent``: the manifest's ``rows`` says so too."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = work / TABLE_NAME
    one = pq.read_table(path).slice(0, 1)
    batch = pa.concat_tables([one] * 10_000).combine_chunks()
    with pq.ParquetWriter(path, one.schema) as writer:
        for _ in range(n_rows // batch.num_rows):
            writer.write_table(batch)
    if consistent:
        _rewrite_manifest(work, rows=n_rows)
    else:
        _rewrite_manifest(work)


def _bigger_first_hyperparameter(work: Path, extra: int) -> None:
    """The grid's first hyperparameter gets ``extra`` more values at its end: the table's
    config ids keep their meaning, the grid grows ``extra``-fold (a dense config lookup)."""
    from frozenbench.manifest import Manifest

    m = Manifest.read(work)
    first, values = next(iter(m.grid.items()))
    more = [1000.0 + i for i in range(extra)] if not isinstance(values[0], str) else \
        [f"v{i}" for i in range(extra)]
    _rewrite_manifest(work, grid={**m.grid, first: [*values, *more]})


def _fid(work: Path, key: str, values: list[int]) -> None:
    from frozenbench.manifest import Manifest

    m = Manifest.read(work)
    _rewrite_manifest(work, fidelities={**m.fidelities, key: values})


def _seeds(work: Path, seeds: list[int]) -> None:
    _rewrite_manifest(work, seeds=seeds)


def _add(values: list[int], new: int) -> list[int]:
    return [*values, new]


BOMBS: dict[str, Callable[[Path], None]] = {
    "z level 10**13": lambda w: _fid(w, "z", _add([1, 2], 10**13)),
    "z level 2**64": lambda w: _fid(w, "z", _add([1, 2], 2**64)),
    "seed 2**70": lambda w: _seeds(w, [0, 1, 2, 2**70]),
    "3M epochs": lambda w: _fid(w, "epoch", list(range(1, 3_000_001))),
    "20k epochs": lambda w: _fid(w, "epoch", list(range(1, 20_001))),
    "12k z x 12k epochs (200 KB manifest)": lambda w: (
        _fid(w, "z", list(range(1, 12_001))), _fid(w, "epoch", list(range(1, 12_001)))),
    "30k seeds": lambda w: _seeds(w, list(range(30_000))),
    "grid 200k-fold": lambda w: _bigger_first_hyperparameter(w, 200_000),
    "1M identical rows": lambda w: _identical_rows(w, 1_000_000, consistent=False),
    "1M identical rows, manifest agrees": lambda w: _identical_rows(w, 1_000_000,
                                                                    consistent=True),
}


def build_bomb(source: Path, work: Path, build: Callable[[Path], None]) -> Path:
    """A copy of ``source`` at ``work`` made hostile by ``build``."""
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(source, work)
    build(work)
    return work


def bomb_case(work: Path) -> Callable[[], str]:
    """Load a bomb (built by :func:`build_bomb`): only a frozenbench error is right."""
    def case() -> str:
        Benchmark.from_directory(work)
        return "wrong number: a hostile table loaded"
    return case


def _vm_size() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise OSError("no VmSize in /proc/self/status")


def run_limited(case: Callable[[], str], limit: int, seconds: float = 20.0) -> Outcome:
    """Run a case in a forked child whose address space may grow by ``limit`` bytes at most
    (RLIMIT_AS). A MemoryError, or a child that dies on the way, is :data:`OVER_MEMORY`."""
    import os
    import pickle
    import resource

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read)
        try:
            size = _vm_size() + limit
            resource.setrlimit(resource.RLIMIT_AS, (size, size))
            outcome = run_case(case, seconds)
            if outcome.kind == "raw exception" and outcome.detail.startswith("MemoryError"):
                outcome = Outcome(OVER_MEMORY, f"{outcome.detail} (limit {limit} bytes)")
        except BaseException as exc:  # reported to the parent, whatever it is
            outcome = Outcome(OVER_MEMORY if isinstance(exc, MemoryError) else "raw exception",
                              f"{type(exc).__name__}: {str(exc)[:200]}")
        with os.fdopen(write, "wb") as f:
            pickle.dump(outcome, f)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        data = f.read()
    _, status = os.waitpid(pid, 0)
    if not data:
        return Outcome(OVER_MEMORY, f"the child ended with status {status} and no outcome")
    outcome: Outcome = pickle.loads(data)
    return outcome


def directory_limit(work: Path) -> int:
    """The memory a load of ``work`` may use: :data:`MEMORY_FACTOR` x its bytes on disk plus
    :data:`MEMORY_FLOOR`."""
    size = sum(p.stat().st_size for p in work.rglob("*") if p.is_file())
    return MEMORY_FACTOR * size + MEMORY_FLOOR


# ---------------------------------------------------------------------- hostile Hub repos
#: What a hostile repo may do (issue 24, item 10), each with what the fetch must end in:
#: ``same`` (it loads, with the source's numbers), ``error`` (a frozenbench error) or
#: ``either`` (an edited table re-signed by its author: an error, or it loads, never as
#: official).
HUB_KINDS = {
    "extra files": "same",          # files no manifest lists: odd names, huge declared sizes
    "grown file": "error",          # a listed file larger than the manifest states
    "claimed size": "error",        # a listed file the Hub says is 200 MB
    "missing file": "error",        # a listed file absent from the repo
    "huge manifest": "error",       # a manifest the Hub says is 1 GiB
    "tampered manifest": "error",   # an edit without a new digest (unless it changed nothing)
    "re-signed manifest": "either",  # an edit with a new digest
    "listed outside": "error",      # the manifest lists '..', absolute or backslash paths
    "re-signed table": "either",    # a corrupted table with a manifest re-signed to match it
}
ODD_NAMES = ["../x.parquet", "a/../../x", "..\\x", "/abs.bin", "C:\\x", "%2e%2e/x", "x y.bin",
             "ünï.bin", ".hidden", "a" * 200, "dir/../manifest.json", "README.md", "-rf",
             "table.parquet.bak", "manifest.json.tmp", "x\ty"]


@dataclass(frozen=True)
class HubRepo:
    """A hostile repo: its files, the sizes the Hub claims ({path: bytes}), its kind and
    what the fetch must end in (see :data:`HUB_KINDS`)."""

    files: dict[str, bytes]
    declared: dict[str, int]
    kind: str
    expect: str


def _resign(data: dict[str, Any]) -> str:
    from frozenbench.manifest import DIGEST_KEY, content_digest

    data = {k: v for k, v in data.items() if k != DIGEST_KEY}
    data[DIGEST_KEY] = content_digest(data)
    return json.dumps(data, indent=1)


def _same_manifest(a: bytes | str, b: bytes | str) -> bool:
    """Whether two manifest texts read as the same manifest (a deleted field with a default
    value, or another layout, changes nothing)."""
    from frozenbench.manifest import Manifest

    try:
        return Manifest.from_json(a) == Manifest.from_json(b)
    except FrozenbenchError:
        return False


def hub_repo(source: Path, rng: random.Random, kind: str | None = None) -> HubRepo:
    """A hostile variant of the benchmark in ``source`` (see :data:`HUB_KINDS`)."""
    kind = kind or rng.choice(sorted(HUB_KINDS))
    manifest = (source / MANIFEST_NAME).read_text()
    table = (source / TABLE_NAME).read_bytes()
    files: dict[str, bytes] = {MANIFEST_NAME: manifest.encode(), TABLE_NAME: table}
    declared: dict[str, int] = {}
    expect = HUB_KINDS[kind]
    data = json.loads(manifest)
    if kind == "extra files":
        for name in rng.sample(ODD_NAMES, rng.randint(1, 5)):
            files.setdefault(name, bytes(rng.randrange(256) for _ in range(rng.randint(0, 64))))
            if rng.random() < 0.5:
                declared[name] = 200 << 20
    elif kind == "grown file":
        files[TABLE_NAME] = table + bytes(rng.randint(1, 1 << 16))
    elif kind == "claimed size":
        declared[TABLE_NAME] = rng.choice([len(table) + 1, 200 << 20, 1 << 40])
    elif kind == "missing file":
        del files[TABLE_NAME]
    elif kind == "huge manifest":
        declared[MANIFEST_NAME] = rng.choice([1 << 30, (16 << 20) + 1])
    elif kind == "tampered manifest":
        new = mutate_manifest(manifest, rng)
        files[MANIFEST_NAME] = new.encode()
        try:
            if json.loads(new) == data:
                expect = "same"
        except ValueError:
            pass
    elif kind == "re-signed manifest":
        try:
            edited = json.loads(mutate_manifest(manifest, rng))
        except ValueError:
            edited = None
        if isinstance(edited, dict):
            files[MANIFEST_NAME] = _resign(edited).encode()
        if _same_manifest(files[MANIFEST_NAME], manifest):  # an edit that changed nothing
            expect = "same"
    elif kind == "listed outside":
        meta = data["files"][TABLE_NAME]
        data["files"] = {rng.choice(["../table.parquet", "/table.parquet", "a\\table.parquet",
                                     "a/../../table.parquet"]): meta}
        files[MANIFEST_NAME] = _resign(data).encode()
    elif kind == "re-signed table":
        from frozenbench.manifest import sha256_file

        bad = corrupt_bytes(table, rng)
        files[TABLE_NAME] = bad
        tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"fb-fuzz-{os.getpid()}.bin"
        tmp.write_bytes(bad)
        data["files"] = {TABLE_NAME: {"sha256": sha256_file(tmp), "bytes": len(bad)}}
        tmp.unlink()
        files[MANIFEST_NAME] = _resign(data).encode()
    return HubRepo(files, declared, kind, expect)


def hub_case(ref: str, expect: str, source: Path) -> Callable[[], str]:
    """Fetch and load a hostile repo (in a process whose Hub client points at the test
    server): only the manifest and its listed files may arrive, and the outcome must be what
    ``expect`` allows (see :data:`HUB_KINDS`)."""
    def case() -> str:
        from frozenbench import hub

        path = hub.fetch(ref)
        manifest = json.loads((path / MANIFEST_NAME).read_text())
        wanted = {MANIFEST_NAME, *manifest["files"]}
        got = {p.relative_to(path).as_posix() for p in path.rglob("*") if not p.is_dir()}
        if got - wanted:
            return f"wrong number: files no manifest lists were fetched: {sorted(got - wanted)}"
        bench = Benchmark.from_directory(path, verify=False)
        bench.to_frame()
        if expect == "error":
            return "wrong number: a hostile repo loaded"
        if expect == "same":
            original = Benchmark.from_directory(source)
            if not same_numbers(bench, original):
                return "wrong number: an unchanged table gave other numbers"
            return "ok" if bench.official == original.official else \
                "wrong number: a copy of a table is official and the table not, or back"
        return "wrong number: a re-signed table passed as official" if bench.official else "ok"
    return case


#: Run by :func:`run_hub_cases` in a fresh interpreter (the Hub client reads its endpoint when
#: it is imported): ``argv`` = tests dir, source, memory limit (bytes), seconds, then a JSON
#: list of [ref, expect] pairs; prints one JSON list of [kind, detail] outcomes.
_HUB_CLIENT = """
import json, resource, sys
sys.path.insert(0, sys.argv[1])
limit = int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from pathlib import Path
from fuzz_cases import hub_case, run_case
out = [run_case(hub_case(ref, expect, Path(sys.argv[2])), float(sys.argv[4]))
       for ref, expect in json.loads(sys.argv[5])]
print("OUTCOMES" + json.dumps([[o.kind, o.detail] for o in out]))
"""


def run_hub_cases(server: Any, source: Path, repos: list[HubRepo], hf_home: Path, *,
                  prefix: str = "fuzz", seconds: float = 30.0,
                  memory: int = 3 << 30) -> list[Outcome]:
    """Publish ``repos`` on the test Hub ``server`` (tests/hub_server.py) and fetch each in
    one client process under an address-space limit of ``memory`` bytes and ``seconds`` per
    case; returns their outcomes in order (a crashed client: one ``raw exception`` each)."""
    import os as _os
    import subprocess
    import sys

    pairs = []
    for i, repo in enumerate(repos):
        repo_id = f"{prefix}/r{i}-{_os.getpid()}-{random.getrandbits(32)}"
        server.create_repo(repo_id)
        commit = server.commit(repo_id, "main", dict(repo.files), repo.kind)
        server.declared.update({(repo_id, p): n for p, n in repo.declared.items()})
        pairs.append([f"hub:{repo_id}@{commit}", repo.expect])
    env = {**_os.environ, "HF_ENDPOINT": server.url, "HF_HOME": str(hf_home),
           "HF_HUB_DISABLE_PROGRESS_BARS": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
           "HF_HUB_OFFLINE": "0", "HF_HUB_ETAG_TIMEOUT": "5", "HF_HUB_DOWNLOAD_TIMEOUT": "10"}
    env.pop("HF_HUB_CACHE", None)
    proc = subprocess.run(
        [sys.executable, "-c", _HUB_CLIENT, str(Path(__file__).parent), str(source),
         str(memory), str(seconds), json.dumps(pairs)],
        env=env, capture_output=True, text=True, timeout=seconds * len(repos) + 120)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("OUTCOMES")]
    if proc.returncode != 0 or not lines:
        detail = f"client exit {proc.returncode}: {proc.stderr.strip()[-300:]}"
        return [Outcome("raw exception", detail) for _ in repos]
    return [Outcome(kind, detail) for kind, detail in json.loads(lines[-1][len("OUTCOMES"):])]


# ---------------------------------------------------------------------- fixed hostile inputs
# Issue 24, items 3, 6 and 8: named cases (not random ones), each run once by the report and
# the tests. A case returns "ok" only for a correct result; an input that must be refused
# returns "wrong number: ..." when it was not.
@dataclass(frozen=True)
class FixedCase:
    """A named case and how to run it (``run`` classifies it, under its own limits)."""

    name: str
    run: Callable[[], Outcome]


def bomb_cases(source: Path, root: Path) -> list[FixedCase]:
    """Item 3: every allocation bomb, built from ``source`` and loaded in a child under
    RLIMIT_AS (:func:`directory_limit`)."""
    def one(build: Callable[[Path], None]) -> Callable[[], Outcome]:
        def run() -> Outcome:
            work = build_bomb(source, root / "bomb", build)
            return run_limited(bomb_case(work), directory_limit(work), seconds=30)
        return run
    return [FixedCase(name, one(build)) for name, build in BOMBS.items()]


def refused(call: Callable[[], object]) -> Callable[[], str]:
    """A case whose input must be refused: a FrozenbenchError (raised through) is right."""
    def case() -> str:
        call()
        return "wrong number: the input was accepted"
    return case


def _nested_manifest(root: Path) -> Path:
    work = root / "nested"
    work.mkdir(parents=True, exist_ok=True)
    (work / MANIFEST_NAME).write_text("[" * 100_000 + "]" * 100_000)
    return work


def traceback_cases(source: Path, root: Path) -> list[FixedCase]:
    """Item 8: inputs that once ended in a raw traceback (and item 7's ``--seed -1``)."""
    import frozenbench as fb

    bench = Benchmark.from_directory(source)
    huge = {**bench.configs[0], "lr": 10**400}
    pairs = [f"{k}={v}" for k, v in bench.configs[0].items() if k != "lr"]
    cell = ["--config-id", str(int(bench.config_ids[0])), "--z", "1"]
    api: dict[str, Callable[[], str]] = {
        "manifest of 100k nested brackets": refused(lambda: fb.load(_nested_manifest(root))),
        "load ~nouser/x": refused(lambda: fb.load("~nouser/x")),
        "load a 5,000-character path": refused(lambda: fb.load("./" + "a" * 5000)),
        "load a path of 2,500 folders": refused(lambda: fb.load("/tmp/" + "a/" * 2500)),
        "query lr=10**400 (API)": refused(lambda: bench.query(huge, 1)),
        "query lr=10**5000 (API)": refused(lambda: bench.query({**huge, "lr": 10**5000}, 1)),
    }
    cli = {
        "query lr=10**400": ["query", str(source), "lr=10**400", *pairs, "--z", "1"],
        "query lr=1e400": ["query", str(source), "lr=1e400", *pairs, "--z", "1"],
        "query --config lr=10**400": ["query", str(source), "--config",
                                      json.dumps(huge), "--z", "1"],
        "run-cell --seed 2**70": ["run-cell", "mnist-resnet", *cell, "--seed", str(2**70)],
        "run-cell --seed -1": ["run-cell", "mnist-resnet", *cell, "--seed", "-1"],
        "query --seed 2**70": ["query", str(source), *cell, "--seed", str(2**70)],
        "simulate --out /proc": ["simulate", str(source), "--max-evaluations", "5", "--runs",
                                 "1", "--out", "/proc/x/out"],
        "correlate --out /proc": ["correlate", str(source), "--out", "/proc/x/out.csv"],
        "card --out /proc": ["card", str(source), "--out", "/proc/x/README.md"],
    }
    cases = [FixedCase(n, _outcome(c)) for n, c in api.items()]
    cases += [FixedCase(n, _outcome(refused_cli(argv))) for n, argv in cli.items()]
    return cases + generation_cases(root)


def _outcome(case: Callable[[], str], seconds: float = 30.0) -> Callable[[], Outcome]:
    return lambda: run_case(case, seconds)


def refused_cli(argv: list[str]) -> Callable[[], str]:
    """A command line that must fail clearly: exit 0 is wrong."""
    run = cli_case(argv)

    def case() -> str:
        result = run()
        return "wrong number: exit status 0" if result == "ok" else result
    return case


_FAKE_SPEC = """task = "fake"
task_module = "frozenbench.generation.fake"
output = "{output}"
z = [1, 2]

[seeds]
base = [0]

[packing]
cells_per_job = 5
"""


def generation_cases(root: Path) -> list[FixedCase]:
    """``generate run`` (the torch-free fake task, in-process) with a ``spec.json`` that is not
    JSON, with ``merge --dest`` under /proc, and on a full disk (ENOSPC on every write): a
    clear error, and no finished shard lost."""
    import os

    # cells made from this (maybe uncommitted) working tree carry a fixed clean version, as in
    # tests/conftest.py, so that merge gets as far as writing
    os.environ.setdefault("FROZENBENCH_CODE_VERSION", "fuzz0000000")

    def setup(name: str) -> tuple[Path, Path]:
        work = root / name
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        toml = work / "spec.toml"
        toml.write_text(_FAKE_SPEC.format(output=work / "out"))
        return toml, work / "out"

    def bad_spec_json() -> str:
        toml, out = setup("spec-json")
        out.mkdir()
        (out / "spec.json").write_text("{not json")
        return refused_cli(["generate", "run", str(toml), "--executor", "debug", "--quiet"])()

    def merge_to_proc() -> str:
        toml, _ = setup("merge-proc")
        if cli_case(["generate", "run", str(toml), "--executor", "debug", "--quiet"])() != "ok":
            return "wrong number: the first run failed"
        return refused_cli(["generate", "merge", str(toml), "--dest", "/proc/x/d",
                            "--quiet"])()

    return [FixedCase("generate run: spec.json not JSON", _outcome(bad_spec_json)),
            FixedCase("generate merge --dest /proc", _outcome(merge_to_proc)),
            FixedCase("generate run: disk full", _outcome(lambda: _disk_full(setup)))]


def _disk_full(setup: Callable[[str], tuple[Path, Path]]) -> str:
    from unittest import mock

    toml, out = setup("enospc")
    argv = ["generate", "run", str(toml), "--executor", "debug", "--quiet"]
    if cli_case(argv)() != "ok":
        return "wrong number: the first run failed"
    shards = out / "shards"
    before = {p.name: p.read_bytes() for p in shards.iterdir()}
    victim = sorted(before)[0]
    (shards / victim).unlink()

    def no_space(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    with contextlib.ExitStack() as stack:
        for target in ("pyarrow.parquet.write_table", "pyarrow.parquet.ParquetWriter",
                       "pathlib.Path.write_text", "pathlib.Path.write_bytes"):
            stack.enter_context(mock.patch(target, no_space))
        try:
            reported = refused_cli(argv)()  # returns only when the run did not fail clearly
        except CliError as exc:
            reported = str(exc)
    after = {p.name: p.read_bytes() for p in shards.iterdir()}
    if after != {k: v for k, v in before.items() if k != victim}:
        return "wrong number: the full disk lost or changed a finished shard"
    if cli_case(argv)() != "ok" or sorted(p.name for p in shards.iterdir()) != sorted(before):
        return "wrong number: the run after the full disk did not finish the table"
    if "No space left" not in reported:
        return f"wrong number: the full disk was reported as {reported[:200]!r}"
    raise CliError(reported)  # a clear error, and nothing lost


def replay_cases(source: Path) -> list[FixedCase]:
    """Item 6: an eta just above 1 and workers too small for any job, under a time limit: a
    clear error or a result, and a useless worker never changes the result."""
    import frozenbench as fb

    bench = Benchmark.from_directory(source)
    mem = bench.peak_memory()
    low = float(np.nanmax(mem[:, 0]))

    def simulate(**kw: Any) -> Callable[[], str]:
        def case() -> str:
            fb.simulate(bench, **{"max_evaluations": 200, "seed": 1, **kw})
            return "ok"
        return case

    def same_as_large_alone(memory: list[Any]) -> Callable[[], str]:
        def case() -> str:
            with_small = fb.simulate(bench, "asha", "z", n_workers=len(memory), memory=memory,
                                     max_evaluations=200, seed=1)
            alone = fb.simulate(bench, "asha", "z", n_workers=1, memory=["100GB"],
                                max_evaluations=200, seed=1)
            keep = ["config_id", "z", "epoch", "score"]
            if with_small[keep].equals(alone[keep]):
                return "ok"
            return "wrong number: a worker that fits no job changed the result"
        return case

    cases = {f"simulate {opt} eta=1+1e-7": simulate(optimizer=opt, fidelity="epoch",
                                                     eta=1 + 1e-7)
             for opt in ("sh", "hyperband", "asha", "random")}
    cases["simulate eta=1+1e-15"] = simulate(optimizer="asha", eta=1 + 1e-15)
    cases["CLI simulate --eta 1.0000000001"] = refused_cli(
        ["simulate", str(source), "--eta", "1.0000000001", "--max-evaluations", "20",
         "--runs", "1"])
    for memory in (["1B", "100GB"], ["1B"] * 7 + ["100GB"]):
        cases[f"workers {memory[0]} x{len(memory) - 1} + 100GB"] = same_as_large_alone(memory)
    cases["workers fitting z=1 only + 100GB"] = simulate(
        optimizer="asha", fidelity="z", n_workers=4, memory=[low] * 3 + ["100GB"])
    return [FixedCase(n, _outcome(c, seconds=20.0)) for n, c in cases.items()]
