"""POST /api/testing/load-test-user (contract 2.8 and 7.4), and what its token can do."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
from eventsourcing.domain import Aggregate

from shared.adapters.auth import new_secret
from shared.adapters.eventstore import Ledger, TokenGrant
from shared.domain.accounts import Account
from shared.domain.categories import DEFAULT_CATEGORIES, Category
from shared.domain.ids import uuid7
from shared.domain.users import Token, User
from tests.harness import ServedApp
from tests.integration import helpers
from tests.integration.helpers import Provisioned

TOKEN_RE = re.compile(r"^[0-9a-f-]{36}\|[A-Za-z0-9]{40}[0-9a-f]{8}$")
EMAIL_RE = re.compile(r"^k6\+[0-9a-f-]{36}@valorizeai\.test$")


def test_load_test_user_returns_201_with_token_user_email_and_expiry(api: httpx.Client) -> None:
    before = datetime.now(UTC)
    response = api.post("/api/testing/load-test-user")
    assert response.status_code == 201, response.text
    body = response.json()
    assert list(body) == ["token", "user_id", "email", "expires_at"]
    assert TOKEN_RE.match(body["token"]), body["token"]
    helpers.assert_uuid(body["token"].split("|")[0])
    helpers.assert_uuid(body["user_id"])
    assert EMAIL_RE.match(body["email"]), body["email"]
    assert body["expires_at"].endswith("+00:00"), body["expires_at"]
    expires_at = datetime.fromisoformat(body["expires_at"])
    lifetime = expires_at - before
    assert timedelta(hours=23, minutes=59) <= lifetime <= timedelta(days=1, minutes=1), lifetime


def test_load_test_user_reports_an_integer_position(api: httpx.Client) -> None:
    first = api.post("/api/testing/load-test-user")
    second = api.post("/api/testing/load-test-user")
    assert first.status_code == second.status_code == 201
    assert helpers.position_of(first) > 0
    assert helpers.position_of(second) > helpers.position_of(first)


def test_load_test_user_ignores_the_body_and_needs_no_auth(api: httpx.Client) -> None:
    # k6 posts `null`; any body is ignored, and a bad token is not even looked at.
    for content in (b"null", b'{"email": "me@example.com"}', b"not json"):
        response = api.post(
            "/api/testing/load-test-user",
            content=content,
            headers={"Content-Type": "application/json", "Authorization": "Bearer nope"},
        )
        assert response.status_code == 201, response.text
        assert response.json()["email"] != "me@example.com"


def test_each_load_test_user_is_a_new_user_with_a_new_token(api: httpx.Client) -> None:
    bodies = [api.post("/api/testing/load-test-user").json() for _ in range(3)]
    assert len({b["user_id"] for b in bodies}) == 3
    assert len({b["token"] for b in bodies}) == 3
    assert len({b["email"] for b in bodies}) == 3


def test_provisioned_token_is_usable_immediately_for_a_write(
    api: httpx.Client, ledger: Ledger
) -> None:
    user = helpers.provision(api, ledger)
    response = api.post(
        "/api/transactions",
        json=helpers.transaction_body(user.account_id),
        headers=user.headers,
    )
    assert response.status_code == 201, response.text
    account = response.json()["account"]
    assert account["id"] == user.account_id
    assert account["name"] == "k6 Account 1"


def test_provisioning_creates_three_brl_checking_accounts_on_the_load_test_bank(
    api: httpx.Client, ledger: Ledger
) -> None:
    user = helpers.provision(api, ledger)
    assert sorted(user.accounts) == ["k6 Account 1", "k6 Account 2", "k6 Account 3"]
    for account_id in user.accounts.values():
        account: Aggregate = ledger.repository.get(UUID(account_id))
        assert isinstance(account, Account)
        assert account.user_id == user.user_id
        assert account.currency == "BRL"
        assert account.type == "checking"
        assert account.bank_id == helpers.LOAD_TEST_BANK_ID
        assert account.number is not None
        assert re.fullmatch(r"[A-Z0-9]{8}", account.number), account.number
        assert not account.closed


def test_provisioning_creates_the_ten_default_categories_owned_by_the_user(
    api: httpx.Client, ledger: Ledger
) -> None:
    user = helpers.provision(api, ledger)
    found = []
    for color, category_id in user.categories.items():
        category: Aggregate = ledger.repository.get(UUID(category_id))
        assert isinstance(category, Category)
        assert category.user_id == user.user_id
        assert category.is_default is True
        assert category.color == color
        found.append((category.name, category.description, category.color))
    assert sorted(found) == sorted((n, d, c.value) for n, d, c in DEFAULT_CATEGORIES)


def test_load_test_user_sustains_a_burst_of_concurrent_calls(command_api: ServedApp) -> None:
    url = command_api.url

    def make(_: int) -> httpx.Response:
        with httpx.Client(base_url=url, headers={"Accept": "application/json"}) as client:
            return client.post("/api/testing/load-test-user", timeout=30)

    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(make, range(32)))
    assert [r.status_code for r in responses] == [201] * 32
    assert len({r.json()["user_id"] for r in responses}) == 32


def _issue_token(ledger: Ledger, user: Provisioned, expires_at: datetime | None) -> str:
    """A token written exactly as provisioning writes one (event + inline auth row)."""
    secret = new_secret()
    token = Token(
        id=uuid7(),
        user_id=user.user_id,
        name="test",
        secret_sha256=secret.sha256,
        expires_at=expires_at,
    )
    user_id = UUID(user.user_id)
    ledger.append(token, token_grants=[TokenGrant(token.id, user_id, secret.sha256, expires_at)])
    return f"{token.id}|{secret.plain}"


def test_expired_token_is_unauthenticated(api: httpx.Client, ledger: Ledger) -> None:
    user = helpers.provision(api, ledger)
    expired = _issue_token(ledger, user, datetime.now(UTC) - timedelta(minutes=1))
    with helpers.no_new_events(ledger):
        response = api.post(
            "/api/categories",
            json=helpers.category_body(),
            headers={"Authorization": f"Bearer {expired}"},
        )
    assert response.status_code == 401
    assert response.json() == helpers.UNAUTHENTICATED


def test_token_without_expiry_never_expires(api: httpx.Client, ledger: Ledger) -> None:
    user = helpers.provision(api, ledger)
    forever = _issue_token(ledger, user, None)
    response = api.post(
        "/api/categories",
        json=helpers.category_body(),
        headers={"Authorization": f"Bearer {forever}"},
    )
    assert response.status_code == 201, response.text


def test_user_record_is_brl_and_named_after_the_load_test(
    api: httpx.Client, ledger: Ledger
) -> None:
    user = helpers.provision(api, ledger)
    record: Aggregate = ledger.repository.get(UUID(user.user_id))
    assert isinstance(record, User)
    assert record.email == user.email
    assert record.preferred_currency == "BRL"
    assert re.fullmatch(r"k6 Load Test \d{17}", record.name), record.name
