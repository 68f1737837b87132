"""Read-your-writes without client cooperation: each user's last written position.

The command side marks the position after every commit; the query side waits (bounded)
until its read model has applied at least that position. Redis holds the marks: losing
them costs only the wait (reads stay correct, possibly a little stale), never data.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID

logger = logging.getLogger(__name__)

# Keep the larger of the stored and the given position (commits can finish out of order).
MAX_SCRIPT = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return 1
"""
MARK_TTL_SECONDS = 3600
POSITION_HEADER_IN = "x-valorize-min-position"


def mark_key(user_id: UUID | str) -> str:
    return f"rw:{user_id}"


class WriteMarks(Protocol):
    """Port (command side): remember that each user wrote up to a position.

    Called before the writes are acknowledged, with every write of a group commit at
    once. Never raises: a lost mark only costs the read-your-writes wait."""

    def mark(self, marks: Sequence[tuple[UUID, int]]) -> None: ...


class NullMarks:
    def mark(self, marks: Sequence[tuple[UUID, int]]) -> None:
        return None


class RedisWriteMarks:
    def __init__(self, client: Any) -> None:
        self._client = client
        self._script = client.register_script(MAX_SCRIPT)

    def mark(self, marks: Sequence[tuple[UUID, int]]) -> None:
        highest: dict[UUID, int] = {}
        for user_id, position in marks:
            highest[user_id] = max(position, highest.get(user_id, 0))
        try:
            if len(highest) == 1:
                [(user_id, position)] = highest.items()
                self._script(keys=[mark_key(user_id)], args=[position, MARK_TTL_SECONDS])
                return
            # One round trip for the whole group (no MULTI: each mark stands alone).
            pipe = self._client.pipeline(transaction=False)
            for user_id, position in highest.items():
                self._script(
                    keys=[mark_key(user_id)], args=[position, MARK_TTL_SECONDS], client=pipe
                )
            pipe.execute()
        except Exception:
            logger.warning("could not mark write positions for %s", list(highest), exc_info=True)
