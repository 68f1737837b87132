"""Endpoints of statement imports and notifications (writes), in the shape of
``endpoints``: parse, authenticate, call one handler, shape.

``POST /internal/imports/process`` is what the Cloud Tasks task calls. It takes no
caller: it only runs an import that an authenticated upload started, and running one
twice changes nothing (see ``shared.domain.imports``), so reaching it costs a caller
nothing but CPU; in production it is also only routed from the task queue's identity
(``infra/terraform``).
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from command_service import import_schemas
from command_service.commands import (
    MarkAllNotificationsRead,
    MarkNotificationRead,
    ProcessImport,
    ResolveConflict,
    StartImports,
)
from command_service.endpoints import _caller, _payload, _run, _side
from command_service.handlers.imports import NotScheduledError
from shared.adapters.http import POSITION_HEADER, BadRequestError, JSONResponse, path_uuid
from shared.domain.errors import Model, NotFoundError
from shared.domain.ids import parse_uuid
from shared.import_views import import_json, notification_json

UPLOADED = "Arquivos importados com sucesso"  # the original's message
RETRY = {"Retry-After": "5"}


async def start_imports(request: Request) -> Response:
    side, user = await _caller(request)  # 401 before anything is read
    form = await import_schemas.upload_form(request, side.import_max_bytes)
    try:
        uploads, account_id = import_schemas.check_files(*import_schemas.form_fields(form))
        loop = asyncio.get_running_loop()
        statements = []
        for index, upload in enumerate(uploads):
            sha256, size = await loop.run_in_executor(
                side.executor, import_schemas.digest, upload.file
            )
            statements.append(
                import_schemas.uploaded(upload, sha256, size, side.import_max_bytes, index)
            )
        command = StartImports(user, account_id, tuple(statements))
        try:
            started = await _run(side, side.imports.start, command)
        except NotScheduledError:
            message = "The files were saved but could not be scheduled: retry the upload."
            return JSONResponse({"message": message}, status_code=503, headers=RETRY)
    finally:
        await form.close()
    body = {"message": UPLOADED, "imports": [import_json(i) for i in started.imports]}
    return JSONResponse(body, status_code=202, headers={POSITION_HEADER: str(started.position)})


async def process_import(request: Request) -> Response:
    payload = await _payload(request)
    if isinstance(payload, BadRequestError):
        raise payload
    raw = payload.get("import_id")
    import_id = parse_uuid(raw) if isinstance(raw, str) else None
    if import_id is None:
        raise BadRequestError(400, "The task body must name an import_id (a UUID).")
    side = _side(request)
    done = await _run(side, side.imports.process, ProcessImport(import_id))
    # An unknown import is answered 200 too: a task that can never succeed must not be
    # retried for days.
    return JSONResponse({"import": None if done is None else import_json(done)})


async def resolve_conflict(request: Request) -> Response:
    payload = await _payload(request)
    side, user = await _caller(request)
    import_id = path_uuid(request, Model.IMPORT)
    row_id = parse_uuid(request.path_params["row"])
    if row_id is None:
        raise NotFoundError(Model.IMPORT_TRANSACTION, request.path_params["row"])
    command = ResolveConflict(user, import_id, row_id, import_schemas.resolution(payload))
    written = await _run(side, side.imports.resolve, command)
    return JSONResponse(
        import_json(written.resource), headers={POSITION_HEADER: str(written.position)}
    )


async def mark_notification_read(request: Request) -> Response:
    side, user = await _caller(request)
    command = MarkNotificationRead(user, path_uuid(request, Model.NOTIFICATION))
    note, position = await _run(side, side.notifications.mark_read, command)
    body = notification_json(
        str(note.id), note.kind, note.data, note.modified_on if note.read else None, note.created_on
    )
    return JSONResponse(body, headers={POSITION_HEADER: str(position)})


async def mark_all_notifications_read(request: Request) -> Response:
    side, user = await _caller(request)
    command = MarkAllNotificationsRead(user)
    position = await _run(side, side.notifications.mark_all_read, command)
    # Every notification before this command is read: none is unread as of it.
    return JSONResponse(
        {"status": "ok", "unread_count": 0}, headers={POSITION_HEADER: str(position)}
    )


IMPORT_ROUTES = [
    Route("/api/imports", start_imports, methods=["POST"]),
    Route("/api/imports/{id}/transactions/{row}/resolve", resolve_conflict, methods=["POST"]),
    Route("/api/notifications/read", mark_all_notifications_read, methods=["POST"]),
    Route("/api/notifications/{id}/read", mark_notification_read, methods=["POST"]),
    Route("/internal/imports/process", process_import, methods=["POST"]),
]
