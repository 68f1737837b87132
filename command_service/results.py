"""What command handlers answer: plain values, shaped into HTTP by the endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar
from uuid import UUID

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Written(Generic[R]):
    """A resource as a command left it, and the position of that command's last event."""

    resource: R
    position: int


@dataclass(frozen=True, slots=True)
class Created(Generic[R]):
    """A created resource. ``replayed``: an earlier request with the same idempotency key
    created it, and ``position`` is the store's head (at or after that request's)."""

    resource: R
    position: int
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class ProvisionedUser:
    """A load-test user; ``token`` is the plain text, which exists only in this answer."""

    token: str
    user_id: UUID
    email: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A token issued at registration or login; ``token`` is its only plain text."""

    token: str
    user_id: UUID
    email: str
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class Profile:
    user_id: UUID
    name: str
    email: str
    preferred_currency: str
