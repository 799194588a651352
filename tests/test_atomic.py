"""Every file is written through one helper (frozenbench.atomic): unique temporary names created
exclusively next to the destination, never through a planted link, with the umask's mode."""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

import pytest

import frozenbench.atomic as atomic
from frozenbench.atomic import atomic_file, write_bytes_atomic, write_text_atomic
from frozenbench.errors import FrozenbenchError, StorageError

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def umask():
    """Set the process umask for one test (restored after it)."""
    old = os.umask(0o022)
    os.umask(old)
    yield lambda mask: os.umask(mask)
    os.umask(old)


def plant_links(monkeypatch, directory: Path, victim: Path, count: int = 3) -> list[Path]:
    """Make the helper's first ``count`` temporary names links to ``victim`` (an attacker who
    guessed them), then let it draw fresh ones."""
    planted = [directory / f".planted-{i}.tmp" for i in range(count)]
    for p in planted:
        p.symlink_to(victim)
    names = iter(planted)
    real = atomic.temporary_name
    monkeypatch.setattr(atomic, "temporary_name", lambda path: next(names, None) or real(path))
    return planted


# ------------------------------------------------------------------------ the helper itself
def test_a_link_planted_at_the_temporary_name_is_never_followed(tmp_path, monkeypatch):
    victim = tmp_path / "victim.json"
    victim.write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    planted = plant_links(monkeypatch, out, victim)
    write_text_atomic(out / "manifest.json", "new")
    assert victim.read_text() == "precious"
    assert (out / "manifest.json").read_text() == "new"
    assert all(p.is_symlink() for p in planted)  # left alone, not replaced either
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["manifest.json", *(p.name for p in planted)])  # no temporary file left behind


def test_a_dangling_link_at_the_temporary_name_creates_nothing(tmp_path, monkeypatch):
    target = tmp_path / "elsewhere" / "created-by-the-attacker"
    target.parent.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    plant_links(monkeypatch, out, target, count=1)
    write_bytes_atomic(out / "x.bin", b"data")
    assert not target.exists()


def test_a_link_at_the_destination_is_replaced_not_written_through(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    dest = tmp_path / "report.html"
    dest.symlink_to(victim)
    write_text_atomic(dest, "<html>")
    assert victim.read_text() == "precious"
    assert not dest.is_symlink() and dest.read_text() == "<html>"


def test_names_are_unique_and_taken_names_are_skipped(tmp_path, monkeypatch):
    names = {atomic.temporary_name(tmp_path / "a").name for _ in range(1000)}
    assert len(names) == 1000
    monkeypatch.setattr(atomic, "temporary_name", lambda path: tmp_path / "taken")
    (tmp_path / "taken").write_text("x")
    with pytest.raises(StorageError, match=r"cannot write .*a: 16 fresh temporary names"):
        write_text_atomic(tmp_path / "a", "y")
    assert (tmp_path / "taken").read_text() == "x"


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_the_mode_follows_the_umask(tmp_path, umask, mask, mode):
    umask(mask)
    path = write_bytes_atomic(tmp_path / "f", b"x")
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_a_long_name_still_fits(tmp_path):
    name = "n" * 250  # the temporary name keeps a prefix of it
    assert write_text_atomic(tmp_path / name, "x").read_text() == "x"


def test_a_failed_write_leaves_the_destination_and_no_temporary_file(tmp_path):
    dest = write_text_atomic(tmp_path / "table.parquet", "old")
    with pytest.raises(RuntimeError), atomic_file(dest) as f:
        f.write(b"half")
        raise RuntimeError("killed")
    assert dest.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == [dest.name]


def test_a_full_disk_is_a_clear_error_and_changes_nothing(tmp_path, monkeypatch):
    dest = write_text_atomic(tmp_path / "manifest.json", "old")

    def full(fd, *args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "fsync", full)
    with pytest.raises(StorageError) as err:
        write_text_atomic(dest, "new")
    assert isinstance(err.value, OSError) and isinstance(err.value, FrozenbenchError)
    assert err.value.errno == errno.ENOSPC
    assert str(err.value).startswith(f"cannot write {dest}: No space left on device")
    assert dest.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == [dest.name]


def test_an_unwritable_folder_is_a_clear_error(tmp_path):
    with pytest.raises(StorageError, match=r"cannot write .*/nowhere/x: No such file"):
        write_text_atomic(tmp_path / "nowhere" / "x", "y")


# ------------------------------------------------------------------------ nobody bypasses it
#: The only lines that rename or create files by hand (file: text of the line), and why.
ALLOWED = {
    ("frozenbench/generation/lock.py", "os.open(path, os.O_CREAT | os.O_EXCL"): "a lock file",
    ("frozenbench/generation/lock.py", "os.replace(path, path.with_name("): "a stale lock",
    ("frozenbench/generation/store.py", "os.replace(path, dest)"): "moved to quarantine/",
    ("frozenbench/tasks/cifar.py", "os.replace(tmp / CIFAR100_FOLDER, final)"): "a folder",
    ("frozenbench/hub.py", "(stage / CARD_NAME).write_text("): "in a private temporary folder",
}
BYPASS = re.compile(r"os\.replace\(|os\.rename\(|mkstemp\(|NamedTemporaryFile\(|\.tmp\b|"
                    r"\.write_text\(|\.write_bytes\(|savefig\((?!f\b)|os\.open\(|\bopen\(.*[\"']w|"
                    r"\.to_(parquet|csv|json)\((?!f\b|\))|(?<!writer\.)write_table\((?!\w+, f\b)|"
                    r"ParquetWriter\((?!f\b)|\.tofile\((?!f\b)|"
                    r"np\.save\w*\((?!f\b)|shutil\.(copy\w*|move)\(")


def test_every_writer_goes_through_the_helper():
    """A file written in place can be read half-written, and a fixed temporary name can be a
    planted link: no module writes files by hand except on the lines listed in ALLOWED."""
    found = []
    for path in sorted((REPO / "frozenbench").rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        if rel == "frozenbench/atomic.py":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0].strip()
            if code.startswith((">>>", "...")) or not BYPASS.search(code):
                continue
            if not any(rel == f and text in code for f, text in ALLOWED):
                found.append(f"{rel}:{n}: {code}")
    assert not found, "writes that bypass frozenbench.atomic:\n" + "\n".join(found)


# ------------------------------------------------------------- the writers (issue: planted links)
FAKE = {"task": "fake", "task_module": "frozenbench.generation.fake"}


@pytest.fixture
def merged(write_spec, tmp_path):
    """A fake grid run, and a second table (the victim) whose files a link will point to."""
    from frozenbench.generation.launch import run
    from frozenbench.generation.spec import load_spec
    from frozenbench.synthetic import write_benchmark

    spec = load_spec(write_spec(**FAKE, z=[1], seeds={"base": [0]}))
    run(spec, "debug")
    victim = write_benchmark(tmp_path / "victim", n_configs=4, n_z=2, n_epochs=2)
    return spec, victim


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir()}


def test_merge_never_writes_through_links_planted_at_its_old_temporary_names(merged, tmp_path):
    """`generate merge --dest d5` overwrote another table's manifest through a link planted at
    d5/manifest.json.tmp; the merged Parquet's name was as predictable."""
    from frozenbench.cli import main

    spec, victim = merged
    before = _snapshot(victim)
    dest = tmp_path / "d5"
    argv = ["generate", "merge", str(spec.source), "--dest", str(dest), "--quiet"]
    assert main(argv) == 0  # a first merge; the links are planted before the second
    (dest / "manifest.json.tmp").symlink_to(victim / "manifest.json")
    for name in [f".table.parquet.{os.getpid()}.tmp", ".table.parquet.tmp"]:
        (dest / name).symlink_to(victim / "table.parquet")
    assert main(argv) == 0
    assert _snapshot(victim) == before
    assert (dest / "manifest.json").is_file() and not (dest / "manifest.json").is_symlink()


def test_the_card_never_writes_through_a_planted_link(tmp_path):
    from frozenbench.card import write_card
    from frozenbench.synthetic import write_benchmark

    table = write_benchmark(tmp_path / "t", n_configs=4, n_z=2, n_epochs=2)
    victim = tmp_path / "victim.md"
    victim.write_text("precious")
    (table / "README.md.tmp").symlink_to(victim)
    write_card(table)
    assert victim.read_text() == "precious"
    assert (table / "README.md").read_text().startswith("---")


def test_the_report_never_writes_through_a_planted_link(tmp_path, monkeypatch):
    import frozenbench.report as report
    from frozenbench.synthetic import write_benchmark

    bench_dir = write_benchmark(tmp_path / "t", n_configs=8, n_z=3, n_epochs=3,
                                diverge_frac=0.0)
    victim = tmp_path / "victim.html"
    victim.write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    (out / "report-x.html.tmp").symlink_to(victim)
    import frozenbench as fb

    path = report.write_report(fb.load(str(bench_dir)), out / "report-x.html", runs=1,
                               n_boot=10, budget_units=2.0, n_workers=1)
    assert victim.read_text() == "precious"
    assert path.read_text().startswith("<!DOCTYPE html>")


def test_a_dangling_link_at_a_shard_name_is_moved_away_and_the_cell_trained(merged, tmp_path):
    """A link to nothing at a shard's name made the cell look done to run and pending to
    status; it is no shard: run moves the link (never its target) and trains the cell."""
    from frozenbench.generation.launch import run, status

    spec, _ = merged
    shard = next((tmp_path / "out" / "shards").glob("c00000-z01-s0.*.parquet"))
    shard.unlink()
    shard.symlink_to(tmp_path / "nowhere" / "shard.parquet")
    assert "a link to nothing" in str(status(spec).corrupt[0])
    res = run(spec, "debug")
    assert res.complete and res.submitted_cells == 1
    assert shard.is_file() and not shard.is_symlink()
    assert not (tmp_path / "nowhere").exists()


def test_a_merge_into_a_new_folder_on_a_full_disk_can_simply_be_run_again(merged, tmp_path,
                                                                           monkeypatch):
    """The table was written and the manifest was not: the retry found a folder 'not empty
    and holding no frozenbench table' and refused it."""
    from frozenbench.generation.merge import merge

    spec, _ = merged
    real = os.fsync
    calls = []

    def full_after_the_table(fd):
        calls.append(fd)
        if len(calls) > 2:  # the table and its folder; then the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd)

    monkeypatch.setattr(os, "fsync", full_after_the_table)
    with pytest.raises(StorageError, match=r"manifest\.json: No space left on device"):
        merge(spec, dest=tmp_path / "new", allow_code_versions=True)
    assert list((tmp_path / "new").iterdir()) == []
    monkeypatch.setattr(os, "fsync", real)
    merge(spec, dest=tmp_path / "new", allow_code_versions=True)
