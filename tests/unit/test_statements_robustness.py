"""Whatever bytes arrive, parsing ends in rows or a ``StatementError``, never another
exception (which the import would turn into a 500 or a task retried forever)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from shared.domain.money import Currency
from shared.statements import StatementError, open_statement

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = [*sorted((ROOT / "tests" / "fixtures" / "statements").iterdir())]


def mutated(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    match rng.randrange(3):
        case 0:
            del out[rng.randrange(len(out)) :]
        case 1:
            for _ in range(rng.randint(1, 5)):
                out[rng.randrange(len(out))] = rng.randrange(256)
        case _:
            at = rng.randrange(len(out))
            del out[at : at + rng.randint(1, 30)]
    return bytes(out)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda path: path.name)
def test_mutated_statements_parse_or_fail_with_a_statement_error(sample: Path) -> None:
    rng = random.Random(sample.name)  # seeded: a failure reproduces
    original = sample.read_bytes()
    outcomes = {"rows": 0, "error": 0}
    for _ in range(150):
        data = mutated(original, rng)
        try:
            list(
                open_statement(
                    data, currency=None if sample.suffix == ".ofx" else Currency.BRL
                ).rows()
            )
            outcomes["rows"] += 1
        except StatementError:
            outcomes["error"] += 1
    assert outcomes["error"] > 0  # the mutations do break files: the test can fail
