"""Fixtures shared by the integration tests (the servers are in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from shared.eventstore import Ledger, open_ledger
from shared.settings import Settings
from tests.integration import helpers
from tests.integration.helpers import Provisioned


@pytest.fixture(scope="module")
def ledger(settings: Settings) -> Iterator[Ledger]:
    """The event store, read directly (to check what was appended, or to append backlogs)."""
    opened = open_ledger(settings)
    yield opened
    opened.close()


@pytest.fixture
def user(api: httpx.Client, ledger: Ledger) -> Provisioned:
    return helpers.provision(api, ledger)


@pytest.fixture
def other(api: httpx.Client, ledger: Ledger) -> Provisioned:
    return helpers.provision(api, ledger)
