"""The layers in the folders hold: imports point down only (shells → services → stages → domain → platform).

Read from the source with `ast` (nothing is imported), so a violation is found even in a module no other
test loads, and in imports hidden inside functions. docs/ARCHITECTURE.md explains the layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "workstation"

# Rank of each layer: a module may import its own package or any package of a lower rank. Stages of one rank
# (speech and vault) do not import each other: the services layer is where they meet.
RANKS = {
    "platform": 0,
    "domain": 1,
    "translation": 2,
    "speech": 3,
    "vault": 3,
    "evidence": 4,
    "services": 5,
    "cli": 6,
    "ui": 6,
}
# The one sideways edge between the shells: `workstation app` (a CLI command) starts the Streamlit server.
ALLOWED_SIDEWAYS = {("cli", "ui")}
LAZY_MARK = "# lazy:"


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(tree: ast.AST) -> list[tuple[ast.stmt, str, bool]]:
    """(node, imported module, inside a function) for every import of a `workstation` module."""
    found: list[tuple[ast.stmt, str, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            local = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.Import):
                found.extend((child, a.name, in_function) for a in child.names if a.name.startswith("workstation"))
            elif isinstance(child, ast.ImportFrom) and child.module and child.module.startswith("workstation"):
                if child.module == "workstation":  # `from workstation import x`: x is a package or module
                    found.extend((child, f"workstation.{a.name}", in_function) for a in child.names)
                else:
                    found.append((child, child.module, in_function))
            visit(child, local)

    visit(tree, False)
    return found


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _violations() -> tuple[list[str], list[str]]:
    upward, unexplained = [], []
    for path in _sources():
        me = _module_name(path)
        mine = _layer(me)
        lines = path.read_text("utf-8").splitlines()
        for node, target, in_function in _imports(ast.parse(path.read_text("utf-8"))):
            theirs = _layer(target)
            if theirs in ("", "__version__"):
                continue
            where = f"{path.relative_to(PACKAGE.parent)}:{node.lineno} imports {target}"
            if mine and mine != theirs:
                if mine not in RANKS or theirs not in RANKS:
                    upward.append(f"{where} (a package outside the layer map)")
                elif RANKS[theirs] >= RANKS[mine] and (mine, theirs) not in ALLOWED_SIDEWAYS:
                    upward.append(f"{where} ({mine} may not import {theirs})")
            if in_function and LAZY_MARK not in lines[node.lineno - 1]:
                unexplained.append(where)
    return upward, unexplained


def test_every_module_is_in_a_layer() -> None:
    loose = [p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"]
    assert loose == [], f"modules outside every layer folder: {loose}"
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders == set(RANKS), f"layer folders differ from the map: {sorted(folders ^ set(RANKS))}"


def test_imports_point_down_only() -> None:
    upward, _ = _violations()
    assert upward == []


def test_function_local_imports_say_why() -> None:
    """A project import inside a function is there for start-up time or an optional dependency, and says so."""
    _, unexplained = _violations()
    assert unexplained == [], f"function-local imports without a '{LAZY_MARK} reason' comment"


@pytest.mark.parametrize("source, expected", [
    ("from workstation.services import intake\n", ["workstation.services"]),
    ("from workstation import ui\n", ["workstation.ui"]),
    ("def f():\n    import workstation.cli.main\n", ["workstation.cli.main"]),
])
def test_the_checker_sees_every_import_form(source: str, expected: list[str]) -> None:
    # the checker itself must not miss a form of import (else the direction tests could never fail)
    assert [target for _node, target, _local in _imports(ast.parse(source))] == expected
