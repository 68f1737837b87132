"""Passwords: the port the user handlers hash and check with, and its Argon2id adapter
(``argon2-cffi``, memory-hard). Only hashes are ever stored (``Credentials``)."""

from __future__ import annotations

from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Passwords(Protocol):
    """Port: hash a password, check one against a stored hash."""

    def hash(self, password: str) -> str: ...

    def verify(self, stored_hash: str, password: str) -> bool: ...


class Argon2Passwords:
    """Argon2id with the library's defaults (RFC 9106 second profile: 64 MiB, 3 passes,
    4 lanes), unless given cheaper costs (unit tests)."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str, password: str) -> bool:
        if not stored_hash:  # released credentials keep no hash
            return False
        try:
            return self._hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False
