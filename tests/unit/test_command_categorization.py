"""The auto-categorization setting on the in-memory unit of work: ``User.AutoCategorizationSet``
with the threshold, off (None) by default and when set to null, never outside
[MIN_THRESHOLD, 1]; and the ``Transaction.Amended`` v2 audit field."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import orjson
import pytest
from eventsourcing.persistence import StoredEvent

from command_service.commands import SetAutoCategorization
from shared.categorize import MIN_THRESHOLD
from shared.domain.errors import NotFoundError, RuleViolationError
from shared.domain.transactions import Transaction
from shared.domain.users import User
from tests.unit.conftest import CommandSide, Member


def _set(side: CommandSide, user: Member, threshold: float | None) -> float | None:
    command = SetAutoCategorization(user.user_id, threshold)
    return side.run(side.handlers.profiles.set_auto_categorization, command).resource


def test_auto_categorization_is_off_until_the_user_sets_a_threshold(
    side: CommandSide, user: Member
) -> None:
    assert side.stored(User, user.user_id).auto_apply_threshold is None
    before = side.head()
    assert _set(side, user, 0.9) == 0.9
    events = side.events_after(before)
    assert [type(e) for e in events] == [User.AutoCategorizationSet]
    assert events[0].threshold == 0.9
    assert side.stored(User, user.user_id).auto_apply_threshold == 0.9


def test_null_turns_auto_categorization_off(side: CommandSide, user: Member) -> None:
    _set(side, user, 0.75)
    assert _set(side, user, None) is None
    assert side.stored(User, user.user_id).auto_apply_threshold is None


def test_setting_the_same_threshold_again_appends_nothing(side: CommandSide, user: Member) -> None:
    _set(side, user, 0.8)
    with side.nothing_appended():
        assert _set(side, user, 0.8) == 0.8


@pytest.mark.parametrize("threshold", [MIN_THRESHOLD - 0.01, 0.0, -1.0, 1.01, 2.0])
def test_a_threshold_outside_the_range_is_refused(
    side: CommandSide, user: Member, threshold: float
) -> None:
    with side.nothing_appended(), pytest.raises(RuleViolationError) as raised:
        _set(side, user, threshold)
    assert raised.value.field == "auto_apply_threshold"


@pytest.mark.parametrize("threshold", [MIN_THRESHOLD, 1.0])
def test_the_range_includes_its_ends(side: CommandSide, user: Member, threshold: float) -> None:
    assert _set(side, user, threshold) == threshold


def test_an_unknown_user_is_not_found(side: CommandSide) -> None:
    command = SetAutoCategorization(uuid4(), 0.9)
    with side.nothing_appended(), pytest.raises(NotFoundError):
        side.run(side.handlers.profiles.set_auto_categorization, command)


def test_an_amendment_by_the_user_has_no_categorized_by_and_v1_reads_as_the_users(
    side: CommandSide,
) -> None:
    txn = Transaction(
        id=uuid4(),
        user_id=str(uuid4()),
        account_id=str(uuid4()),
        category_id=None,
        amount=-2350,
        currency="BRL",
        date=datetime(2025, 1, 15, tzinfo=UTC),
        memo="PAG*UBER TRIP",
        fitid=None,
        splits=[],
    )
    txn.amend(category_id=None, amount=-2350, date=txn.date, memo="UBER", splits=[])
    amended = txn.collect_events()[-1]
    assert isinstance(amended, Transaction.Amended)
    assert amended.categorized_by is None
    # As the v1 code stored it: no ``categorized_by``, no ``class_version``.
    mapper = side.memory.ledger.mapper
    stored = mapper.to_stored_event(amended)
    state = orjson.loads(stored.state)
    assert state.pop("class_version") == 2
    del state["categorized_by"]
    v1 = StoredEvent(
        stored.originator_id, stored.originator_version, stored.topic, orjson.dumps(state)
    )
    read = mapper.to_domain_event(v1)
    assert isinstance(read, Transaction.Amended)
    assert read.categorized_by is None
    assert (read.memo, read.amount) == ("UBER", -2350)
