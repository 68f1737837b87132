"""The command side without servers: the real handlers on the in-memory unit of work (a
real ``Ledger`` on eventsourcing's POPO store), users provisioned by the real handler."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

import pytest
from argon2 import PasswordHasher
from eventsourcing.domain import Aggregate

from command_service.commands import ProvisionLoadTestUser
from command_service.handlers import Handlers
from command_service.ledger_unit_of_work import InMemory, in_memory
from command_service.passwords import Argon2Passwords
from command_service.unit_of_work import UnitOfWork
from shared.domain.accounts import Account
from shared.domain.banks import BRAZILIAN_BANKS, Bank, bank_id_for
from shared.domain.categories import Category

C = TypeVar("C")
R = TypeVar("R")
A = TypeVar("A", bound=Aggregate)

# The clock provisioning commands carry: fixed, so names and expiries are exact, and in
# the future, so the tokens they issue are valid whenever the tests run.
NOW = datetime(2099, 3, 14, 15, 9, 26, 535897, tzinfo=UTC)


# Argon2id at its lowest costs: the same algorithm and checks, at unit-test speed.
CHEAP_PASSWORDS = Argon2Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


class FixedBalances:
    """``BalanceLookup`` with balances set by the test (0 otherwise)."""

    def __init__(self) -> None:
        self.balances: dict[UUID, int] = {}

    def balance_of(self, account_id: UUID) -> int:
        return self.balances.get(account_id, 0)


@dataclass(frozen=True)
class Member:
    """A user made by the provisioning handler, with the ids a test acts on."""

    user_id: UUID
    token_id: UUID
    token: str
    position: int
    accounts: list[UUID] = field(default_factory=list)  # "k6 Account 1", 2, 3
    categories: dict[str, UUID] = field(default_factory=dict)  # default color -> id

    @property
    def account_id(self) -> UUID:
        return self.accounts[0]


@dataclass(frozen=True)
class CommandSide:
    memory: InMemory
    handlers: Handlers
    balances: FixedBalances

    def run(self, handler: Callable[[C, UnitOfWork], R], command: C) -> R:
        """``handler`` with a fresh unit of work, as the endpoints call it."""
        return handler(command, self.memory.units.start())

    def head(self) -> int:
        return self.memory.ledger.head()

    def events_after(self, position: int) -> list[Any]:
        ledger = self.memory.ledger
        found = ledger.recorder.select_notifications(start=position + 1, limit=100_000)
        return [ledger.mapper.to_domain_event(n) for n in found]

    def stored(self, kind: type[A], aggregate_id: UUID) -> A:
        """The aggregate as the store has it now (read back from its events)."""
        aggregate: Aggregate = self.memory.ledger.repository.get(aggregate_id)
        assert isinstance(aggregate, kind), aggregate
        return aggregate

    def add(self, *aggregates: Aggregate) -> int:
        """Append outside any command (reference data, a global category...)."""
        return self.memory.ledger.append(*aggregates)

    @contextlib.contextmanager
    def nothing_appended(self) -> Iterator[None]:
        before = self.head()
        yield
        assert self.head() == before, self.events_after(before)

    def provision(self) -> Member:
        before = self.head()
        made = self.run(self.handlers.users.provision, ProvisionLoadTestUser(NOW))
        user = made.resource
        events = self.events_after(before)
        return Member(
            user_id=user.user_id,
            token_id=UUID(user.token.split("|")[0]),
            token=user.token,
            position=made.position,
            accounts=[e.originator_id for e in events if isinstance(e, Account.Opened)],
            categories={
                e.color: e.originator_id for e in events if isinstance(e, Category.Created)
            },
        )


def bare_side() -> CommandSide:
    """An empty store, with no reference data."""
    balances = FixedBalances()
    return CommandSide(in_memory(), Handlers.build(balances, CHEAP_PASSWORDS), balances)


@pytest.fixture
def side() -> CommandSide:
    """A store as ``valorize migrate`` leaves it: the banks registered."""
    made = bare_side()
    made.add(*(Bank(bank_id_for(code), code, name) for code, name in BRAZILIAN_BANKS))
    return made


@pytest.fixture
def user(side: CommandSide) -> Member:
    return side.provision()


@pytest.fixture
def other(side: CommandSide) -> Member:
    return side.provision()
