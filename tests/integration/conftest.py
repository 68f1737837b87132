"""Fixtures shared by the integration tests (the servers are in tests/conftest.py)."""

from __future__ import annotations

import httpx
import pytest

from shared.adapters.eventstore import Ledger
from tests.integration import helpers
from tests.integration.helpers import Provisioned


@pytest.fixture
def user(api: httpx.Client, ledger: Ledger) -> Provisioned:
    return helpers.provision(api, ledger)


@pytest.fixture
def other(api: httpx.Client, ledger: Ledger) -> Provisioned:
    return helpers.provision(api, ledger)
