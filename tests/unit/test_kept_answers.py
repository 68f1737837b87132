"""Kept dashboard answers: served only while the user's mark and the read model's
parked version are the ones they were computed under (``query_service.kept``)."""

from __future__ import annotations

from query_service.freshness import Freshness
from query_service.kept import KeptAnswers


def _fresh(mark: int, *, applied: int = 100, version: int = 0, degraded: bool = False) -> Freshness:
    return Freshness(mark, applied, degraded, mark, version)


def test_an_answer_is_served_while_nothing_of_the_user_changed() -> None:
    kept = KeptAnswers(10)
    kept.put("k", _fresh(7), b"answer")
    assert kept.get("k", _fresh(7, applied=250)) == b"answer"  # others wrote: still exact


def test_a_write_of_the_user_a_park_or_a_rebuild_drops_it() -> None:
    kept = KeptAnswers(10)
    kept.put("k", _fresh(7), b"answer")
    assert kept.get("k", _fresh(9)) is None  # the user wrote
    kept.put("k", _fresh(7), b"answer")
    assert kept.get("k", _fresh(7, version=1)) is None  # parked, released or rebuilt
    assert kept.get("k", _fresh(7)) is None  # dropped, not merely skipped


def test_nothing_is_kept_without_a_mark_behind_or_degraded() -> None:
    kept = KeptAnswers(10)
    for fresh in (_fresh(0), _fresh(7, applied=5), _fresh(7, degraded=True)):
        kept.put("k", fresh, b"answer")
        assert kept.get("k", _fresh(7)) is None
    kept.put("k", _fresh(7), b"answer")
    assert kept.get("k", _fresh(7, degraded=True)) is None


def test_the_least_recently_used_goes_first() -> None:
    kept = KeptAnswers(2)
    kept.put("a", _fresh(1), b"a")
    kept.put("b", _fresh(1), b"b")
    assert kept.get("a", _fresh(1)) == b"a"
    kept.put("c", _fresh(1), b"c")
    assert kept.get("b", _fresh(1)) is None
    assert kept.get("a", _fresh(1)) == b"a"
    assert KeptAnswers(0).get("a", _fresh(1)) is None
