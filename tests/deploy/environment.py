"""Which environment variables each process reads, found in the code.

``shared/settings.py`` is the only reader of ``os.environ``: its ``settings_from`` names
the variable(s) behind each ``Settings`` field. A process reads a field when one of its
modules, or a module they import (the import graph, by grimp, as import-linter builds
it), reads an attribute of that name. The serving CLI (``valorize/cli.py``,
``valorize/serving.py``) runs in every process, so its reads count for all.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import re
from functools import cache
from pathlib import Path

import grimp

from shared import settings as settings_module
from shared.settings import Settings

ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]{2,}")
PACKAGES = ("shared", "command_service", "query_service", "projection_worker", "ws_gateway")
# Where each deployed process starts; the CLI modules run in all of them.
ENTRIES = {
    "command": ["command_service"],
    "query": ["query_service"],
    "worker": ["projection_worker"],
    "gateway": ["ws_gateway"],
    "migrate": ["shared.adapters.migrate"],
}
# The CLI's functions each process runs: `serve` for the services, `migrate` for the job.
SERVE = {"valorize/cli.py": ("main", "_serve"), "valorize/serving.py": None}
MIGRATE = {"valorize/cli.py": ("main", "_migrate")}
# Local tooling only, never in production: the emulators' addresses (set, they would
# point a deployed service at an emulator) and `make up`'s state directory.
# The local edge's /ws upstream: the load balancer routes /ws in production.
LOCAL_ONLY = frozenset(
    {"CLOUD_TASKS_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST", "VALORIZE_DATA_DIR", "EDGE_WS_UPSTREAM"}
)


def _names(expr: ast.AST, local: dict[str, ast.expr]) -> list[str]:
    found: list[str] = []
    for node in ast.walk(expr):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if ENV_NAME.fullmatch(node.value):
                found.append(node.value)
        elif isinstance(node, ast.Name) and node.id in local:
            found += _names(local[node.id], local)
    return found


@cache
def env_by_field() -> dict[str, tuple[str, ...]]:
    """Settings field -> the environment variables ``settings_from`` reads for it."""
    tree = ast.parse(Path(settings_module.__file__).read_text())
    function = next(
        n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "settings_from"
    )
    local = {
        target.id: node.value
        for node in function.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    call = next(
        n
        for n in ast.walk(function)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "Settings"
    )
    return {kw.arg: tuple(_names(kw.value, local)) for kw in call.keywords if kw.arg}


def _attributes(path: Path, functions: tuple[str, ...] | None = None) -> set[str]:
    """Attribute names read in a file (or only in the named functions of it)."""
    tree: ast.AST = ast.parse(path.read_text())
    parts = [tree]
    if functions is not None:
        parts = [
            n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name in functions
        ]
    return {n.attr for part in parts for n in ast.walk(part) if isinstance(n, ast.Attribute)}


def _file(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    assert spec is not None, module
    assert spec.origin is not None, module
    return Path(spec.origin)


@cache
def _graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def modules_of(entry: str) -> set[str]:
    graph = _graph()
    inside = {entry, *graph.find_descendants(entry)} if "." not in entry else {entry}
    upstream = {m for m in inside for m in graph.find_upstream_modules(m)}
    return {m for m in inside | upstream if m.split(".")[0] in PACKAGES}


def fields_read(process: str) -> set[str]:
    names = {f.name for f in dataclasses.fields(Settings)}
    read = {attr for e in ENTRIES[process] for m in modules_of(e) for attr in _attributes(_file(m))}
    root = Path(__file__).resolve().parents[2]
    for path, functions in (MIGRATE if process == "migrate" else SERVE).items():
        read |= _attributes(root / path, functions)
    return read & names


def env_read(process: str) -> set[str]:
    """Every environment variable the process's code reads (through Settings)."""
    by_field = env_by_field()
    return {name for field in fields_read(process) for name in by_field[field]}
