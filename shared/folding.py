"""Case and accent folding, shared by the memo cleaner and the embedder."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Case and accents folded: ``"Café SÃO"`` -> ``"cafe sao"``.

    ASCII text is only lowered, which is the same result: NFKD leaves ASCII as it is, it
    holds no combining marks, and ``casefold`` of ASCII is ``lower``. Most memos are
    ASCII, and the general path walks every character in Python (the largest part of
    cleaning a memo, once per projected transaction).
    """
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
