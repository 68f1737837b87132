"""``POST /api/testing/load-test-user``: a ready-to-use user for load tests, in one commit."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from command_service.store import Store
from shared.adapters.auth import new_secret
from shared.adapters.eventstore import TokenGrant
from shared.domain.accounts import Account, AccountType
from shared.domain.banks import LOAD_TEST_BANK, Bank, bank_id_for
from shared.domain.categories import DEFAULT_CATEGORIES, Category, Palette, palette_id_for
from shared.domain.ids import uuid7
from shared.domain.money import Currency
from shared.domain.users import Token, User

TOKEN_LIFETIME = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class ProvisionedUser:
    token: str
    user_id: UUID
    email: str
    expires_at: datetime


def default_categories(user_id: UUID) -> list[Aggregate]:
    """The user's palette and the 10 default categories (user-owned, ``is_default``)."""
    palette = Palette(id=palette_id_for(user_id), user_id=str(user_id))
    made: list[Aggregate] = [palette]
    for name, description, color in DEFAULT_CATEGORIES:
        category = Category(
            id=uuid7(),
            user_id=str(user_id),
            name=name,
            description=description,
            color=color.value,
            is_default=True,
        )
        palette.assign(color, category.id)
        made.append(category)
    return made


class Provisioning:
    def __init__(self, store: Store) -> None:
        self.store = store

    def load_test_user(self, now: datetime | None = None) -> tuple[ProvisionedUser, int]:
        now = now or datetime.now(UTC)
        stamp = now.strftime("%Y%m%d%H%M%S") + f"{now.microsecond // 1000:03d}"
        user = User(
            id=uuid7(),
            name=f"k6 Load Test {stamp}",
            email=f"k6+{uuid4()}@valorizeai.test",
            preferred_currency=Currency.BRL.value,
        )
        bank_id = bank_id_for(LOAD_TEST_BANK[0])
        made: list[Aggregate] = [user]
        if self.store.bank(bank_id) is None:  # `valorize migrate` seeds it; be safe anyway
            made.append(Bank(id=bank_id, code=LOAD_TEST_BANK[0], name=LOAD_TEST_BANK[1]))
        for i in range(1, 4):
            number = "".join(
                secrets.choice(string.ascii_uppercase + string.digits) for _ in range(8)
            )
            made.append(
                Account(
                    id=uuid7(),
                    user_id=str(user.id),
                    name=f"k6 Account {i}",
                    number=number,
                    currency=Currency.BRL.value,
                    type=AccountType.CHECKING.value,
                    bank_id=str(bank_id),
                )
            )
        made.extend(default_categories(user.id))
        secret = new_secret()
        expires_at = (now + TOKEN_LIFETIME).replace(microsecond=0)
        token = Token(
            id=uuid7(),
            user_id=str(user.id),
            name=f"k6-mix-{stamp}",
            secret_sha256=secret.sha256,
            expires_at=expires_at,
        )
        made.append(token)
        grant = TokenGrant(token.id, user.id, secret.sha256, expires_at)
        position = self.store.append(user.id, *made, token_grants=[grant])
        provisioned = ProvisionedUser(f"{token.id}|{secret.plain}", user.id, user.email, expires_at)
        return provisioned, position
