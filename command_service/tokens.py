"""The command side's ``TokenLookup``: the inline ``auth_tokens`` table."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any
from uuid import UUID

from psycopg import Connection

from shared.adapters.auth import TokenLookup, TokenRecord, record_of, token_query


class PostgresTokens(TokenLookup):
    """``auth_tokens``, written in the same transaction as ``Token.Issued``: it lives beside
    the events, so it is read through the event store's own pool."""

    def __init__(
        self, connect: Callable[[], AbstractContextManager[Connection[Any]]], schema: str
    ) -> None:
        self._connect = connect
        self._sql = token_query(schema)

    def find(self, token_id: UUID) -> TokenRecord | None:
        with self._connect() as conn:
            # The event store's pool hands out dict rows; record_of reads either.
            return record_of(conn.execute(self._sql, (token_id,), prepare=True).fetchone())
