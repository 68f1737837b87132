"""Parsing of the import requests: the multipart upload (``files[]`` or ``files``, and an
optional ``account_id``) and a conflict's resolution. Every bad input is a 4xx naming
the field, as the original's rules (``files`` required, ``files.*`` a file with the
extension csv or ofx, case-insensitive; ``account_id`` nullable UUID)."""

from __future__ import annotations

import hashlib
from pathlib import PurePosixPath
from typing import IO, Any
from uuid import UUID

from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request

from command_service.commands import Rejected, UploadedStatement
from shared.adapters.http import BadRequestError, InputInvalidError
from shared.domain.ids import parse_uuid
from shared.domain.imports import EXTENSIONS, Resolution
from shared.domain.text import forbidden_character

MAX_FILES = 20
_READ = 1 << 20


async def upload_form(request: Request, max_bytes: int) -> FormData:
    """The multipart form (the caller closes it: that removes its spooled files)."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InputInvalidError({"files": ["The files field is required."]})
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise BadRequestError(413, f"The upload must not exceed {max_bytes} bytes.")
    try:
        return await request.form(max_files=MAX_FILES, max_fields=20)
    except MultiPartException as error:
        raise BadRequestError(400, f"The upload is not a valid multipart form: {error}") from None


def form_fields(form: FormData) -> tuple[list[Any], str | None]:
    """The form's files and account id, as sent (judged by ``check_files``)."""
    files = [*form.getlist("files[]"), *form.getlist("files")]
    account = form.get("account_id")
    return files, account.strip() if isinstance(account, str) else None


def digest(source: IO[bytes]) -> tuple[str, int]:
    """SHA-256 and size of a spooled upload, read from the start (blocking: run off the loop)."""
    source.seek(0)
    sha, size = hashlib.sha256(), 0
    while chunk := source.read(_READ):
        sha.update(chunk)
        size += len(chunk)
    source.seek(0)
    return sha.hexdigest(), size


def check_files(files: list[Any], account: str | None) -> tuple[list[UploadFile], UUID | None]:
    errors: dict[str, list[str]] = {}
    if not files:
        errors["files"] = ["The files field is required."]
    uploads: list[UploadFile] = []
    for index, item in enumerate(files):
        field = f"files.{index}"
        if not isinstance(item, UploadFile):
            errors[field] = [f"The {field} field must be a file."]
        elif _extension(item) not in EXTENSIONS:
            errors[field] = [
                f"The {field} field must have one of the following extensions: csv, ofx."
            ]
        else:
            uploads.append(item)
    account_id = None
    if account:
        account_id = parse_uuid(account)
        if account_id is None:
            errors["account_id"] = ["The account id field must be a valid UUID."]
    # A CSV export names neither its account nor its currency.
    csv = any(_extension(u) == "csv" for u in uploads)
    if account_id is None and "account_id" not in errors and csv:
        errors["account_id"] = ["The account id field is required for CSV files."]
    if errors:
        raise InputInvalidError(errors)
    return uploads, account_id


def uploaded(
    item: UploadFile, sha256: str, size: int, max_bytes: int, index: int
) -> UploadedStatement:
    field = f"files.{index}"
    if size == 0:
        raise InputInvalidError({field: [f"The {field} field must not be empty."]})
    if size > max_bytes:
        raise BadRequestError(413, f"The upload must not exceed {max_bytes} bytes.")
    name = PurePosixPath(item.filename or f"statement.{_extension(item)}").name[:255]
    if forbidden_character(name) is not None:
        message = f"The {field} file name must not contain control characters."
        raise InputInvalidError({field: [message]})
    return UploadedStatement(name, _extension(item), sha256, size, item.file)


def resolution(payload: dict[str, Any] | Exception) -> Resolution | Rejected:
    if isinstance(payload, Exception):
        return Rejected(payload)
    raw = payload.get("resolution")
    if raw is None:
        return Rejected(InputInvalidError({"resolution": ["The resolution field is required."]}))
    if raw not in ("keep", "replace"):
        message = "The selected resolution is invalid (keep or replace)."
        return Rejected(InputInvalidError({"resolution": [message]}))
    return Resolution(raw)


def _extension(item: UploadFile) -> str:
    return PurePosixPath(item.filename or "").suffix.lstrip(".").lower()
