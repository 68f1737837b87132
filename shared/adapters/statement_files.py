"""Object stores for uploaded statements (the ``StatementFiles`` port of the command side).

``IMPORT_STORE_URL`` picks one: ``file:///shared/dir`` (a directory every local instance
can read; development and tests) or ``gs://bucket`` (Cloud Storage, production). Either
way an instance reads the file through a local copy in its own spool directory
(``IMPORT_SPOOL_DIR``), removed when processing is done: no instance ever depends on
another's disk.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, urlsplit

import httpx

from shared.settings import Settings

_CHUNK = 1 << 20


class LocalDirectoryFiles:
    """Files under ``root``; written to a temporary name, then renamed (atomic)."""

    def __init__(self, root: Path, spool: Path | None = None) -> None:
        self.root, self.spool = root, spool

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise KeyError(key)
        return path

    def put(self, key: str, source: IO[bytes]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as out:
            shutil.copyfileobj(source, out, _CHUNK)
        os.replace(out.name, path)

    @contextlib.contextmanager
    def open(self, key: str) -> Iterator[IO[bytes]]:
        path = self._path(key)
        if not path.is_file():
            raise KeyError(key)
        with path.open("rb") as stored, _spooled(self.spool) as local:
            shutil.copyfileobj(stored, local, _CHUNK)
            local.seek(0)
            yield local

    def close(self) -> None:
        return None


class GcsFiles:
    """Cloud Storage through its JSON API (media uploads and downloads), authenticated
    with the service's runtime identity (Application Default Credentials)."""

    API = "https://storage.googleapis.com"

    def __init__(
        self,
        bucket: str,
        spool: Path | None = None,
        *,
        api: str = API,
        token: Callable[[], str] | None = None,
    ) -> None:
        """``api`` and ``token`` are for an emulator (tests); by default the real API
        with the service's runtime identity."""
        self.bucket, self.spool, self.api, self._token = bucket, spool, api, token
        self._client = httpx.Client(timeout=120)
        self._credentials: Any = None

    def _headers(self) -> dict[str, str]:
        if self._token is not None:
            return {"Authorization": f"Bearer {self._token()}"}
        import google.auth
        from google.auth.transport.requests import Request

        if self._credentials is None:
            scopes = ["https://www.googleapis.com/auth/devstorage.read_write"]
            self._credentials, _ = google.auth.default(scopes=scopes)
        if not self._credentials.valid:
            self._credentials.refresh(Request())
        return {"Authorization": f"Bearer {self._credentials.token}"}

    def put(self, key: str, source: IO[bytes]) -> None:
        url = f"{self.api}/upload/storage/v1/b/{self.bucket}/o"
        start = source.tell()
        size = source.seek(0, os.SEEK_END) - start
        source.seek(start)
        # A stated length: a simple media upload is not sent chunked.
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
        response = self._client.post(
            url,
            params={"uploadType": "media", "name": key},
            content=iter(lambda: source.read(_CHUNK), b""),
            headers={**self._headers(), **headers},
        )
        response.raise_for_status()

    @contextlib.contextmanager
    def open(self, key: str) -> Iterator[IO[bytes]]:
        url = f"{self.api}/storage/v1/b/{self.bucket}/o/{quote(key, safe='')}"
        with (
            _spooled(self.spool) as local,
            self._client.stream(
                "GET", url, params={"alt": "media"}, headers=self._headers()
            ) as response,
        ):
            if response.status_code == 404:
                raise KeyError(key)
            response.raise_for_status()
            for chunk in response.iter_bytes(_CHUNK):
                local.write(chunk)
            local.seek(0)
            yield local

    def close(self) -> None:
        self._client.close()


@contextlib.contextmanager
def _spooled(spool: Path | None) -> Iterator[IO[bytes]]:
    if spool is not None:
        spool.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=spool) as local:
        yield local


def statement_files_from(settings: Settings) -> LocalDirectoryFiles | GcsFiles:
    """The store ``IMPORT_STORE_URL`` names (default: ``imports/`` under the data dir)."""
    spool = settings.import_spool_dir
    url = settings.import_store_url
    if not url:
        return LocalDirectoryFiles(settings.data_dir / "imports", spool)
    parts = urlsplit(url)
    if parts.scheme == "file":
        return LocalDirectoryFiles(Path(parts.path), spool)
    if parts.scheme == "gs":
        return GcsFiles(parts.netloc, spool)
    raise ValueError(f"IMPORT_STORE_URL must be file:///dir or gs://bucket, not {url!r}")
