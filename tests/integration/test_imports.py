"""Statement imports over HTTP: upload (202), a Cloud Tasks task through the emulator to
the internal endpoint, processing into the event store, reads from ``ledger_tables``."""

from __future__ import annotations

import concurrent.futures
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from uuid import UUID

import httpx
import pytest

from projection_worker.stalled_imports import StalledImports
from scenarios.statement_data import Row, csv, ofx
from shared.adapters.eventstore import Ledger
from shared.adapters.import_tasks import CloudTasksImports
from shared.adapters.wiring import readmodel_pool
from shared.domain.transactions import Transaction
from shared.settings import Settings
from tests.harness import ServedApp
from tests.integration import helpers
from tests.integration import read_helpers as rh
from tests.integration.helpers import Provisioned, events_between, no_new_events
from tests.integration.import_helpers import (
    PROCESS_PATH,
    ImportStack,
    finished,
    rows_of,
    serve_imports,
    started,
    upload,
)

# The original app's fixture (api-contract 3.5), copied in: tests read nothing outside the repo.
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "statements" / "ofx-fake.ofx"


@pytest.fixture(scope="module")
def root() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="valorize-imports-") as made:
        yield Path(made)


@pytest.fixture(scope="module")
def imports_stack(settings: Settings, worker_api: ServedApp, root: Path) -> Iterator[ImportStack]:
    with serve_imports(settings, root, "a") as served:
        yield served


@pytest.fixture
def client(imports_stack: ImportStack) -> Iterator[httpx.Client]:
    with imports_stack.client() as made:
        yield made


@pytest.fixture
def member(client: httpx.Client, ledger: Ledger) -> Provisioned:
    return helpers.provision(client, ledger)


def imported(client: httpx.Client, user: Provisioned, *files: tuple[str, bytes], **kw: str) -> dict:  # type: ignore[type-arg]
    (one,) = started(upload(client, user, *files, **kw))
    assert one["status"] == "processing"
    return finished(client, user, one["id"])


def recorded_after(ledger: Ledger, position: int) -> list[Transaction.Recorded]:
    return [e for e in events_between(ledger, position) if isinstance(e, Transaction.Recorded)]


def test_fixture_end_to_end(client: httpx.Client, member: Provisioned, ledger: Ledger) -> None:
    done = imported(client, member, ("ofx-fake.ofx", FIXTURE.read_bytes()))
    assert done["status"] == "completed", done
    assert (done["new_count"], done["matched_count"], done["conflicted_count"]) == (2, 0, 0)
    assert done["error"] is None
    assert list(done)[:10] == [
        "id", "user_id", "file_name", "extension", "status", "new_count", "matched_count",
        "conflicted_count", "account_id", "error",
    ]  # fmt: skip
    account = client.get(f"/api/accounts/{done['account_id']}", headers=member.headers).json()
    assert (account["name"], account["number"], account["type"]) == (
        "Test Bank",
        "12345-6",
        "checking",
    )
    assert account["bank"]["code"] == "123"
    assert account["balance"]["value"] == 115566
    rows = rows_of(client, member, done["id"])
    assert [(r["fitid"], r["amount"]["value"], r["status"], r["type"]) for r in rows] == [
        ("1", 123456, "new", "credit"),
        ("2", -7890, "new", "debit"),
    ]
    # The offset is honoured: midnight at -03:00 is 03:00 UTC (the original dropped it).
    assert rows[0]["date"] == "2025-01-15T03:00:00+00:00"
    txn = client.get(f"/api/transactions/{rows[0]['transaction_id']}", headers=member.headers)
    assert txn.status_code == 200, txn.text
    assert (txn.json()["fitid"], txn.json()["memo"]) == ("1", "Test Credit Transaction")


def test_contract_vectors_a_b_c(client: httpx.Client, member: Provisioned) -> None:
    brl = member.account_id
    seed = ofx([Row("FIT123", date(2024, 1, 10), 12500, "Seed")])
    imported(client, member, ("seed.ofx", seed), account_id=brl)
    # (a) the same FITID, day and amount: matched to the existing transaction.
    same = ofx([Row("FIT123", date(2024, 1, 10), 12500, "Seed")], server="20250101000001")
    a = imported(client, member, ("a.ofx", same), account_id=brl)
    assert (a["status"], a["new_count"], a["matched_count"], a["conflicted_count"]) == (
        "completed", 0, 1, 0,
    )  # fmt: skip
    (row,) = rows_of(client, member, a["id"])
    assert row["status"] == "matched"
    assert row["matched_transaction_id"] is not None
    # (b) no existing transaction: FIT999 +300.50 USD is new (into a USD account).
    usd = client.post(
        "/api/accounts", headers=member.headers, json=helpers.account_body(currency="USD")
    ).json()["id"]
    b_file = ofx([Row("FIT999", date(2024, 2, 1), 30050, "Dollars")], currency="USD")
    b = imported(client, member, ("b.ofx", b_file), account_id=usd)
    assert (b["new_count"], b["matched_count"], b["conflicted_count"]) == (1, 0, 0)
    (row,) = rows_of(client, member, b["id"])
    assert (row["status"], row["matched_transaction_id"]) == ("new", None)
    assert row["amount"] == {"value": 30050, "currency": "USD"}
    # (c) FIT123 again on the same day with 500.00: conflicted, with the match named.
    other = ofx([Row("FIT123", date(2024, 1, 10), 50000, "Seed")], server="20250101000002")
    c = imported(client, member, ("c.ofx", other), account_id=brl)
    assert (c["new_count"], c["matched_count"], c["conflicted_count"]) == (0, 0, 1)
    (row,) = rows_of(client, member, c["id"])
    assert row["status"] == "conflicted"
    assert row["matched_transaction_id"] is not None


def test_csv_any_trntype_and_upper_case_extensions(
    client: httpx.Client, member: Provisioned
) -> None:
    rows = [Row("", date(2024, 3, 1), -1990, "PADARIA"), Row("", date(2024, 3, 2), 5000, "PIX")]
    done = imported(client, member, ("EXTRATO.CSV", csv(rows)), account_id=member.account_id)
    assert (done["status"], done["new_count"], done["extension"]) == ("completed", 2, "csv")
    kinds = [
        Row("P1", date(2024, 4, 1), -1000, "POS", kind="POS"),
        Row("P2", date(2024, 4, 2), -2000, "XFER", kind="XFER"),
        Row("P3", date(2024, 4, 3), -3000, "PAYMENT", kind="PAYMENT"),
        Row("P4", date(2024, 4, 4), 4000, "DEP", kind="DEP"),
    ]
    done = imported(client, member, ("BANCO.OFX", ofx(kinds)), account_id=member.account_id)
    assert (done["status"], done["new_count"]) == ("completed", 4)
    signs = [r["type"] for r in rows_of(client, member, done["id"])]
    assert [r["amount"]["value"] for r in rows_of(client, member, done["id"])] == [
        -1000, -2000, -3000, 4000,
    ]  # fmt: skip
    assert signs == ["pos", "xfer", "payment", "dep"]


def test_malformed_file_fails_with_its_error_and_changes_nothing(
    client: httpx.Client, member: Provisioned, ledger: Ledger
) -> None:
    bad = ofx([Row("A", date(2024, 1, 1), 100, "ok"), Row("B", date(2024, 1, 2), 200, "x")])
    bad = bad.replace(b"<TRNAMT>2.00", b"<TRNAMT>2,0x")
    before = ledger.head()
    done = imported(client, member, ("bad.ofx", bad), account_id=member.account_id)
    assert done["status"] == "failed"
    assert done["error"]["message"]
    assert done["error"]["line"] is not None
    assert recorded_after(ledger, before) == []
    assert rows_of(client, member, done["id"]) == []
    csv_bad = b"Data;Descricao;Valor\n01/02/2024;X;10,00\n02/02/2024;Y;1,0x\n"
    done = imported(client, member, ("bad.csv", csv_bad), account_id=member.account_id)
    assert (done["status"], done["error"]["line"]) == ("failed", 3)


def test_redelivered_task_and_retried_upload_create_nothing(
    client: httpx.Client, member: Provisioned, ledger: Ledger
) -> None:
    content = ofx([Row("R1", date(2024, 5, 1), -500, "Cafe")], acctid="777")
    done = imported(client, member, ("r.ofx", content))
    with no_new_events(ledger):
        again = client.post(PROCESS_PATH, json={"import_id": done["id"]})
        assert again.status_code == 200, again.text
        assert again.json()["import"]["status"] == "completed"
        (retried,) = started(upload(client, member, ("r-copy.ofx", content)))
    assert retried["id"] == done["id"]
    assert retried["status"] == "completed"


def test_concurrent_imports_of_one_statement_record_it_once(
    client: httpx.Client, member: Provisioned, ledger: Ledger, imports_stack: ImportStack
) -> None:
    rows = [Row(f"C{i}", date(2024, 6, 1 + i % 28), -(i + 1) * 10, f"M{i}") for i in range(3000)]
    files = [ofx(rows, acctid="C-1", server=f"2025010100000{n}") for n in range(3)]
    before = ledger.head()

    def one(content: bytes) -> str:
        with imports_stack.client() as own:
            (made,) = started(upload(own, member, ("same.ofx", content)))
            return str(made["id"])

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        ids = list(pool.map(one, files))
    assert len(set(ids)) == 3
    done = [finished(client, member, i) for i in ids]
    assert all(d["status"] == "completed" for d in done), done
    assert sum(d["new_count"] for d in done) == 3000
    assert sum(d["matched_count"] for d in done) == 6000
    recorded = recorded_after(ledger, before)
    assert len(recorded) == 3000
    assert len({e.originator_id for e in recorded}) == 3000


def test_a_second_instance_processes_what_the_first_stored(
    settings: Settings, worker_api: ServedApp, ledger: Ledger, tmp_path: Path, root: Path
) -> None:
    """The object store is the only place the instances share: the receiving instance's
    spool directory is left empty, the processing instance has another."""
    with (
        serve_imports(settings, root, "b") as processor,
        serve_imports(settings, root, "c", task_port=processor.edge.port) as receiver,
        receiver.client() as api,
    ):
        assert receiver.spool != processor.spool
        member = helpers.provision(api, ledger)
        done = imported(api, member, ("fixture.ofx", FIXTURE.read_bytes()))
        assert (done["status"], done["new_count"]) == ("completed", 2)
        assert list(receiver.spool.iterdir()) == []


def test_bad_inputs_are_clear_4xx(
    client: httpx.Client, member: Provisioned, other: Provisioned
) -> None:
    h = member.headers
    assert client.post("/api/imports", files=[("files[]", ("a.ofx", b"x"))]).status_code == 401
    helpers.assert_validation(client.post("/api/imports", headers=h, json={}), "files")
    helpers.assert_validation(
        client.post("/api/imports", headers=h, data={"account_id": member.account_id}), "files"
    )
    helpers.assert_validation(upload(client, member, ("a.pdf", b"%PDF")), "files.0")
    helpers.assert_validation(upload(client, member, ("noext", b"x")), "files.0")
    helpers.assert_validation(upload(client, member, ("a.csv", b"x;y")), "account_id")
    helpers.assert_validation(
        upload(client, member, ("a.ofx", b"x"), account_id="nope"), "account_id"
    )
    helpers.assert_validation(upload(client, member, ("a.ofx", b"")), "files.0")
    foreign = upload(client, member, ("a.ofx", b"x"), account_id=other.account_id)
    helpers.assert_validation(foreign, "account_id")
    broken = client.post(
        "/api/imports",
        headers={**h, "Content-Type": "multipart/form-data; boundary=zzz"},
        content=b'--zzz\r\nContent-Disposition: form-data; name="files[]"; filename="a.ofx"\r\n',
    )
    assert broken.status_code in (400, 422), broken.text
    helpers.assert_not_found(client.get("/api/imports/nope", headers=h), "Import", "nope")
    unknown = "00000000-0000-4000-8000-000000000000"
    helpers.assert_not_found(client.get(f"/api/imports/{unknown}", headers=h), "Import", unknown)
    assert client.post(PROCESS_PATH, content=b"[").status_code == 400
    assert client.post(PROCESS_PATH, json={"import_id": "x"}).status_code == 400
    assert client.post(PROCESS_PATH, json={"import_id": unknown}).json() == {"import": None}
    bad_page = client.get(f"/api/imports/{unknown}/transactions?per_page=0", headers=h)
    helpers.assert_validation(bad_page, "per_page")


def test_another_users_import_is_not_found(
    client: httpx.Client, member: Provisioned, other: Provisioned
) -> None:
    done = imported(
        client, member, ("o.ofx", ofx([Row("O1", date(2024, 1, 1), 1, "x")], acctid="O"))
    )
    for path in (f"/api/imports/{done['id']}", f"/api/imports/{done['id']}/transactions"):
        helpers.assert_not_found(client.get(path, headers=other.headers), "Import", done["id"])
    assert [i["id"] for i in client.get("/api/imports", headers=member.headers).json()["data"]] == [
        done["id"]
    ]
    assert client.get("/api/imports", headers=other.headers).json()["data"] == []


def test_conflicts_are_kept_or_replaced(client: httpx.Client, member: Provisioned) -> None:
    brl = member.account_id
    first = ofx([Row("K1", date(2024, 7, 1), 100, "one"), Row("K2", date(2024, 7, 2), 200, "two")])
    imported(client, member, ("k.ofx", first), account_id=brl)
    changed = ofx(
        [Row("K1", date(2024, 7, 1), 111, "uno"), Row("K2", date(2024, 7, 2), 222, "dos")],
        server="20250101000009",
    )
    done = imported(client, member, ("k2.ofx", changed), account_id=brl)
    assert done["conflicted_count"] == 2
    keep_row, replace_row = rows_of(client, member, done["id"])
    base = f"/api/imports/{done['id']}/transactions"
    bad = client.post(
        f"{base}/{keep_row['id']}/resolve", headers=member.headers, json={"resolution": "x"}
    )
    helpers.assert_validation(bad, "resolution")
    for row, resolution in ((keep_row, "keep"), (replace_row, "replace")):
        answer = client.post(
            f"{base}/{row['id']}/resolve", headers=member.headers, json={"resolution": resolution}
        )
        assert answer.status_code == 200, answer.text
    again = client.post(
        f"{base}/{keep_row['id']}/resolve", headers=member.headers, json={"resolution": "keep"}
    )
    assert again.status_code == 404
    rows = rows_of(client, member, done["id"])
    assert [r["resolution"] for r in rows] == ["keep", "replace"]
    kept = client.get(
        f"/api/transactions/{keep_row['matched_transaction_id']}", headers=member.headers
    )
    replaced = client.get(
        f"/api/transactions/{replace_row['matched_transaction_id']}", headers=member.headers
    )
    assert (kept.json()["amount"]["value"], kept.json()["memo"]) == (100, "one")
    assert (replaced.json()["amount"]["value"], replaced.json()["memo"]) == (222, "dos")


def test_imported_rows_are_categorized_for_a_user_who_opted_in(
    client: httpx.Client, member: Provisioned
) -> None:
    """Issue 16.5: an imported row is a recorded transaction like any other, so the
    worker's automatic categorization applies to it (above the user's threshold)."""
    transport = member.categories["blue"]  # the default "Transporte"
    chosen = client.put(
        "/api/settings/categorization",
        json={"auto_apply_threshold": 0.5},
        headers=member.headers,
    )
    assert chosen.status_code == 200, chosen.text
    rows = [Row("R1", date(2024, 5, 1), -2350, "PAG*UBER TRIP SAO PAULO")]
    done = imported(client, member, ("corridas.csv", csv(rows)), account_id=member.account_id)
    assert (done["status"], done["new_count"]) == ("completed", 1)
    (row,) = rows_of(client, member, done["id"])

    def category() -> str | None:
        txn = rh.get_json(client, member, f"/api/transactions/{row['transaction_id']}")
        return None if txn["category"] is None else str(txn["category"]["id"])

    rh.poll(lambda: category() == transport or None, timeout=15)


def test_an_import_whose_task_was_lost_is_processed_after_the_sweep(
    settings: Settings, worker_api: ServedApp, root: Path, ledger: Ledger
) -> None:
    """The enqueue failed after the upload committed: the import is ``processing`` with
    no task. The worker's sweep sends its task again, and it completes, once."""
    with serve_imports(settings, root, "lost", send_tasks=False) as lost, lost.client() as api:
        user = helpers.provision(api, ledger)
        rows = [
            Row("L1", date(2024, 6, 1), -1500, "PADARIA"),
            Row("L2", date(2024, 6, 2), 900, "PIX"),
        ]
        (one,) = started(upload(api, user, ("perdido.csv", csv(rows)), account_id=user.account_id))
        time.sleep(1.0)
        assert api.get(f"/api/imports/{one['id']}", headers=user.headers).json()["status"] == (
            "processing"
        )
        pool = readmodel_pool(settings, max_size=2)
        tasks = CloudTasksImports(lost.settings)  # the endpoint the edge would have named
        try:
            young = StalledImports(pool, settings.readmodel_schema, tasks.enqueue, 3600)
            assert young.sweep() == []  # not stale yet: a running import is left alone
            sweep = StalledImports(pool, settings.readmodel_schema, tasks.enqueue, 0.5)
            assert UUID(one["id"]) in sweep.sweep()
            done = finished(api, user, one["id"])
            assert (done["status"], done["new_count"]) == ("completed", 2)
            assert UUID(one["id"]) not in sweep.sweep()  # completed: never sent again
        finally:
            tasks.close()
            pool.close()
