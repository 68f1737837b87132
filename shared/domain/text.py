"""Free text a client may store: what every name, memo and description must be.

PostgreSQL text and jsonb cannot hold NUL, a lone UTF-16 surrogate is not text at all
(no UTF-8 encoder accepts it), and other C0 controls corrupt logs, CSV exports and
terminals. Tab, newline and carriage return are ordinary text.
"""

from __future__ import annotations

import re

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def forbidden_character(value: str) -> str | None:
    """The first character ``value`` must not contain, as ``U+XXXX``, or None."""
    found = _FORBIDDEN.search(value)
    return None if found is None else f"U+{ord(found.group()):04X}"


def has_lone_surrogate(value: str) -> bool:
    """Python strings may hold unpaired surrogates (from JSON escapes); UTF-8 may not."""
    return any("\ud800" <= ch <= "\udfff" for ch in value) if not value.isascii() else False
