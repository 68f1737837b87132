"""Money: integer minor units plus a currency. Never float."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Currency(StrEnum):
    BRL = "BRL"
    USD = "USD"
    EUR = "EUR"


_SYMBOLS = {Currency.BRL: "R$", Currency.USD: "$", Currency.EUR: "€"}

# Amounts are kept within a signed 32-bit range, like the original's integer columns,
# so every client that worked with the original keeps working with ours.
MAX_AMOUNT = 2_147_483_647


def format_money(value: int, currency: Currency) -> str:
    """ICU ``en`` style, as the original's ``Money::format``: ``R$1,234.56``, ``-€78.90``."""
    sign = "-" if value < 0 else ""
    major, minor = divmod(abs(value), 100)
    return f"{sign}{_SYMBOLS[currency]}{major:,}.{minor:02d}"


@dataclass(frozen=True, slots=True)
class Money:
    value: int
    currency: Currency

    def formatted(self) -> str:
        return format_money(self.value, self.currency)

    def as_json(self, formatted: str | None = None) -> dict[str, object]:
        """The public JSON form, key order as the original: value, formatted, currency
        (``formatted``: this amount's ``formatted()``, when the caller has it already)."""
        text = self.formatted() if formatted is None else formatted
        return {"value": self.value, "formatted": text, "currency": self.currency.value}
