"""The store's transcoder: the library's JSON format, decoded with orjson.

Encoding stays the library's (``json`` with ``{"_type_", "_data_"}`` markers for
datetimes, UUIDs and the like), so stored events are byte for byte what eventsourcing
writes and reads. Decoding is where replays spend their time: orjson then one walk over
the result is about twice as fast as ``json`` calling a Python hook for every object.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Transcoding,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)

# Written before input hygiene existed (shared.domain.text): events whose text holds NUL,
# which no PostgreSQL text or jsonb value can. They are read with it replaced, so every
# read model can project them; the stored bytes stay as they were.
_NUL_ESCAPE = b"\\u0000"
_MARKER_KEY = b'"_type_"'
_NOT_TEXT = object()  # no marker of a text transcoding
REPLACEMENT = "\ufffd"


# The library's transcodings of a value to text, and the decoding each does (without
# its method call and assertion: the marker's data is checked to be text first).
_FROM_TEXT: dict[type[Transcoding], Callable[[str], Any]] = {
    DatetimeAsISO: datetime.fromisoformat,
    UUIDAsHex: UUID,
    DecimalAsStr: Decimal,
}


class FastJSONTranscoder(JSONTranscoder):
    def __init__(self) -> None:
        super().__init__()
        self._from_text: dict[str, Callable[[str], Any]] = {}

    def register(self, transcoding: Transcoding) -> None:
        super().register(transcoding)
        found = _FROM_TEXT.get(type(transcoding))
        if found is None:
            self._from_text.pop(transcoding.name, None)
        else:
            self._from_text[transcoding.name] = found

    def decode(self, data: bytes) -> Any:
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError:
            # What orjson refuses and json accepts (e.g. integers over 64 bits).
            value = super().decode(data)
        else:
            value = self._markers(value, data.count(_MARKER_KEY))
        # A backslash first: one memchr, where the escape's search cost as much as the
        # rest of the checks (most events hold no escape at all).
        if b"\\" in data and _NUL_ESCAPE in data:
            value = _without_nul(value)
        return value

    def _markers(self, value: Any, count: int) -> Any:
        """``value`` with its markers decoded, given how often ``"_type_"`` occurs in its
        text: every marker's key, and perhaps a string or another key so spelled (never
        fewer). An event's markers are its top-level datetimes: once those account for
        every occurrence, nothing below (an import's 2,000 staged rows) needs a walk."""
        if count == 0:
            return value
        if value.__class__ is not dict:
            return self._walk(value)
        for key, item in value.items():
            if item.__class__ is dict and (found := self._text_marker(item)) is not _NOT_TEXT:
                value[key] = found
                count -= 1
        # Anything left (a nested marker, a "_type_" key of some other object): the full
        # walk, which leaves the values decoded above as they are.
        return value if count == 0 else self._object(value)

    def _text_marker(self, item: dict[str, Any]) -> Any:
        """The value of ``item`` if it is the marker of a text transcoding of the
        library's (datetime, UUID, Decimal), else ``_NOT_TEXT``."""
        if len(item) != 2:
            return _NOT_TEXT
        name, data = item.get("_type_"), item.get("_data_")
        if name.__class__ is not str or data.__class__ is not str:
            return _NOT_TEXT
        found = self._from_text.get(name)
        return _NOT_TEXT if found is None else found(data)

    def _walk(self, value: Any) -> Any:
        kind = value.__class__
        if kind is dict:
            return self._object(value)
        if kind is list:
            return [self._walk(item) for item in value]
        return value

    def _object(self, obj: dict[str, Any]) -> Any:
        # Bottom-up, as json's object_hook: the data of a marker is decoded first.
        for key, item in obj.items():
            kind = item.__class__
            if kind is dict:
                # A datetime's (or UUID's) marker, decoded here: most of an event's walk.
                found = self._text_marker(item)
                obj[key] = self._object(item) if found is _NOT_TEXT else found
            elif kind is list and item:
                obj[key] = [self._walk(value) for value in item]
        if len(obj) == 2 and "_type_" in obj and "_data_" in obj:
            name = obj["_type_"]
            try:
                transcoding = self.names[name]
            except (KeyError, TypeError):
                raise TranscodingNotRegisteredError(
                    f"Data serialized with name {json.dumps(name)} is not deserializable. "
                    "Please register a custom transcoding for this type."
                ) from None
            return transcoding.decode(obj["_data_"])
        return obj


def _without_nul(value: Any) -> Any:
    """``value`` with every NUL in its strings replaced by U+FFFD (lists, dicts walked)."""
    kind = value.__class__
    if kind is str:
        return value.replace("\x00", REPLACEMENT) if "\x00" in value else value
    if kind is dict:
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if kind is list:
        return [_without_nul(item) for item in value]
    return value
