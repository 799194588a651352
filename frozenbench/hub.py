"""Benchmarks on the Hugging Face Hub: pinned downloads, verification, publishing.

A benchmark on the Hub is a *dataset* repo holding ``manifest.json``, the table file(s) it lists
and a ``README.md`` dataset card. Downloads always name a revision, and every file is checked
against the manifest's sha256 before use, so a table cannot change under a published result.

Names
-----
``hub:NAMESPACE/REPO@REVISION``
    any dataset repo at a revision (a commit sha pins it; a branch or tag such as ``main`` is
    resolved when downloading). ``fb.load("hub:ns/repo@<sha>")`` and
    ``frozenbench download hub:ns/repo@<sha>``. Without ``@REVISION`` the revision is ``main``.
``NAMESPACE/REPO[@REVISION]``
    the same without the prefix, where a name cannot be mistaken for a path (the ``download``
    command, :func:`fetch`, :func:`load`).
``NAME``
    a benchmark of :data:`PUBLISHED`, the index of released tables with pinned commits.

Files go to the Hugging Face cache (``HF_HOME``/``HF_HUB_CACHE``); with ``HF_HUB_OFFLINE=1`` a
cached revision loads without any network access.

>>> parse("hub:automl/fb-mnist@0123456789abcdef0123456789abcdef01234567")
HubRef(repo_id='automl/fb-mnist', revision='0123456789abcdef0123456789abcdef01234567')
>>> str(parse("automl/frozenbench-kjv-gpt2"))
'hub:automl/frozenbench-kjv-gpt2@main'
>>> parse("mnist-resnet") is None  # not a repo reference (maybe a name in PUBLISHED)
True
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from frozenbench.errors import (
    HubError,
    InvalidValueError,
    SchemaError,
    UnknownNameError,
    format_choices,
)
from frozenbench.manifest import MANIFEST_NAME, PLAIN_NAME, Manifest

if TYPE_CHECKING:
    from frozenbench.table import Benchmark

PREFIX = "hub:"
CARD_NAME = "README.md"
_REPO_RE = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")
_SHA_RE = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class HubRef:
    """A dataset repo on the Hub at a revision (commit sha, branch or tag)."""

    repo_id: str
    revision: str = "main"

    def __post_init__(self) -> None:
        if not _REPO_RE.fullmatch(self.repo_id) or ".." in self.repo_id:
            raise InvalidValueError(
                f"{self.repo_id!r} is not a Hub repo id; expected 'namespace/name' "
                "(letters, digits, '-', '_', '.')")
        if not self.revision or self.revision != self.revision.strip():
            raise InvalidValueError(f"revision {self.revision!r} of {self.repo_id} is empty")

    @property
    def pinned(self) -> bool:
        """True when the revision is a full commit sha (immutable)."""
        return bool(_SHA_RE.fullmatch(self.revision))

    def __str__(self) -> str:
        return f"{PREFIX}{self.repo_id}@{self.revision}"


#: Released tables: benchmark name -> repo at a pinned commit. ``frozenbench publish`` prints
#: the line to add here after an upload. Empty until the shipped tables are published.
PUBLISHED: dict[str, HubRef] = {}


def register(name: str, ref: HubRef | str) -> HubRef:
    """Add (or replace) ``name`` in :data:`PUBLISHED` for this process, e.g. a private table.

    >>> register("my-table", "hub:me/my-table@" + "0" * 40).pinned
    True
    >>> del PUBLISHED["my-table"]
    """
    if not isinstance(name, str) or not PLAIN_NAME.fullmatch(name):
        raise InvalidValueError(f"{name!r:.120} is not a plain benchmark name (letters, digits, "
                                "'.', '_', '-', starting with a letter or digit, no '..')")
    parsed = ref if isinstance(ref, HubRef) else parse(ref)
    if parsed is None:
        raise InvalidValueError(f"{ref!r} is not a Hub reference like 'hub:namespace/name@rev'")
    PUBLISHED[name] = parsed
    return parsed


def published() -> list[str]:
    """Names of the released tables in :data:`PUBLISHED` (no network access).

    >>> isinstance(published(), list)
    True
    """
    return sorted(PUBLISHED)


def parse(name: str, revision: str | None = None) -> HubRef | None:
    """The :class:`HubRef` a name refers to, or None if it is not a repo reference.

    ``revision`` overrides one given in the name. A name with the ``hub:`` prefix must be
    well-formed, anything else returns None when it does not look like ``namespace/name``.

    >>> parse("ns/table@v1", revision="main")
    HubRef(repo_id='ns/table', revision='main')
    >>> parse("hub:not a repo")
    Traceback (most recent call last):
    ...
    frozenbench.errors.InvalidValueError: 'not a repo' is not a Hub repo id; expected ...
    """
    text = name[len(PREFIX):] if name.startswith(PREFIX) else name
    repo, _, rev = text.partition("@")
    if not name.startswith(PREFIX) and not _REPO_RE.fullmatch(repo):
        return None
    return HubRef(repo, revision or rev or "main")


def lookup(name: str, revision: str | None = None) -> HubRef:
    """Resolve a published name or a repo reference to a :class:`HubRef`.

    >>> lookup("no-such-table")
    Traceback (most recent call last):
    ...
    frozenbench.errors.UnknownNameError: unknown benchmark 'no-such-table'; valid: ...
    """
    if name in PUBLISHED:
        ref = PUBLISHED[name]
        return HubRef(ref.repo_id, revision) if revision else ref
    parsed = parse(name, revision)
    if parsed is None:
        raise UnknownNameError(
            f"unknown benchmark {name!r}; valid: {format_choices(published())} (published) "
            f"or a Hub dataset as 'hub:namespace/name@revision'")
    return parsed


def fetch(
    name: str,
    *,
    revision: str | None = None,
    force: bool = False,
    token: str | bool | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """Download a benchmark (or find it in the cache) and verify it; returns its directory.

    ``name`` is a published name or a repo reference (see the module docstring); ``revision``
    overrides the one it names. Every file listed in the manifest is checked against its
    sha256; a corrupt or partial cached file raises :class:`~frozenbench.errors.SchemaError`
    that says to re-download with ``force=True`` (which fetches every file again).

    :func:`frozenbench.load` calls it for ``hub:`` references and names in :data:`PUBLISHED`.
    """
    ref = lookup(name, revision)
    path = _snapshot(ref, force=force, token=token, cache_dir=cache_dir)
    try:
        manifest = Manifest.read(path)
    except SchemaError as exc:
        files = sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())
        raise SchemaError(
            f"{ref} is not a frozenbench benchmark: {exc} (files: {format_choices(files)})"
        ) from exc
    try:
        manifest.verify(path)
    except SchemaError as exc:
        raise SchemaError(
            f"{exc}. The cached download of {ref} in {path} is corrupt or incomplete; "
            f"download it again with `frozenbench download {name} --force` "
            f"(or frozenbench.hub.fetch({name!r}, force=True))") from exc
    return path


def load(name: str, *, revision: str | None = None, force: bool = False) -> Benchmark:
    """:func:`fetch` a benchmark from the Hub and load it (``fb.load`` for repo references).

    The files were verified by :func:`fetch`, so they are not hashed a second time.
    """
    from frozenbench.table import Benchmark

    return Benchmark.from_directory(fetch(name, revision=revision, force=force), verify=False)


def _snapshot(ref: HubRef, *, force: bool, token: str | bool | None,
              cache_dir: str | os.PathLike[str] | None) -> Path:
    """snapshot_download with Hub errors translated into frozenbench errors."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        return Path(snapshot_download(
            ref.repo_id, repo_type="dataset", revision=ref.revision, force_download=force,
            token=token, cache_dir=None if cache_dir is None else Path(cache_dir),
        ))
    except RepositoryNotFoundError as exc:
        raise UnknownNameError(
            f"no dataset repo {ref.repo_id!r} on {_endpoint()} (misspelt, or private and your "
            f"token cannot read it)") from exc
    except RevisionNotFoundError as exc:
        raise UnknownNameError(
            f"dataset repo {ref.repo_id!r} has no revision {ref.revision!r}") from exc
    except LocalEntryNotFoundError as exc:
        if _offline():
            raise HubError(
                f"{ref} is not in the Hugging Face cache ({_cache_dir(cache_dir)}) and "
                "HF_HUB_OFFLINE=1 forbids downloading it; download it once with network "
                "access (frozenbench download ...)") from exc
        raise HubError(f"could not download {ref} from {_endpoint()} and it is not cached: "
                       f"{_first_line(exc)}") from exc
    except EntryNotFoundError as exc:  # after its subclass LocalEntryNotFoundError
        raise HubError(f"{ref}: a file listed by the Hub is missing: {exc}") from exc
    except (HfHubHTTPError, OSError) as exc:
        raise HubError(f"download of {ref} from {_endpoint()} failed: {_first_line(exc)}; "
                       "partial files were discarded, run the download again") from exc
    except Exception as exc:  # transport errors of the HTTP client (connection dropped...)
        if type(exc).__module__.split(".")[0] not in ("httpx", "httpx2", "httpcore", "hf_xet"):
            raise
        raise HubError(f"download of {ref} from {_endpoint()} was interrupted: "
                       f"{_first_line(exc)} (after retries); partial files were discarded, "
                       "run the download again") from exc


@dataclass(frozen=True)
class Published:
    """The result of :func:`publish`: where the table went and the commit that pins it."""

    repo_id: str
    revision: str
    commit: str
    url: str

    @property
    def ref(self) -> HubRef:
        """The pinned reference to load it with: ``fb.load(str(result.ref))``."""
        return HubRef(self.repo_id, self.commit)


def publish(
    directory: str | os.PathLike[str],
    repo_id: str,
    *,
    revision: str = "main",
    private: bool = False,
    token: str | bool | None = None,
    message: str | None = None,
) -> Published:
    """Validate a benchmark directory, build its dataset card, upload it as a dataset repo.

    The directory is loaded first (schema, value and sha256 checks) and only read: the table
    files and ``manifest.json`` are copied into a temporary folder next to a ``README.md``
    rendered from the manifest (:mod:`frozenbench.card`), and exactly those files are committed
    from there; files of an earlier upload that are no longer part of the benchmark are deleted
    in the same commit. A read-only directory (a shipped table inside the installed package)
    publishes as well. Returns the commit sha to pin.
    """
    from frozenbench.card import render
    from frozenbench.table import Benchmark

    ref = HubRef(repo_id, revision)
    root = Path(directory)
    bench = Benchmark.from_directory(root, verify=True)
    manifest = bench.manifest
    with tempfile.TemporaryDirectory(prefix="frozenbench-publish-") as staging:
        stage = Path(staging)
        for rel in [*manifest.files, MANIFEST_NAME]:
            (stage / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / rel, stage / rel)
        (stage / CARD_NAME).write_text(render(bench=bench, repo_id=repo_id))
        manifest.verify(stage)  # what is uploaded is what was checked
        return _upload(stage, ref, manifest, private=private, token=token, message=message,
                       shown=root)


def _upload(stage: Path, ref: HubRef, manifest: Manifest, *, private: bool,
            token: str | bool | None, message: str | None, shown: Path) -> Published:
    """Commit the staged files of :func:`publish` (``shown``: the directory named in errors)."""
    repo_id, revision, root = ref.repo_id, ref.revision, shown

    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        if revision != "main":
            api.create_branch(repo_id, branch=revision, repo_type="dataset", exist_ok=True)
        info = api.upload_folder(
            folder_path=stage, repo_id=repo_id, repo_type="dataset", revision=revision,
            allow_patterns=[*manifest.files, MANIFEST_NAME, CARD_NAME], delete_patterns="*",
            commit_message=message or (
                f"frozenbench publish {manifest.benchmark}: {manifest.rows} rows, "
                f"code {manifest.code_version or 'unknown'}"))
    except HfHubHTTPError as exc:
        raise HubError(f"publishing {root} to {ref} on {_endpoint()} failed: "
                       f"{_first_line(exc)}") from exc
    commit = info.oid
    return Published(repo_id, revision, commit, str(info.repo_url))


def _endpoint() -> str:
    from huggingface_hub import constants

    return str(constants.ENDPOINT)


def _offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def _cache_dir(cache_dir: Any) -> str:
    from huggingface_hub import constants

    return str(cache_dir or constants.HF_HUB_CACHE)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
