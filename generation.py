"""``python -m generation``: the old entry point of the generation pipeline, kept for one
release as an alias of ``frozenbench generate`` (same arguments). Deprecated.

The pipeline itself is :mod:`frozenbench.generation`; this module is only the alias, so that
installing frozenbench adds no top-level ``generation`` package.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``frozenbench generate`` with ``argv`` after a deprecation note on stderr."""
    from frozenbench.cli import main as frozenbench_main

    print("note: `python -m generation` is deprecated; use `frozenbench generate` "
          "(same arguments)", file=sys.stderr)
    return frozenbench_main(["generate", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
