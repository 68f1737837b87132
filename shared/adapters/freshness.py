"""Read-your-writes without client cooperation: each user's last written position.

The command side marks the position after every commit; the query side waits (bounded)
until its read model has applied at least that position. Redis holds the marks: losing
them costs only the wait (reads stay correct, possibly a little stale), never data.
``rw:head`` is the highest position ever acknowledged: no client can have seen a
position beyond it, so the query side clamps ``X-Valorize-Min-Position`` to it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID

from shared.contracts import HEAD_MARK_KEY, MIN_POSITION_HEADER, write_mark_key

logger = logging.getLogger(__name__)

# Keep the larger of the stored and the given position (commits can finish out of order),
# for the user (KEYS[1], expiring) and for the head (KEYS[2], kept).
MAX_SCRIPT = """
local position = tonumber(ARGV[1])
if position > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
if position > tonumber(redis.call('GET', KEYS[2]) or '0') then
  redis.call('SET', KEYS[2], ARGV[1])
end
return 1
"""
MARK_TTL_SECONDS = TTL = 3600
POSITION_HEADER_IN = MIN_POSITION_HEADER
mark_key = write_mark_key


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
                self._script(keys=[mark_key(user_id), HEAD_MARK_KEY], args=[position, TTL])
                return
            # One round trip for the whole group (no MULTI: each mark stands alone).
            pipe = self._client.pipeline(transaction=False)
            for user_id, position in highest.items():
                keys = [mark_key(user_id), HEAD_MARK_KEY]
                self._script(keys=keys, args=[position, TTL], client=pipe)
            pipe.execute()
        except Exception:
            logger.warning("could not mark write positions for %s", list(highest), exc_info=True)
