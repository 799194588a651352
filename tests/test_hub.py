"""Hub distribution with the real huggingface_hub client against a local Hub server.

The server (tests/hub_server.py) runs in a thread of this process. huggingface_hub reads
``HF_ENDPOINT``, ``HF_HOME`` and ``HF_HUB_OFFLINE`` when it is imported, so every client step
runs in a subprocess with its own environment; the test reads the server's state directly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from frozenbench import hub as fbhub
from frozenbench.card import render, size_category
from frozenbench.errors import InvalidValueError, UnknownNameError
from frozenbench.manifest import Manifest
from frozenbench.synthetic import write_benchmark

sys.path.insert(0, str(Path(__file__).parent))
from hub_server import HubServer, git_blob_sha1

REPO = "fbtest/tiny"
ROOT = Path(__file__).resolve().parents[1]

PRELUDE = """
import contextlib, io, json, os, sys, time
import numpy as np
import frozenbench as fb
from frozenbench import hub
from frozenbench.cli import main
from frozenbench.table import Benchmark

def cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(argv))
    return rc, out.getvalue() + err.getvalue()

def same(a, b):
    return bool(np.array_equal(a.objective(), b.objective(), equal_nan=True)
                and np.array_equal(a.cost_array(per_seed=True), b.cost_array(per_seed=True),
                                   equal_nan=True))

def error(fn):
    try:
        fn()
    except Exception as exc:
        return [type(exc).__name__, str(exc)]
    return None

OUT = {}
"""


@pytest.fixture(scope="module")
def server():
    with HubServer() as srv:
        yield srv


def client(srv: HubServer, hf_home: Path, code: str, *, offline: bool = False,
           endpoint: str | None = None, timeout: float = 60) -> dict:
    """Run ``code`` (which fills the dict OUT) in a fresh interpreter pointed at the server."""
    env = {**os.environ, "HF_ENDPOINT": endpoint or srv.url, "HF_HOME": str(hf_home),
           "HF_TOKEN": "hf_test_token", "HF_HUB_DISABLE_PROGRESS_BARS": "1",
           "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_OFFLINE": "1" if offline else "0",
           "PYTHONPATH": os.environ.get("FB_TEST_PYTHONPATH", str(ROOT))}
    env.pop("HF_HUB_CACHE", None)
    script = PRELUDE + textwrap.dedent(code) + "\nprint('RESULT' + json.dumps(OUT))\n"
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=timeout, cwd=hf_home.parent)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")]
    assert proc.returncode == 0 and lines, f"client failed:\n{proc.stdout}\n{proc.stderr}"
    return json.loads(lines[-1][len("RESULT"):])


@pytest.fixture(scope="module")
def published(server, tmp_path_factory):
    """Two versions of a table published to the same repo (CLI), and one to a branch."""
    base = tmp_path_factory.mktemp("pub")
    a = write_benchmark(base / "a", name="tiny", n_configs=6, n_z=3, n_epochs=3, seed=0)
    b = write_benchmark(base / "b", name="tiny", n_configs=6, n_z=3, n_epochs=3, seed=1)
    before = {d: sorted(p.name for p in d.iterdir()) for d in (a, b)}
    a.chmod(0o555)  # publishing only reads the benchmark directory (issue 12, item 4)
    try:
        out = client(server, base / "hf", f"""
            OUT["v1"] = cli("publish", {str(a)!r}, "--repo", {REPO!r})
            OUT["v2"] = cli("publish", {str(b)!r}, "--repo", {REPO!r})
            OUT["same"] = cli("publish", {str(b)!r}, "--repo", {REPO!r})
            OUT["dev"] = cli("publish", {str(a)!r}, "--repo", {REPO!r}, "--revision", "dev")
        """, timeout=300)
    finally:
        a.chmod(0o755)
    assert {d: sorted(p.name for p in d.iterdir()) for d in (a, b)} == before  # no README.md
    commits = {}
    for key in ("v1", "v2", "same", "dev"):
        rc, text = out[key]
        assert rc == 0, text
        commits[key] = next(ln.split()[1] for ln in text.splitlines()
                            if ln.startswith("commit:"))
    return {"a": a, "b": b, "text": out["v1"][1], **commits}


# ---------------------------------------------------------------------- publish
def test_publish_commits_table_manifest_and_card(server, published):
    repo = server.repos[REPO]
    v1, v2 = repo.commits[published["v1"]], repo.commits[published["v2"]]
    assert published["v1"] != published["v2"]
    assert repo.branches["main"] == published["v2"] == published["same"]  # no empty commit
    assert set(v1.files) == {".gitattributes", "table.parquet", "manifest.json", "README.md"}
    for name in ("table.parquet", "manifest.json"):
        assert v1.files[name] == (published["a"] / name).read_bytes()
        assert v2.files[name] == (published["b"] / name).read_bytes()
    for v, d in ((v1, published["a"]), (v2, published["b"])):
        assert v.files["README.md"].decode() == render(d, repo_id=REPO)
    card = v1.files["README.md"].decode()
    assert card.startswith("---\nlicense: mit") and "path:\n    - \"table.parquet\"" in card
    assert f"hub:{REPO}@<commit>" in card
    text = published["text"]
    assert f"pin it: fb.load('hub:{REPO}@{published['v1']}')" in text
    # --revision dev: a new branch holding table a; main untouched
    assert repo.branches["dev"] == published["dev"] != published["v2"]
    assert repo.commits[published["dev"]].files["table.parquet"] == v1.files["table.parquet"]


def test_publish_rejects_a_broken_directory(server, tmp_path):
    d = write_benchmark(tmp_path / "t", n_configs=3, n_z=2, n_epochs=2)
    with open(d / "table.parquet", "r+b") as f:
        f.seek(100)
        f.write(b"\0\0\0")
    out = client(server, tmp_path / "hf", f"""
        OUT["cli"] = cli("publish", {str(d)!r}, "--repo", "fbtest/broken")
    """)
    rc, text = out["cli"]
    assert rc == 1 and "corrupt or modified" in text
    assert "fbtest/broken" not in server.repos


# ---------------------------------------------------------------------- download
def test_pinned_revisions_download_their_own_table(server, published, tmp_path):
    hf = tmp_path / "hf"
    out = client(server, hf, f"""
        a, b = Benchmark.from_directory({str(published["a"])!r}), \\
            Benchmark.from_directory({str(published["b"])!r})
        old = fb.load(hub.fetch("hub:{REPO}@{published['v1']}"))
        new = hub.load("{REPO}@{published['v2']}")
        OUT["old_is_a"], OUT["old_is_b"], OUT["new_is_b"] = same(old, a), same(old, b), same(new, b)
        cfg = a.configs[2]
        OUT["query"] = [list(old.query(cfg, 3, 2)), list(a.query(cfg, 3, 2))]
        OUT["main"] = cli("download", "{REPO}")
        OUT["pinned_cli"] = cli("download", "hub:{REPO}", "--revision", "{published['v1']}")
        hub.register("tiny-v1", "hub:{REPO}@{published['v1']}")
        OUT["names"] = fb.benchmark_names()
        OUT["infos"] = [[b.name, b.n_configs, b.known] for b in fb.benchmarks()
                        if b.where == "hub"]  # read from the HF cache, no network
        OUT["via_registry"] = same(fb.load("tiny-v1"), a)
        OUT["fb_load"] = error(lambda: fb.load("hub:{REPO}@{published['v1']}")) or \
            same(fb.load("hub:{REPO}@{published['v1']}"), a)
    """)
    assert out["old_is_a"] and out["new_is_b"] and not out["old_is_b"]
    assert out["query"][0] == out["query"][1]
    rc, text = out["main"]
    assert rc == 0 and f"pinned:    hub:{REPO}@{published['v2']}" in text  # main resolved
    rc, text = out["pinned_cli"]
    assert rc == 0 and f"hub:{REPO}@{published['v1']}" in text and "verified" in text
    assert "tiny-v1" in out["names"] and out["via_registry"]
    assert ["tiny-v1", len(Manifest.read(published["a"]).config_ids), True] \
        in out["infos"]
    # offline with the filled cache: no server needed at all
    t0 = time.time()
    off = client(server, hf, f"""
        a = Benchmark.from_directory({str(published["a"])!r})
        OUT["ok"] = same(hub.load("hub:{REPO}@{published['v1']}"), a)
        OUT["miss"] = error(lambda: hub.fetch("hub:{REPO}@{'0' * 40}"))
    """, offline=True, endpoint="http://127.0.0.1:9")
    assert off["ok"], off
    assert off["miss"][0] == "HubError" and "HF_HUB_OFFLINE=1" in off["miss"][1]
    assert time.time() - t0 < 15
    assert out["fb_load"] is True


def test_corrupt_cached_file_is_detected_and_force_repairs_it(server, published, tmp_path):
    out = client(server, tmp_path / "hf", f"""
        ref = "hub:{REPO}@{published['v1']}"
        path = hub.fetch(ref)
        blob = os.path.realpath(path / "table.parquet")
        with open(blob, "r+b") as f:
            f.seek(50)
            f.write(b"garbage")
        OUT["err"] = error(lambda: hub.fetch(ref))
        OUT["load_err"] = error(lambda: hub.load(ref))
        OUT["repaired"] = str(hub.fetch(ref, force=True)) == str(path)
    """)
    name, msg = out["err"]
    assert name == "SchemaError" and out["load_err"][0] == "SchemaError"
    assert "table.parquet has sha256" in msg and "corrupt or incomplete" in msg
    assert f"frozenbench download hub:{REPO}@{published['v1']} --force" in msg
    assert out["repaired"]


def test_server_sending_wrong_bytes_is_caught_by_sha256(server, published, tmp_path):
    """A file the Hub client accepts as complete (right size) still fails verification."""
    server.corrupt.add("table.parquet")
    try:
        out = client(server, tmp_path / "hf", f"""
            OUT["err"] = error(lambda: hub.fetch("hub:{REPO}@{published['v1']}"))
        """)
    finally:
        server.corrupt.clear()
    assert out["err"][0] == "SchemaError" and "corrupt" in out["err"][1]


def _table_gets(server: HubServer, commit: str) -> int:
    suffix = f"/resolve/{commit}/table.parquet"
    return sum(1 for m, p in server.requests if m == "GET" and p.endswith(suffix))


def test_interrupted_download_resumes(server, published, tmp_path):
    before = _table_gets(server, published["v2"])
    server.drop["table.parquet"] = 1  # first GET: half the body, then the connection drops
    out = client(server, tmp_path / "hf", f"""
        b = Benchmark.from_directory({str(published["b"])!r})
        OUT["ok"] = same(hub.load("hub:{REPO}@{published['v2']}"), b)
    """)
    assert out["ok"] and server.drop["table.parquet"] == 0
    assert _table_gets(server, published["v2"]) - before == 2  # dropped, then resumed


def test_download_that_keeps_failing_leaves_nothing_that_passes(server, published, tmp_path):
    hf = tmp_path / "hf"
    server.drop["table.parquet"] = 100
    try:
        out = client(server, hf, f"""
            ref = "hub:{REPO}@{published['v1']}"
            OUT["err"] = error(lambda: hub.fetch(ref))
        """)
    finally:
        server.drop.clear()
    name, msg = out["err"]
    assert name == "HubError" and "interrupted" in msg and "run the download again" in msg
    cache = hf / "hub" / f"datasets--{REPO.replace('/', '--')}"
    assert not (cache / "snapshots" / published["v1"] / "table.parquet").exists()
    table_blob = git_blob_sha1((published["a"] / "table.parquet").read_bytes())
    leftovers = [p.name for p in (cache / "blobs").iterdir()
                 if p.name.startswith(table_blob) or p.name.endswith(".incomplete")]
    assert leftovers == [], "no partial file may be kept where it could pass as complete"
    out = client(server, hf, f"""
        a = Benchmark.from_directory({str(published["a"])!r})
        OUT["ok"] = same(hub.load("hub:{REPO}@{published['v1']}"), a)
    """)
    assert out["ok"]


def test_unknown_repo_and_revision_are_unknown_names(server, published, tmp_path):
    out = client(server, tmp_path / "hf", f"""
        OUT["repo"] = error(lambda: hub.fetch("hub:fbtest/no-such-table@main"))
        OUT["rev"] = error(lambda: hub.fetch("hub:{REPO}@no-such-branch"))
        OUT["load"] = error(lambda: hub.load("fbtest/no-such-table"))
        OUT["cli"] = cli("download", "fbtest/no-such-table")
    """)
    assert out["repo"][0] == "UnknownNameError" and "'fbtest/no-such-table'" in out["repo"][1]
    assert out["rev"][0] == "UnknownNameError" and "'no-such-branch'" in out["rev"][1]
    assert out["load"][0] == "UnknownNameError"
    rc, text = out["cli"]
    assert rc == 1 and "no dataset repo 'fbtest/no-such-table'" in text


def test_datasets_load_dataset_reads_the_card_config(server, published, tmp_path):
    out = client(server, tmp_path / "hf", f"""
        from datasets import load_dataset
        ds = load_dataset("{REPO}", revision="{published['v1']}", split="train")
        OUT["rows"], OUT["cols"] = ds.num_rows, ds.column_names
    """)
    manifest = Manifest.read(published["a"])
    assert out["rows"] == manifest.rows and "val_error" in out["cols"]


# ---------------------------------------------------------------------- no network
def test_names_parse_and_unknown_names():
    ref = fbhub.parse(f"hub:{REPO}@{'a' * 40}")
    assert ref is not None and ref.pinned and str(ref) == f"hub:{REPO}@{'a' * 40}"
    assert fbhub.parse("ns/x") == fbhub.HubRef("ns/x", "main")
    assert fbhub.parse("mnist-resnet") is None
    with pytest.raises(InvalidValueError, match="not a Hub repo id"):
        fbhub.parse("hub:../x")
    with pytest.raises(UnknownNameError, match=r"unknown benchmark 'nope'.*hub:namespace/name"):
        fbhub.fetch("nope")  # no network: not a repo reference


def test_the_card_renders_what_it_is_given_and_the_cli_finds_the_published_repo(
        tmp_path, monkeypatch, capsys):
    """The card module looks nothing up (it sits below the Hub and the registry); the
    ``frozenbench card`` command passes the repo a benchmark is published in."""
    from frozenbench.cli import main

    d = write_benchmark(tmp_path / "t", name="pubd", n_configs=4, n_z=2, n_epochs=2)
    monkeypatch.setitem(fbhub.PUBLISHED, "pubd", fbhub.HubRef("ns/pubd", "0" * 40))
    assert "fb.load('pubd')" in render(d) and "ns/pubd" not in render(d)
    assert main(["card", str(d), "--out", "-"]) == 0
    assert capsys.readouterr().out == render(d, repo_id="ns/pubd")
    assert main(["card", str(d), "--out", "-", "--repo", "me/other"]) == 0
    assert "fb.load('hub:me/other@<commit>')" in capsys.readouterr().out


def test_card_front_matter_and_sections(tmp_path):
    d = write_benchmark(tmp_path / "t", name="tiny", n_configs=8, n_z=3, n_epochs=3)
    text = render(d, repo_id=REPO)
    front, body = text.split("\n---\n", 1)
    assert "size_categories:\n- n<1K" in front and "- hyperparameter-optimization" in front
    for section in ("## Task", "## Search space", "## Fidelities", "## Seeds and noise",
                    "## Schema", "## How it was generated", "## Size", "## Summary",
                    "## Usage", "## Citation"):
        assert section in body, section
    assert "| `val_error` | double |" in body and "2504.10735" in body
    assert f"load_dataset('{REPO}'" in body
    assert size_category(1_500_000) == "1M<n<10M"
    try:
        import yaml
    except ImportError:
        return
    meta = yaml.safe_load(front.removeprefix("---\n"))
    assert meta["configs"][0]["data_files"][0]["path"] == ["table.parquet"]


def test_card_cli_single_and_all(tmp_path, monkeypatch, capsys):
    from frozenbench import registry
    from frozenbench.cli import main

    data = tmp_path / "data"
    write_benchmark(data / "tiny-a", name="tiny-a", n_configs=4, n_z=2, n_epochs=2)
    write_benchmark(data / "tiny-b", name="tiny-b", n_configs=4, n_z=2, n_epochs=2)
    monkeypatch.setattr(registry, "DATA_DIR", data)
    monkeypatch.setattr(registry, "CHECKOUT_DIR", tmp_path / "no-suite")
    assert main(["card", str(data / "tiny-a")]) == 0
    assert (data / "tiny-a" / "README.md").read_text().startswith("---\n")
    assert main(["card", "--all", "--out", str(tmp_path / "cards")]) == 0
    assert sorted(p.name for p in (tmp_path / "cards").iterdir()) == ["tiny-a.md", "tiny-b.md"]
    first = (tmp_path / "cards" / "tiny-b.md").read_text()
    main(["card", "--all", "--out", str(tmp_path / "cards")])
    assert (tmp_path / "cards" / "tiny-b.md").read_text() == first  # deterministic
    assert main(["card", "tiny-a"]) == 1  # a name needs --out
    assert "pass --out" in capsys.readouterr().err


def test_git_blob_sha1_matches_git():
    assert git_blob_sha1(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"


# ---------------------------------------------------------------------- hostile repos
def _repo(server: HubServer, repo_id: str, files: dict[str, bytes]) -> str:
    """A dataset repo made directly on the server (no client): its commit sha."""
    server.create_repo(repo_id)
    return server.commit(repo_id, "main", dict(files), "hostile")


def _resign(manifest: bytes, **changes: object) -> bytes:
    from frozenbench.manifest import DIGEST_KEY, content_digest

    data = {**json.loads(manifest), **changes}
    data[DIGEST_KEY] = content_digest(data)
    return json.dumps(data).encode()


def _requested(server: HubServer, repo_id: str, name: str) -> list[tuple[str, str]]:
    return [(m, p) for m, p in server.requests if repo_id in p and p.endswith("/" + name)]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, bytes]:
    d = write_benchmark(tmp_path_factory.mktemp("hostile") / "t", name="tiny", n_configs=4,
                        n_z=2, n_epochs=2, seed=3)
    return {"manifest.json": (d / "manifest.json").read_bytes(),
            "table.parquet": (d / "table.parquet").read_bytes(), "dir": str(d).encode()}


def test_only_the_manifest_and_the_files_it_lists_are_downloaded(server, tiny, tmp_path):
    # Bug (issue 24, item 9): snapshot_download fetched every file of the repo, also a 200 MB
    # file that no manifest names, and file names with '..' raised the client's ValueError.
    table = {k: v for k, v in tiny.items() if k != "dir"}
    extra = {"big.bin": bytes(1 << 20), "notes/README.txt": b"hi", "..\\evil.txt": b"x",
             "a/../../evil.txt": b"x", "../evil.txt": b"x"}
    server.declared["big.bin"] = 200 << 20
    try:
        commit = _repo(server, "fbtest/extra", {**table, **extra})
        out = client(server, tmp_path / "hf", f"""
            src = Benchmark.from_directory({tiny["dir"].decode()!r})
            path = error(lambda: hub.fetch("hub:fbtest/extra@{commit}"))
            if path is None:
                path = hub.fetch("hub:fbtest/extra@{commit}")
                OUT["files"] = sorted(str(p.relative_to(path)) for p in path.rglob("*"))
                OUT["same"] = same(hub.load("hub:fbtest/extra@{commit}"), src)
                OUT["main"] = same(hub.load("hub:fbtest/extra"), src)
            else:
                OUT["error"] = path
        """)
    finally:
        server.declared.clear()
    assert "error" not in out, out
    assert out["files"] == ["manifest.json", "table.parquet"] and out["same"] and out["main"]
    for name in ("big.bin", "README.txt", "..\\evil.txt", "evil.txt"):
        assert _requested(server, "fbtest/extra", name) == [], name


def test_a_listed_file_of_another_size_is_refused_before_it_is_downloaded(server, tiny,
                                                                          tmp_path):
    table = {k: v for k, v in tiny.items() if k != "dir"}
    grown = _repo(server, "fbtest/grown",
                  {**table, "table.parquet": table["table.parquet"] + bytes(1 << 20)})
    claims = _repo(server, "fbtest/claims", table)
    huge_manifest = _repo(server, "fbtest/huge-manifest", table)
    missing = _repo(server, "fbtest/missing", {"manifest.json": table["manifest.json"]})
    out = client(server, tmp_path / "hf", f"""
        OUT["grown"] = error(lambda: hub.fetch("hub:fbtest/grown@{grown}"))
        OUT["missing"] = error(lambda: hub.fetch("hub:fbtest/missing@{missing}"))
    """)
    try:
        server.declared["table.parquet"] = 200 << 20
        out["claims"] = client(server, tmp_path / "hf", f"""
            OUT["e"] = error(lambda: hub.fetch("hub:fbtest/claims@{claims}"))
        """)["e"]
        server.declared = {"manifest.json": 1 << 30}
        out["huge"] = client(server, tmp_path / "hf", f"""
            OUT["e"] = error(lambda: hub.fetch("hub:fbtest/huge-manifest@{huge_manifest}"))
        """)["e"]
    finally:
        server.declared.clear()
    size = len(table["table.parquet"])
    name, msg = out["grown"]
    assert name == "HubError" and "refused before downloading" in msg
    assert f"table.parquet is {size + (1 << 20)} bytes on the Hub, the manifest states {size}" \
        in msg
    assert out["claims"][0] == "HubError" and f"{200 << 20} bytes on the Hub" in out["claims"][1]
    assert out["missing"][0] == "HubError" and "table.parquet is not a file in the repo" \
        in out["missing"][1]
    assert out["huge"][0] == "HubError" and "manifest.json is 1073741824 bytes" in out["huge"][1]
    for repo in ("fbtest/grown", "fbtest/claims"):
        assert [m for m, _ in _requested(server, repo, "table.parquet")] == [], repo
    assert _requested(server, "fbtest/huge-manifest", "manifest.json") == []


@pytest.mark.parametrize("bad", ["../table.parquet", "/etc/table.parquet", "a\\table.parquet"])
def test_a_manifest_listing_a_path_outside_is_a_frozenbench_error(server, tiny, tmp_path, bad):
    meta = json.loads(tiny["manifest.json"])["files"]["table.parquet"]
    manifest = _resign(tiny["manifest.json"], files={bad: meta})
    commit = _repo(server, f"fbtest/outside-{abs(hash(bad)) % 10**6}",
                   {"manifest.json": manifest, "table.parquet": tiny["table.parquet"]})
    repo = next(r for r in server.repos if commit in server.repos[r].commits)
    out = client(server, tmp_path / "hf", f"""
        OUT["e"] = error(lambda: hub.fetch("hub:{repo}@{commit}"))
    """)
    name, msg = out["e"]
    assert name == "SchemaError" and "is not a frozenbench benchmark" in msg and repr(bad) in msg
    assert _requested(server, repo, "table.parquet") == []


def test_the_card_escapes_what_the_manifest_says(tmp_path):
    # Bug (issue 24, item 9): the card copied the manifest's description into README.md as raw
    # HTML, so a <script> survived; the report escapes it, the card now does too, and nothing
    # from the manifest can close a code span, a code block or a table cell.
    script = "<script>alert(1)</script>"
    d = write_benchmark(tmp_path / "t", name="tiny", n_configs=4, n_z=2, n_epochs=2)
    m = Manifest.read(d)
    Manifest(**{**m.__dict__, "description": f"{script} `code` | cell",
                "hardware": script, "code_version": script, "created": script,
                "spec": {**m.spec, "note": "```\n<img src=x onerror=alert(1)>"}}).write(d)
    text = render(d, repo_id=REPO)
    assert "<script" not in text and "<img" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &#96;code&#96; | cell" in text
    assert text.count("```") % 2 == 0 and "\\u0060\\u0060\\u0060" in text


def test_publish_to_an_unreachable_hub_is_a_clear_error(tmp_path):
    """Offline (nothing listens at the endpoint), publish named the failure with a raw
    httpx ConnectError traceback; the download path already said it clearly."""
    env = {**os.environ, "HF_ENDPOINT": "http://127.0.0.1:9", "HF_HOME": str(tmp_path / "hf"),
           "HF_TOKEN": "hf_test"}
    env.pop("HF_HUB_OFFLINE", None)
    proc = subprocess.run([sys.executable, "-m", "frozenbench", "publish", "kjv-gpt2",
                           "--repo", "ns/kjv"], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert "error:" in proc.stderr and "ns/kjv" in proc.stderr
