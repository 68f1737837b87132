"""Identifiers: time-ordered UUIDv7 for new resources, UUIDv5 for ids derived from others."""

from __future__ import annotations

import os
import time
from uuid import UUID, uuid5

# Fixed namespace: changing it changes every derived id already stored.
VALORIZE_NAMESPACE = UUID("6f1f6c1e-3a55-4c55-9a8e-2b4d0f5e7a10")


def uuid7() -> UUID:
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return UUID(int=value)


def derived_id(*parts: object) -> UUID:
    """A deterministic id from other values (idempotency keys, one-per-pair aggregates)."""
    return uuid5(VALORIZE_NAMESPACE, "|".join(str(p) for p in parts))


def parse_uuid(raw: str) -> UUID | None:
    """The UUID in ``raw`` if it is a canonical hyphenated UUID string, else None."""
    if len(raw) != 36:
        return None
    try:
        return UUID(raw)
    except ValueError:
        return None
