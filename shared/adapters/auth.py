"""API tokens in the original's Sanctum shape: ``<id>|<40 alphanumerics><crc32b hex>``."""

from __future__ import annotations

import hmac
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from psycopg.sql import SQL, Composed, Identifier

from shared.adapters.ratelimit import TokenBuckets, TooManyRequestsError, check
from shared.adapters.recorder import AUTH_TOKENS_TABLE
from shared.domain.ids import parse_uuid
from shared.domain.users import IssuedSecret, new_secret, sha256_hex

# Issuing a secret is the domain's (a token's plain text exists once, in its 201); those
# names stay importable from here, where every service authenticates.
__all__ = [
    "Authenticator",
    "Find",
    "IssuedSecret",
    "TokenCache",
    "TokenLookup",
    "TokenRecord",
    "UnauthenticatedError",
    "accepts",
    "new_secret",
    "record_of",
    "sha256_hex",
    "split_bearer",
    "token_query",
]


class UnauthenticatedError(Exception):
    """No usable bearer token: missing, unknown, wrong, expired or revoked (a 401)."""


def split_bearer(authorization: str | None) -> tuple[UUID, str] | None:
    """``(token_id, secret)`` from an ``Authorization: Bearer <id>|<secret>`` header."""
    if not authorization or not authorization.startswith("Bearer "):
        return None
    token_id, sep, secret = authorization[7:].strip().partition("|")
    parsed = parse_uuid(token_id)
    if not sep or parsed is None or not secret:
        return None
    return parsed, secret


@dataclass(frozen=True, slots=True)
class TokenRecord:
    user_id: UUID
    secret_sha256: str
    expires_at: datetime | None
    revoked: bool


def accepts(record: TokenRecord | None, secret: str, now: datetime | None = None) -> bool:
    """Whether ``secret`` opens ``record``: right hash, not revoked, not expired."""
    if record is None or record.revoked:
        return False
    if not hmac.compare_digest(record.secret_sha256, sha256_hex(secret)):
        return False
    now = now or datetime.now(UTC)
    return record.expires_at is None or record.expires_at > now


class TokenLookup(Protocol):
    """Port: find a token's record by id (the inline ``auth_tokens`` table)."""

    def find(self, token_id: UUID) -> TokenRecord | None: ...


class TokenCache:
    """In-process copies of token records, unknown ids included (a negative cache), each
    trusted for ``ttl`` seconds: a hit costs no round trip, and a token revoked or changed
    elsewhere stops working here within ``ttl`` (expiry itself is checked on every use).
    Bounded: past ``max_entries`` the oldest entry is dropped."""

    def __init__(
        self, ttl: float, max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl, self.max_entries, self.clock = ttl, max_entries, clock
        self._entries: OrderedDict[UUID, tuple[float, TokenRecord | None]] = OrderedDict()

    def get(self, token_id: UUID) -> tuple[bool, TokenRecord | None]:
        """``(found, record)``; ``record`` None with ``found`` means "no such token"."""
        entry = self._entries.get(token_id)
        if entry is None or self.clock() - entry[0] >= self.ttl:
            return False, None
        return True, entry[1]

    def put(self, token_id: UUID, record: TokenRecord | None) -> None:
        if self.ttl <= 0:
            return
        self._entries[token_id] = (self.clock(), record)
        self._entries.move_to_end(token_id)
        if len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


Find = Callable[[UUID], Awaitable[TokenRecord | None]]


class Authenticator:
    """Bearer token to user, shared by the HTTP services: the cache first; on a miss the
    service's own lookup, unless the client's address has used up its failed-auth budget
    (a client guessing ids never reaches the database faster than that); then the
    per-token request budget."""

    def __init__(
        self,
        cache: TokenCache,
        failures: TokenBuckets,
        per_token: TokenBuckets,
        max_proved: int = 100_000,
    ) -> None:
        self.cache, self.failures, self.per_token = cache, failures, per_token
        # Authorization headers whose secret matched their token's hash: the same header
        # again is not parsed or hashed again (the record itself still comes from the
        # cache, so revocation and expiry hold as they would).
        self._proved: OrderedDict[str, UUID] = OrderedDict()
        self._max_proved = max_proved

    def known(self, authorization: str) -> UUID | None:
        """The user of a header already proved, from memory only (None: ask ``user_of``,
        which may need a lookup); raises only when over the per-token budget."""
        token_id = self._proved.get(authorization)
        if token_id is None:
            return None
        found, record = self.cache.get(token_id)
        if not found or record is None or record.revoked:
            return None
        if record.expires_at is not None and record.expires_at <= datetime.now(UTC):
            return None
        check(self.per_token, token_id)
        return record.user_id

    def _prove(self, authorization: str, token_id: UUID) -> None:
        self._proved[authorization] = token_id
        if len(self._proved) > self._max_proved:
            self._proved.popitem(last=False)

    async def user_of(self, authorization: str | None, address: str, find: Find) -> UUID:
        if authorization is not None and (user := self.known(authorization)) is not None:
            return user
        bearer = split_bearer(authorization)
        if bearer is None:
            raise UnauthenticatedError
        token_id, secret = bearer
        found, record = self.cache.get(token_id)
        if not found:
            wait = self.failures.wait_for(address)
            if wait:
                raise TooManyRequestsError(wait)
            record = await find(token_id)
            self.cache.put(token_id, record)
        if record is None or not accepts(record, secret):
            self.failures.take(address)
            raise UnauthenticatedError
        check(self.per_token, token_id)
        assert authorization is not None  # split_bearer found a token in it
        self._prove(authorization, token_id)
        return record.user_id


def token_query(schema: str) -> Composed:
    """The inline ``auth_tokens`` row of one token (``%s``: its id), as a tuple row that
    :func:`record_of` reads. Every service authenticates through this one statement."""
    return SQL(
        "SELECT user_id, secret_sha256, expires_at, revoked_at IS NOT NULL FROM {}.{} WHERE id = %s"
    ).format(Identifier(schema), Identifier(AUTH_TOKENS_TABLE))


def record_of(row: Sequence[Any] | Mapping[str, Any] | None) -> TokenRecord | None:
    if row is None:
        return None
    values = tuple(row.values()) if isinstance(row, Mapping) else tuple(row)
    return TokenRecord(values[0], values[1], values[2], bool(values[3]))
