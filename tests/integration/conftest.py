"""Fixtures shared by the integration tests (the servers are in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from redis import Redis

from projection_worker.catalog import projections
from shared.adapters.eventstore import Ledger
from shared.adapters.wiring import readmodel_pool
from shared.contracts import LEDGER_TABLES
from shared.settings import Settings
from tests.integration import helpers
from tests.integration.helpers import Provisioned


@pytest.fixture
def user(api: httpx.Client, ledger: Ledger) -> Provisioned:
    return helpers.provision(api, ledger)


@pytest.fixture
def other(api: httpx.Client, ledger: Ledger) -> Provisioned:
    return helpers.provision(api, ledger)


@pytest.fixture
def ledger_tables(settings: Settings) -> Iterator[Any]:
    """The live ``ledger_tables`` projection, for tests that rebuild it; its staging copy
    is discarded afterwards."""
    pool, redis = readmodel_pool(settings, max_size=4), Redis.from_url(settings.redis_url)
    (chosen,) = [p for p in projections(settings, pool, redis, None) if p.name == LEDGER_TABLES]
    yield chosen
    chosen.discard_staging()
    redis.close()
    pool.close()
