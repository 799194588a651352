"""``python -m generation``: an alias of ``frozenbench generate`` for one release (deprecated)."""

from __future__ import annotations

import sys

from generation.cli import main

if __name__ == "__main__":
    print("note: `python -m generation` is deprecated; use `frozenbench generate` "
          "(same arguments)", file=sys.stderr)
    sys.exit(main())
