"""Pure logic of rebuilds and replays: the transcoder, process groups, COPY text, and a
rebuild lane against an in-memory projection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)

from projection_worker.feed import Positioned
from projection_worker.rebuild import _Lane
from projection_worker.rebuild_processes import groups
from projection_worker.runner import Parked, ProjectionState, partition_of, split_held
from shared.adapters.copy_text import NULL, json_field, text
from shared.adapters.transcoder import FastJSONTranscoder


def _both() -> tuple[JSONTranscoder, FastJSONTranscoder]:
    old, new = JSONTranscoder(), FastJSONTranscoder()
    for transcoder in (old, new):
        transcoder.register(UUIDAsHex())
        transcoder.register(DatetimeAsISO())
        transcoder.register(DecimalAsStr())
    return old, new


@pytest.mark.parametrize(
    "state",
    [
        {"a": 1, "b": None, "c": "x", "d": [1, [2, {"e": 3}]]},
        {"when": datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "who": UUID(int=7)},
        {"splits": [{"category_id": "c", "amount": 5, "at": datetime(2025, 1, 1, tzinfo=UTC)}]},
        {"_type_": "not a marker", "other": 1, "third": 2},
        {"nested": {"_type_": "uuid_hex", "_data_": UUID(int=9).hex}},
        {"nested": {"_type_": "datetime_iso", "_data_": "2025-01-02T03:04:05", "x": 1}},
        {"nested": {"_type_": "decimal_str", "_data_": "12.30"}},
        # Top-level markers, and others below them (or none): the walk must still find them.
        {"when": datetime(2025, 1, 2, tzinfo=UTC), "rows": [{"at": datetime(2025, 1, 3)}]},
        {"when": datetime(2025, 1, 2, tzinfo=UTC), "rows": [{"a": 1, "b": "_type_"}] * 3},
        {"when": datetime(2025, 1, 2, tzinfo=UTC), "memo": '"_type_"', "who": [UUID(int=3)]},
        {"when": datetime(2025, 1, 2, tzinfo=UTC), "rows": [{"_type_": "x", "y": 1, "z": 2}]},
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


@pytest.mark.parametrize(
    ("stored", "read"),
    [
        (
            b'{"a":"x\\u0000y","b":["\\u0000",{"c\\u0000":1}]}',
            {"a": "x\ufffdy", "b": ["\ufffd", {"c\ufffd": 1}]},
        ),
        (b'{"a":"x\\\\u0000y"}', {"a": "x\\u0000y"}),  # an escaped backslash: no NUL
        (b'{"a":"\\"\\u0041"}', {"a": '"A'}),
    ],
)  # fmt: skip
def test_a_stored_nul_is_read_as_the_replacement_character(
    stored: bytes, read: dict[str, object]
) -> None:
    assert FastJSONTranscoder().decode(stored) == read


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
    assert sorted(map(sorted, split)) == [
        ["ledger_tables", "live_stream", "memo_vectors"],
        ["redis_cache"],  # the heaviest, alone
    ]
    assert sorted(groups(names, 1)[0]) == sorted(names)
    assert groups(["only"], 8) == [["only"]]


def test_copy_text_escapes_what_copy_would_misread() -> None:
    assert text(None) == NULL
    assert text("plain") == "plain"
    assert text("a\tb\nc\\d\re") == "a\\tb\\nc\\\\d\\re"
    assert json_field(b'{"m":"a\\"b\\\\c"}') == b'{"m":"a\\\\"b\\\\\\\\c"}'


class _Pickier:
    """An in-memory projection that cannot take ``position`` in a batch of several events
    (a batch-level bug), or at all when ``poison``; it parks as the real ones do."""

    name = "pickier"

    def __init__(self, position: int, *, poison: bool) -> None:
        self.position, self.poison = position, poison
        self.at, self.applied = 0, list[int]()
        self.parked_: list[Parked] = []
        self.version = 0

    def state(self) -> ProjectionState:
        return ProjectionState(self.at, frozenset(p.partition for p in self.parked_), self.version)

    def checkpoint(self) -> int:
        return self.at

    def park(self, item: Positioned, error: str, expected: ProjectionState) -> bool:
        if expected != self.state():
            return False
        self.parked_.append(Parked(item.position, partition_of(item.event), item.topic, error))
        self.version += 1
        self.at = item.position
        return True

    def parked(self) -> list[Parked]:
        return list(self.parked_)

    def apply(self, batch: Sequence[Positioned], expected: ProjectionState) -> bool:
        if expected != self.state():
            return False
        live, held = split_held(batch, expected.parked, lambda _: True)
        if any(p.position == self.position for p in live) and (self.poison or len(live) > 1):
            raise ValueError("cannot take this one")
        self.applied += [p.position for p in live]
        self.parked_ += [Parked(p.position, partition_of(p.event), p.topic, None) for p in held]
        self.at = batch[-1].position
        return True


class _Flaky(_Pickier):
    """Loses its connection once on the batch holding ``position``: before the commit,
    or (``landed``) after it, as when the acknowledgement of a commit is lost."""

    def __init__(self, position: int, *, landed: bool) -> None:
        super().__init__(-1, poison=False)  # takes any batch
        self.lost_at, self.landed, self.lost = position, landed, False

    def apply(self, batch: Sequence[Positioned], expected: ProjectionState) -> bool:
        if self.lost or all(p.position != self.lost_at for p in batch):
            return super().apply(batch, expected)
        self.lost = True
        if self.landed:
            super().apply(batch, expected)
        raise ConnectionResetError("server closed the connection")


def _run_lane(projection: _Pickier, pages: list[list[Positioned]]) -> Exception | None:
    lane = _Lane(projection)  # type: ignore[arg-type]
    lane.start()
    for page in pages:
        lane.put(page)
    lane.close()
    return lane.error


@dataclass(frozen=True)
class _Event:
    user_id: str


def _pages() -> list[list[Positioned]]:
    """30 events alternating between users ``a`` and ``b``, in pages of 10."""
    events = [Positioned(n, "t", _Event("ab"[n % 2])) for n in range(1, 31)]
    return [events[i : i + 10] for i in range(0, 30, 10)]


def test_a_rebuild_lane_goes_on_past_a_batch_that_only_fails_whole() -> None:
    projection = _Pickier(15, poison=False)
    assert _run_lane(projection, _pages()) is None
    assert projection.applied == list(range(1, 31))  # each event once, in order
    assert not projection.parked()


def test_a_rebuild_lane_parks_a_poison_event_and_its_users_later_events_only() -> None:
    projection = _Pickier(15, poison=True)  # 15 is user "b"'s (odd positions)
    assert _run_lane(projection, _pages()) is None
    odd_after = list(range(17, 31, 2))
    assert projection.applied == [n for n in range(1, 31) if n != 15 and n not in odd_after]
    assert [(p.position, p.error) for p in projection.parked()] == [
        (15, "ValueError: cannot take this one"),
        *[(n, None) for n in odd_after],
    ]
    assert projection.checkpoint() == 30


@pytest.mark.parametrize("landed", [False, True])
def test_a_rebuild_lane_retries_a_lost_connection_and_applies_each_event_once(
    landed: bool,
) -> None:
    projection = _Flaky(15, landed=landed)
    assert _run_lane(projection, _pages()) is None
    assert projection.lost
    assert projection.applied == list(range(1, 31))
