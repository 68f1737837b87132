"""Frozen dataclass instances built as eventsourcing's mapper builds a stored event."""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")


def built(cls: type[T], state: dict[str, Any]) -> T:
    """An instance of ``cls`` (a frozen dataclass, not slotted) whose attributes are
    ``state``, its ``__init__`` skipped: it sets each field through ``object.__setattr__``,
    several times the cost, which counts where one is made per event or per imported
    row. ``state`` must hold exactly the fields, in their order, as ``__init__`` would
    set them (the callers' tests compare with instances built by ``__init__``)."""
    made = object.__new__(cls)
    object.__setattr__(made, "__dict__", state)
    return made
