"""Text embedders for memo similarity. Deterministic and offline: nothing is downloaded."""

from __future__ import annotations

import zlib
from functools import lru_cache
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from shared.folding import fold

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
    return " ".join(fold(text).split())


def _ngram_crcs(text: str, sizes: tuple[int, ...]) -> list[int]:
    """The crc32 of the UTF-8 of each character n-gram of ``text``, for each size."""
    data = text.encode()
    if len(data) == len(text):  # ASCII: an n-gram's bytes are a slice of the whole
        return [zlib.crc32(data[i : i + n]) for n in sizes for i in range(len(data) - n + 1)]
    return [zlib.crc32(text[i : i + n].encode()) for n in sizes for i in range(len(text) - n + 1)]


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
        # Each n-gram's crc32 adds +1 or -1 (bit 16) to bucket ``crc % dim``. The sums are
        # small integers, exact in float64 and float32 alike, so counting them at once
        # (bincount) gives the very vector adding them one by one did, in half the time:
        # stored vectors and new queries stay comparable.
        hashes = np.array(_ngram_crcs(f" {_normalise(text)} ", self.sizes), dtype=np.uint32)
        signs = np.where((hashes >> 16) & 1, 1.0, -1.0)
        vector = np.bincount(hashes % self.dim, weights=signs, minlength=self.dim)
        counted: Vectors = vector.astype(np.float32)
        norm = float(np.linalg.norm(counted))
        return counted / norm if norm > 0 else counted

    def vector(self, text: str) -> Vectors:
        vector: Vectors = self._cached(text)
        return vector

    def embed(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cached(t) for t in texts])  # stack copies: the cache is safe
