"""The WebSocket protocol (documented in README, "Live stream").

Client -> server (JSON text frames):
  {"type": "hello", "token": "<id>|<secret>", "after": 123}   first frame, when the token
                                                             was not sent as a header
  {"type": "resume", "after": 123}                           any time: replay after 123
Server -> client:
  {"type": "welcome", "position": N}   authenticated; events after N follow, in order
  {"type": "<event type>", "position": P, "time": "...", "data": {...}}  (shared.live)
  {"type": "caught_up", "position": N} the replay reached the live stream
  {"type": "bye", "position": N}       just before a GOING_AWAY close: resume after N
  {"type": "resync", "position": N}    the server restarts the stream after N (events an
                                       operator released after a read model had parked
                                       them): a replay and ``caught_up`` follow
Close codes: 1001 going away (server shutdown), 1011 a replay failed (resume after the
position in the reason), 4001 resume required (the socket fell too far behind), 4400 bad
message or position, 4401 unauthenticated / token expired or revoked, 4429 over a limit
(too many sockets for this user, or too many resumes on this socket).
Before the upgrade: HTTP 429 when too many sockets from one address still owe their hello.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

GOING_AWAY = 1001
INTERNAL_ERROR = 1011
RESUME_REQUIRED = 4001
BAD_MESSAGE = 4400
UNAUTHENTICATED = 4401
OVER_LIMIT = 4429

# Every position fits PostgreSQL's bigint (< 2**63) with room to spare, and its text form
# is at most 18 ASCII digits: ``str.isdigit`` would also pass "²" (which ``int`` refuses)
# and ``int`` of thousands of digits costs CPU or raises.
MAX_POSITION = 10**18 - 1
_POSITION_TEXT = re.compile(r"[0-9]{1,18}")
_BAD_POSITION = f"'after' must be an integer position from 0 to {MAX_POSITION}"


@dataclass(frozen=True, slots=True)
class Hello:
    token: str
    after: int | None


@dataclass(frozen=True, slots=True)
class Resume:
    after: int


class ProtocolError(Exception):
    pass


def position(value: object) -> int:
    """The one parser of client positions (``?after=``, and ``after`` in hello and resume).

    Accepts 1 to 18 ASCII digits (the query string's text) or an integer
    0 <= n <= MAX_POSITION (JSON; a bool is not a number here); anything else is a
    ProtocolError, which closes the socket with 4400.
    """
    if isinstance(value, str):
        if _POSITION_TEXT.fullmatch(value):
            return int(value)
    elif isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_POSITION:
        return value
    raise ProtocolError(_BAD_POSITION)


def _after(body: dict[str, Any]) -> int | None:
    after = body.get("after")
    if after is None:
        return None
    if isinstance(after, str):  # JSON carries positions as numbers; text is the query's
        raise ProtocolError(_BAD_POSITION)
    return position(after)


def parse(raw: str | bytes) -> Hello | Resume:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ProtocolError("messages must be JSON") from None
    if not isinstance(body, dict):
        raise ProtocolError("messages must be JSON objects")
    kind = body.get("type")
    if kind == "hello" and isinstance(body.get("token"), str):
        return Hello(body["token"], _after(body))
    if kind == "resume":
        after = _after(body)
        if after is None:
            raise ProtocolError("'resume' needs 'after'")
        return Resume(after)
    raise ProtocolError("expected a 'hello' or 'resume' message")
