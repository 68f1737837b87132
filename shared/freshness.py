"""Read-your-writes without client cooperation: each user's last written position.

The command side marks the position after every commit; the query side waits (bounded)
until its read model has applied at least that position. Redis holds the marks: losing
them costs only the wait (reads stay correct, possibly a little stale), never data.
"""

from __future__ import annotations

import logging
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
    """Port (command side): remember that ``user_id`` wrote up to ``position``."""

    def mark(self, user_id: UUID, position: int) -> None: ...


class NullMarks:
    def mark(self, user_id: UUID, position: int) -> None:
        return None


class RedisWriteMarks:
    def __init__(self, client: Any) -> None:
        self._client = client
        self._script = client.register_script(MAX_SCRIPT)

    def mark(self, user_id: UUID, position: int) -> None:
        try:
            self._script(keys=[mark_key(user_id)], args=[position, MARK_TTL_SECONDS])
        except Exception:
            logger.warning("could not mark write position for %s", user_id, exc_info=True)
