"""Ports of statement imports: where uploads are kept, and how processing is scheduled.

An upload is processed by whichever instance Cloud Tasks reaches, so it must be kept
where every instance reads it (``StatementFiles``: a directory in development, a Cloud
Storage bucket in production), never on the disk of the instance that received it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import IO, Protocol
from uuid import UUID


class StatementFiles(Protocol):
    """An object store of uploaded statements, keyed by ``file_key``. Keys are written
    once with content fixed by the key's import id (derived from the file's hash), so a
    repeated ``put`` writes the same bytes and is harmless."""

    def put(self, key: str, source: IO[bytes]) -> None:
        """Store ``source`` (read from its current position to the end) under ``key``."""
        ...

    def open(self, key: str) -> AbstractContextManager[IO[bytes]]:
        """The stored file as a seekable local copy, removed on exit (``KeyError`` if
        there is none)."""
        ...


class ImportTasks(Protocol):
    """Schedules processing of an import (a Cloud Tasks HTTP task). At-least-once: a
    task may arrive twice or late; processing is idempotent. Raises when it cannot
    schedule, so the upload can say so (a retried upload schedules again)."""

    def enqueue(self, import_id: UUID) -> None: ...
