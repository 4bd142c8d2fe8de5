"""The layers in the folders hold: imports point down only (shells → services → stages → domain → platform).

Read from the source with `ast` (nothing is imported), so a violation is found even in a module no other
test loads, and in imports hidden inside functions. docs/ARCHITECTURE.md explains the layers.

An import under `if TYPE_CHECKING:` never runs: it names a type for annotations (vault's `store_processing_result`
takes a `speech.pipeline.PipelineResult`, and vault and speech are one rank), so it is exempt from the direction
rule and needs no lazy reason. Only that exact guard counts; `if not TYPE_CHECKING:` or an `else:` runs.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import NamedTuple

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


class Found(NamedTuple):
    node: ast.stmt
    target: str  # the imported module
    local: bool  # inside a function
    type_only: bool  # under `if TYPE_CHECKING:`: never runs


def _is_type_checking_guard(node: ast.AST) -> bool:
    """`if TYPE_CHECKING:` or `if typing.TYPE_CHECKING:` (nothing else)."""
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING" and isinstance(test.value, ast.Name)
        and test.value.id == "typing"
    )


def _imports(tree: ast.AST) -> list[Found]:
    """Every import of a `workstation` module, where it sits (function, TYPE_CHECKING block)."""
    found: list[Found] = []

    def add(node: ast.stmt, in_function: bool, type_only: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend(Found(node, a.name, in_function, type_only) for a in node.names
                         if a.name.startswith("workstation"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("workstation"):
            if node.module == "workstation":  # `from workstation import x`: x is a package or module
                found.extend(Found(node, f"workstation.{a.name}", in_function, type_only) for a in node.names)
            else:
                found.append(Found(node, node.module, in_function, type_only))

    def visit(node: ast.AST, in_function: bool, type_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            local = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.stmt):
                add(child, in_function, type_only)
            if _is_type_checking_guard(child):
                assert isinstance(child, ast.If)
                for stmt in child.body:  # the guarded branch only: `else:` runs
                    add(stmt, local, True)
                    visit(stmt, local, True)
                for stmt in child.orelse:
                    add(stmt, local, type_only)
                    visit(stmt, local, type_only)
            else:
                visit(child, local, type_only)

    visit(tree, False, False)
    return found


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _violations() -> tuple[list[str], list[str]]:
    upward, unexplained = [], []
    for path in _sources():
        me = _module_name(path)
        mine = _layer(me)
        rel = path.relative_to(PACKAGE.parent).as_posix()
        lines = path.read_text("utf-8").splitlines()
        for node, target, in_function, type_only in _imports(ast.parse(path.read_text("utf-8"))):
            theirs = _layer(target)
            if theirs in ("", "__version__"):
                continue
            where = f"{rel}:{node.lineno} imports {target}"
            if mine and mine != theirs:
                if mine not in RANKS or theirs not in RANKS:
                    upward.append(f"{where} (a package outside the layer map)")
                elif (RANKS[theirs] >= RANKS[mine] and (mine, theirs) not in ALLOWED_SIDEWAYS and not type_only):
                    upward.append(f"{where} ({mine} may not import {theirs})")
            if in_function and not type_only and LAZY_MARK not in lines[node.lineno - 1]:
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
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from workstation.speech.pipeline import PipelineResult\n",
     ["workstation.speech.pipeline"]),
    ("if x:\n    if y:\n        import workstation.ui.app\n", ["workstation.ui.app"]),
])
def test_the_checker_sees_every_import_form(source: str, expected: list[str]) -> None:
    # the checker itself must not miss a form of import (else the direction tests could never fail)
    assert [f.target for f in _imports(ast.parse(source))] == expected


@pytest.mark.parametrize("source, type_only", [
    ("if TYPE_CHECKING:\n    from workstation.speech import pipeline\n", [True]),
    ("import typing\nif typing.TYPE_CHECKING:\n    import workstation.speech.pipeline\n", [True]),
    ("if TYPE_CHECKING:\n    pass\nelse:\n    from workstation.speech import pipeline\n", [False]),
    ("if not TYPE_CHECKING:\n    from workstation.speech import pipeline\n", [False]),
    ("if TYPE_CHECKING or DEBUG:\n    from workstation.speech import pipeline\n", [False]),
    ("from workstation.speech import pipeline\n", [False]),
])
def test_only_a_type_checking_block_is_exempt(source: str, type_only: list[bool]) -> None:
    """The exemption covers the guarded branch of `if TYPE_CHECKING:` and nothing that runs."""
    assert [f.type_only for f in _imports(ast.parse(source))] == type_only


def test_a_type_checking_import_upward_is_allowed_and_a_runtime_one_is_not() -> None:
    vault_file = PACKAGE / "vault" / "session.py"
    found = [f for f in _imports(ast.parse(vault_file.read_text("utf-8"))) if _layer(f.target) == "speech"]
    assert found and all(f.type_only for f in found)  # the vault names PipelineResult for its types only
    runtime = _imports(ast.parse("from workstation.speech.pipeline import PipelineResult\n"))
    assert [f.type_only for f in runtime] == [False]
