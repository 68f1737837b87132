"""Text embedders for memo similarity. Deterministic and offline: nothing is downloaded."""

from __future__ import annotations

import unicodedata
import zlib
from functools import lru_cache
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

Vectors = NDArray[np.float32]


class Embedder(Protocol):
    """Port: texts to L2-normalised float32 vectors of a fixed dimension."""

    dim: int

    def embed(self, texts: list[str]) -> Vectors: ...

    def vector(self, text: str) -> Vectors:
        """One text's vector; possibly shared with other callers, so never modify it."""
        ...


def _normalise(text: str) -> str:
    # "Café  PADARIA" and "cafe padaria" should land together: fold case and accents.
    folded = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in folded if not unicodedata.combining(c)).split())


class HashedNgrams:
    """Character n-grams hashed into ``dim`` signed buckets (the "hashing trick").

    crc32, not ``hash()``: Python's string hash is salted per process, and vectors stored
    by one process must match queries made by another.
    """

    def __init__(
        self, dim: int = 256, sizes: tuple[int, ...] = (2, 3, 4), cache: int = 65_536
    ) -> None:
        self.dim = dim
        self.sizes = sizes
        # Memos repeat (the same merchant, month after month): embed each text once.
        self._cached = lru_cache(maxsize=cache)(self._one)

    def _one(self, text: str) -> Vectors:
        vector = np.zeros(self.dim, dtype=np.float32)
        padded = f" {_normalise(text)} "
        for n in self.sizes:
            for i in range(len(padded) - n + 1):
                h = zlib.crc32(padded[i : i + n].encode())
                vector[h % self.dim] += 1.0 if (h >> 16) & 1 else -1.0
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else vector

    def vector(self, text: str) -> Vectors:
        vector: Vectors = self._cached(text)
        return vector

    def embed(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cached(t) for t in texts])  # stack copies: the cache is safe
