"""The package's layers, read from the source: imports go only downward, nothing imports in a
cycle, and no import hides inside a function (the one place the layer order is written down)."""

from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "pyclrbridge"

#: The layers, lowest first. A module may import its own layer and the layers before it.
#: Subpackages are layers; the modules directly in ``pyclrbridge/`` are the public API layer.
LAYERS = ("host", "values", "proxies", "callbacks", "api", "cli")


def _module_name(path: pathlib.Path) -> str:
    parts = ["pyclrbridge", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, pathlib.Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


MODULES = _modules()


#: ``python -m pyclrbridge`` runs ``__main__``: the command line's entry point, in its layer.
ENTRY_POINTS = {"pyclrbridge.__main__": "cli"}


def layer_of(module: str) -> str:
    if module in ENTRY_POINTS:
        return ENTRY_POINTS[module]
    parts = module.split(".")
    if len(parts) > 2 and parts[1] in LAYERS:
        return parts[1]
    if len(parts) == 2 and parts[1] in LAYERS:
        return parts[1]  # the layer package itself
    return "api"


class Import:
    def __init__(self, source: str, target: str, line: int, local: bool) -> None:
        self.source, self.target, self.line, self.local = source, target, line, local

    def __repr__(self) -> str:
        return f"{self.source}:{self.line} imports {self.target}"


def _resolve(module: str, path: pathlib.Path, node: ast.ImportFrom) -> str:
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    if not node.level:
        return node.module or ""
    base = package.split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports_of(module: str, path: pathlib.Path) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[Import] = []

    def visit(node: ast.AST, local: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = local or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                inner = True  # an import only a type checker runs still ties the modules together
            if isinstance(child, ast.ImportFrom):
                target = _resolve(module, path, child)
                if target == "pyclrbridge" or target.startswith("pyclrbridge."):
                    for alias in child.names:
                        sub = f"{target}.{alias.name}"
                        found.append(Import(module, sub if sub in MODULES else target, child.lineno, inner))
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name == "pyclrbridge" or alias.name.startswith("pyclrbridge."):
                        found.append(Import(module, alias.name, child.lineno, inner))
            visit(child, inner)

    visit(tree, False)
    return found


IMPORTS = [imp for name, path in MODULES.items() for imp in _imports_of(name, path)]


def test_the_tree_has_one_subpackage_per_layer() -> None:
    for layer in LAYERS:
        if layer != "api":
            assert (PACKAGE / layer / "__init__.py").is_file(), f"pyclrbridge/{layer}/ is missing"
    assert len(MODULES) > 30  # the scan found the package


def test_no_import_goes_up_a_layer() -> None:
    upward = [imp for imp in IMPORTS if LAYERS.index(layer_of(imp.target)) > LAYERS.index(layer_of(imp.source))]
    assert upward == []


def test_no_import_hides_inside_a_function() -> None:
    assert [imp for imp in IMPORTS if imp.local] == []


def test_no_import_cycles() -> None:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for imp in IMPORTS:
        if imp.target in graph and imp.target != imp.source:
            graph[imp.source].add(imp.target)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []

    def walk(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                walk(nxt, [*path, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name, [name])
    assert cycles == []


@pytest.mark.parametrize("layer", [layer for layer in LAYERS if layer != "api"])
def test_every_layer_package_says_what_it_holds(layer: str) -> None:
    doc = ast.get_docstring(ast.parse((PACKAGE / layer / "__init__.py").read_text(encoding="utf-8")))
    assert doc, f"pyclrbridge/{layer}/__init__.py needs a docstring saying what the layer holds"


def test_the_scan_sees_a_known_upward_import() -> None:
    # The checker itself: an import from values up to proxies is classified as upward.
    assert LAYERS.index(layer_of("pyclrbridge.proxies.base")) > LAYERS.index(layer_of("pyclrbridge.values.convert"))
    assert layer_of("pyclrbridge.testing") == "api" and layer_of("pyclrbridge.cli.main") == "cli"
