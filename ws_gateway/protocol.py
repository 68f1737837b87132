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
Close codes: 1001 going away (server shutdown), 4001 resume required (the socket fell too
far behind), 4401 unauthenticated / token expired or revoked, 4400 bad message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

GOING_AWAY = 1001
RESUME_REQUIRED = 4001
BAD_MESSAGE = 4400
UNAUTHENTICATED = 4401


@dataclass(frozen=True, slots=True)
class Hello:
    token: str
    after: int | None


@dataclass(frozen=True, slots=True)
class Resume:
    after: int


class ProtocolError(Exception):
    pass


def _after(body: dict[str, Any]) -> int | None:
    after = body.get("after")
    if after is None:
        return None
    if not isinstance(after, int) or isinstance(after, bool) or after < 0:
        raise ProtocolError("'after' must be a non-negative integer position")
    return after


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
