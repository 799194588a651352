"""``frozenbench download``: fetch a benchmark from the Hugging Face Hub and verify it.

NAME is a published name (``frozenbench list``), ``namespace/repo[@revision]`` or
``hub:namespace/repo@revision``. Files go to the Hugging Face cache (``HF_HOME``); the
command prints the directory and the pinned reference to load it with. A table that ships
inside the package needs no download: the command says where it is.
"""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME_OR_REPO",
                        help="published name, namespace/repo[@revision] or "
                             "hub:namespace/repo@rev; a shipped name prints where the table is "
                             "(no download)")
    parser.add_argument("--revision", default=None,
                        help="commit sha, branch or tag (overrides @revision in the name)")
    parser.add_argument("--force", action="store_true",
                        help="download every file again (repairs a corrupt or partial cache)")


def run(args: argparse.Namespace) -> int:
    from frozenbench.errors import UnknownNameError, format_choices
    from frozenbench.hub import PUBLISHED, HubRef, fetch, lookup, parse, published
    from frozenbench.manifest import Manifest
    from frozenbench.registry import resolve, shipped

    if args.name in shipped() and args.name not in PUBLISHED:
        print(f"{args.name} ships inside the package: nothing to download")
        print(f"directory: {resolve(args.name)}")
        print(f"load it:   fb.load({args.name!r})")
        return 0
    if args.name not in PUBLISHED and parse(args.name, args.revision) is None:
        names = format_choices(published()) if published() else "(none published yet)"
        raise UnknownNameError(
            f"unknown benchmark {args.name!r}; valid: a published name {names}, a shipped name "
            f"{format_choices(shipped())} (no download needed) or a Hub dataset as "
            f"namespace/name[@revision]")
    ref = lookup(args.name, args.revision)
    path = fetch(args.name, revision=args.revision, force=args.force)
    manifest = Manifest.read(path)
    pinned = HubRef(ref.repo_id, path.name) if len(path.name) == 40 else ref
    print(f"{manifest.benchmark}: {manifest.rows} rows, {len(manifest.files)} file(s) verified "
          f"(sha256)")
    print(f"directory: {path}")
    print(f"pinned:    {pinned}   # fb.load({str(pinned)!r})")
    return 0
