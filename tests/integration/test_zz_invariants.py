"""Runs last (file order): after every other test, the read model still balances."""

from __future__ import annotations

from shared.adapters.eventstore import open_ledger
from shared.settings import Settings
from tests.harness import ServedApp
from tests.integration.projection_helpers import checkpoint, unbalanced_accounts, wait_for


def test_after_all_tests_every_balance_equals_the_sum_of_its_transactions(
    settings: Settings, worker_api: ServedApp
) -> None:
    ledger = open_ledger(settings)
    try:
        head = ledger.head()
    finally:
        ledger.close()
    wait_for(lambda: checkpoint(settings) >= head, timeout=120)
    assert unbalanced_accounts(settings) == []
