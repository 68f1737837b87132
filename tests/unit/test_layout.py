"""What import-linter cannot see: ``shared`` names no service by import string either
(``importlib.import_module("query_service.app")``, ``"command_service.app:create_app"``).
Only ``valorize``, the composition root, may."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# (``valorize`` itself is also the application's name in keys and channels; an import of
# it from ``shared`` is import-linter's to catch.)
SERVICES = ("command_service", "query_service", "projection_worker", "ws_gateway")
IMPORT_STRING = re.compile(rf"^({'|'.join(SERVICES)})([.:][A-Za-z_][\w.:]*)?$")


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string nodes that are docstrings (prose may name a service)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def import_strings(source: str) -> list[str]:
    """The string constants of ``source`` that read as a service's import path."""
    tree = ast.parse(source)
    prose = _docstrings(tree)
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in prose
        and IMPORT_STRING.match(node.value)
    ]


def test_the_check_finds_import_strings() -> None:
    source = '"""Reads query_service.app docs."""\nFACTORY = "query_service.app:create_app"\n'
    assert import_strings(source) == ["query_service.app:create_app"]
    assert import_strings('x = "ws_gateway"\ny = "a query_service.app"\n') == ["ws_gateway"]


def test_shared_names_no_service_by_import_string() -> None:
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in sorted((ROOT / "shared").rglob("*.py"))
        if (found := import_strings(path.read_text()))
    }
    assert offenders == {}
