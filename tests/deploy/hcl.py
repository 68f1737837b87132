"""Terraform read as data (python-hcl2), in a shape the structural tests can assert on.

python-hcl2 keeps HCL's spelling: a literal string is ``'"abc"'`` and an expression is
``'${var.x}'``. ``plain`` strips the quotes of literals (so ``'"${var.name}-pg"'`` reads
``'${var.name}-pg'``), drops the parser's markers, and leaves expressions as they are:
the tests compare what the code says, they do not evaluate Terraform.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2

REPO = Path(__file__).resolve().parents[2]
TERRAFORM = REPO / "infra" / "terraform"
MARKERS = frozenset({"__is_block__", "__comments__", "__inline_comments__"})


def plain(value: Any) -> Any:
    if isinstance(value, str):
        if len(value) >= 2 and value[0] == value[-1] == '"':
            return value[1:-1]
        return value
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items() if k not in MARKERS}
    return value


@dataclass
class Module:
    """The blocks of one Terraform module (a directory), merged across its files."""

    path: Path
    resources: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    moved: list[dict[str, Any]] = field(default_factory=list)

    def resource(self, kind: str, name: str) -> dict[str, Any]:
        return self.resources[kind][name]

    def child(self, name: str) -> Module:
        """The module a ``module "name"`` block calls (a local path)."""
        return load_module(self.path / self.modules[name]["source"])

    def text(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.path.glob("*.tf")))


def load_module(path: Path) -> Module:
    found = Module(path.resolve())
    for tf in sorted(path.glob("*.tf")):
        with tf.open() as handle:
            parsed = plain(hcl2.load(handle))
        for entry in parsed.get("resource", []):
            for kind, named in entry.items():
                found.resources.setdefault(kind, {}).update(named)
        for entry in parsed.get("module", []):
            found.modules.update(entry)
        for entry in parsed.get("locals", []):
            found.locals.update(entry)
        for entry in parsed.get("variable", []):
            found.variables.update(entry)
        for entry in parsed.get("output", []):
            found.outputs.update(entry)
        found.moved += parsed.get("moved", [])
    return found


def blocks(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """Nested blocks called ``name``: the written ones, then each ``dynamic "name"``'s
    content with its ``for_each`` beside it."""
    found: list[dict[str, Any]] = list(body.get(name, []))
    for dynamic in body.get("dynamic", []):
        if name in dynamic:
            for content in dynamic[name]["content"]:
                found.append({**content, "for_each": dynamic[name]["for_each"]})
    return found


def default(module: Module, variable: str) -> Any:
    return module.variables[variable]["default"]


def same(expression: Any, written: str) -> bool:
    """Whether an expression is the one written (python-hcl2 re-spaces expressions)."""
    return isinstance(expression, str) and re.sub(r"\s+", "", expression) == re.sub(
        r"\s+", "", written
    )
