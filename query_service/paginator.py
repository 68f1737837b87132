"""Laravel's ``LengthAwarePaginator::toArray()``: the flat JSON the original's clients read."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import orjson

ON_EACH_SIDE = 3


def _query_string(params: Sequence[tuple[str, str]], page: int) -> str:
    """``withQueryString()``: the request's parameters, arrays re-indexed, then ``page``."""
    counters: dict[str, int] = {}
    parts = []
    for raw_key, value in params:
        if raw_key == "page":
            continue
        key = raw_key
        if raw_key.endswith("[]"):
            base = raw_key[:-2]
            index = counters.get(base, 0)
            counters[base] = index + 1
            key = f"{base}[{index}]"
        parts.append(f"{quote(key, safe='')}={quote(value, safe='')}")
    parts.append(f"page={page}")
    return "&".join(parts)


def _window(current: int, last: int) -> list[int | None]:
    """Page numbers to link, ``None`` for an elided run (Laravel's ``UrlWindow``)."""
    if last < ON_EACH_SIDE * 2 + 8:
        return list(range(1, last + 1))
    window = ON_EACH_SIDE + 4
    if current <= window:
        return [*range(1, window + ON_EACH_SIDE + 1), None, last - 1, last]
    if current > last - window:
        return [1, 2, None, *range(last - (window + ON_EACH_SIDE - 1), last + 1)]
    return [
        1,
        2,
        None,
        *range(current - ON_EACH_SIDE, current + ON_EACH_SIDE + 1),
        None,
        last - 1,
        last,
    ]


def paginate(
    data: list[Any] | None,
    *,
    total: int,
    page: int,
    per_page: int,
    path: str,
    params: Sequence[tuple[str, str]],
    count: int | None = None,
) -> dict[str, Any]:
    """The paginator's object; ``data`` None with ``count`` items: the envelope of a
    page whose items are rendered elsewhere (see :func:`envelope`)."""
    count = len(data) if data is not None else count or 0
    last = max(1, -(-total // per_page))

    def url(n: int) -> str:
        return f"{path}?{_query_string(params, n)}"

    links: list[dict[str, Any]] = [
        {
            "url": url(page - 1) if page > 1 else None,
            "label": "&laquo; Previous",
            "page": page - 1 if page > 1 else None,
            "active": False,
        }
    ]
    for n in _window(page, last):
        if n is None:
            links.append({"url": None, "label": "...", "active": False})
        else:
            links.append({"url": url(n), "label": str(n), "page": n, "active": n == page})
    links.append(
        {
            "url": url(page + 1) if page < last else None,
            "label": "Next &raquo;",
            "page": page + 1 if page < last else None,
            "active": False,
        }
    )
    first_item = (page - 1) * per_page + 1
    return {
        "current_page": page,
        "data": data,
        "first_page_url": url(1),
        "from": first_item if count else None,
        "last_page": last,
        "last_page_url": url(last),
        "links": links,
        "next_page_url": url(page + 1) if page < last else None,
        "path": path,
        "per_page": per_page,
        "prev_page_url": url(page - 1) if page > 1 else None,
        "to": first_item + count - 1 if count else None,
        "total": total,
    }


@lru_cache(maxsize=4096)
def envelope(
    path: str, params: tuple[tuple[str, str], ...], total: int, page: int, per_page: int
) -> tuple[bytes, bytes]:
    """The paginator's JSON around its ``data`` array, as the bytes before and after it:
    a page rendered as JSON elsewhere is spliced in, never parsed. Cached: the same
    listing asked again (the same query, the same total) costs a dictionary lookup."""
    offset = (page - 1) * per_page
    count = max(0, min(per_page, total - offset))
    raw = orjson.dumps(
        paginate(
            None, total=total, page=page, per_page=per_page, path=path, params=params, count=count
        )
    )
    head, marker, tail = raw.partition(b'"data":null')
    assert marker, "the paginator's object lost its data key"
    return head + b'"data":', tail
