"""Idempotent creates (``Idempotency-Key``), without callbacks.

A create command with a key gets a *claim*: an ``IdempotencyKey`` aggregate whose id is
derived from (user, command kind, key) and which records the resource made and the
command's fingerprint. Invariant: the claim is committed in the same transaction as the
resource, and its id is fixed by the key, so two racing requests cannot both create (the
loser's commit fails whole, ``KeyClaimedError``). A retry of the same command replays
the resource; the same key with another command is refused (422).

The fingerprint is of the command's content (parsed, trimmed, defaults filled), not of
the raw JSON: a retry that differs only in key order, spacing or ignored fields replays.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any, ClassVar, Protocol
from uuid import UUID

import orjson

from command_service.unit_of_work import UnitOfWork
from shared.domain.errors import IdempotencyKeyReusedError
from shared.domain.idempotency import IdempotencyKey, idempotency_id_for

# What identifies the request rather than saying what to do.
_NOT_CONTENT = frozenset({"user_id", "idempotency_key"})


class IdempotentCreate(Protocol):
    """A create command that may carry a client's idempotency key."""

    __dataclass_fields__: ClassVar[dict[str, Any]]
    kind: ClassVar[str]

    @property
    def user_id(self) -> UUID: ...

    @property
    def idempotency_key(self) -> str | None: ...


def fingerprint(command: IdempotentCreate) -> str:
    content = {
        field.name: getattr(command, field.name)
        for field in dataclasses.fields(command)
        if field.name not in _NOT_CONTENT
    }
    # orjson writes nested dataclasses, UUIDs, datetimes and enums the same way each time.
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


class Once:
    """One create command's idempotency: ``claim_id`` is None when it has no key."""

    __slots__ = ("claim_id", "command")

    def __init__(self, command: IdempotentCreate) -> None:
        self.command = command
        key = command.idempotency_key
        self.claim_id = (
            None if key is None else idempotency_id_for(command.user_id, command.kind, key)
        )

    def earlier(self, uow: UnitOfWork) -> UUID | None:
        """The resource an earlier request with this key created (replay it), or None
        (create). Load ``claim_id`` with the command's other aggregates to spare a query."""
        if self.claim_id is None:
            return None
        claim = uow.get(IdempotencyKey, self.claim_id)
        return None if claim is None else self.resource_of(claim)

    def resource_of(self, claim: IdempotencyKey) -> UUID:
        """The claimed resource, if ``claim`` was made by this same command (else 422)."""
        if claim.fingerprint != fingerprint(self.command):
            raise IdempotencyKeyReusedError
        return UUID(claim.resource_id)

    def claim(self, resource_id: UUID) -> IdempotencyKey | None:
        """The claim to commit with the new resource (None without a key)."""
        if self.claim_id is None:
            return None
        return IdempotencyKey(
            id=self.claim_id, resource_id=str(resource_id), fingerprint=fingerprint(self.command)
        )
