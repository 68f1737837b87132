"""The unit of work's invariants (``command_service.unit_of_work``), on the in-memory
ledger, with one append per command and with the group committer."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from command_service.commands import (
    AmendTransaction,
    CategoryChanges,
    CloseAccount,
    CreateBudget,
    CreateCategory,
    DeleteCategory,
    DeleteTransaction,
    ProvisionLoadTestUser,
    RecordTransaction,
    RenameBudget,
    RevokeToken,
    TransactionDetails,
    UpdateCategory,
)
from command_service.ledger_unit_of_work import Appends, DirectAppends, LedgerUnits
from command_service.unit_of_work import KeyClaimedError
from shared.adapters.eventstore import Ledger
from shared.adapters.group_commit import GroupCommitter
from shared.adapters.memory import memory_recorder, open_memory_ledger
from shared.domain.accounts import Account
from shared.domain.categories import Color
from shared.domain.errors import ConcurrentChangeError
from shared.domain.idempotency import IdempotencyKey
from shared.domain.ids import uuid7
from shared.domain.money import Currency, Money
from shared.domain.users import Token, new_secret
from tests.unit.conftest import NOW, CommandSide, Member

Log = list[tuple[Any, ...]]


class LoggedMarks:
    def __init__(self, log: Log) -> None:
        self.log = log

    def mark(self, marks: Sequence[tuple[UUID, int]]) -> None:
        self.log.extend(("mark", user, position) for user, position in marks)


class LoggedWakeup:
    def __init__(self, log: Log) -> None:
        self.log = log

    def notify(self, position: int) -> None:
        self.log.append(("wake", position))

    def close(self) -> None:
        return None


@pytest.fixture(params=["direct", "group-commit"])
def wired(request: pytest.FixtureRequest) -> Iterator[tuple[LedgerUnits, Log]]:
    ledger, log = open_memory_ledger(), Log()
    marks = LoggedMarks(log)
    appends: Appends
    if request.param == "direct":
        appends = DirectAppends(ledger, marks)
    else:
        appends = committer = GroupCommitter(ledger, on_commit=marks.mark)
    yield LedgerUnits(ledger, appends, LoggedWakeup(log)), log
    if request.param != "direct":
        committer.close()


def _account(user_id: UUID) -> Account:
    return Account(uuid7(), str(user_id), "Conta", None, "BRL", "checking", str(uuid4()))


def _saved(ledger: Ledger, *aggregates: Any) -> None:
    ledger.append(*aggregates)


def test_load_reads_in_one_query_and_get_keeps_one_instance_per_id(
    wired: tuple[LedgerUnits, Log], monkeypatch: pytest.MonkeyPatch
) -> None:
    units, _ = wired
    user = uuid4()
    first, second, third = _account(user), _account(user), _account(user)
    _saved(units.ledger, first, second, third)
    reads = _count(monkeypatch, units.ledger, "select_events_of")
    uow = units.start()
    uow.load([first.id, None, second.id, first.id, uuid4()])
    assert reads() == 1
    found = uow.get(Account, first.id)
    assert found is not None
    assert found is uow.get(Account, first.id)
    assert uow.get(Token, first.id) is None  # another kind: None, not the account
    assert reads() == 1
    assert uow.get(Account, third.id) is not None  # not loaded: one query, then kept
    assert uow.get(Account, third.id) is uow.get(Account, third.id)
    assert reads() == 2


def test_nothing_is_written_before_commit_and_commit_writes_all_of_it(
    wired: tuple[LedgerUnits, Log],
) -> None:
    units, _ = wired
    user, secret = uuid4(), new_secret()
    token = Token(uuid7(), str(user), "t", secret.sha256, None)
    uow = units.start()
    uow.add(_account(user), _account(user))
    uow.issue(token)
    assert units.ledger.head() == 0
    assert uow.commit(user) == units.ledger.head() == 3
    assert memory_recorder(units.ledger).auth_tokens[token.id].secret_sha256 == secret.sha256


def test_commit_marks_the_users_write_then_wakes_the_projections(
    wired: tuple[LedgerUnits, Log],
) -> None:
    units, log = wired
    user = uuid4()
    uow = units.start()
    uow.add(_account(user))
    position = uow.commit(user)
    assert log == [("mark", user, position), ("wake", position)]


def test_a_conflicting_commit_writes_nothing_and_the_unit_forgets_what_it_read(
    wired: tuple[LedgerUnits, Log],
) -> None:
    units, log = wired
    user, account = uuid4(), _account(uuid4())
    _saved(units.ledger, account)
    stale = units.start()
    stale.load([account.id])
    winner = units.start()
    found = winner.get(Account, account.id)
    assert found is not None
    found.close()
    winner.add(found)
    head = winner.commit(user)
    loser = stale.get(Account, account.id)
    assert loser is not None
    loser.update("Renamed", None, "BRL", "checking", loser.bank_id)
    stale.add(loser)
    token = Token(uuid7(), str(user), "t", new_secret().sha256, None)
    stale.issue(token)  # the token row must not be written either
    with pytest.raises(ConcurrentChangeError):
        stale.commit(user)
    assert units.ledger.head() == head
    assert token.id not in memory_recorder(units.ledger).auth_tokens
    assert [entry[0] for entry in log] == ["mark", "wake"]  # the winner's only
    again = stale.get(Account, account.id)  # read again: the winner's state
    assert again is not None
    assert again.closed


def test_a_claim_taken_first_raises_key_claimed_with_the_winners_claim(
    wired: tuple[LedgerUnits, Log],
) -> None:
    units, _ = wired
    user, claim_id = uuid4(), uuid4()
    stale = units.start()
    stale.load([claim_id])
    winner = units.start()
    winner.add(_account(user))
    winner.commit(user, IdempotencyKey(claim_id, "winner", "print"))
    stale.add(_account(user))
    with pytest.raises(KeyClaimedError) as raced:
        stale.commit(user, IdempotencyKey(claim_id, "loser", "print"))
    assert raced.value.claim.resource_id == "winner"


# --- queries per command: one batch load, one append ----------------------------------------

DATE = datetime(2025, 1, 15, tzinfo=UTC)


def _details(member: Member) -> TransactionDetails:
    return TransactionDetails(Money(-100, Currency.BRL), DATE, member.categories["red"])


def _txn(side: CommandSide, member: Member) -> UUID:
    command = RecordTransaction(member.user_id, member.account_id, _details(member))
    return UUID(side.run(side.handlers.transactions.record, command).resource.id)


def _budget(side: CommandSide, member: Member) -> UUID:
    command = CreateBudget(member.user_id, member.categories["red"])
    return UUID(side.run(side.handlers.budgets.create, command).resource.id)


Scenario = Callable[[CommandSide, Member], tuple[Callable[..., Any], Any]]
QUERIES: dict[str, tuple[Scenario, int]] = {
    # POST /api/transactions: the account, its categories and the key's claim in one read.
    "record-transaction": (
        lambda s, m: (
            s.handlers.transactions.record,
            RecordTransaction(m.user_id, m.account_id, _details(m)),
        ),
        1,
    ),
    "record-transaction-with-key": (
        lambda s, m: (
            s.handlers.transactions.record,
            RecordTransaction(m.user_id, m.account_id, _details(m), "key"),
        ),
        1,
    ),
    # The account is known only once the transaction is read.
    "amend-transaction": (
        lambda s, m: (
            s.handlers.transactions.amend,
            AmendTransaction(m.user_id, _txn(s, m), _details(m)),
        ),
        2,
    ),
    "delete-transaction": (
        lambda s, m: (
            s.handlers.transactions.delete,
            DeleteTransaction(m.user_id, _txn(s, m)),
        ),
        2,
    ),
    "create-category": (
        lambda s, m: (
            s.handlers.categories.create,
            CreateCategory(m.user_id, "Pets", None, Color.YELLOW, "key"),
        ),
        1,
    ),
    "update-category": (
        lambda s, m: (
            s.handlers.categories.update,
            UpdateCategory(
                m.user_id, m.categories["red"], CategoryChanges("Comida", None, Color.RED, False)
            ),
        ),
        1,
    ),
    "delete-category": (
        lambda s, m: (
            s.handlers.categories.delete,
            DeleteCategory(m.user_id, m.categories["red"]),
        ),
        1,
    ),
    "create-budget": (
        lambda s, m: (
            s.handlers.budgets.create,
            CreateBudget(m.user_id, m.categories["red"]),
        ),
        1,
    ),
    # The view needs the budget's category, known once the budget is read.
    "rename-budget": (
        lambda s, m: (
            s.handlers.budgets.rename,
            RenameBudget(m.user_id, _budget(s, m), "Comida"),
        ),
        2,
    ),
    "close-account": (
        lambda s, m: (s.handlers.accounts.close, CloseAccount(m.user_id, m.account_id)),
        1,
    ),
    "revoke-token": (
        lambda s, m: (s.handlers.users.revoke_token, RevokeToken(m.user_id, m.token_id)),
        1,
    ),
    # Banks are kept per process once seen: provisioning reads nothing.
    "provision": (lambda s, m: (s.handlers.users.provision, ProvisionLoadTestUser(NOW)), 0),
}


@pytest.mark.parametrize("command", list(QUERIES))
def test_a_command_reads_in_its_fixed_number_of_queries_and_appends_once(
    side: CommandSide, user: Member, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    scenario, expected = QUERIES[command]
    handler, made = scenario(side, user)
    reads = _count(monkeypatch, side.memory.ledger, "select_events_of")
    appends = _count(monkeypatch, side.memory.ledger, "insert_events")
    side.run(handler, made)
    assert (reads(), appends()) == (expected, 1)


def test_a_replayed_create_reads_once_and_appends_nothing(
    side: CommandSide, user: Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    command = RecordTransaction(user.user_id, user.account_id, _details(user), "again")
    side.run(side.handlers.transactions.record, command)
    reads = _count(monkeypatch, side.memory.ledger, "select_events_of")
    appends = _count(monkeypatch, side.memory.ledger, "insert_events")
    assert side.run(side.handlers.transactions.record, command).replayed
    # The claim came with the batch; the replayed transaction (and its account check) is
    # one more read.
    assert (reads(), appends()) == (2, 0)


def _count(monkeypatch: pytest.MonkeyPatch, ledger: Ledger, method: str) -> Callable[[], int]:
    recorder = memory_recorder(ledger)
    calls = [0]
    original = getattr(recorder, method)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(recorder, method, counted)
    return lambda: calls[0]
