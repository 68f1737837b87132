"""Events stored by older code are read through upcasters, in replays and live."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import psycopg
from eventsourcing.persistence import StoredEvent

from shared.adapters.eventstore import Ledger
from shared.domain.ids import uuid7
from shared.domain.transactions import Transaction
from shared.settings import Settings
from tests.integration.projection_helpers import clean_build


def _as_v1(ledger: Ledger, txn: Transaction) -> StoredEvent:
    """The stored form the v1 code wrote: no ``source``, no ``class_version``."""
    stored = ledger.mapper.to_stored_event(txn.collect_events()[0])
    state = orjson.loads(stored.state)
    assert state.pop("class_version") == 2
    del state["source"]
    return StoredEvent(
        stored.originator_id, stored.originator_version, stored.topic, orjson.dumps(state)
    )


def test_v1_transactions_are_upcast_in_the_aggregate_and_in_a_rebuild(
    settings: Settings, ledger: Ledger
) -> None:
    txn = Transaction(
        id=uuid7(),
        user_id=str(uuid7()),
        account_id=str(uuid7()),
        category_id=None,
        amount=-4200,
        currency="BRL",
        date=datetime(2024, 5, 1, tzinfo=UTC),
        memo="written by v1",
        fitid=None,
        splits=[],
        source="import",
    )
    ledger.recorder.insert_events([_as_v1(ledger, txn)])
    loaded: object = ledger.repository.get(txn.id)
    assert isinstance(loaded, Transaction)
    assert loaded.source == "api"  # the upcaster's default, not the lost "import"
    assert loaded.memo == "written by v1"
    clean_build(settings, ledger, "readmodel_upcast")
    with psycopg.connect(settings.readmodel_dsn) as conn:
        row = conn.execute(
            "SELECT source, amount, memo FROM readmodel_upcast.transactions WHERE id = %s",
            (txn.id,),
        ).fetchone()
    assert row == ("api", -4200, "written by v1")
