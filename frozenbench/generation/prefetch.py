"""Fill the shared data cache for a task name, a grid spec's name or a spec file.

What ``frozenbench generate prefetch NAME...`` runs. The fetching itself is the task's
(:mod:`frozenbench.tasks.prefetch`); this module adds the grid specs, which live in generation.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from frozenbench.generation.spec import SpecError, load_spec, spec_path
from frozenbench.tasks import prefetch as tasks_prefetch
from frozenbench.tasks.prefetch import PREFETCH_COMMAND, Prefetched, prefetch_task


def prefetch_spec(spec: str | Path) -> Prefetched:
    """Fill the shared cache for the task of a grid spec (a path or a shipped spec's name)."""
    loaded = load_spec(spec)
    return prefetch_task(loaded.tasks_api().get_task(loaded.task))


def prefetch_name(name: str) -> Prefetched:
    """Fill the shared cache for a task name, a shipped spec's name or a spec file."""
    try:
        spec_path(name)
    except SpecError:
        return prefetch_task(name)  # not a spec: a task name (unknown names raise there)
    return prefetch_spec(name)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m frozenbench.generation.prefetch NAME...`` (what
    ``frozenbench generate prefetch`` runs): tasks, shipped specs or spec files."""
    names = list(sys.argv[1:] if argv is None else argv)
    if not names or any(n.startswith("-") for n in names):
        print(f"usage: {PREFETCH_COMMAND} TASK_OR_SPEC [...]\n\n{tasks_prefetch.__doc__}",
              file=sys.stderr)
        return 2
    for name in names:
        done = prefetch_name(name)
        where = ", ".join(str(p) for p in done.paths) or "nothing to fetch"
        print(f"{done.task}: {where}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
