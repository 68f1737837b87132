"""Create-once semantics for POSTs that carry an ``Idempotency-Key``."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

import orjson
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from command_service.store import Store
from shared.domain.errors import IdempotencyKeyReusedError
from shared.domain.idempotency import IdempotencyKey, idempotency_id_for
from shared.domain.ids import uuid7

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Created(Generic[R]):
    resource: R
    position: int
    replayed: bool = False


def fingerprint(payload: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


def create_once(
    store: Store,
    *,
    user_id: UUID,
    route: str,
    key: str | None,
    payload: dict[str, Any],
    build: Callable[[UUID], tuple[Sequence[Aggregate], R]],
    reload: Callable[[UUID], R],
) -> Created[R]:
    """Create a resource with ``build(new_id)``, at most once per (user, route, key).

    Invariant: the key's claim is appended in the same transaction as the resource, and
    the claim's id is derived from the key, so two racing requests cannot both create.
    """
    if key is None:
        aggregates, resource = build(uuid7())
        return Created(resource, store.append(user_id, *aggregates))
    claim_id = idempotency_id_for(user_id, route, key)
    print_ = fingerprint(payload)
    claim = store.find(IdempotencyKey, claim_id)
    if claim is None:
        resource_id = uuid7()
        aggregates, resource = build(resource_id)
        claim_new = IdempotencyKey(id=claim_id, resource_id=str(resource_id), fingerprint=print_)
        try:
            return Created(resource, store.append(user_id, *aggregates, claim_new))
        except IntegrityError:
            claim = store.find(IdempotencyKey, claim_id)
            if claim is None:
                raise
    if claim.fingerprint != print_:
        raise IdempotencyKeyReusedError
    # The original position is not kept; the head is at or after it, which is what a
    # client waiting to read its write needs.
    return Created(reload(UUID(claim.resource_id)), store.ledger.head(), replayed=True)
