"""Pure logic of rebuilds and replays: the transcoder, process groups, COPY text."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    JSONTranscoder,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)

from projection_worker.rebuild_processes import groups
from shared.copy_text import NULL, json_field, text
from shared.transcoder import FastJSONTranscoder


def _both() -> tuple[JSONTranscoder, FastJSONTranscoder]:
    old, new = JSONTranscoder(), FastJSONTranscoder()
    for transcoder in (old, new):
        transcoder.register(UUIDAsHex())
        transcoder.register(DatetimeAsISO())
    return old, new


@pytest.mark.parametrize(
    "state",
    [
        {"a": 1, "b": None, "c": "x", "d": [1, [2, {"e": 3}]]},
        {"when": datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "who": UUID(int=7)},
        {"splits": [{"category_id": "c", "amount": 5, "at": datetime(2025, 1, 1, tzinfo=UTC)}]},
        {"_type_": "not a marker", "other": 1, "third": 2},
        {"nested": {"_type_": "uuid_hex", "_data_": UUID(int=9).hex}},
        {"big": 2**70, "text": "Pão \\ \t \n ü"},
        {},
    ],
)
def test_fast_transcoder_decodes_exactly_what_the_library_does(state: dict[str, object]) -> None:
    old, new = _both()
    encoded = old.encode(state)
    assert new.encode(state) == encoded  # the stored format is the library's
    assert new.decode(encoded) == old.decode(encoded)
    if "nested" not in state:  # a hand-made marker decodes to its type, in both
        assert new.decode(encoded) == state


def test_fast_transcoder_refuses_unknown_types_like_the_library() -> None:
    old, new = _both()
    raw = b'{"x":{"_type_":"nope","_data_":1}}'
    for transcoder in (old, new):
        with pytest.raises(TranscodingNotRegisteredError):
            transcoder.decode(raw)


def test_groups_balance_the_known_weights_and_keep_every_name() -> None:
    names = ["ledger_tables", "live_stream", "redis_cache", "memo_vectors"]
    split = groups(names, 2)
    assert sorted(n for g in split for n in g) == sorted(names)
    assert split == [["memo_vectors", "redis_cache"], ["ledger_tables", "live_stream"]]
    assert groups(names, 1) == [["memo_vectors", "ledger_tables", "live_stream", "redis_cache"]]
    assert groups(["only"], 8) == [["only"]]


def test_copy_text_escapes_what_copy_would_misread() -> None:
    assert text(None) == NULL
    assert text("plain") == "plain"
    assert text("a\tb\nc\\d\re") == "a\\tb\\nc\\\\d\\re"
    assert json_field(b'{"m":"a\\"b\\\\c"}') == b'{"m":"a\\\\"b\\\\\\\\c"}'
