"""How the worker's read models are spread over its lane processes."""

from __future__ import annotations

from projection_worker.catalog import lane_groups

NAMES = ["ledger_tables", "live_stream", "redis_cache", "memo_vectors"]


def test_one_process_runs_everything() -> None:
    assert lane_groups(NAMES, 1) == [NAMES]
    assert lane_groups(NAMES, 0) == [NAMES]


def test_two_keep_what_readers_wait_on_first() -> None:
    assert lane_groups(NAMES, 2) == [NAMES[:2], NAMES[2:]]


def test_groups_are_contiguous_even_and_never_empty() -> None:
    assert lane_groups(NAMES, 3) == [NAMES[:2], NAMES[2:3], NAMES[3:]]
    assert lane_groups(NAMES, 8) == [[n] for n in NAMES]
    for processes in range(1, 9):
        groups = lane_groups(NAMES, processes)
        assert [n for g in groups for n in g] == NAMES
        assert all(groups)
        assert max(map(len, groups)) - min(map(len, groups)) <= 1
