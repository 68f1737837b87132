"""``shared.suggestions``' history index, as the worker keeps it between batches: rows
added later replace their transaction's earlier row (an amendment moves it)."""

from __future__ import annotations

from typing import Any

from shared.categorize import Categorizer
from shared.suggestions import add_rows, history_index

CATEGORIZER = Categorizer()
DIM = CATEGORIZER.embedder.dim


def _row(txn: str, category: str | None, memo: str, position: int) -> dict[str, Any]:
    vector = CATEGORIZER.vector(memo).tobytes()
    return {"txn_id": txn, "category_id": category, "vector": vector, "position": position}


def test_a_later_row_of_a_transaction_replaces_its_earlier_one() -> None:
    index = history_index([_row("t1", "food", "ZORBLAX ARTESANATO", 1)], DIM)
    add_rows(index, [_row("t1", "crafts", "ZORBLAX ARTESANATO", 7), _row("t2", None, "X", 8)])
    assert len(index.entries) == 2
    (similarity, entry), *_ = index.search(CATEGORIZER.vector("ZORBLAX ARTESANATO"), 1)
    assert entry == {"txn": "t1", "category": "crafts"}
    assert similarity > 0.99
    assert index.id_of("t1") == 7


def test_built_at_once_or_in_steps_the_index_is_the_same() -> None:
    rows = [_row(f"t{i}", f"c{i % 3}", f"MERCHANT {i} LTDA", i + 1) for i in range(20)]
    whole = history_index(rows, DIM)
    steps = add_rows(history_index(rows[:7], DIM), rows[7:])
    probe = CATEGORIZER.vector("MERCHANT 12 LTDA")
    assert whole.entries == steps.entries
    assert whole.search(probe, 5) == steps.search(probe, 5)
