"""Every read endpoint refuses a missing, malformed, unknown or expired token with the
original's 401 body, before looking at the resource or the filters."""

from __future__ import annotations

import uuid

import httpx
import pytest

from shared.adapters.eventstore import Ledger
from tests.integration import helpers
from tests.integration import read_helpers as rh
from tests.integration.helpers import Provisioned

SOME_ID = uuid.uuid4()
PATHS = [
    "/api/accounts",
    f"/api/accounts/{SOME_ID}",
    "/api/categories",
    f"/api/categories/{SOME_ID}",
    "/api/transactions",
    f"/api/transactions/{SOME_ID}",
    f"/api/transactions/{SOME_ID}/suggestions",
    "/api/budgets",
    f"/api/budgets/{SOME_ID}",
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer garbage",
        "Bearer 1|abc",
        f"Bearer {uuid.uuid4()}|secret",
        "Token abc",
        "Basic dXNlcjpwYXNz",
    ],
)
def test_reads_without_a_valid_token_are_401(
    api: httpx.Client, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = api.get(path, headers=headers)
    assert response.status_code == 401, response.text
    assert response.json() == helpers.UNAUTHENTICATED


def test_an_expired_token_is_401_on_every_read(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    expired = {"Authorization": f"Bearer {rh.expired_token(ledger, user)}"}
    owned = [p.replace(str(SOME_ID), user.account_id) for p in PATHS]
    for path in owned:
        response = api.get(path, headers=expired)
        assert response.status_code == 401, (path, response.text)
        assert response.json() == helpers.UNAUTHENTICATED
