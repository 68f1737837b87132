"""Answers of the SQL read model kept in memory while they cannot have changed.

A user's dashboard reads only that user's rows (their partition) and reference data
that no command changes (banks, the global categories). Every event of a user's
partition is appended by a command that marks the user's position before it answers
(``shared.contracts.write_mark_key``). So an answer computed once the read model had
applied the user's mark M stays exact while:

* the user's mark is still M (no write of theirs since),
* the read model's parked version is the same (no event parked, released or
  quarantined, no rebuild promoted since: any of them may change rows without a write),
* and the user had nothing parked (a release would change their rows without a write).

This is invalidation by position, never by a guess of time; an unknown mark (Redis
unavailable, or a user who never wrote) is never kept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

from query_service.freshness import Freshness


@dataclass(frozen=True, slots=True)
class _Kept:
    mark: int
    version: int
    body: bytes


class KeptAnswers:
    """At most ``size`` answers, least recently used dropped first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._answers: OrderedDict[Hashable, _Kept] = OrderedDict()

    @staticmethod
    def keepable(fresh: Freshness) -> bool:
        return fresh.mark > 0 and not fresh.degraded and fresh.applied >= fresh.mark

    def get(self, key: Hashable, fresh: Freshness) -> bytes | None:
        kept = self._answers.get(key)
        if kept is None or not self.keepable(fresh):
            return None
        if kept.mark != fresh.mark or kept.version != fresh.version:
            del self._answers[key]
            return None
        self._answers.move_to_end(key)
        return kept.body

    def put(self, key: Hashable, fresh: Freshness, body: bytes) -> None:
        if self.size <= 0 or not self.keepable(fresh):
            return
        self._answers[key] = _Kept(fresh.mark, fresh.version, body)
        self._answers.move_to_end(key)
        while len(self._answers) > self.size:
            self._answers.popitem(last=False)
