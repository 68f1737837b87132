"""Ports the command side depends on beyond the unit of work, with their adapters."""

from __future__ import annotations

import logging
from typing import Any, Protocol
from uuid import UUID

from shared.contracts import HOT_PREFIXES

logger = logging.getLogger(__name__)


class BalanceLookup(Protocol):
    """Port: the last projected balance of an account, for the account shown in a write's
    response. The command side's one read of a read model, and stale by design: it is
    the balance before this write is projected (as the original's, whose balance update
    was queued), so a client that needs the write reflected reads the account again (its
    next read waits for its write)."""

    def balance_of(self, account_id: UUID) -> int: ...


class HotBalances:
    """Balances from the hot read model (``redis_cache``): one Redis read, no database."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def balance_of(self, account_id: UUID) -> int:
        try:
            found = self._client.hget(HOT_PREFIXES["account"] + str(account_id), "b")
        except Exception:  # a cache outage costs the response's balance, not the write
            logger.warning("balance of %s unavailable", account_id, exc_info=True)
            return 0
        return int(found or 0)


class NoBalances:
    """Without Redis (a test stack): balances are not shown (0)."""

    def balance_of(self, account_id: UUID) -> int:
        return 0
