"""Ports the command side depends on, with their PostgreSQL adapters."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol
from uuid import UUID

from psycopg import Connection
from psycopg.sql import SQL, Identifier
from psycopg_pool import ConnectionPool

from shared.auth import TokenLookup, TokenRecord, record_of, token_query


class BalanceLookup(Protocol):
    """Port: the last projected balance of an account (eventually consistent, like the
    original in production; clients that need their write reflected read with the
    position we return)."""

    def balance_of(self, account_id: UUID) -> int: ...


class PostgresBalances:
    def __init__(self, pool: ConnectionPool, schema: str) -> None:
        self._pool = pool
        self._sql = SQL("SELECT balance FROM {}.accounts WHERE id = %s").format(Identifier(schema))

    def balance_of(self, account_id: UUID) -> int:
        with self._pool.connection() as conn:
            row = conn.execute(self._sql, (account_id,), prepare=True).fetchone()
        return int(row[0]) if row else 0


class PostgresTokens(TokenLookup):
    """The inline ``auth_tokens`` table, written in the same transaction as ``Token.Issued``."""

    def __init__(
        self, connect: Callable[[], AbstractContextManager[Connection[Any]]], schema: str
    ) -> None:
        self._connect = connect
        self._sql = token_query(schema)

    def find(self, token_id: UUID) -> TokenRecord | None:
        with self._connect() as conn:
            # The event store's pool hands out dict rows; record_of reads either.
            return record_of(conn.execute(self._sql, (token_id,), prepare=True).fetchone())
