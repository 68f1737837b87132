"""Decimal text to integer minor units, exactly.

Every supported currency (BRL, USD, EUR) has two minor digits. Amounts are limited to
``MAX_AMOUNT`` in magnitude (the domain's 32-bit range): a row beyond it is reported by
its line here rather than failing later in the domain.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from shared.domain.money import MAX_AMOUNT

MINOR_DIGITS = 2
_SCALE = Decimal(10) ** MINOR_DIGITS


class AmountError(ValueError):
    """The text is not an amount in minor units; the message says why."""


def minor_units(value: Decimal) -> int:
    """``Decimal("-78.90")`` -> ``-7890``; more than two significant decimals is an error."""
    if not value.is_finite():
        raise AmountError(f"{value} is not a finite amount")
    scaled = value * _SCALE
    if scaled != scaled.to_integral_value():
        raise AmountError(f"{value} has more than {MINOR_DIGITS} decimal places")
    return checked(int(scaled))


def checked(amount: int) -> int:
    if abs(amount) > MAX_AMOUNT:
        raise AmountError(f"{amount} minor units is beyond the limit of {MAX_AMOUNT}")
    return amount


class DecimalMark(StrEnum):
    """The decimal separator of a CSV file's amounts (the other is the thousands mark)."""

    POINT = "."
    COMMA = ","


# What surrounds a number in bank exports: currency symbols and codes, spaces (also the
# no-break kind), a sign before or after, parentheses for negatives, a trailing D/C.
_STRIP = re.compile(r"R\$|US\$|\$|€|BRL|USD|EUR|[\s\u00a0]", re.IGNORECASE)
_NUMBER = {
    DecimalMark.COMMA: re.compile(r"(?P<whole>\d{1,3}(?:\.\d{3})+|\d+)(?:,(?P<fraction>\d*))?"),
    DecimalMark.POINT: re.compile(r"(?P<whole>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<fraction>\d*))?"),
}


def parse_amount(text: str, mark: DecimalMark) -> int | None:
    """A CSV amount cell to signed minor units; None for an empty cell.

    Accepts ``1.234,56`` / ``1,234.56`` (per ``mark``), ``-10``, ``10-``, ``(10,00)``,
    ``+10``, ``R$ 10,00``, ``10,00 D`` (debit) and ``10,00 C`` (credit).
    """
    body = _STRIP.sub("", text)
    if not body:
        return None
    negative = False
    if body[-1] in "DdCc" and len(body) > 1:
        negative, body = body[-1] in "Dd", body[:-1]
    if body.startswith("(") and body.endswith(")"):
        negative, body = True, body[1:-1]
    if body[:1] in "+-":
        negative, body = negative or body[0] == "-", body[1:]
    elif body[-1:] in "+-":
        negative, body = negative or body[-1] == "-", body[:-1]
    match = _NUMBER[mark].fullmatch(body)
    if match is None:
        raise AmountError(f"{text.strip()!r} is not an amount (decimal mark {mark.value!r})")
    fraction = match["fraction"] or ""
    digits = match["whole"].replace(",", "").replace(".", "")
    if len(fraction.rstrip("0")) > MINOR_DIGITS:
        raise AmountError(f"{text.strip()!r} has more than {MINOR_DIGITS} decimal places")
    fraction = fraction[:MINOR_DIGITS].ljust(MINOR_DIGITS, "0")
    value = int(digits) * 10**MINOR_DIGITS + int(fraction)
    return checked(-value if negative else value)


def evident_mark(text: str) -> DecimalMark | None:
    """The decimal mark a cell shows beyond doubt, if any.

    ``1.234,56`` (both marks: the last one is decimal) and ``12,5`` / ``12.50`` (one or two
    digits after a single mark) are evident; ``1,234`` is not (thousands, or three decimals).
    """
    body = _STRIP.sub("", text).strip("()+-DdCc")
    last_comma, last_point = body.rfind(","), body.rfind(".")
    if last_comma >= 0 and last_point >= 0:
        return DecimalMark.COMMA if last_comma > last_point else DecimalMark.POINT
    last = max(last_comma, last_point)
    if last < 0 or body.count(body[last]) > 1:
        return None
    decimals = len(body) - last - 1
    if decimals in (1, 2) and body[:last].isdigit():
        return DecimalMark.COMMA if body[last] == "," else DecimalMark.POINT
    return None


def parse_decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise AmountError(f"{text!r} is not a decimal number") from None
