"""The worker's one reader of the store: events decoded once, shared by every lane.

Each lane (projection) reads from its own checkpoint, but at any moment most lanes read
the same new events within milliseconds of each other. Decoding an event costs about as
much as a read model applying it, so the lanes share a *window*: the events the store
holds after ``start``, in order, up to the last one's position, decoded once. A lane
inside the window gets its slice; the lane at its end extends it for everyone (one reader
at a time, so a burst of pokes is one query); a lane far behind (a slow read model during
an import of 50,000 rows) reads for itself without disturbing the window.

Invariant: the window is exactly what the store holds in ``(start, last position]``.
That needs positions to become visible in order, which the recorder guarantees (appends
take one lock, so a position is never committed after a higher one is seen).
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable
from typing import Any, NamedTuple


class Positioned(NamedTuple):
    """A decoded domain event with its global position (a tuple: replays make millions,
    and a frozen dataclass cost a third of decoding one)."""

    position: int
    topic: str
    event: Any


# Reads the store: events after a position, at most ``limit``, decoded.
Fetch = Callable[[int, int], list[Positioned]]


class Feed:
    """The shared window of decoded events (see the module's docstring)."""

    def __init__(self, fetch: Fetch, *, keep: int = 20_000, page: int = 2_000) -> None:
        self._fetch = fetch
        self.keep, self.page = keep, page
        # (start, positions, events): replaced whole when it moves its start, else grown
        # at its end only; a lane slices it without the lock. None until the first read.
        self._window: tuple[int, list[int], list[Positioned]] | None = None
        self._lock = threading.Lock()

    def read(self, after: int, limit: int) -> list[Positioned]:
        """Up to ``limit`` events after ``after``, in order."""
        held = self._slice(after, limit)
        if held is not None:
            return held
        window = self._window
        if window is not None and after < window[0]:
            # A lane far behind: served on its own, without the lock (the lanes at the
            # head need not wait for it) and without discarding what they share.
            return self._fetch(after, limit)
        with self._lock:  # one lane extends the window; the others then slice it
            held = self._slice(after, limit)
            if held is not None:
                return held
            fetched = self._fetch(after, max(limit, self.page))
            if fetched:
                self._extend(after, fetched)
            return fetched[:limit]

    def _slice(self, after: int, limit: int) -> list[Positioned] | None:
        window = self._window
        if window is None:
            return None
        start, positions, events = window
        if not start <= after < positions[-1]:
            return None
        first = bisect.bisect_right(positions, after)
        return events[first : first + limit]

    def _extend(self, after: int, fetched: list[Positioned]) -> None:
        window = self._window
        if window is not None and after == window[1][-1]:
            # In place: a lane slicing meanwhile sees the same prefix, or a longer one
            # (events grow first, so a position found always has its event).
            start, positions, events = window
            events.extend(fetched)
            positions.extend(e.position for e in fetched)
            if len(events) <= self.keep + self.keep // 4:
                return
        else:  # a new window: the first read, or a lane past the end of this one
            start, positions, events = after, [e.position for e in fetched], fetched
        # Trimmed to ``keep`` once a quarter over it: new lists, so copying them is paid
        # once per ``keep / 4`` events, not per read.
        drop = len(events) - self.keep
        if drop > 0:
            start = positions[drop - 1]
            positions, events = positions[drop:], events[drop:]
        self._window = (start, positions, events)
