"""Identifiers: time-ordered UUIDv7 for new resources, UUIDv5 for ids derived from others."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from hashlib import sha1
from uuid import UUID, uuid5

# Fixed namespace: changing it changes every derived id already stored.
VALORIZE_NAMESPACE = UUID("6f1f6c1e-3a55-4c55-9a8e-2b4d0f5e7a10")
_NAMESPACE_BYTES = VALORIZE_NAMESPACE.bytes
_VARIANT = {f"{n:x}": "89ab"[n & 3] for n in range(16)}


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


def _prefix(common: tuple[object, ...]) -> bytes:
    """What UUIDv5 hashes before the last part of ``derived_id(*common, last)``."""
    return _NAMESPACE_BYTES + "".join(f"{p}|" for p in common).encode()


# A SHA-1 digest's first 128 bits made a version-5 UUID (RFC 9562): version 5 in bits
# 76-79, the variant (binary 10) in bits 62-63.
_VERSION_CLEAR = ~((0xF << 76) | (0x3 << 62))
_VERSION_5 = (5 << 76) | (0b10 << 62)


def derived_ids(common: tuple[object, ...], lasts: Iterable[tuple[object, ...]]) -> list[UUID]:
    """``[derived_id(*common, *last) for last in lasts]`` (each ``last`` not empty), about
    twice as fast (an import derives one per statement row)."""
    prefix = _prefix(common)
    found = []
    for last in lasts:
        name = "|".join(str(p) for p in last).encode()
        digest = sha1(prefix + name, usedforsecurity=False).digest()
        found.append(UUID(int=(int.from_bytes(digest[:16]) & _VERSION_CLEAR) | _VERSION_5))
    return found


def derived_ids_text(common: tuple[object, ...], lasts: Iterable[object]) -> list[str]:
    """``[str(derived_id(*common, last)) for last in lasts]``, about three times as fast
    (a projection derives one per imported row)."""
    # SHA-1 is what UUIDv5 is defined with (an identifier, not a secret).
    prefix = _prefix(common)
    found = []
    for last in lasts:
        d = sha1(prefix + str(last).encode(), usedforsecurity=False).hexdigest()
        # RFC 9562: version 5 in the 13th hex digit, the variant (binary 10) in the 17th.
        found.append(f"{d[:8]}-{d[8:12]}-5{d[13:16]}-{_VARIANT[d[16]]}{d[17:20]}-{d[20:32]}")
    return found


def parse_uuid(raw: str) -> UUID | None:
    """The UUID in ``raw`` if it is a canonical hyphenated UUID string, else None."""
    if len(raw) != 36:
        return None
    try:
        return UUID(raw)
    except ValueError:
        return None
