"""The house rules that hold the layout together: import directions, no cycles, small files."""

from __future__ import annotations

import ast
import gc
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "api", "workers", "cache", "loadtest")
MAX_MODULE_LINES = 300
MAX_VIEW_LINES = 25
ROUTE_DECORATORS = {"get", "post", "put", "delete", "patch", "route"}


def test_import_contracts_hold():
    """pyproject.toml's [tool.importlinter] contracts: directions between packages, independent blueprints."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache", "--no-logo"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:]


def test_no_import_cycle_between_modules():
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False)
    cycles = []
    for importer in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(importer):
            chain = graph.find_shortest_chain(importer=imported, imported=importer)
            if chain is not None:
                cycles.append(" -> ".join((importer, *chain)))
    assert cycles == []


def test_app_keeps_its_modules_in_subpackages():
    """app/ groups its modules by concern (settings/, jobs/, engine/ ...): a handful stand beside the subpackages."""
    top = sorted(path.name for path in (ROOT / "app").glob("*.py") if path.name != "__init__.py")
    assert len(top) <= 6, top


def _python_files():
    for package in PACKAGES:
        yield from (ROOT / package).rglob("*.py")


def test_no_module_over_300_lines():
    long = {str(path.relative_to(ROOT)): n for path in _python_files() if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES}
    assert long == {}


def test_views_are_thin():
    """A view parses, calls one service and shapes the reply: a screenful at most."""
    long = []
    for path in (ROOT / "api").glob("*.py"):
        for node in ast.walk(parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and any(_is_route(d) for d in node.decorator_list):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_VIEW_LINES:
                    long.append(f"{path.name}:{node.name} ({length} lines)")
    assert long == []


def parse(source: str) -> ast.Module:
    """``ast.parse`` with the garbage collector held off: CPython 3.11 raises "AST constructor recursion depth
    mismatch" when a finalizer runs Python code in the middle of the tree's conversion (gh-106905), which a
    full suite's leftover objects (engines, sockets) made happen once here."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return ast.parse(source)
    finally:
        if enabled:
            gc.enable()


def _is_route(decorator: ast.expr) -> bool:
    return isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute) and decorator.func.attr in ROUTE_DECORATORS
