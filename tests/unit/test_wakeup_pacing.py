"""BackgroundWakeup: hints leave off the request path, folded together and paced."""

from __future__ import annotations

import itertools
import threading
import time

from shared.adapters.wakeup import BackgroundWakeup


class _Recording:
    """A fake transport (pure logic under test): records when each hint was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, int]] = []
        self.closed = False
        self.first = threading.Event()

    def notify(self, position: int) -> None:
        self.sent.append((time.monotonic(), position))
        self.first.set()

    def close(self) -> None:
        self.closed = True


def test_hints_are_folded_paced_and_the_last_one_is_never_lost() -> None:
    inner = _Recording()
    wakeup = BackgroundWakeup(inner, min_interval_s=0.05)
    for position in range(1, 2_001):
        wakeup.notify(position)
        if position % 100 == 0:
            time.sleep(0.005)
    wakeup.close()
    times = [t for t, _ in inner.sent]
    positions = [p for _, p in inner.sent]
    assert inner.closed
    assert positions[-1] == 2_000  # the highest hint always goes out
    assert positions == sorted(positions)
    assert len(positions) < 20  # 2,000 hints over ~0.1 s folded into a few tasks
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(gap >= 0.045 for gap in gaps[:-1])  # paced (close() flushes the last at once)


def test_an_idle_instances_first_hint_leaves_at_once() -> None:
    inner = _Recording()
    wakeup = BackgroundWakeup(inner, min_interval_s=10.0)
    try:
        started = time.monotonic()
        wakeup.notify(42)
        assert inner.first.wait(2.0)
        assert inner.sent[0][1] == 42
        assert inner.sent[0][0] - started < 1.0
    finally:
        wakeup.close()
