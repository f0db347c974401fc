"""Imports point one way (DESIGN.md): builder -> compile -> runtime, ``flow`` on top.

Each module has a rank; it may import (at run time) only routilux modules of a lower rank.
Imports inside functions and imports of another module's private names are refused. Imports
under ``if TYPE_CHECKING:`` are annotations only and are exempt from the rank rule.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "routilux"

RANKS = {
    "errors": 0,
    "checks": 0,
    "stats": 0,
    "error_handler": 1,
    "output": 0,
    "execution_tracker": 0,
    "merge": 1,
    "binding": 1,
    "event": 2,
    "slot": 2,
    "connection": 2,
    "job_state": 2,
    "runtime": 2,
    "compile": 2,
    "runtime.context": 1,
    "runtime.executors": 4,
    "runtime.timers": 3,
    "routine": 4,
    "serialization": 1,
    "registry": 5,
    "flow_codec": 6,
    "compile.graph": 5,
    "compile.validate": 6,
    "compile.render": 6,
    "compile.plan": 7,
    "runtime.scheduler": 8,
    "flow": 9,
    "cli": 10,
    "__main__": 11,
    "": 10,  # the package __init__: public re-exports only
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def runtime_imports(tree: ast.Module) -> list[tuple[str, list[str], int]]:
    """(module, imported names, line) of every routilux import outside TYPE_CHECKING blocks."""
    found: list[tuple[str, list[str], int]] = []

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("routilux"):
                module = node.module or ""
                found.append((module, [a.name for a in node.names], node.lineno))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("routilux"):
                        found.append((alias.name, [], node.lineno))
            elif isinstance(node, ast.If | ast.Try):
                visit(node.body)

    visit(tree.body)
    return found


MODULES = sorted(SRC.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p) or "__init__")
def test_imports_point_one_way(path: Path) -> None:
    name = module_name(path)
    assert name in RANKS, f"classify new module {name!r} in RANKS (see DESIGN.md layering)"
    tree = ast.parse(path.read_text(), filename=str(path))
    for module, names, line in runtime_imports(tree):
        target = module.removeprefix("routilux").removeprefix(".")
        for imported in names or [""]:
            # "from routilux.runtime import context" imports the submodule runtime.context.
            candidate = f"{target}.{imported}".strip(".")
            resolved = candidate if candidate in RANKS else target
            assert RANKS[resolved] < RANKS[name], (
                f"{path.name}:{line}: {name or '__init__'} (rank {RANKS[name]}) imports "
                f"{resolved} (rank {RANKS[resolved]}); imports must point down the layers"
            )
            assert not imported.startswith("_"), f"{path.name}:{line} imports private {imported}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p) or "__init__")
def test_no_imports_inside_functions(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(function):
                assert not isinstance(node, ast.Import | ast.ImportFrom), (
                    f"{path.name}:{node.lineno}: import inside {function.name}()"
                )
