"""``frozenbench publish BENCHMARK --repo NS/NAME``: upload a benchmark to the Hub as a dataset.

BENCHMARK is a path (``./dir``) or a shipped name. Its directory is validated (loaded, sha256
checked) and only read: the ``README.md`` dataset card is rendered from the manifest into a
temporary folder, and the table, manifest and card are committed from there. The printed
commit sha is what to pin: ``fb.load("hub:namespace/repo@<sha>")`` loads exactly that version.
Authentication is huggingface_hub's: ``HF_TOKEN`` or ``hf auth login``.
"""

from __future__ import annotations

import argparse

from frozenbench.cli.args import add_benchmark


def configure(parser: argparse.ArgumentParser) -> None:
    add_benchmark(parser, help="benchmark to upload: a path (./dir) or a shipped name")
    parser.add_argument("--repo", required=True, help="dataset repo id, namespace/name")
    parser.add_argument("--revision", default="main", help="branch to commit to (created if new)")
    parser.add_argument("--private", action="store_true", help="create the repo as private")
    parser.add_argument("--message", default=None, help="commit message")


def run(args: argparse.Namespace) -> int:
    from frozenbench.publish import publish
    from frozenbench.registry import resolve

    directory = resolve(args.benchmark)
    res = publish(directory, args.repo, revision=args.revision, private=args.private,
                  message=args.message)
    print(f"published {args.benchmark} to {res.url} (branch {res.revision})")
    print(f"commit: {res.commit}")
    print(f"pin it: fb.load({str(res.ref)!r})   # or: frozenbench download {res.ref}")
    return 0
