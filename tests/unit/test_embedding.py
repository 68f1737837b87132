"""The hashed n-gram embedder and folding: vectors stored in the history index must keep
matching queries embedded later, so the counting at once (bincount) and the ASCII fold
are compared, byte for byte, with the one-by-one loop and the general fold they replaced."""

from __future__ import annotations

import random
import unicodedata
import zlib

import numpy as np
import pytest

from shared.adapters.embedding import HashedNgrams, Vectors
from shared.folding import fold

# Letters, accents (precomposed and combining), ligatures, case oddities (dotted and
# dotless i, sharp s), digits, punctuation and Unicode spaces.
_ALPHABET = "abcXYZ ÇçÃãÉéßøŒﬁ€ 12*/-\t\u0301\u00a0İ\u0131"
_CASES = ["", " ", "a", "Café  PADARIA", "SERVIÇOS", "ﬁ", "İstanbul", "PAG*IFOOD 02/01 SP"]


def _texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    made = ("".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 60))) for _ in range(count))
    return [*_CASES, *made]


def _general_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _one_by_one(text: str, dim: int, sizes: tuple[int, ...]) -> Vectors:
    """The embedder as first written: each n-gram added to its bucket in turn."""
    vector = np.zeros(dim, dtype=np.float32)
    padded = f" {' '.join(_general_fold(text).split())} "
    for n in sizes:
        for i in range(len(padded) - n + 1):
            h = zlib.crc32(padded[i : i + n].encode())
            vector[h % dim] += 1.0 if (h >> 16) & 1 else -1.0
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def test_fold_is_the_general_fold() -> None:
    for text in _texts(3000, seed=7):
        assert fold(text) == _general_fold(text), text


@pytest.mark.parametrize(("dim", "sizes"), [(256, (2, 3, 4)), (7, (1, 5))])
def test_vectors_are_the_one_by_one_sums_byte_for_byte(dim: int, sizes: tuple[int, ...]) -> None:
    embedder = HashedNgrams(dim=dim, sizes=sizes, cache=0)
    for text in _texts(2000, seed=dim):
        made, expected = embedder.vector(text), _one_by_one(text, dim, sizes)
        assert made.dtype == expected.dtype == np.float32
        assert made.tobytes() == expected.tobytes(), text
