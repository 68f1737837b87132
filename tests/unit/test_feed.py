"""The worker's shared window of decoded events (pure logic over a store of positions)."""

from __future__ import annotations

import threading

from projection_worker.feed import Feed, Positioned


class Store:
    """Positions with gaps (rolled-back appends leave holes), counting reads."""

    def __init__(self, positions: list[int]) -> None:
        self.positions = positions
        self.reads: list[tuple[int, int]] = []

    def fetch(self, after: int, limit: int) -> list[Positioned]:
        self.reads.append((after, limit))
        found = [p for p in self.positions if p > after][:limit]
        return [Positioned(p, "topic", object()) for p in found]


def positions(events: list[Positioned]) -> list[int]:
    return [e.position for e in events]


def test_lanes_share_one_read_and_get_the_same_events() -> None:
    store = Store([1, 2, 4, 7, 8, 9])
    feed = Feed(store.fetch, page=100)
    first = feed.read(0, 3)
    assert positions(first) == [1, 2, 4]
    assert positions(feed.read(2, 10)) == [4, 7, 8, 9]
    assert positions(feed.read(0, 10)) == [1, 2, 4, 7, 8, 9]
    assert positions(feed.read(4, 1)) == [7]
    assert store.reads == [(0, 100)]
    assert feed.read(0, 3)[0] is first[0]  # decoded once: the very same objects


def test_the_lane_at_the_end_extends_the_window_for_everyone() -> None:
    store = Store([1, 2, 3])
    feed = Feed(store.fetch, page=100)
    assert positions(feed.read(0, 10)) == [1, 2, 3]
    assert feed.read(3, 10) == []  # at the head: asks the store, nothing new
    store.positions += [5, 6]
    assert positions(feed.read(3, 10)) == [5, 6]
    assert positions(feed.read(1, 10)) == [2, 3, 5, 6]  # across both pages
    assert store.reads == [(0, 100), (3, 100), (3, 100)]


def test_a_lane_far_behind_reads_alone_and_the_window_stays() -> None:
    store = Store(list(range(1, 101)))
    feed = Feed(store.fetch, keep=30, page=10)
    for after in range(0, 100, 10):
        assert positions(feed.read(after, 10)) == list(range(after + 1, after + 11))
    # The window now holds the last 30 events: (70, 100].
    assert positions(feed.read(75, 3)) == [76, 77, 78]
    reads = len(store.reads)
    assert positions(feed.read(5, 4)) == [6, 7, 8, 9]  # behind it: its own read
    assert store.reads[reads:] == [(5, 4)]
    assert positions(feed.read(70, 2)) == [71, 72]  # still there, no read
    assert len(store.reads) == reads + 1


def test_a_lane_past_a_stale_window_starts_a_new_one() -> None:
    store = Store(list(range(1, 11)))
    feed = Feed(store.fetch, page=3)
    assert positions(feed.read(0, 3)) == [1, 2, 3]
    assert positions(feed.read(6, 3)) == [7, 8, 9]
    assert positions(feed.read(7, 5)) == [8, 9]  # the new window's slice
    assert positions(feed.read(9, 5)) == [10]


def test_limits_smaller_than_the_page_still_read_a_page() -> None:
    store = Store(list(range(1, 50)))
    feed = Feed(store.fetch, page=20)
    assert positions(feed.read(0, 5)) == [1, 2, 3, 4, 5]
    assert positions(feed.read(5, 5)) == [6, 7, 8, 9, 10]
    assert store.reads == [(0, 20)]


def test_concurrent_lanes_each_see_every_event_in_order() -> None:
    store = Store(list(range(1, 2001)))
    feed = Feed(store.fetch, keep=300, page=50)
    seen: dict[int, list[int]] = {}

    def lane(name: int, limit: int) -> None:
        at, got = 0, []
        while batch := feed.read(at, limit):
            got += positions(batch)
            at = batch[-1].position
        seen[name] = got

    threads = [threading.Thread(target=lane, args=(i, 7 + 13 * i)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(got == list(range(1, 2001)) for got in seen.values())


def test_the_window_stays_within_a_quarter_over_keep() -> None:
    store = Store(list(range(1, 1001)))
    feed = Feed(store.fetch, keep=100, page=7)
    at = 0
    while batch := feed.read(at, 7):
        at = batch[-1].position
        window = feed._window
        assert window is not None
        assert len(window[2]) <= 125
        assert window[1] == [e.position for e in window[2]]
    assert at == 1000
    assert positions(feed.read(900, 3)) == [901, 902, 903]  # the last 100 are held
