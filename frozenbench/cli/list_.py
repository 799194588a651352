"""``frozenbench list``: the benchmarks you can load, with their shape (read from manifests)."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", help="benchmark directories to describe as well")


def run(args: argparse.Namespace) -> int:
    from frozenbench.errors import FrozenbenchError
    from frozenbench.hub import published
    from frozenbench.manifest import Manifest
    from frozenbench.registry import DATA_DIR, shipped

    rows: list[tuple[str, str, str]] = []
    for name in shipped():
        rows.append((name, "shipped", _describe(Manifest.read(DATA_DIR / name))))
    for path in args.paths:
        try:
            rows.append((str(path), "directory", _describe(Manifest.read(path))))
        except FrozenbenchError as exc:
            rows.append((str(path), "directory", f"unreadable: {exc}"))
    local = {r[0] for r in rows}
    rows += [(n, "hub", "published on the Hugging Face Hub") for n in published()
             if n not in local]
    if not rows:
        print("no benchmarks found (none shipped in this installation; pass a directory)")
        return 0
    width = max(len(r[0]) for r in rows) + 2
    for name, where, text in rows:
        print(f"{name:<{width}} {where:<10} {text}")
    return 0


def _describe(m: object) -> str:
    from frozenbench.manifest import Manifest

    assert isinstance(m, Manifest)  # internal: only called with manifests
    z, e = m.fidelities["z"], m.fidelities["epoch"]
    size = 1
    for values in m.grid.values():
        size *= len(values)
    return (f"task {m.task}; {len(m.config_ids)}/{size} configs, z {min(z)}..{max(z)}, "
            f"epochs {min(e)}..{max(e)}, seeds {list(m.seeds)}, metric {m.metric}, "
            f"{m.rows} rows")
