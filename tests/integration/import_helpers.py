"""Serving the API with statement imports wired: an edge (query + command app) whose
import tasks go through the Cloud Tasks emulator to a command service's internal
endpoint, and whose uploads go to an object store directory shared by the instances."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from shared.local.devstack import free_port
from shared.settings import Settings
from tests.harness import ServedApp
from tests.integration.helpers import Provisioned
from valorize.edge import MethodSplit

PROCESS_PATH = "/internal/imports/process"


@dataclasses.dataclass(frozen=True)
class ImportStack:
    edge: ServedApp
    store: Path
    spool: Path
    settings: Settings

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.edge.url, headers={"Accept": "application/json"}, timeout=60
        )


def import_settings(base: Settings, root: Path, name: str, task_port: int) -> Settings:
    spool = root / f"spool-{name}"
    spool.mkdir(parents=True, exist_ok=True)
    return dataclasses.replace(
        base,
        import_store_url=f"file://{root / 'store'}",
        import_spool_dir=spool,
        import_task_url=f"http://127.0.0.1:{task_port}{PROCESS_PATH}",
    )


@contextlib.contextmanager
def serve_imports(
    base: Settings,
    root: Path,
    name: str,
    *,
    task_port: int | None = None,
    send_tasks: bool = True,
) -> Iterator[ImportStack]:
    """An edge on a port of its own; tasks go to ``task_port`` (itself by default).
    ``send_tasks`` False: uploads are stored and started, and their tasks never sent (as
    when the enqueue fails after the commit); ``settings`` still names the endpoint."""
    from command_service.app import create_app as command_app
    from query_service.app import create_app as query_app

    port = free_port()
    settings = import_settings(base, root, name, task_port or port)
    served = settings if send_tasks else dataclasses.replace(settings, import_task_url="")
    edge = ServedApp(MethodSplit(query_app(served), command_app(served)), port=port).start()
    try:
        yield ImportStack(edge, root / "store", settings.import_spool_dir or root, settings)
    finally:
        edge.stop()


def upload(
    api: httpx.Client,
    user: Provisioned,
    *files: tuple[str, bytes],
    account_id: str | None = None,
) -> httpx.Response:
    data = {} if account_id is None else {"account_id": account_id}
    parts = [("files[]", (name, content, "application/octet-stream")) for name, content in files]
    return api.post("/api/imports", headers=user.headers, files=parts, data=data)


def started(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 202, (response.status_code, response.text)
    imports: list[dict[str, Any]] = response.json()["imports"]
    return imports


def finished(
    api: httpx.Client, user: Provisioned, import_id: str, timeout: float = 60
) -> dict[str, Any]:
    """The import once it is no longer processing (read from the query side)."""
    deadline = time.monotonic() + timeout
    while True:
        response = api.get(f"/api/imports/{import_id}", headers=user.headers)
        if response.status_code == 200 and response.json()["status"] != "processing":
            body: dict[str, Any] = response.json()
            return body
        assert time.monotonic() < deadline, (response.status_code, response.text)
        time.sleep(0.1)


def rows_of(api: httpx.Client, user: Provisioned, import_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/api/imports/{import_id}/transactions", headers=user.headers)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["data"]
    return rows
