"""frozenbench's import graph has no cycles and no upward imports.

The graph is read from the source with :mod:`ast`, not from ``sys.modules``, so an import
that only runs later still counts. What counts as an edge ``a -> b`` (``b`` a frozenbench
module):

- every ``import`` / ``from ... import`` statement anywhere in ``a``: at the top, inside
  functions and methods (a lazy import is still a dependency, it only runs later), and under
  ``if TYPE_CHECKING:``. A type-only import does not run, but it says that ``a`` knows about
  ``b``'s types; a cycle through one is the same layering knot, so it counts too.
- ``from pkg import name`` is an edge to the module ``pkg.name`` when that is a module, else to
  ``pkg`` (its ``__init__``). Relative imports are resolved.
- importing ``a.b.c`` also runs the ``__init__`` of ``a`` and ``a.b``; those implicit parent
  edges are NOT counted (every module would otherwise depend on ``frozenbench/__init__``).
  Strings handed to ``importlib`` are not imports either.

Running this file as a script prints the figures: ``python tests/test_import_graph.py``.
"""

from __future__ import annotations

import ast
import sys
from collections import deque
from collections.abc import Iterable, Mapping
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "frozenbench"

Graph = dict[str, set[str]]


def module_files(package: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file under ``package``."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imported(name: str, path: Path, modules: Mapping[str, Path]) -> set[str]:
    """The modules of ``modules`` that the source of ``name`` imports anywhere."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = alias.name
                while target and target not in modules:  # `import a.b.c` of a name in a.b
                    target = target.rpartition(".")[0]
                if target:
                    out.add(target)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                if f"{source}.{alias.name}" in modules:
                    out.add(f"{source}.{alias.name}")
                elif source in modules:
                    out.add(source)
    out.discard(name)
    return out


def import_graph(package: Path = PACKAGE) -> Graph:
    """``{module: modules it imports}`` over the package (see the module docstring)."""
    modules = module_files(package)
    return {name: _imported(name, path, modules) for name, path in modules.items()}


def components(graph: Graph) -> Graph:
    """The graph with every top-level subpackage or module of the package as one node (the
    package's own ``__init__`` is the node of the package name): an import from a lower part
    up into a part that imports it is a cycle here even where no module cycle exists."""
    def part(module: str) -> str:
        return ".".join(module.split(".")[:2])

    out: Graph = {part(m): set() for m in graph}
    for a, targets in graph.items():
        out[part(a)] |= {part(b) for b in targets if part(b) != part(a)}
    return out


def strongly_connected(graph: Graph) -> list[list[str]]:
    """The strongly connected components of more than one node, each sorted (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                members = []
                while True:
                    member = stack.pop()
                    members.append(member)
                    if member == node:
                        break
                if len(members) > 1:
                    found.append(sorted(members))
    return sorted(found)


def shortest_cycle(graph: Graph, members: Iterable[str]) -> list[str]:
    """A shortest cycle through the first of ``members`` (one component), as a chain."""
    inside = set(members)
    start = min(inside)
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(graph[node] & inside):
            if child == start:
                chain = [node]
                while chain[-1] != start:
                    chain.append(previous[chain[-1]])
                return [*reversed(chain), start]
            if child not in previous:
                previous[child] = node
                queue.append(child)
    raise ValueError(f"{sorted(inside)} is not a cycle")


def describe_cycles(graph: Graph) -> list[str]:
    """One readable line per cycle: its chain, and every module caught in it."""
    lines = []
    for members in strongly_connected(graph):
        chain = " -> ".join(shortest_cycle(graph, members))
        lines.append(f"{chain}   ({len(members)} in the cycle: {', '.join(members)})")
    return lines


# ---------------------------------------------------------------------- the builder itself
def _write(root: Path, files: Mapping[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root / "pkg"


def test_the_graph_sees_imports_inside_functions_and_type_checking(tmp_path):
    package = _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "def f():\n    from pkg import b\n",
        "pkg/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .c import X\n",
        "pkg/c.py": "import pkg.a\nimport numpy\n",
        "pkg/sub/__init__.py": "from pkg.sub.d import y\n",
        "pkg/sub/d.py": "from .. import c\nfrom pkg.sub import e\n",
        "pkg/sub/e.py": "",
    })
    graph = import_graph(package)
    assert graph == {"pkg": set(), "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.c"}, "pkg.c": {"pkg.a"},
                     "pkg.sub": {"pkg.sub.d"}, "pkg.sub.d": {"pkg.c", "pkg.sub.e"},
                     "pkg.sub.e": set()}
    assert describe_cycles(graph) == [
        "pkg.a -> pkg.b -> pkg.c -> pkg.a   (3 in the cycle: pkg.a, pkg.b, pkg.c)"]
    assert strongly_connected(components(graph)) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_an_upward_import_is_a_cycle_of_components(tmp_path):
    package = _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/low/__init__.py": "", "pkg/low/x.py": "from pkg.high.y import Y\n",
        "pkg/high/__init__.py": "", "pkg/high/y.py": "",
        "pkg/high/z.py": "from pkg.low import x\n",
    })
    graph = import_graph(package)
    assert describe_cycles(graph) == []  # no module cycle...
    assert describe_cycles(components(graph)) == [  # ...but low and high import each other
        "pkg.high -> pkg.low -> pkg.high   (2 in the cycle: pkg.high, pkg.low)"]


# ---------------------------------------------------------------------- frozenbench
def test_frozenbench_has_no_import_cycle():
    cycles = describe_cycles(import_graph())
    assert not cycles, "import cycles in frozenbench:\n" + "\n".join(cycles)


def test_frozenbench_has_no_upward_import():
    """Each subpackage (and top-level module) is one node: no two of them import each other,
    however indirectly (``tasks`` is used by ``generation`` and must not import it)."""
    cycles = describe_cycles(components(import_graph()))
    assert not cycles, "parts of frozenbench that import each other:\n" + "\n".join(cycles)


#: The API edge: where a benchmark *name* becomes a loaded benchmark (``fb.load``,
#: ``fb.simulate``, ``fb.query`` and the CLI). The rest takes a ``Benchmark``.
EDGE = ("frozenbench", "frozenbench.registry", "frozenbench.cli", "frozenbench.__main__")


def _at_edge(module: str) -> bool:
    return any(module == e or module.startswith(e + ".") for e in EDGE[1:]) \
        or module == EDGE[0]


def test_names_are_resolved_at_the_api_edge():
    """``sim``, ``analysis``, ``interop``, the card... take a Benchmark: none of them imports
    the registry (or the package, whose ``load`` is the registry's)."""
    graph = import_graph()
    bad = sorted(f"{a} -> {b}" for a, targets in graph.items() if not _at_edge(a)
                 for b in targets if b in ("frozenbench", "frozenbench.registry"))
    assert not bad, "modules below the API edge that resolve names:\n" + "\n".join(bad)


def test_hub_is_transport_only():
    """The Hub module moves files; rendering the card and publishing live above it."""
    graph = import_graph()
    assert graph["frozenbench.hub"] <= {"frozenbench.errors", "frozenbench.manifest",
                                        "frozenbench.table"}, graph["frozenbench.hub"]


def summary(graph: Graph) -> str:
    """Modules, edges and cycles (module level and between parts), as printed by the script."""
    lines = [f"modules: {len(graph)}", f"edges: {sum(map(len, graph.values()))}"]
    for label, g in (("module cycles", graph), ("cycles between parts", components(graph))):
        cycles = describe_cycles(g)
        lines.append(f"{label}: {len(cycles)}")
        lines += [f"  {c}" for c in cycles]
    return "\n".join(lines)


if __name__ == "__main__":
    print(summary(import_graph(Path(sys.argv[1]) if len(sys.argv) > 1 else PACKAGE)))
