"""Cloud Tasks that process statement imports (the ``ImportTasks`` port).

One HTTP task per import, POSTing ``{"import_id": ...}`` to ``IMPORT_TASK_URL`` (the
command service's internal endpoint). Unlike wake-ups these are not hints: an upload
whose task cannot be created says so (503), and a retried upload creates it again.
Delivery is at-least-once; processing is idempotent (see ``shared.domain.imports``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

import orjson

from shared.adapters.wakeup import _close_client, _make_client, queue_path
from shared.settings import Settings

if TYPE_CHECKING:
    from google.cloud.tasks_v2 import CloudTasksClient


def import_task_body(import_id: UUID) -> bytes:
    return orjson.dumps({"import_id": str(import_id)})


class CloudTasksImports:
    def __init__(self, settings: Settings) -> None:
        from google.cloud import tasks_v2

        self._parent = queue_path(
            settings.tasks_project, settings.tasks_location, settings.import_tasks_queue
        )
        self._url = settings.import_task_url
        account = settings.tasks_service_account
        self._oidc = tasks_v2.OidcToken(service_account_email=account) if account else None
        self._client: CloudTasksClient = _make_client(settings.tasks_emulator_host or None)

    def enqueue(self, import_id: UUID) -> None:
        from google.cloud import tasks_v2

        request = tasks_v2.HttpRequest(
            http_method=tasks_v2.HttpMethod.POST,
            url=self._url,
            headers={"Content-Type": "application/json"},
            body=import_task_body(import_id),
        )
        if self._oidc is not None:
            request.oidc_token = self._oidc
        # Unnamed: a named task would refuse the re-creation a retried upload asks for.
        self._client.create_task(
            parent=self._parent, task=tasks_v2.Task(http_request=request), timeout=10.0
        )

    def close(self) -> None:
        _close_client(self._client)


class NoImportTasks:
    """``IMPORT_TASK_URL`` unset: imports are accepted and stay ``processing`` until a
    task is sent by hand (``POST`` the body above to the internal endpoint)."""

    def enqueue(self, import_id: UUID) -> None:
        del import_id

    def close(self) -> None:
        return None


def import_tasks_from(settings: Settings) -> CloudTasksImports | NoImportTasks:
    return CloudTasksImports(settings) if settings.import_task_url else NoImportTasks()
