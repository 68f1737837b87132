"""API tokens in the original's Sanctum shape: ``<id>|<40 alphanumerics><crc32b hex>``."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID

from shared.domain.ids import parse_uuid

_ALPHABET = string.ascii_letters + string.digits


class UnauthenticatedError(Exception):
    """No usable bearer token: missing, unknown, wrong, expired or revoked (a 401)."""


@dataclass(frozen=True, slots=True)
class IssuedSecret:
    plain: str
    sha256: str


def new_secret() -> IssuedSecret:
    """A fresh secret: 40 random alphanumerics plus their crc32b, as Sanctum makes them."""
    body = "".join(secrets.choice(_ALPHABET) for _ in range(40))
    plain = body + format(zlib.crc32(body.encode()) & 0xFFFFFFFF, "08x")
    return IssuedSecret(plain=plain, sha256=sha256_hex(plain))


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


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
