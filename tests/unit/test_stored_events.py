"""``Ledger.record`` encodes events itself (orjson for plain states): the stored bytes must
be the library mapper's, byte for byte, or events written by the two paths would differ."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError

from shared.adapters.memory import open_memory_ledger
from shared.domain.imports import Import
from shared.domain.transactions import Transaction

MEMOS = [
    "PAG*UBER TRIP SAO PAULO",
    'quotes " and \\ backslash / slash',
    "controls \t\n\r\x08\x0c\x01\x1f\x7f end",
    "açaí, café — 日本 😀 \u2028\u2029",
    "",
    None,
]


def _recorded(memo: str | None, amount: int, date: datetime) -> Transaction:
    return Transaction(
        id=uuid4(),
        user_id=str(uuid4()),
        account_id=str(uuid4()),
        category_id=None,
        amount=amount,
        currency="BRL",
        date=date,
        memo=memo,
        fitid="12345678901234567890",
        splits=[],
        source="import",
    )


@pytest.mark.parametrize("memo", MEMOS)
@pytest.mark.parametrize("amount", [0, -1, 123_456, -(1 << 62), (1 << 63) + 5, -(1 << 70)])
def test_stored_state_is_the_mappers_byte_for_byte(memo: str | None, amount: int) -> None:
    ledger = open_memory_ledger()
    for date in (
        datetime(2025, 1, 2, tzinfo=UTC),
        datetime(2025, 1, 2, 3, 4, 5, 678, tzinfo=timezone(timedelta(hours=-3))),
        datetime(2025, 1, 2, 3, 4, 5),
    ):
        event = _recorded(memo, amount, date).collect_events()[0]
        assert ledger._stored(event) == ledger.mapper.to_stored_event(event)


def test_states_orjson_cannot_write_fall_back_to_the_library() -> None:
    ledger = open_memory_ledger()
    splits = [{"id": str(uuid4()), "category_id": str(uuid4()), "amount": -5, "memo": None}]
    txn = _recorded("lunch", -5, datetime(2025, 1, 2, tzinfo=UTC))
    txn.amend(
        category_id=None, amount=-5, date=datetime(2025, 1, 3, tzinfo=UTC), memo="x", splits=[]
    )
    for event in txn.collect_events():
        assert ledger._stored(event) == ledger.mapper.to_stored_event(event)
    with_splits = Transaction(
        id=uuid4(),
        user_id=str(uuid4()),
        account_id=str(uuid4()),
        category_id=None,
        amount=-5,
        currency="BRL",
        date=datetime(2025, 1, 2, tzinfo=UTC),
        memo="\ud800",  # a lone surrogate: both paths refuse it
        fitid=None,
        splits=splits,
    ).collect_events()[0]
    with pytest.raises(UnicodeEncodeError):
        ledger.mapper.to_stored_event(with_splits)
    with pytest.raises(UnicodeEncodeError):
        ledger._stored(with_splits)


def test_record_appends_in_order_and_refuses_a_taken_version() -> None:
    ledger = open_memory_ledger()
    events = [
        _recorded(m, -i, datetime(2025, 1, 2, tzinfo=UTC)).collect_events()[0]
        for i, m in enumerate(MEMOS)
    ]
    positions = ledger.record(events)
    assert positions == sorted(positions)
    assert len(set(positions)) == len(events)
    stored = ledger.recorder.select_notifications(start=positions[0], limit=100)
    assert [n.originator_id for n in stored] == [e.originator_id for e in events]
    assert [ledger.mapper.to_domain_event(n) for n in stored] == events
    with pytest.raises(IntegrityError):
        ledger.record([events[0]])


@pytest.mark.parametrize(
    "date",
    [
        datetime(2025, 1, 2, tzinfo=UTC),
        datetime(2025, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2025, 1, 2, 3, 4, 5, 1, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(999, 3, 4, 5, 6, 7, 80, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=5, minutes=30, seconds=7))),
    ],
)
def test_dates_written_by_orjson_are_the_transcodings_text(date: datetime) -> None:
    ledger = open_memory_ledger()
    event = _recorded("x", -5, date).collect_events()[0]
    assert ledger._stored(event) == ledger.mapper.to_stored_event(event)


def test_staged_rows_are_written_as_the_library_writes_them() -> None:
    """An import's rows (flat objects of scalars) go through orjson; anything else in a
    list (a nested object, a float) falls back to the library, with the same bytes."""
    ledger = open_memory_ledger()
    imp = Import(
        id=uuid4(),
        user_id=str(uuid4()),
        account_id=None,
        file_name="extrato.ofx",
        extension="ofx",
        file_key="k",
        sha256="0" * 64,
        size=10,
    )
    rows: list[dict[str, object]] = [
        {"line": 1, "memo": memo, "amount": -(1 << 62), "status": "new", "ok": True}
        for memo in MEMOS
    ]
    imp.stage(str(uuid4()), "BRL", rows)
    imp.stage(str(uuid4()), "BRL", [{"status": "new", "nested": {"a": 1}}])
    imp.stage(str(uuid4()), "BRL", [{"status": "new", "amount": 1.5}])
    imp.stage(str(uuid4()), "BRL", [{"status": "new", "amount": 1 << 64}])
    imp.stage(str(uuid4()), "BRL", [])
    for event in imp.collect_events():
        assert ledger._stored(event) == ledger.mapper.to_stored_event(event)
