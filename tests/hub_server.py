"""A tiny local stand-in for the Hugging Face Hub HTTP API (datasets only), for tests.

It speaks just enough of the protocol for the real ``huggingface_hub`` client (and
``datasets.load_dataset``) to create a repo, upload a folder, and download it again:

- ``HEAD``/``GET /datasets/{repo}/resolve/{rev}/{path}`` with ``X-Repo-Commit``, ``ETag`` (quoted
  git blob sha1) and ``Content-Length``; ``Range`` requests get ``206``; errors are ``404`` with
  ``X-Error-Code: RepoNotFound | RevisionNotFound | EntryNotFound``;
- ``GET /api/datasets/{repo}[/revision/{rev}]`` and ``/api/datasets/{repo}/tree/{rev}[/{path}]``;
  ``POST /api/datasets/{repo}/paths-info/{rev}``;
- ``POST /api/repos/create`` (``409`` if it exists), ``POST /api/validate-yaml``, ``POST /api/datasets/{repo}/branch/{name}``,
  ``POST /api/datasets/{repo}/preupload/{rev}`` (every file ``regular``) and
  ``POST /api/datasets/{repo}/commit/{rev}`` (NDJSON, base64 content) -> ``commitOid``.

Commits are immutable snapshots ({path: bytes}); branches point at commits, so a test can pin
an old commit sha after pushing a new one. Fault injection for download tests:
``server.drop[path] = n`` makes the next ``n`` GETs of ``path`` send half the body and close the
connection; ``server.corrupt.add(path)`` serves the file with its first byte flipped;
``server.declared[path] = n`` (or ``[(repo_id, path)]``, for one repo) makes the tree and
paths-info listings state ``n`` bytes for ``path`` (a repo that claims a huge file without the
test holding one).

>>> with HubServer() as hub:
...     hub.url.startswith("http://127.0.0.1:")
True
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

REPO = r"(?P<repo>[^/]+/[^/]+)"


def git_blob_sha1(data: bytes) -> str:
    """The git blob id of ``data`` (what the Hub sends as ETag of a regular file)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Commit:
    sha: str
    files: dict[str, bytes]
    parent: str | None
    message: str
    created: float = field(default_factory=time.time)


@dataclass
class Repo:
    repo_id: str
    private: bool
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)

    def resolve(self, rev: str) -> Commit | None:
        sha = self.branches.get(rev, rev)
        return self.commits.get(sha)


class HubServer:
    """The server, run in a daemon thread; use as a context manager or call start()/stop()."""

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.lock = threading.Lock()
        self.drop: dict[str, int] = {}
        self.corrupt: set[str] = set()
        self.declared: dict[str | tuple[str, str], int] = {}
        self.requests: list[tuple[str, str]] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> HubServer:
        handler = type("Handler", (_Handler,), {"hub": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ state changes
    def create_repo(self, repo_id: str, *, private: bool = False) -> bool:
        """Create a dataset repo with an initial commit; False if it already exists."""
        with self.lock:
            if repo_id in self.repos:
                return False
            repo = Repo(repo_id, private)
            first = self._new_commit(repo, None, {".gitattributes": b"*.parquet filter=lfs\n"},
                                     "initial commit")
            repo.branches["main"] = first.sha
            self.repos[repo_id] = repo
            return True

    def commit(self, repo_id: str, branch: str, files: dict[str, bytes | None],
               message: str = "") -> str:
        """Apply additions (bytes) and deletions (None, or a folder prefix ending in '/')."""
        with self.lock:
            repo = self.repos[repo_id]
            head = repo.commits[repo.branches[branch]]
            new = dict(head.files)
            for path, data in files.items():
                if data is None:
                    for p in [p for p in new if p == path or p.startswith(path.rstrip("/") + "/")]:
                        del new[p]
                else:
                    new[path] = data
            c = self._new_commit(repo, head.sha, new, message)
            repo.branches[branch] = c.sha
            return c.sha

    @staticmethod
    def _new_commit(repo: Repo, parent: str | None, files: dict[str, bytes],
                    message: str) -> Commit:
        h = hashlib.sha1(f"{repo.repo_id}\0{parent}\0{message}\0{time.time_ns()}".encode())
        for path in sorted(files):
            h.update(path.encode() + b"\0" + git_blob_sha1(files[path]).encode())
        c = Commit(h.hexdigest(), files, parent, message)
        repo.commits[c.sha] = c
        return c


class _Handler(BaseHTTPRequestHandler):
    hub: HubServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # ------------------------------------------------------------------ plumbing
    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
              *, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, obj: Any, status: int = 200) -> None:
        self._send(status, json.dumps(obj).encode())

    def _error(self, status: int, code: str | None, message: str) -> None:
        headers = {"X-Error-Message": message}
        if code:
            headers["X-Error-Code"] = code
        self._send(status, json.dumps({"error": message}).encode(), headers)

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _repo(self, repo_id: str) -> Repo | None:
        repo = self.hub.repos.get(repo_id)
        if repo is None or (repo.private and not self.headers.get("Authorization")):
            self._error(404, "RepoNotFound", f"Repository Not Found for url: {self.path}.")
            return None
        return repo

    def _commit(self, repo: Repo, rev: str) -> Commit | None:
        c = repo.resolve(unquote(rev))
        if c is None:
            self._error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
        return c

    def _route(self) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        self.hub.requests.append((self.command, path))
        for method, pattern, fn in _ROUTES:
            if method == self.command or (method == "GET" and self.command == "HEAD"):
                m = re.fullmatch(pattern, path)
                if m:
                    fn(self, query=query, **m.groupdict())
                    return
        self._error(404, None, f"no route for {self.command} {path}")

    do_GET = do_HEAD = do_POST = _route

    # ------------------------------------------------------------------ downloads
    def resolve(self, repo: str, rev: str, file: str, query: Any) -> None:
        r = self._repo(repo)
        c = r and self._commit(r, rev)
        if c is None:
            return
        file = unquote(file)
        data = c.files.get(file)
        if data is None:
            self._error(404, "EntryNotFound", f"Entry not found: {file}")
            return
        headers = {"X-Repo-Commit": c.sha, "ETag": f'"{git_blob_sha1(data)}"',
                   "Accept-Ranges": "bytes"}
        if self.command == "HEAD":
            self._send(200, data, headers, content_type="application/octet-stream")
            return
        if file in self.hub.corrupt:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        start, status = 0, 200
        rng = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if rng:
            start, status = int(rng.group(1)), 206
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        body = data[start:]
        with self.hub.lock:
            drop = self.hub.drop.get(file, 0)
            if drop:
                self.hub.drop[file] = drop - 1
        if drop:  # announce the whole body, send half, hang up
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self._send(status, body, headers, content_type="application/octet-stream")

    def repo_info(self, repo: str, query: Any, rev: str = "main") -> None:
        r = self._repo(repo)
        c = r and self._commit(r, rev)
        if r is None or c is None:
            return
        self._json({
            "id": r.repo_id, "_id": r.repo_id, "author": r.repo_id.split("/")[0], "sha": c.sha,
            "private": r.private, "disabled": False, "gated": False, "downloads": 0, "likes": 0,
            "tags": [], "cardData": {},
            "lastModified": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(c.created)),
            "siblings": [{"rfilename": p} for p in sorted(c.files)],
        })

    def _size(self, repo_id: str, path: str, data: bytes) -> int:
        declared = self.hub.declared
        return declared.get((repo_id, path), declared.get(path, len(data)))

    def _entries(self, repo_id: str, c: Commit, prefix: str,
                 recursive: bool) -> list[dict[str, Any]]:
        prefix = prefix.strip("/")
        out: dict[str, dict[str, Any]] = {}
        for path, data in sorted(c.files.items()):
            if prefix and not path.startswith(prefix + "/"):
                continue
            rest = path[len(prefix) + 1:] if prefix else path
            parts = rest.split("/")
            # directories on the way
            for depth in range(1, len(parts)):
                if not recursive and depth > 1:
                    break
                d = "/".join(([prefix] if prefix else []) + parts[:depth])
                out.setdefault(d, {"type": "directory", "oid": hashlib.sha1(d.encode())
                                   .hexdigest(), "size": 0, "path": d})
            if recursive or len(parts) == 1:
                out[path] = {"type": "file", "oid": git_blob_sha1(data),
                             "size": self._size(repo_id, path, data), "path": path}
        return list(out.values())

    def tree(self, repo: str, rev: str, query: Any, sub: str | None = None) -> None:
        r = self._repo(repo)
        c = r and self._commit(r, rev)
        if c is None:
            return
        sub = unquote(sub or "")
        if sub and sub not in c.files and not any(p.startswith(sub + "/") for p in c.files):
            self._error(404, "EntryNotFound", f"{sub} does not exist on {rev}")
            return
        recursive = query.get("recursive", ["false"])[0].lower() == "true"
        self._json(self._entries(repo, c, sub, recursive))

    def paths_info(self, repo: str, rev: str, query: Any) -> None:
        r = self._repo(repo)
        c = r and self._commit(r, rev)
        if c is None:
            return
        body = self._body().decode()
        ctype = self.headers.get("Content-Type", "")
        if "json" in ctype:
            paths = json.loads(body).get("paths", [])
        else:
            paths = parse_qs(body).get("paths", [])
        out = []
        for p in paths:
            p = p.strip("/")
            if p in c.files:
                out.append({"type": "file", "oid": git_blob_sha1(c.files[p]),
                            "size": self._size(repo, p, c.files[p]), "path": p})
            elif any(f.startswith(p + "/") for f in c.files):
                out.append({"type": "directory", "oid": hashlib.sha1(p.encode()).hexdigest(),
                            "size": 0, "path": p})
        self._json(out)

    # ------------------------------------------------------------------ uploads
    def create(self, query: Any) -> None:
        payload = json.loads(self._body() or b"{}")
        if payload.get("type", "model") != "dataset":
            self._error(400, None, "this test server only hosts datasets")
            return
        org = payload.get("organization") or "user"
        repo_id = f"{org}/{payload['name']}"
        private = bool(payload.get("private")) or payload.get("visibility") == "private"
        url = f"{self.hub.url}/datasets/{repo_id}"
        if not self.hub.create_repo(repo_id, private=private):
            self._json({"error": "You already created this dataset repo", "url": url}, 409)
            return
        self._json({"url": url, "name": repo_id, "id": repo_id})

    def validate_yaml(self, query: Any) -> None:
        """Check a README's front matter: a YAML mapping (as the Hub does before a commit)."""
        import yaml

        content = json.loads(self._body() or b"{}").get("content", "")
        m = re.match(r"---\n(.*?)\n---\n", content, re.S)
        try:
            meta = yaml.safe_load(m.group(1)) if m else {}
        except yaml.YAMLError as exc:
            self._json({"errors": [{"message": f"invalid YAML: {exc}"}]}, 400)
            return
        if not isinstance(meta, dict):
            self._json({"errors": [{"message": "metadata must be a mapping"}]}, 400)
            return
        self._json({"warnings": [] if meta else [{"message": "empty or missing metadata"}]})

    def branch(self, repo: str, name: str, query: Any) -> None:
        r = self._repo(repo)
        if r is None:
            return
        payload = json.loads(self._body() or b"{}")
        name = unquote(name)
        if name in r.branches:
            self._error(409, None, f"Reference already exists: {name}")
            return
        c = self._commit(r, payload.get("startingPoint") or "main")
        if c is None:
            return
        with self.hub.lock:
            r.branches[name] = c.sha
        self._json({})

    def preupload(self, repo: str, rev: str, query: Any) -> None:
        r = self._repo(repo)
        if r is None:
            return
        c = r.resolve(unquote(rev))
        files = json.loads(self._body()).get("files", [])
        out = []
        for f in files:
            entry: dict[str, Any] = {"path": f["path"], "uploadMode": "regular",
                                     "shouldIgnore": False}
            if c is not None and f["path"] in c.files:
                entry["oid"] = git_blob_sha1(c.files[f["path"]])
            out.append(entry)
        self._json({"files": out, "commitOid": c.sha if c else None})

    def commit(self, repo: str, rev: str, query: Any) -> None:
        r = self._repo(repo)
        if r is None:
            return
        rev = unquote(rev)
        if rev not in r.branches:
            self._error(404, "RevisionNotFound", f"Invalid rev id: {rev} (not a branch)")
            return
        message, changes = "", {}
        for line in self._body().splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            key, value = item["key"], item["value"]
            if key == "header":
                message = value.get("summary", "")
                parent = value.get("parentCommit")
                if parent and parent != r.branches[rev]:
                    self._error(412, None, "A commit has happened since. Please refresh.")
                    return
            elif key == "file":
                if value.get("encoding") != "base64":
                    self._error(400, None, "only base64 file content is supported")
                    return
                changes[value["path"]] = base64.b64decode(value["content"])
            elif key in ("deletedFile", "deletedFolder"):
                changes[value["path"] + ("/" if key == "deletedFolder" else "")] = None
            else:
                self._error(400, None, f"unsupported commit operation {key!r} (lfsFile?)")
                return
        sha = self.hub.commit(r.repo_id, rev, changes, message)
        self._json({"commitUrl": f"{self.hub.url}/datasets/{r.repo_id}/commit/{sha}",
                    "commitOid": sha, "success": True})


_ROUTES: list[tuple[str, str, Any]] = [
    ("GET", rf"/datasets/{REPO}/resolve/(?P<rev>[^/]+)/(?P<file>.+)", _Handler.resolve),
    ("GET", rf"/api/datasets/{REPO}/revision/(?P<rev>[^/]+)", _Handler.repo_info),
    ("GET", rf"/api/datasets/{REPO}", _Handler.repo_info),
    ("GET", rf"/api/datasets/{REPO}/tree/(?P<rev>[^/]+)(?:/(?P<sub>.+))?", _Handler.tree),
    ("POST", rf"/api/datasets/{REPO}/paths-info/(?P<rev>[^/]+)", _Handler.paths_info),
    ("POST", r"/api/repos/create", _Handler.create),
    ("POST", r"/api/validate-yaml", _Handler.validate_yaml),
    ("POST", rf"/api/datasets/{REPO}/branch/(?P<name>[^/]+)", _Handler.branch),
    ("POST", rf"/api/datasets/{REPO}/preupload/(?P<rev>[^/]+)", _Handler.preupload),
    ("POST", rf"/api/datasets/{REPO}/commit/(?P<rev>[^/]+)", _Handler.commit),
]


if __name__ == "__main__":  # a server for manual experiments: python tests/hub_server.py
    with HubServer() as server:
        print(f"HF_ENDPOINT={server.url}", flush=True)
        threading.Event().wait()
