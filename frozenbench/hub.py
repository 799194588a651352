"""Benchmarks on the Hugging Face Hub: pinned downloads, verification, uploads.

This module is the transport: names, references, downloads and commits. Publishing a benchmark
(checking it, rendering its dataset card, uploading) is :mod:`frozenbench.publish`.

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

import contextlib
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from frozenbench.errors import (
    FrozenbenchError,
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


#: Released tables: benchmark name -> repo at a pinned commit, maintained with each release
#: (``frozenbench publish`` prints the pinned reference of what it uploaded). Empty until the
#: shipped tables are published.
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
    overrides the one it names. Only ``manifest.json`` and the files it lists are downloaded
    (:func:`download`): a repo's other files are never fetched, and a listed file whose size
    on the Hub is not the size the manifest states is refused before it is downloaded. Every
    listed file is then checked against its sha256; a corrupt or partial cached file raises
    :class:`~frozenbench.errors.SchemaError` that says to re-download with ``force=True``
    (which fetches every file again).

    :func:`frozenbench.load` calls it for ``hub:`` references and names in :data:`PUBLISHED`.
    """
    ref = lookup(name, revision)
    path, manifest = download(ref, force=force, token=token, cache_dir=cache_dir)
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


#: The largest ``manifest.json`` :func:`download` accepts (the shipped ones are about 4 KB).
MAX_MANIFEST_BYTES = 16 << 20


def download(ref: HubRef, *, force: bool = False, token: str | bool | None = None,
             cache_dir: str | os.PathLike[str] | None = None) -> tuple[Path, Manifest]:
    """Download ``manifest.json`` of ``ref``, then exactly the files it lists, into the
    Hugging Face cache; returns the snapshot directory and the parsed manifest (the files'
    sha256 are not checked here: :func:`fetch` does that).

    A branch or tag is resolved to its commit first, so the manifest and its files come from
    one commit. Online, every size is asked of the Hub before the download: a manifest over
    :data:`MAX_MANIFEST_BYTES`, or a listed file whose size is not the one the manifest
    states, is refused (:class:`~frozenbench.errors.HubError`) without being downloaded.
    Offline (``HF_HUB_OFFLINE=1``) the files come from the cache.
    """
    from huggingface_hub import HfApi, hf_hub_download

    api = HfApi(token=token)
    online = not _offline()
    with _hub_errors(ref, cache_dir):
        commit = ref.revision
        if online and not ref.pinned:
            commit = str(api.dataset_info(ref.repo_id, revision=ref.revision).sha)
        if online:
            _check_sizes(api, ref, commit, {MANIFEST_NAME: MAX_MANIFEST_BYTES}, exact=False)

        def get(rel: str) -> Path:
            return Path(hf_hub_download(
                ref.repo_id, rel, repo_type="dataset", revision=commit, force_download=force,
                token=token, cache_dir=None if cache_dir is None else Path(cache_dir)))

        directory = get(MANIFEST_NAME).parent
        commit = directory.name  # offline, a branch is resolved by the cache
        manifest = _manifest_of(ref, directory)
        listed = {str(rel): int(meta["bytes"]) for rel, meta in manifest.files.items()}
        if online:
            _check_sizes(api, ref, commit, listed, exact=True)
        for rel in listed:
            if get(rel) != directory / rel:
                raise HubError(f"{ref}: {rel} was not stored in the snapshot {directory}")
    return directory, manifest


def _manifest_of(ref: HubRef, directory: Path) -> Manifest:
    try:
        return Manifest.read(directory)
    except SchemaError as exc:
        raise SchemaError(f"{ref} is not a frozenbench benchmark: {exc}") from exc


def _check_sizes(api: Any, ref: HubRef, commit: str, sizes: dict[str, int], *,
                 exact: bool) -> None:
    """Refuse before downloading: a file missing at ``commit``, larger than ``sizes`` says, or
    (``exact``) of any other size."""
    found = {}
    for item in api.get_paths_info(ref.repo_id, list(sizes), revision=commit,
                                   repo_type="dataset"):
        found[item.path] = getattr(item, "size", None)  # a folder has no size
    problems = []
    for rel, stated in sizes.items():
        size = found.get(rel)
        if size is None:
            problems.append(f"{rel} is not a file in the repo")
        elif size > stated or (exact and size != stated):
            problems.append(f"{rel} is {size} bytes on the Hub, "
                            + (f"the manifest states {stated}" if exact
                               else f"more than the {stated} accepted"))
    if problems:
        raise HubError(f"{ref} (commit {commit[:12]}) was refused before downloading: "
                       + "; ".join(problems[:10]))


@contextlib.contextmanager
def _hub_errors(ref: HubRef, cache_dir: str | os.PathLike[str] | None) -> Iterator[None]:
    """Translate the Hub client's errors into frozenbench errors."""
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        yield
    except FrozenbenchError:
        raise
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
        raise HubError(f"{ref}: a file the manifest lists is missing on the Hub: "
                       f"{_first_line(exc)}") from exc
    except (HfHubHTTPError, OSError) as exc:
        raise HubError(f"download of {ref} from {_endpoint()} failed: {_first_line(exc)}; "
                       "partial files were discarded, run the download again") from exc
    except ValueError as exc:  # the client refusing a file name or an answer of the server
        raise HubError(f"{ref}: the Hub client refused the download: {_first_line(exc)}") \
            from exc
    except Exception as exc:  # transport errors of the HTTP client (connection dropped...)
        if not _transport_error(exc):
            raise
        raise HubError(f"download of {ref} from {_endpoint()} was interrupted: "
                       f"{_first_line(exc)} (after retries); partial files were discarded, "
                       "run the download again") from exc


def _transport_error(exc: BaseException) -> bool:
    """Whether ``exc`` comes from the Hub client's HTTP transport (connection refused or
    dropped, timeouts), which it raises as its own classes."""
    return type(exc).__module__.split(".")[0] in ("httpx", "httpx2", "httpcore", "hf_xet")


@dataclass(frozen=True)
class Published:
    """The result of :func:`upload` (and :func:`frozenbench.publish.publish`): where the
    table went and the commit that pins it."""

    repo_id: str
    revision: str
    commit: str
    url: str

    @property
    def ref(self) -> HubRef:
        """The pinned reference to load it with: ``fb.load(str(result.ref))``."""
        return HubRef(self.repo_id, self.commit)


def upload(stage: Path, ref: HubRef, files: Sequence[str], *, message: str,
           private: bool = False, token: str | bool | None = None,
           shown: str | os.PathLike[str] | None = None) -> Published:
    """Commit exactly ``files`` (paths relative to ``stage``) to the dataset repo ``ref``,
    creating the repo and the branch if they do not exist; every other file of the repo is
    deleted in the same commit. Returns the commit that pins it. ``shown`` is what errors name
    as the source (default: ``stage``). Transport only: :func:`frozenbench.publish.publish`
    checks a benchmark and renders its card first.
    """
    repo_id, revision, root = ref.repo_id, ref.revision, shown or stage

    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        if revision != "main":
            api.create_branch(repo_id, branch=revision, repo_type="dataset", exist_ok=True)
        info = api.upload_folder(
            folder_path=stage, repo_id=repo_id, repo_type="dataset", revision=revision,
            allow_patterns=list(files), delete_patterns="*", commit_message=message)
    except (HfHubHTTPError, OSError) as exc:
        raise HubError(f"publishing {root} to {ref} on {_endpoint()} failed: "
                       f"{_first_line(exc)}") from exc
    except Exception as exc:  # transport errors of the HTTP client (no server, dropped...)
        if not _transport_error(exc):
            raise
        raise HubError(f"publishing {root} to {ref}: {_endpoint()} cannot be reached: "
                       f"{_first_line(exc)} (after retries); nothing was committed") from exc
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
