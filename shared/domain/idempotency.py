"""Idempotency keys, claimed in the same transaction as the resource they create."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.domain.ids import derived_id


def idempotency_id_for(user_id: UUID | str, route: str, key: str) -> UUID:
    return derived_id("idempotency", user_id, route, key)


class IdempotencyKey(Aggregate):
    """A client's ``Idempotency-Key`` for one route.

    Invariant: its id is derived from (user, route, key) and it is saved atomically with
    the resource it created, so a key can create at most one resource. A retry with the
    same body fingerprint gets that resource; another body is refused.
    """

    class Claimed(Aggregate.Created):
        class_version = 1
        resource_id: str
        fingerprint: str

    @event(Claimed)
    def __init__(self, id: UUID, resource_id: str, fingerprint: str) -> None:
        self.resource_id = resource_id
        self.fingerprint = fingerprint
