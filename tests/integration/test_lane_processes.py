"""The worker's lanes in a child process (``WORKER_PROCESSES`` > 1): a child applies
its read model from the checkpoint, reports its batches to the parent's timeline, is
started again when it dies (resuming from its checkpoint), and stops with the parent.

The child here runs ``redis_cache`` into a Redis database of its own, so its progress is
its alone (the session's worker applies the same events into database 0).
"""

from __future__ import annotations

import dataclasses
import os
import signal
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from redis import Redis

from projection_worker.lane_processes import LaneProcesses
from shared.adapters.eventstore import Ledger
from shared.contracts import POSITION_HEADER, REDIS_CACHE, checkpoint_key
from shared.settings import Settings
from tests.integration import read_helpers as rh
from tests.integration.helpers import Provisioned

OWN_DB = 7


def _own_database(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{OWN_DB}"))


@pytest.fixture
def child_settings(settings: Settings) -> Iterator[Settings]:
    own = dataclasses.replace(
        settings, redis_url=_own_database(settings.redis_url), worker_processes=2
    )
    redis = Redis.from_url(own.redis_url)
    redis.flushdb()
    yield own
    redis.flushdb()
    redis.close()


def _checkpoint(settings: Settings) -> int:
    with Redis.from_url(settings.redis_url) as redis:
        return int(redis.get(checkpoint_key(REDIS_CACHE)) or 0)


def _reaches(settings: Settings, position: int, timeout: float = 120) -> None:
    rh.poll(lambda: _checkpoint(settings) >= position or None, timeout=timeout)


def test_a_child_applies_reports_restarts_and_stops(
    child_settings: Settings, api: httpx.Client, ledger: Ledger, user: Provisioned
) -> None:
    records: list[tuple[Any, ...]] = []
    head = ledger.head()
    lanes = LaneProcesses(child_settings, [[REDIS_CACHE]], records.append)
    try:
        _reaches(child_settings, head)  # from its checkpoint (0 here) to the head
        # A batch is reported after its checkpoint commits, through the watch thread:
        # wait for the report rather than assume it arrived with the checkpoint.
        rh.poll(lambda: max((r[2] for r in records), default=0) >= head or None, timeout=30)
        assert {r[0] for r in records} == {REDIS_CACHE}
        assert all(r[3] <= r[4] <= r[5] for r in records)  # read from, read by, applied by

        (first,) = lanes.pids()
        os.kill(first, signal.SIGKILL)
        rh.poll(lambda: lanes.pids()[0] != first or None, timeout=30)
        written = rh.create_transaction(api, user, user.account_id, -1234)
        assert written.status_code == 201, written.text
        position = int(written.headers[POSITION_HEADER])
        lanes.poke()
        _reaches(child_settings, position)  # the new child resumed from the checkpoint
    finally:
        lanes.stop()
    (last,) = lanes.pids()
    with pytest.raises(ProcessLookupError):
        os.kill(last, 0)
