"""``python -m frozenbench`` is the ``frozenbench`` command."""

import sys

from frozenbench.cli import main

sys.exit(main())
