"""User commands: provisioning a load-test user, revoking a token."""

from __future__ import annotations

import secrets
import string
from datetime import timedelta
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from command_service.commands import ProvisionLoadTestUser, RevokeToken
from command_service.results import ProvisionedUser, Written
from command_service.unit_of_work import UnitOfWork
from command_service.views import Views
from shared.domain.accounts import Account, AccountType
from shared.domain.banks import LOAD_TEST_BANK, Bank, bank_id_for
from shared.domain.categories import DEFAULT_CATEGORIES, Category, Palette, palette_id_for
from shared.domain.errors import Model, NotFoundError
from shared.domain.ids import uuid7
from shared.domain.money import Currency
from shared.domain.users import Token, User, new_secret

TOKEN_LIFETIME = timedelta(days=1)
LOAD_TEST_ACCOUNTS = 3


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


def _account_number() -> str:
    return "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(8))


class UserHandlers:
    def __init__(self, views: Views) -> None:
        self.views = views

    def provision(
        self, command: ProvisionLoadTestUser, uow: UnitOfWork
    ) -> Written[ProvisionedUser]:
        """User, bank if missing, three BRL checking accounts, the default categories and
        a day's token: one commit, so the token works only once all of it exists."""
        now = command.now
        stamp = now.strftime("%Y%m%d%H%M%S") + f"{now.microsecond // 1000:03d}"
        user = User(
            id=uuid7(),
            name=f"k6 Load Test {stamp}",
            email=f"k6+{uuid4()}@valorizeai.test",
            preferred_currency=Currency.BRL.value,
        )
        uow.add(user)
        bank_id = bank_id_for(LOAD_TEST_BANK[0])
        if self.views.bank(uow, bank_id) is None:  # `valorize migrate` seeds it; be safe anyway
            uow.add(Bank(id=bank_id, code=LOAD_TEST_BANK[0], name=LOAD_TEST_BANK[1]))
        for i in range(1, LOAD_TEST_ACCOUNTS + 1):
            uow.add(
                Account(
                    id=uuid7(),
                    user_id=str(user.id),
                    name=f"k6 Account {i}",
                    number=_account_number(),
                    currency=Currency.BRL.value,
                    type=AccountType.CHECKING.value,
                    bank_id=str(bank_id),
                )
            )
        uow.add(*default_categories(user.id))
        secret = new_secret()
        expires_at = (now + TOKEN_LIFETIME).replace(microsecond=0)
        token = Token(
            id=uuid7(),
            user_id=str(user.id),
            name=f"k6-mix-{stamp}",
            secret_sha256=secret.sha256,
            expires_at=expires_at,
        )
        uow.issue(token)
        position = uow.commit(user.id)
        made = ProvisionedUser(f"{token.id}|{secret.plain}", user.id, user.email, expires_at)
        return Written(made, position)

    def revoke_token(self, command: RevokeToken, uow: UnitOfWork) -> int:
        """The ``Token.Revoked`` event and the inline row's ``revoked_at``, in one commit.
        Another user's token, or one already revoked, is a 404 (ids leak nothing)."""
        uow.load([command.token_id])
        token = uow.get(Token, command.token_id)
        if token is None or token.user_id != str(command.user_id) or token.revoked:
            raise NotFoundError(Model.TOKEN, command.token_id)
        token.revoke()
        uow.revoke(token)
        return uow.commit(command.user_id)
