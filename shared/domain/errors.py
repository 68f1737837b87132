"""Domain errors. Each service maps them to HTTP in one table (its ``errors.py``)."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID


class Model(StrEnum):
    """The resources a client can name by id, as the original's error messages call
    them (``No query results for model [App\\Models\\Account]``)."""

    ACCOUNT = "Account"
    CATEGORY = "Category"
    TRANSACTION = "Transaction"
    BUDGET = "Budget"
    USER = "User"
    TOKEN = "PersonalAccessToken"  # noqa: S105 (a model name, as Sanctum calls it)
    IMPORT = "Import"
    IMPORT_TRANSACTION = "ImportTransaction"
    NOTIFICATION = "DatabaseNotification"


class DomainError(Exception):
    """Base of every error a command or query can raise for a client's mistake."""


class NotFoundError(DomainError):
    def __init__(self, model: Model, resource_id: UUID | str | None = None) -> None:
        self.model = model
        self.resource_id = resource_id
        suffix = f" {resource_id}" if resource_id is not None else ""
        super().__init__(f"No query results for model [App\\Models\\{model}]{suffix}")


class ForbiddenError(DomainError):
    def __init__(self) -> None:
        super().__init__("This action is unauthorized.")


class RuleViolationError(DomainError):
    """A business rule broken by the command's data; reported against one input field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(message)


class CategoryNotFoundError(DomainError):
    """Budget store with a category the caller cannot see (the original's 404 body)."""

    def __init__(self) -> None:
        super().__init__("Category not found.")


class ConcurrentChangeError(DomainError):
    """Another command changed one of these aggregates first (optimistic concurrency):
    nothing was written, and the client may simply retry."""

    def __init__(self) -> None:
        super().__init__("The resource was changed by a concurrent request. Please retry.")


class IdempotencyKeyReusedError(DomainError):
    def __init__(self) -> None:
        super().__init__("This Idempotency-Key was already used with a different request body.")
