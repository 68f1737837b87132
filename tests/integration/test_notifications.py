"""Notifications over HTTP and the live stream: "import completed" stored once, listed
newest first with the unread count, marked read one at a time or all at once."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from scenarios.statement_data import Row, ofx
from shared.adapters.eventstore import Ledger
from shared.settings import Settings
from tests.harness import ServedAiohttp, ServedApp
from tests.integration import helpers
from tests.integration.helpers import Provisioned, position_of
from tests.integration.import_helpers import (
    PROCESS_PATH,
    ImportStack,
    finished,
    serve_imports,
    started,
    upload,
)
from ws_gateway.client import LiveClient

IMPORT_COMPLETED = "App\\Notifications\\ImportCompletedNotification"


@pytest.fixture(scope="module")
def served(settings: Settings, worker_api: ServedApp) -> Iterator[ImportStack]:
    with (
        tempfile.TemporaryDirectory(prefix="valorize-notes-") as root,
        serve_imports(settings, Path(root), "n") as made,
    ):
        yield made


@pytest.fixture(scope="module")
def gateway(settings: Settings, worker_api: ServedApp) -> Iterator[ServedAiohttp]:
    from ws_gateway.app import create_app

    server = ServedAiohttp(create_app(settings)).start()
    yield server
    server.stop()


@pytest.fixture
def client(served: ImportStack) -> Iterator[httpx.Client]:
    with served.client() as made:
        yield made


@pytest.fixture
def member(client: httpx.Client, ledger: Ledger) -> Provisioned:
    return helpers.provision(client, ledger)


def statement(acctid: str, amount: int = 1000) -> bytes:
    return ofx([Row(f"{acctid}-1", date(2024, 8, 1), amount, "Mercado")], acctid=acctid)


def import_one(client: httpx.Client, user: Provisioned, content: bytes) -> dict[str, Any]:
    (one,) = started(upload(client, user, ("n.ofx", content)))
    return finished(client, user, one["id"])


def notifications(client: httpx.Client, user: Provisioned) -> dict[str, Any]:
    response = client.get("/api/notifications", headers=user.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_import_completed_is_stored_with_the_original_data(
    client: httpx.Client, member: Provisioned
) -> None:
    done = import_one(client, member, statement("N1"))
    body = notifications(client, member)
    assert body["unread_count"] == 1
    (note,) = body["data"]
    assert list(note) == ["id", "type", "kind", "data", "read_at", "created_at"]
    assert (note["type"], note["kind"], note["read_at"]) == (
        IMPORT_COMPLETED, "import.completed", None,
    )  # fmt: skip
    assert note["data"] == {
        "title": "Importação concluída",
        "body": "Conta Test Bank • Novos: 1 • Conciliados: 0 • Conflitos: 0",
        "import_id": done["id"],
        "account_id": done["account_id"],
        "new_count": 1,
        "matched_count": 0,
        "conflicted_count": 0,
    }
    # A redelivered task notifies nobody twice.
    assert client.post(PROCESS_PATH, json={"import_id": done["id"]}).status_code == 200
    assert len(notifications(client, member)["data"]) == 1


def test_a_failed_import_tells_its_user_once(client: httpx.Client, member: Provisioned) -> None:
    """The original's failed imports stayed "processing" and told nobody."""
    bad = statement("F1").replace(b"<TRNAMT>10.00", b"<TRNAMT>1,0x")
    (one,) = started(upload(client, member, ("ruim.ofx", bad)))
    done = finished(client, member, one["id"])
    assert done["status"] == "failed"
    (note,) = notifications(client, member)["data"]
    assert (note["type"], note["kind"], note["read_at"]) == (
        "App\\Notifications\\ImportFailedNotification", "import.failed", None,
    )  # fmt: skip
    data = note["data"]
    assert (data["import_id"], data["file_name"]) == (one["id"], "ruim.ofx")
    assert (data["error"], data["line"]) == (done["error"]["message"], done["error"]["line"])
    assert data["title"] == "Importação falhou"
    assert data["error"] in data["body"]
    assert client.post(PROCESS_PATH, json={"import_id": one["id"]}).status_code == 200
    assert len(notifications(client, member)["data"]) == 1


def test_mark_one_then_all_read(
    client: httpx.Client, member: Provisioned, other: Provisioned
) -> None:
    for n in range(3):
        import_one(client, member, statement(f"M{n}", 100 + n))
    listed = notifications(client, member)
    assert (len(listed["data"]), listed["unread_count"]) == (3, 3)
    newest = listed["data"][0]
    assert newest["data"]["new_count"] == 1
    missing = client.post(f"/api/notifications/{newest['id']}/read", headers=other.headers)
    helpers.assert_not_found(missing, "DatabaseNotification", newest["id"])
    read = client.post(f"/api/notifications/{newest['id']}/read", headers=member.headers)
    assert read.status_code == 200, read.text
    assert read.json()["read_at"] is not None
    assert notifications(client, member)["unread_count"] == 2
    everything = client.post("/api/notifications/read", headers=member.headers)
    assert everything.json() == {"status": "ok", "unread_count": 0}
    after = notifications(client, member)
    assert after["unread_count"] == 0
    assert all(n["read_at"] is not None for n in after["data"])
    # A later notification is unread again.
    import_one(client, member, statement("M9"))
    assert notifications(client, member)["unread_count"] == 1
    assert client.post("/api/notifications/read").status_code == 401
    helpers.assert_not_found(
        client.post("/api/notifications/nope/read", headers=member.headers),
        "DatabaseNotification",
        "nope",
    )


def test_notification_is_pushed_on_the_live_stream(
    client: httpx.Client, member: Provisioned, gateway: ServedAiohttp
) -> None:
    after = position_of(client.get("/api/accounts", headers=member.headers))

    async def run() -> dict[str, Any]:
        async with LiveClient(gateway.ws_url, member.token, after=after) as live:
            await asyncio.get_running_loop().run_in_executor(
                None, import_one, client, member, statement("L1")
            )

            async def first() -> dict[str, Any]:
                async for message in live.messages():
                    if message["type"] == "notification.created":
                        return message
                raise AssertionError("stream ended")

            return await asyncio.wait_for(first(), 30)

    message = asyncio.run(run())
    assert message["data"]["type"] == IMPORT_COMPLETED
    assert message["data"]["data"]["new_count"] == 1
    assert message["data"]["read_at"] is None
