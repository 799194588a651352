"""``python -m generation``: see :mod:`generation.cli`."""

from __future__ import annotations

import sys

from generation.cli import main

if __name__ == "__main__":
    sys.exit(main())
