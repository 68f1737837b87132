"""The store's transcoder: the library's JSON format, decoded with orjson.

Encoding stays the library's (``json`` with ``{"_type_", "_data_"}`` markers for
datetimes, UUIDs and the like), so stored events are byte for byte what eventsourcing
writes and reads. Decoding is where replays spend their time: orjson then one walk over
the result is about twice as fast as ``json`` calling a Python hook for every object.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from eventsourcing.persistence import JSONTranscoder, TranscodingNotRegisteredError

# Written before input hygiene existed (shared.domain.text): events whose text holds NUL,
# which no PostgreSQL text or jsonb value can. They are read with it replaced, so every
# read model can project them; the stored bytes stay as they were.
_NUL_ESCAPE = b"\\u0000"
REPLACEMENT = "\ufffd"


class FastJSONTranscoder(JSONTranscoder):
    def decode(self, data: bytes) -> Any:
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError:
            # What orjson refuses and json accepts (e.g. integers over 64 bits).
            value = super().decode(data)
        else:
            value = self._walk(value)
        if _NUL_ESCAPE in data:
            value = _without_nul(value)
        return value

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
                obj[key] = self._object(item)
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
