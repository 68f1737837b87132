"""The flat Laravel paginator of GET /api/accounts and GET /api/transactions (contract 2.3, 7.5).

Page windows follow Laravel's ``UrlWindow`` with ``onEachSide = 3``: all pages below 14;
otherwise ``window = onEachSide + 4 = 7``, first 10 pages near the start, last 10 near the
end, and ``1 2 ... c-3..c+3 ... n-1 n`` in between.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.harness import ServedApp
from tests.integration import helpers
from tests.integration import read_helpers as rh
from tests.integration.helpers import Provisioned

PREV, NEXT = rh.PREVIOUS_LABEL, rh.NEXT_LABEL
# Not integers to PHP's FILTER_VALIDATE_INT, though Python's str.isdigit() says they are.
SUPERSCRIPT_TWO, ARABIC_THREE = "\u00b2", "\u0663"
PAST_INT64 = "99999999999999999999"


def _accounts(api: httpx.Client, user: Provisioned, count: int) -> list[str]:
    return [rh.create_account(api, user, name=f"Extra {n:02d}")["id"] for n in range(count)]


def _transactions(api: httpx.Client, user: Provisioned, count: int, memo: str = "Item") -> None:
    """``count`` transactions on Account 1, a day apart (so date order is unambiguous)."""
    for n in range(count):
        day = f"2025-03-{n + 1:02d}T12:00:00+00:00"
        rh.record(api, user, user.account_id, -(n + 1) * 100, date=day, memo=f"{memo} {n:02d}")


def _numbered(body: dict[str, Any]) -> list[dict[str, Any]]:
    links: list[dict[str, Any]] = body["links"][1:-1]
    return links


def _assert_links(body: dict[str, Any], query: str = "") -> None:
    """Previous/next and every numbered link agree with the page and carry the query."""
    page, last = body["current_page"], body["last_page"]

    def url(n: int) -> str:
        return rh.page_url(body, f"{query}page={n}")

    prev, nxt = body["links"][0], body["links"][-1]
    assert prev == {
        "url": url(page - 1) if page > 1 else None,
        "label": PREV,
        "page": page - 1 if page > 1 else None,
        "active": False,
    }
    assert nxt == {
        "url": url(page + 1) if page < last else None,
        "label": NEXT,
        "page": page + 1 if page < last else None,
        "active": False,
    }
    for link in _numbered(body):
        if link["label"] == "...":
            assert link == {"url": None, "label": "...", "active": False}
        else:
            n = int(link["label"])
            assert link == {"url": url(n), "label": str(n), "page": n, "active": n == page}
    assert body["first_page_url"] == url(1)
    assert body["last_page_url"] == url(last)
    assert body["prev_page_url"] == (url(page - 1) if page > 1 else None)
    assert body["next_page_url"] == (url(page + 1) if page < last else None)


# --- accounts: fixed 10 per page ----------------------------------------------------------


def test_accounts_are_paginated_ten_per_page(
    api: httpx.Client, user: Provisioned, edge_api: ServedApp
) -> None:
    _accounts(api, user, 12)  # plus the 3 provisioned: 15
    first = rh.get_json(api, user, "/api/accounts")
    rh.assert_paginator(first, page=1, per_page=10, total=15, last_page=2, count=10)
    assert first["path"] == f"{edge_api.url}/api/accounts"
    assert rh.link_labels(first) == [PREV, "1", "2", NEXT]
    _assert_links(first)
    assert [a["name"] for a in first["data"][:3]] == [
        "k6 Account 1",
        "k6 Account 2",
        "k6 Account 3",
    ]

    second = rh.get_json(api, user, "/api/accounts", {"page": "2"})
    rh.assert_paginator(second, page=2, per_page=10, total=15, last_page=2, count=5)
    assert (second["from"], second["to"]) == (11, 15)
    _assert_links(second)
    every = rh.ids(first["data"]) + rh.ids(second["data"])
    assert len(set(every)) == 15


def test_accounts_page_past_the_end_is_empty_with_null_from_and_to(
    api: httpx.Client, user: Provisioned
) -> None:
    body = rh.get_json(api, user, "/api/accounts", {"page": "3"})
    rh.assert_paginator(body, page=3, per_page=10, total=3, last_page=1, count=0)
    assert body["from"] is None
    assert body["to"] is None
    assert body["next_page_url"] is None
    assert body["prev_page_url"] == rh.page_url(body, "page=2")
    _assert_links(body)


def test_accounts_ignore_per_page(api: httpx.Client, user: Provisioned) -> None:
    _accounts(api, user, 8)  # 11 in all
    body = rh.get_json(api, user, "/api/accounts", {"per_page": "2"})
    rh.assert_paginator(body, page=1, per_page=10, total=11, last_page=2, count=10)
    _assert_links(body, "per_page=2&")  # still carried in the query string


@pytest.mark.parametrize(
    "page", ["abc", "0", "-1", "1.5", "", SUPERSCRIPT_TWO, ARABIC_THREE, PAST_INT64], ids=repr
)
def test_accounts_unusable_page_means_page_one(
    api: httpx.Client, user: Provisioned, page: str
) -> None:
    body = rh.get_json(api, user, "/api/accounts", {"page": page})
    rh.assert_paginator(body, page=1, per_page=10, total=3, last_page=1, count=3)
    assert body["first_page_url"] == rh.page_url(body, "page=1")


def test_accounts_urls_carry_the_filters(api: httpx.Client, user: Provisioned) -> None:
    _accounts(api, user, 11)
    body = rh.get_json(api, user, "/api/accounts", {"search": "Extra", "type": "checking"})
    rh.assert_paginator(body, page=1, per_page=10, total=11, last_page=2, count=10)
    _assert_links(body, "search=Extra&type=checking&")


def test_single_page_has_only_page_one_and_no_neighbours(
    api: httpx.Client, user: Provisioned
) -> None:
    body = rh.get_json(api, user, "/api/accounts")
    assert body["links"] == [
        {"url": None, "label": PREV, "page": None, "active": False},
        {"url": rh.page_url(body, "page=1"), "label": "1", "page": 1, "active": True},
        {"url": None, "label": NEXT, "page": None, "active": False},
    ]


# --- transactions: per_page 1..100, default 15 --------------------------------------------


def test_transactions_default_to_fifteen_per_page(api: httpx.Client, user: Provisioned) -> None:
    _transactions(api, user, 16)
    first = rh.list_transactions(api, user)
    rh.assert_paginator(first, page=1, per_page=15, total=16, last_page=2, count=15)
    _assert_links(first)
    assert rh.memos(first)[0] == "Item 15"  # date DESC
    second = rh.list_transactions(api, user, {"page": "2"})
    rh.assert_paginator(second, page=2, per_page=15, total=16, last_page=2, count=1)
    assert (second["from"], second["to"]) == (16, 16)
    assert rh.memos(second) == ["Item 00"]
    _assert_links(second)


def test_transactions_per_page_splits_the_list(api: httpx.Client, user: Provisioned) -> None:
    _transactions(api, user, 12)
    seen: list[str] = []
    for page in (1, 2, 3):
        body = rh.list_transactions(api, user, {"per_page": "5", "page": str(page)})
        count = 5 if page < 3 else 2
        rh.assert_paginator(body, page=page, per_page=5, total=12, last_page=3, count=count)
        assert rh.link_labels(body) == [PREV, "1", "2", "3", NEXT]
        _assert_links(body, "per_page=5&")
        seen += rh.ids(body["data"])
    assert len(set(seen)) == 12


@pytest.mark.parametrize("per_page", ["1", "100"])
def test_transactions_per_page_bounds_are_inclusive(
    api: httpx.Client, user: Provisioned, per_page: str
) -> None:
    _transactions(api, user, 2)
    body = rh.list_transactions(api, user, {"per_page": per_page})
    size = int(per_page)
    rh.assert_paginator(
        body, page=1, per_page=size, total=2, last_page=-(-2 // size), count=min(2, size)
    )


@pytest.mark.parametrize(
    "per_page", ["0", "101", "abc", "1.5", "-1", SUPERSCRIPT_TWO, ARABIC_THREE], ids=repr
)
def test_transactions_per_page_out_of_range_is_422(
    api: httpx.Client, user: Provisioned, per_page: str
) -> None:
    response = api.get("/api/transactions", params={"per_page": per_page}, headers=user.headers)
    helpers.assert_validation(response, "per_page", exact=True)


@pytest.mark.parametrize(
    "page", ["0", "-1", "abc", "1.5", SUPERSCRIPT_TWO, ARABIC_THREE, PAST_INT64], ids=repr
)
def test_transactions_unusable_page_is_422(api: httpx.Client, user: Provisioned, page: str) -> None:
    # Laravel's `integer` rule: ASCII digits within PHP's int range.
    response = api.get("/api/transactions", params={"page": page}, headers=user.headers)
    helpers.assert_validation(response, "page", exact=True)


@pytest.mark.parametrize("per_page", ["1", "15", "100"])
def test_transactions_far_page_is_empty_not_a_server_error(
    api: httpx.Client, user: Provisioned, per_page: str
) -> None:
    # A valid 64-bit page whose OFFSET no longer fits in a bigint.
    page = "922337203685477580"
    response = api.get(
        "/api/transactions", params={"page": page, "per_page": per_page}, headers=user.headers
    )
    assert response.status_code in (200, 422), (response.status_code, response.text)
    if response.status_code == 200:
        assert response.json()["data"] == []


def test_transactions_empty_list_and_page_past_the_end(
    api: httpx.Client, user: Provisioned
) -> None:
    empty = rh.list_transactions(api, user)
    rh.assert_paginator(empty, page=1, per_page=15, total=0, last_page=1, count=0)
    _assert_links(empty)
    _transactions(api, user, 3)
    past = rh.list_transactions(api, user, {"page": "2"})
    rh.assert_paginator(past, page=2, per_page=15, total=3, last_page=1, count=0)
    assert past["from"] is None
    assert past["to"] is None
    _assert_links(past)


def test_transaction_urls_reindex_array_parameters(api: httpx.Client, user: Provisioned) -> None:
    _transactions(api, user, 3)
    a1, a2 = user.accounts["k6 Account 1"], user.accounts["k6 Account 2"]
    params = [("accounts[]", a1), ("accounts[]", a2), ("per_page", "2")]
    body = rh.list_transactions(api, user, params)
    rh.assert_paginator(body, page=1, per_page=2, total=3, last_page=2, count=2)
    query = f"accounts%5B0%5D={a1}&accounts%5B1%5D={a2}&per_page=2&"
    assert body["first_page_url"] == rh.page_url(body, f"{query}page=1")
    _assert_links(body, query)
    # The next page's URL is usable as is: following it gives page 2 with the same filters.
    following = api.get(body["next_page_url"], headers=user.headers)
    assert following.status_code == 200, following.text
    rh.assert_paginator(following.json(), page=2, per_page=2, total=3, last_page=2, count=1)


def test_transaction_urls_carry_order_by_and_encoded_search(
    api: httpx.Client, user: Provisioned
) -> None:
    _transactions(api, user, 3, memo="Compra Pão")
    params = [
        ("search", "Compra Pão"),
        ("order_by[column]", "amount"),
        ("order_by[direction]", "asc"),
        ("per_page", "1"),
        ("page", "2"),
    ]
    body = rh.list_transactions(api, user, params)
    rh.assert_paginator(body, page=2, per_page=1, total=3, last_page=3, count=1)
    query = (
        "search=Compra%20P%C3%A3o&order_by%5Bcolumn%5D=amount&order_by%5Bdirection%5D=asc"
        "&per_page=1&"
    )
    _assert_links(body, query)
    assert rh.memos(body) == ["Compra Pão 01"]  # -300, -200, -100 ascending: the middle one


def test_urls_use_the_forwarded_scheme_and_host(api: httpx.Client, user: Provisioned) -> None:
    response = api.get(
        "/api/accounts",
        headers={**user.headers, "Host": "valorize.example", "X-Forwarded-Proto": "https"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["path"] == "https://valorize.example/api/accounts"
    assert body["first_page_url"] == "https://valorize.example/api/accounts?page=1"


# --- the elided page window ---------------------------------------------------------------


def _window(body: dict[str, Any]) -> list[str]:
    return [link["label"] for link in _numbered(body)]


def test_thirteen_pages_are_all_linked(api: httpx.Client, user: Provisioned) -> None:
    _transactions(api, user, 13)
    body = rh.list_transactions(api, user, {"per_page": "1", "page": "7"})
    rh.assert_paginator(body, page=7, per_page=1, total=13, last_page=13, count=1)
    assert _window(body) == [str(n) for n in range(1, 14)]
    _assert_links(body, "per_page=1&")


def test_sixteen_pages_are_elided_as_laravel_does(api: httpx.Client, user: Provisioned) -> None:
    _transactions(api, user, 16)
    expected = {
        1: [*map(str, range(1, 11)), "...", "15", "16"],
        7: [*map(str, range(1, 11)), "...", "15", "16"],
        8: ["1", "2", "...", *map(str, range(5, 12)), "...", "15", "16"],
        9: ["1", "2", "...", *map(str, range(6, 13)), "...", "15", "16"],
        10: ["1", "2", "...", *map(str, range(7, 17))],
        16: ["1", "2", "...", *map(str, range(7, 17))],
    }
    actual = {}
    for page in expected:
        body = rh.list_transactions(api, user, {"per_page": "1", "page": str(page)})
        rh.assert_paginator(body, page=page, per_page=1, total=16, last_page=16, count=1)
        _assert_links(body, "per_page=1&")
        actual[page] = _window(body)
    assert actual == expected
