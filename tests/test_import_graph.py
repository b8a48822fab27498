"""No import circles: the import graph of paistats, zoo_builder and analysis is acyclic.

The graph is read from the source with :mod:`ast` (nothing is imported): an edge A → B for every
``import B`` / ``from B import x`` in module A, at module level AND inside functions or classes
(a function-level import is a dependency too, only a later one), resolved to the module it names
(``from pkg import mod`` names ``pkg.mod`` when that is a module of the project, else ``pkg``).
Also edges of the lazy attributes of a package (PEP 562 ``_WHERE`` / ``_SUBMODULES`` maps, see
:mod:`paistats._lazy`): ``from paistats import load`` runs ``paistats.zoo``. Not counted: imports
under ``if TYPE_CHECKING:`` (never run), and the implicit import of a parent package that every
submodule import performs (a package and its own submodules would otherwise always form a circle).

Granularity: modules (``python -m zoo_builder``, ``python -m paistats`` and ``analysis`` included):
no module reaches itself. Packages are held to less: ``zoo_builder`` and ``analysis`` build on
``paistats``, and ``paistats`` imports the builder in one place only, ``paistats.checkpoint`` →
``zoo_builder.models`` inside ``to_model`` (a torch model needs the builder's definitions), which
:func:`test_paistats_reaches_the_builder_only_for_to_model` pins.
"""
from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("paistats", "zoo_builder", "analysis")
#: Names of the maps that a package's PEP 562 ``__getattr__`` imports its submodules from.
LAZY_MAPS = ("_WHERE", "_SUBMODULES")


def module_files(root: Path = ROOT, packages: Iterable[str] = PACKAGES) -> dict[str, Path]:
    """Dotted module name → source file, for every ``.py`` file of ``packages`` under ``root``."""
    out = {}
    for pkg in packages:
        for f in sorted((root / pkg).rglob("*.py")):
            parts = f.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = f
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _statements(tree: ast.AST):
    """Every import statement of ``tree`` (any depth) except those under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _lazy_targets(tree: ast.Module, package: str) -> set[str]:
    """Submodules named by a package's lazy-attribute maps (``_WHERE = {"load": "zoo", ...}``)."""
    out = set()
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in LAZY_MAPS
                                                     for t in node.targets)):
            continue
        value = node.value
        names = value.values if isinstance(value, ast.Dict) else getattr(value, "elts", [])
        out |= {f"{package}.{n.value}" for n in names if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    return out


def _resolve(name: str, modules: dict) -> str | None:
    """The project module ``name`` is, or the nearest enclosing one (None: not the project's)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str, source: str, modules: dict) -> set[str]:
    """Project modules that ``module`` (whose code is ``source``) imports, anywhere in its code."""
    tree = ast.parse(source)
    is_pkg = modules[module].name == "__init__.py"
    package = module if is_pkg else module.rpartition(".")[0]
    out = set()
    for node in _statements(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from pkg import mod`` imports the submodule; ``from mod import name`` the module
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        out |= {m for m in (_resolve(t, modules) for t in targets) if m}
    if is_pkg:
        out |= {m for m in (_resolve(t, modules) for t in _lazy_targets(tree, module)) if m}
    out.discard(module)
    return out


def import_graph(root: Path = ROOT, packages: Iterable[str] = PACKAGES) -> dict[str, set[str]]:
    """Module → the project modules it imports (see the module docstring for what counts)."""
    modules = module_files(root, packages)
    return {m: imports_of(m, f.read_text(encoding="utf-8"), modules) for m, f in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of ``graph`` with more than one node (Tarjan), each
    sorted; a graph without circles gives ``[]``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    x = stack.pop()
                    on_stack.discard(x)
                    comp.append(x)
                    if x == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return sorted(out)


def a_circle(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """One circle through the first module of ``component``: ``[a, b, ..., a]`` (for the message)."""
    members = set(component)
    start = component[0]
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for node in frontier:
            for child in sorted(graph[node] & members):
                if child == start:
                    return paths[node] + [start]
                if child not in paths:
                    paths[child] = paths[node] + [child]
                    nxt.append(child)
        frontier = nxt
    return component


def describe(graph: dict[str, set[str]]) -> str:
    """One line per circle of ``graph`` (empty when there is none)."""
    return "\n".join(f"{len(c)} modules: {' -> '.join(a_circle(graph, c))}" for c in cycles(graph))


def test_the_project_has_no_import_circle():
    graph = import_graph()
    assert len(graph) > 100 and graph["paistats.store.manifest"], "the walker found too little: check ROOT"
    found = describe(graph)
    assert not found, f"import circles (break them: move the shared part down a layer):\n{found}"


def test_the_store_does_not_import_the_statistics():
    """The store only stores: nothing under paistats.store reaches paistats.stats (any depth)."""
    graph = import_graph()
    reach, todo = set(), [m for m in graph if m.startswith("paistats.store")]
    while todo:
        m = todo.pop()
        for n in graph[m] - reach:
            reach.add(n)
            todo.append(n)
    assert not {m for m in reach if m.startswith("paistats.stats")}, sorted(reach)


def test_paistats_reaches_the_builder_only_for_to_model():
    """Package level: zoo_builder and analysis build on paistats; paistats imports the builder in one
    place only, ``to_model`` (torch models need the builder's model definitions)."""
    graph = import_graph()
    up = sorted((m, t) for m, ts in graph.items() if m.split(".")[0] == "paistats"
                for t in ts if t.split(".")[0] != "paistats")
    assert up == [("paistats.checkpoint", "zoo_builder.models")], up
    assert not [(m, t) for m, ts in graph.items() if m.split(".")[0] == "zoo_builder" for t in ts
                if t.startswith("analysis")]


@pytest.mark.parametrize("source, expected", [
    ("import paistats.store.layout", {"paistats.store.layout"}),
    ("from paistats.store import layout, durable", {"paistats.store.layout", "paistats.store.durable"}),
    ("from paistats.store.layout import GRID_DIMS", {"paistats.store.layout"}),
    ("from . import layout", {"paistats.store.layout"}),
    ("from .layout import GRID_DIMS", {"paistats.store.layout"}),
    ("def f():\n    from paistats.stats import write_derived", {"paistats.stats"}),
    ("class C:\n    def f(self):\n        import paistats.stats.derived", {"paistats.stats.derived"}),
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import paistats.stats", set()),
    ("import numpy, os.path", set()),
])
def test_imports_are_read_at_every_depth(source, expected):
    modules = {m: Path(m.replace(".", "/") + ".py") for m in (
        "paistats.store.manifest", "paistats.store.layout", "paistats.store.durable", "paistats.stats",
        "paistats.stats.derived")}
    modules["paistats.stats"] = Path("paistats/stats/__init__.py")
    assert imports_of("paistats.store.manifest", source, modules) == expected


def test_lazy_attributes_are_edges():
    modules = {"pkg": Path("pkg/__init__.py"), "pkg.zoo": Path("pkg/zoo.py"), "pkg.views": Path("pkg/views.py")}
    source = '_WHERE = {"load": "zoo"}\n_SUBMODULES = ("views",)'
    assert imports_of("pkg", source, modules) == {"pkg.zoo", "pkg.views"}


def test_circles_are_found_and_printed():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}, "f": {"g"}, "g": {"f"}}
    assert cycles(graph) == [["a", "b", "c"], ["f", "g"]]
    assert describe(graph).splitlines() == ["3 modules: a -> b -> c -> a", "2 modules: f -> g -> f"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
