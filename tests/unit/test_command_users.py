"""Provisioning load-test users and revoking tokens (contract 2.8, 2.9, 7.4)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from command_service.commands import ProvisionLoadTestUser, RevokeToken
from shared.adapters.auth import (
    Authenticator,
    TokenCache,
    TokenRecord,
    UnauthenticatedError,
    accepts,
)
from shared.adapters.memory import MemoryTokens, memory_recorder
from shared.adapters.ratelimit import TokenBuckets
from shared.domain.accounts import Account, AccountType
from shared.domain.banks import LOAD_TEST_BANK, Bank, bank_id_for
from shared.domain.categories import DEFAULT_CATEGORIES, Category, Palette, palette_id_for
from shared.domain.errors import NotFoundError
from shared.domain.money import Currency
from shared.domain.users import Token, User
from tests.unit.conftest import NOW, CommandSide, Member, bare_side

TOKEN = re.compile(r"^[0-9a-f-]{36}\|[A-Za-z0-9]{40}[0-9a-f]{8}$")


def test_provisioning_makes_a_brl_user_named_after_the_load_test(
    side: CommandSide, user: Member
) -> None:
    stored = side.stored(User, user.user_id)
    assert stored.name == "k6 Load Test 20990314150926535"
    assert re.fullmatch(r"k6\+[0-9a-f-]{36}@valorizeai\.test", stored.email)
    assert stored.preferred_currency == Currency.BRL


def test_provisioning_makes_three_brl_checking_accounts_on_the_load_test_bank(
    side: CommandSide, user: Member
) -> None:
    accounts = [side.stored(Account, a) for a in user.accounts]
    assert [a.name for a in accounts] == ["k6 Account 1", "k6 Account 2", "k6 Account 3"]
    for account in accounts:
        assert (account.user_id, account.currency, account.type) == (
            str(user.user_id),
            Currency.BRL,
            AccountType.CHECKING,
        )
        assert account.bank_id == str(bank_id_for(LOAD_TEST_BANK[0]))
        assert re.fullmatch(r"[A-Z0-9]{8}", account.number or "")


def test_provisioning_makes_the_ten_default_categories_and_their_palette(
    side: CommandSide, user: Member
) -> None:
    found = []
    for category_id in user.categories.values():
        category = side.stored(Category, category_id)
        assert (category.user_id, category.is_default) == (str(user.user_id), True)
        found.append((category.name, category.description, category.color))
    assert sorted(found) == sorted(DEFAULT_CATEGORIES)
    palette = side.stored(Palette, palette_id_for(user.user_id))
    assert palette.colors == {color: str(i) for color, i in user.categories.items()}


def test_provisioning_issues_a_days_token_usable_at_once_in_one_commit(
    side: CommandSide, user: Member
) -> None:
    assert TOKEN.match(user.token)
    token = side.stored(Token, user.token_id)
    assert token.expires_at == (NOW + timedelta(days=1)).replace(microsecond=0)
    assert token.name == "k6-mix-20990314150926535"
    # The inline auth row was written by the same append: the plain secret opens it.
    row = memory_recorder(side.memory.ledger).auth_tokens[user.token_id]
    record = TokenRecord(row.user_id, row.secret_sha256, row.expires_at, revoked=False)
    assert accepts(record, user.token.split("|")[1], now=NOW)
    assert user.position == side.head()  # the whole user is one commit, marked and woken
    assert side.memory.marks.marks[-1] == (user.user_id, user.position)
    assert side.memory.wakeups.positions[-1] == user.position


def test_the_load_test_bank_is_registered_if_missing_and_only_once() -> None:
    side = bare_side()  # no `valorize migrate` has seeded the banks
    side.provision()
    side.provision()
    banks = [e for e in side.events_after(0) if isinstance(e, Bank.Registered)]
    assert [b.code for b in banks] == [LOAD_TEST_BANK[0]]


def test_each_provisioned_user_is_new(side: CommandSide) -> None:
    made = [side.run(side.handlers.users.provision, ProvisionLoadTestUser(NOW)) for _ in range(3)]
    assert len({m.resource.user_id for m in made}) == 3
    assert len({m.resource.token for m in made}) == 3
    assert len({m.resource.email for m in made}) == 3


def test_revoking_a_token_records_it_and_marks_its_row_in_one_commit(
    side: CommandSide, user: Member
) -> None:
    command = RevokeToken(user.user_id, user.token_id)
    position = side.run(side.handlers.users.revoke_token, command)
    [event] = side.events_after(position - 1)
    assert isinstance(event, Token.Revoked)
    assert side.stored(Token, user.token_id).revoked
    assert memory_recorder(side.memory.ledger).auth_tokens[user.token_id].revoked_at is not None


@pytest.mark.parametrize("token", ["unknown", "another-users", "already-revoked"])
def test_only_the_callers_live_tokens_can_be_revoked(
    side: CommandSide, user: Member, other: Member, token: str
) -> None:
    token_id = {"unknown": uuid4(), "another-users": other.token_id}.get(token, user.token_id)
    revoke = side.handlers.users.revoke_token
    if token == "already-revoked":
        side.run(revoke, RevokeToken(user.user_id, token_id))
    with side.nothing_appended(), pytest.raises(NotFoundError) as missing:
        side.run(revoke, RevokeToken(user.user_id, UUID(str(token_id))))
    assert "[App\\Models\\PersonalAccessToken]" in str(missing.value)


# --- authenticating with what the commands wrote (the inline auth_tokens rows) --------------


def _authenticate(side: CommandSide, authorization: str | None) -> UUID:
    # No cache (ttl 0): every call reads the row, as the first request after a revocation.
    auth = Authenticator(TokenCache(0), TokenBuckets(0, 0), TokenBuckets(0, 0))
    tokens = MemoryTokens(memory_recorder(side.memory.ledger))

    async def find(token_id: UUID) -> TokenRecord | None:
        return tokens.find(token_id)

    return asyncio.run(auth.user_of(authorization, "127.0.0.1", find))


def test_a_provisioned_token_authenticates_its_user(side: CommandSide, user: Member) -> None:
    assert _authenticate(side, f"Bearer {user.token}") == user.user_id


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "garbage",
        "wrong-secret",
        "another-tokens-secret",
        "unknown-token-id",
        "no-bearer-prefix",
        "basic-scheme",
        "token-id-only",
        "empty-secret",
        "bare-scheme",
        "revoked",
        "expired",
    ],
)
def test_a_token_that_does_not_prove_its_user_is_unauthenticated(
    side: CommandSide, user: Member, other: Member, case: str
) -> None:
    token_id, secret = user.token.split("|")
    headers: dict[str, str | None] = {
        "missing": None,
        "garbage": "Bearer garbage",
        "wrong-secret": f"Bearer {token_id}|{'x' * len(secret)}",
        "another-tokens-secret": f"Bearer {token_id}|{other.token.split('|')[1]}",
        "unknown-token-id": f"Bearer {uuid4()}|{secret}",
        "no-bearer-prefix": user.token,
        "basic-scheme": "Basic dXNlcjpwYXNz",
        "token-id-only": f"Bearer {token_id}",
        "empty-secret": f"Bearer {token_id}|",
        "bare-scheme": "Bearer",
    }
    authorization = headers.get(case, f"Bearer {user.token}")
    if case == "revoked":  # DELETE /api/tokens/{id}, or logout with this token
        side.run(side.handlers.users.revoke_token, RevokeToken(user.user_id, user.token_id))
    elif case == "expired":
        two_days_ago = datetime.now(UTC) - timedelta(days=2)  # its day's token has run out
        made = side.run(side.handlers.users.provision, ProvisionLoadTestUser(two_days_ago))
        authorization = f"Bearer {made.resource.token}"
    with pytest.raises(UnauthenticatedError):
        _authenticate(side, authorization)
