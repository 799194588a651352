"""``frozenbench card``: write the Hugging Face dataset card of a benchmark from its manifest.

``frozenbench card BENCHMARK`` writes the card into the benchmark's directory (``README.md``)
when BENCHMARK is a path; ``--out DIR`` writes ``DIR/README.md`` instead (``--out -`` prints
it), and a name needs it. ``frozenbench card --all --out data_cards`` regenerates
``data_cards/<name>.md`` for every table shipped in ``frozenbench/data/``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from frozenbench.cli.args import out_problem

#: The card's file name, in a benchmark's directory and in ``--out DIR`` (the Hub's name).
CARD = "README.md"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("benchmark", metavar="BENCHMARK", nargs="?",
                        help="benchmark: a path (./dir), a shipped name or hub:... "
                             "(omit with --all)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="directory to write README.md into ('-': print the card); with "
                             "--all: <name>.md for every shipped table (default data_cards)")
    parser.add_argument("--all", action="store_true", help="cards of every shipped table")
    parser.add_argument("--repo", default=None, help="Hub repo id the card will live in")


def run(args: argparse.Namespace) -> int:
    from frozenbench.card import render, write_card
    from frozenbench.errors import InvalidValueError
    from frozenbench.registry import is_path, resolve, shipped

    if args.all == (args.benchmark is not None):
        raise InvalidValueError("pass either a BENCHMARK or --all")
    bad = out_problem(args.out, ["<name>.md" if args.all else CARD]) \
        if args.out not in (None, "-") else None
    if bad:
        raise InvalidValueError(bad)
    if args.all:
        if not shipped():
            print("no shipped tables in frozenbench/data/ yet; nothing to do")
            return 0
        out_dir = Path(args.out or "data_cards")
        for name in shipped():
            directory = resolve(name)
            path = write_card(directory, out_dir / f"{name}.md", repo_id=_repo(directory, None))
            print(f"wrote {path}")
        return 0
    directory = resolve(args.benchmark)
    repo = _repo(directory, args.repo)
    if args.out == "-":
        print(render(directory, repo_id=repo), end="")
        return 0
    out = Path(args.out) / CARD if args.out else None
    if out is None and not is_path(args.benchmark):
        raise InvalidValueError(
            f"{args.benchmark!r} is a name, not a directory: pass --out DIR (or --out -)")
    print(f"wrote {write_card(directory, out, repo_id=repo)}")
    return 0


def _repo(directory: Path, given: str | None) -> str | None:
    """The Hub repo a card names: ``--repo``, else the one the benchmark is published in."""
    from frozenbench.hub import PUBLISHED
    from frozenbench.manifest import Manifest

    if given is not None:
        return given
    ref = PUBLISHED.get(Manifest.read(directory).benchmark)
    return ref.repo_id if ref else None
