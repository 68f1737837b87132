"""How often the read-your-writes poller asks for the checkpoint (pure arithmetic)."""

from __future__ import annotations

import asyncio
from typing import Any

from query_service.freshness import FAR_POLL_SECONDS, POLL_SECONDS, _pause


def _waiting(*positions: int) -> list[tuple[int, Any]]:
    loop = asyncio.new_event_loop()
    try:
        return [(p, loop.create_future()) for p in positions]
    finally:
        loop.close()


def test_a_near_waiter_is_polled_at_the_short_interval() -> None:
    # 3 positions behind at 1,000 events/s: due in 3 ms.
    assert _pause(_waiting(103), 100, 10, 0.01) == POLL_SECONDS


def test_a_far_waiter_is_polled_at_half_its_expected_wait_up_to_the_long_interval() -> None:
    # 300 behind at 10,000 events/s: due in 30 ms, asked again in 15.
    assert _pause(_waiting(400, 5_000), 100, 100, 0.01) == 0.015
    # 20,000 behind: due in 2 s, asked again at the longest interval.
    assert _pause(_waiting(20_100), 100, 100, 0.01) == FAR_POLL_SECONDS


def test_without_a_rate_it_polls_at_the_short_interval() -> None:
    assert _pause(_waiting(20_100), 100, 0, 0.01) == POLL_SECONDS  # stalled, or idle
    assert _pause(_waiting(50), 100, 10, 0.01) == POLL_SECONDS  # already reached
    assert _pause([], 100, 10, 0.01) == POLL_SECONDS
