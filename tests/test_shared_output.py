"""A generation output folder shared by a group: files follow the umask, and a file that cannot
be read is reported as unreadable, never taken for corruption nor quarantined.

The second user is real where the tests run as root (a forked child drops to uid ``nobody``
in root's group, as a colleague in a group-shared folder); a read error is also simulated for
any user by making the store's own reads fail.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import os
import shutil
import stat
import tempfile
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import to_toml
from fuzz_generation_cases import as_group_member

from frozenbench.cli import main
from frozenbench.generation.launch import run, status
from frozenbench.generation.merge import MergeError, merge
from frozenbench.generation.spec import load_spec
from frozenbench.generation.store import ShardStore

FAKE = {"task": "fake", "task_module": "frozenbench.generation.fake"}
AS_ROOT = os.geteuid() == 0


@pytest.fixture
def shared() -> Iterator[Path]:
    """A group-shared folder (setgid, group-writable) that another user can reach, with the
    umask a group-shared setup uses (002)."""
    root = Path(tempfile.mkdtemp(prefix="fb-shared-", dir="/tmp"))
    root.chmod(0o2775)
    old = os.umask(0o002)
    try:
        yield root
    finally:
        os.umask(old)
        shutil.rmtree(root, ignore_errors=True)


def write_spec(folder: Path, **over: Any) -> Path:
    data = {**FAKE, "z": [1, 2], "seeds": {"base": [0]}, "output": str(folder / "out"), **over}
    path = folder / "spec.toml"
    path.write_text(to_toml(data))
    return path


def cli(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run the CLI in this process; exit status and stdout + stderr (a raw exception is
    returned as text, so that a child process can report it)."""
    out = io.StringIO()
    old = {k: os.environ.get(k) for k in env or {}}
    os.environ.update(env or {})
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            rc = main(argv)
    except Exception:
        return -1, out.getvalue() + "RAW " + traceback.format_exc()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return rc, out.getvalue()


def as_colleague(fn: Callable[..., Any], *args: Any) -> Any:
    """Run ``fn(*args)`` in a forked child as another user of the folder's group (uid nobody,
    gid root) and return its result; everything it needs must be imported already."""
    kind, value = as_group_member(lambda: fn(*args))
    assert kind == "ok", value
    return value


def modes(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): stat.S_IMODE(p.stat().st_mode)
            for p in folder.rglob("*") if p.is_file() and "logs" not in p.parts}


# ----------------------------------------------------------------------------- the umask
def test_every_file_of_a_run_follows_the_umask(shared):
    spec = write_spec(shared)
    assert cli(["generate", "run", str(spec), "--executor", "debug", "--quiet"],
               {"FROZENBENCH_FAKE_FAIL": "1"})[0] == 1  # the "fail" configs fail
    assert cli(["generate", "compact", str(spec)])[0] == 0
    assert cli(["generate", "run", str(spec), "--executor", "debug", "--quiet"])[0] == 0
    assert cli(["generate", "merge", str(spec), "--dest", str(shared / "table"), "--quiet"])[0] == 0
    found = modes(shared)
    assert {"out/spec.json", "out/packs/pack-0000.parquet", "table/table.parquet",
            "table/manifest.json"} <= set(found)
    assert any(name.startswith("out/shards/") for name in found)
    assert {name: mode for name, mode in found.items() if mode != 0o664} == {}


@pytest.mark.skipif(not AS_ROOT, reason="acting as a second user needs root (setuid)")
def test_a_colleague_in_the_group_finishes_and_merges_the_grid(shared):
    """The issue: in a group-shared folder a second user's status listed every shard as
    corrupt, and run died on spec.json or quarantined good shards."""
    spec = write_spec(shared)
    argv = ["generate", "run", str(spec), "--executor", "debug", "--quiet"]
    assert cli(argv, {"FROZENBENCH_FAKE_FAIL": "1"})[0] == 1  # 4 of 12 cells failed
    cli(["generate", "status", str(spec)])  # import what the colleague's commands use
    rc, text = as_colleague(cli, ["generate", "status", str(spec)])
    assert "corrupt" not in text and "unreadable" not in text and "ok 4, diverged 4, failed 4" in text
    rc, text = as_colleague(cli, argv)
    assert rc == 0, text
    assert "ok 8, diverged 4, failed 0, pending 0" in text
    rc, text = as_colleague(cli, ["generate", "merge", str(spec), "--dest",
                                  str(shared / "table"), "--quiet"])
    assert rc == 0, text
    assert not (shared / "out" / "quarantine").exists()


# ---------------------------------------------------------- unreadable is not corrupt
def _private_shards(shared: Path) -> tuple[Path, list[Path]]:
    """A finished grid whose shards are private to their owner (as frozenbench wrote them
    before it followed the umask)."""
    spec = write_spec(shared)
    assert cli(["generate", "run", str(spec), "--executor", "debug", "--quiet"])[0] == 0
    shards = sorted((shared / "out" / "shards").iterdir())
    for p in shards:
        p.chmod(0o600)
    cli(["generate", "status", str(spec)])
    with contextlib.suppress(MergeError):  # import what merge uses
        merge(load_spec(spec), dest=shared / "warm-up")
    shutil.rmtree(shared / "warm-up", ignore_errors=True)
    return spec, shards


@pytest.mark.skipif(not AS_ROOT, reason="acting as a second user needs root (setuid)")
def test_shards_a_colleague_cannot_read_are_reported_never_quarantined(shared):
    spec, shards = _private_shards(shared)
    before = {p.name: p.read_bytes() for p in shards}
    rc, text = as_colleague(cli, ["generate", "status", str(spec)])
    assert rc == 1 and "RAW" not in text, text
    assert "corrupt" not in text
    assert text.count("cannot be read (Permission denied)") == 10  # the first ten listed
    assert "... and 2 more unreadable files" in text
    assert "unreadable 12" in text  # counted as what they are, not as pending
    rc, text = as_colleague(cli, ["generate", "run", str(spec), "--executor", "debug"])
    assert rc == 1 and "RAW" not in text, text
    assert "error: 12 stored files" in text and "Permission denied" in text
    assert "nothing was moved or trained" in text
    rc, text = as_colleague(cli, ["generate", "merge", str(spec), "--dest",
                                  str(shared / "table")])
    assert rc == 1 and "RAW" not in text, text
    assert "cannot be read" in text and "corrupt" not in text
    assert not (shared / "out" / "quarantine").exists()
    assert {p.name: p.read_bytes() for p in shards} == before


@pytest.mark.skipif(not AS_ROOT, reason="acting as a second user needs root (setuid)")
def test_a_private_spec_json_is_a_clear_error(shared):
    spec, _ = _private_shards(shared)
    (shared / "out" / "spec.json").chmod(0o600)
    for argv in (["generate", "run", str(spec), "--executor", "debug"],
                 ["generate", "merge", str(spec), "--dest", str(shared / "table")]):
        rc, text = as_colleague(cli, argv)
        assert rc == 1 and "RAW" not in text, text
        assert "spec.json" in text and "Permission denied" in text
    assert not (shared / "out" / "quarantine").exists()


@pytest.fixture
def unreadable(monkeypatch):
    """Make reading chosen files fail with PermissionError (as another user's private file
    does), for any user running the tests."""
    denied: set[Path] = set()
    real_open = builtins.open

    def guarded(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and Path(file).resolve() in denied:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded)
    return lambda *paths: denied.update(Path(p).resolve() for p in paths)


def test_a_read_error_is_never_taken_for_corruption(write_spec, tmp_path, unreadable):
    spec = load_spec(write_spec(**FAKE, z=[1, 2], seeds={"base": [0]}))
    run(spec, "debug")
    store = ShardStore(tmp_path / "out")
    store.compact()
    run(load_spec(write_spec(**FAKE, z=[1, 2, 3], seeds={"base": [0]})),
        "debug")  # z=3 as shards beside the pack
    spec = load_spec(write_spec(**FAKE, z=[1, 2, 3], seeds={"base": [0]}))
    pack = next(store.packs.iterdir())
    shard = store.shards / "c00000-z03-s0.ok.parquet"
    unreadable(pack, shard)
    st = status(spec)
    assert st.corrupt == ()
    assert sorted(b.path.name for b in st.unreadable) == sorted([pack.name, shard.name])
    assert all("Permission denied" in b.reason for b in st.unreadable)
    # a shard's cell is known from its name (counted unreadable); a pack's cells are listed in
    # the pack itself, so they count pending (the pack is listed as unreadable)
    assert st.counts == {"ok": 3, "diverged": 2, "failed": 0, "pending": 12, "unreadable": 1}
    with pytest.raises(OSError, match=r"2 stored files .* cannot be read") as err:
        run(spec, "debug")
    assert "nothing was moved or trained" in str(err.value)
    with pytest.raises(MergeError, match="cannot be read"):
        merge(spec, dest=tmp_path / "d")
    assert pack.exists() and shard.exists()
    assert not (tmp_path / "out" / "quarantine").exists()
