"""Synthetic data for benchmarks and tests, appended through the application's aggregates."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from shared.adapters.eventstore import Ledger
from shared.domain.accounts import Account
from shared.domain.ids import uuid7
from shared.domain.transactions import Transaction

MEMOS = (
    "Padaria Pão Quente",
    "Uber trip",
    "Posto Shell",
    "Mercado Extra",
    "Netflix",
    "Farmácia São João",
    "Restaurante Sabor",
    "Aluguel",
    "Salário",
    "Cinema",
)
Owner = tuple[str, str]  # (user_id, account_id)


def opened_accounts(ledger: Ledger) -> list[Owner]:
    """Every account in the store, with its owner."""
    found, after = [], 0
    while batch := ledger.recorder.select_notifications(
        start=after, limit=5000, inclusive_of_start=False
    ):
        for notification in batch:
            if notification.topic.endswith("Account.Opened"):
                event = ledger.mapper.to_domain_event(notification)
                assert isinstance(event, Account.Opened)
                found.append((event.user_id, str(event.originator_id)))
        after = batch[-1].id
    return found


def append_transactions(
    ledger: Ledger,
    owners: list[Owner],
    count: int,
    *,
    per_save: int = 500,
    spread: int = 90_000,
    memo: str | None = None,
    categories: list[str] | None = None,
) -> list[tuple[str, int]]:
    """Append ``count`` transactions over ``owners`` (over ``categories`` in turn, if
    given), ``per_save`` per commit; return ``(account_id, amount)`` of each, for
    checksums. Dates cycle through the 24 months of 2025 and 2026."""
    made: list[tuple[str, int]] = []
    for offset in range(0, count, per_save):
        batch = []
        for i in range(offset, min(count, offset + per_save)):
            user, account = owners[i % len(owners)]
            amount = random.randint(-spread, spread)
            made.append((account, amount))
            batch.append(
                Transaction(
                    id=uuid7(),
                    user_id=user,
                    account_id=account,
                    category_id=categories[i % len(categories)] if categories else None,
                    amount=amount,
                    currency="BRL",
                    date=datetime(2025 + i % 24 // 12, 1 + i % 12, 1 + i % 28, tzinfo=UTC),
                    memo=memo or f"{MEMOS[i % len(MEMOS)]} {i % 311}",
                    fitid=None,
                    splits=[],
                )
            )
        ledger.save(*batch)
    return made
