"""Rows in PostgreSQL's COPY text format, built directly: psycopg's per-row ``write_row``
dispatches on every value's type, which was most of a rebuild's write cost."""

from __future__ import annotations

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
NULL = "\\N"


def text(value: str | None) -> str:
    """A free-text field: NULL, or the text with COPY's special characters escaped."""
    if value is None:
        return NULL
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_ESCAPES)
    return value


def json_field(raw: bytes) -> bytes:
    """A JSON document from orjson: it never holds a raw tab or newline (they are
    escaped inside strings), but its backslashes must be doubled."""
    return raw.replace(b"\\", b"\\\\") if b"\\" in raw else raw
