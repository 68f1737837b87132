"""How a bank's CSV export is laid out, found from its first lines.

What is recognised (header names are matched case- and accent-insensitively, ignoring
punctuation, currency words such as ``R$`` and the filler words ``do``/``da``/``de``/``em``):

* the delimiter: ``,`` ``;`` or tab, whichever makes a line read as a header;
* preamble lines before the header (account name, period...) are skipped; the header is
  the first of the first 30 lines that names a date, a description and an amount;
* columns (Portuguese and English):

  - date: ``data``, ``data lançamento``, ``data movimento``, ``dt``, ``date``,
    ``transaction date``, ``posting date``, ``posted date``...
  - description (several are joined with a space, in column order): ``descrição``,
    ``histórico``, ``lançamento``, ``detalhes``, ``estabelecimento``, ``memo``,
    ``description``, ``details``, ``payee``, ``name``...
  - a signed amount: ``valor``, ``amount``, ``value``, ``quantia``...; or separate
    ``débito``/``saída``/``debit``/``withdrawal`` and ``crédito``/``entrada``/``credit``/
    ``deposit`` columns (a debit is money out whatever its written sign);
  - an id, optional: ``id``, ``fitid``, ``documento``, ``nº documento``,
    ``identificador``, ``reference``...;
  - a debit/credit flag, optional: ``tipo``, ``type``, ``D/C``, ``natureza``: values
    ``D``/``débito``/``debit``/``DR`` make the amount negative, ``C``/``crédito``/
    ``credit``/``CR`` positive, anything else (``Sale``, ``PIX``) leaves it as written;
* the decimal mark: the one amounts show beyond doubt (``1.234,56``, ``12,50``) in the
  first rows; else ``,`` for a Portuguese header and ``.`` for an English one;
* the date order of ``dd/mm/yyyy``-like dates: day first unless the first rows show a
  month above 12 in first place; with no evidence either way, day first for a
  Portuguese header and month first for an English one (US banks). ISO dates
  (``2025-01-15``, with an optional time and offset) are read as such everywhere.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from shared.statements.amounts import DecimalMark, evident_mark
from shared.statements.model import StatementError

HEADER_SEARCH_LINES = 30
SNIFF_ROWS = 1000
DELIMITERS = (";", ",", "\t")

_FILLER = frozenset(
    {"r", "rs", "us", "brl", "usd", "eur", "em", "do", "da", "de", "the", "n", "no"}
)
_PT, _EN = "pt", "en"
# alias -> language (None: both)
DATE = {
    "data": _PT, "data lancamento": _PT, "data movimento": _PT, "data transacao": _PT,
    "data compra": _PT, "data operacao": _PT, "dt": _PT, "dt lancamento": _PT,
    "date": _EN, "transaction date": _EN, "posting date": _EN, "posted date": _EN,
    "post date": _EN, "trans date": _EN,
}  # fmt: skip
MEMO = {
    "descricao": _PT, "historico": _PT, "lancamento": _PT, "detalhes": _PT,
    "estabelecimento": _PT, "titulo": _PT, "descricao lancamento": _PT,
    "memo": None, "description": _EN, "details": _EN, "payee": _EN, "name": _EN,
    "merchant": _EN, "narrative": _EN, "transaction description": _EN,
}  # fmt: skip
AMOUNT = {
    "valor": _PT, "quantia": _PT, "montante": _PT, "valor lancamento": _PT,
    "valor transacao": _PT, "amount": _EN, "value": _EN, "transaction amount": _EN,
}  # fmt: skip
DEBIT = {
    "debito": _PT, "saida": _PT, "saidas": _PT, "valor debito": _PT,
    "debit": _EN, "debits": _EN, "withdrawal": _EN, "withdrawals": _EN,
    "debit amount": _EN, "money out": _EN, "paid out": _EN,
}  # fmt: skip
CREDIT = {
    "credito": _PT, "entrada": _PT, "entradas": _PT, "valor credito": _PT,
    "credit": _EN, "credits": _EN, "deposit": _EN, "deposits": _EN,
    "credit amount": _EN, "money in": _EN, "paid in": _EN,
}  # fmt: skip
IDS = {
    "id": None, "fitid": None, "documento": _PT, "doc": _PT, "numero documento": _PT,
    "nr documento": _PT, "num documento": _PT, "identificador": _PT, "referencia": _PT,
    "transaction id": _EN, "reference": _EN, "ref": _EN,
}  # fmt: skip
FLAG = {
    "tipo": _PT, "tipo lancamento": _PT, "tipo transacao": _PT, "natureza": _PT,
    "type": _EN, "d c": None, "dc": None, "c d": None,
}  # fmt: skip

_DAY_MONTH = re.compile(r"\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})\b")


def header_key(cell: str) -> str:
    """``"Data do Lançamento"`` -> ``"data lancamento"``; ``"Valor (R$)"`` -> ``"valor"``."""
    folded = unicodedata.normalize("NFKD", cell.casefold())
    plain = "".join(c if c.isalnum() else " " for c in folded if not unicodedata.combining(c))
    return " ".join(word for word in plain.split() if word not in _FILLER)


@dataclass(frozen=True, slots=True)
class Columns:
    date: int
    memo: tuple[int, ...]
    amount: int | None
    debit: int | None
    credit: int | None
    id: int | None
    flag: int | None
    language: str  # "pt" or "en": which defaults apply when the data shows nothing


@dataclass(frozen=True, slots=True)
class CsvLayout:
    delimiter: str
    header_line: int  # 1-based
    columns: Columns
    decimal: DecimalMark
    day_first: bool


def _first(keys: list[str], aliases: Mapping[str, str | None]) -> int | None:
    return next((i for i, key in enumerate(keys) if key in aliases), None)


def columns_of(cells: list[str]) -> Columns | None:
    """The columns a header row names, or None when it is not a usable header."""
    keys = [header_key(cell) for cell in cells]
    date, memo = _first(keys, DATE), tuple(i for i, k in enumerate(keys) if k in MEMO)
    amount, debit, credit = _first(keys, AMOUNT), _first(keys, DEBIT), _first(keys, CREDIT)
    if date is None or not memo or (amount is None and debit is None and credit is None):
        return None
    votes = Counter(
        lang
        for key in keys
        for aliases in (DATE, MEMO, AMOUNT, DEBIT, CREDIT, IDS, FLAG)
        if (lang := aliases.get(key)) is not None
    )
    language = _EN if votes[_EN] > votes[_PT] else _PT
    ids, flag = _first(keys, IDS), _first(keys, FLAG)
    return Columns(date, memo, amount, debit, credit, ids, flag, language)


def find_header(lines: list[str], delimiter: str | None = None) -> tuple[str, int, Columns]:
    """(delimiter, index in ``lines``, columns) of the header row."""
    for index, line in enumerate(lines[:HEADER_SEARCH_LINES]):
        best: tuple[int, str, Columns] | None = None
        for candidate in (delimiter,) if delimiter else DELIMITERS:
            try:
                cells = next(csv.reader([line], delimiter=candidate), [])
            except csv.Error:  # a NUL or a stray carriage return: not a header
                continue
            found = columns_of(cells)
            if found is not None and (best is None or len(cells) > best[0]):
                best = (len(cells), candidate, found)
        if best is not None:
            return best[1], index, best[2]
    raise StatementError(
        "no header row found: a CSV statement needs columns for a date, a description "
        "and an amount (or debit and credit), e.g. 'Data;Descrição;Valor'"
    )


def _cells(row: list[str], *indexes: int | None) -> list[str]:
    return [row[i] for i in indexes if i is not None and i < len(row)]


def sniff(
    lines: list[str], delimiter: str | None = None, day_first: bool | None = None
) -> CsvLayout:
    """The layout of a CSV file that starts with ``lines`` (the first ``SNIFF_ROWS`` or so)."""
    found_delimiter, index, columns = find_header(lines, delimiter)
    data = _sample(lines[index + 1 :], found_delimiter)
    marks = Counter(
        mark
        for row in data
        for cell in _cells(row, columns.amount, columns.debit, columns.credit)
        if (mark := evident_mark(cell)) is not None
    )
    default_mark = DecimalMark.COMMA if columns.language == _PT else DecimalMark.POINT
    decimal = marks.most_common(1)[0][0] if marks else default_mark
    if day_first is None:
        day_first = _date_order(row[columns.date] for row in data if columns.date < len(row))
    if day_first is None:
        day_first = columns.language == _PT
    return CsvLayout(found_delimiter, index + 1, columns, decimal, day_first)


def _sample(lines: list[str], delimiter: str) -> list[list[str]]:
    """The rows of ``lines`` that csv reads; a bad one is reported later with its line."""
    rows: list[list[str]] = []
    for line in lines:
        try:
            rows.extend(csv.reader([line], delimiter=delimiter))
        except csv.Error:
            continue
    return rows


def _date_order(cells: Iterable[str]) -> bool | None:
    day_first = month_first = False
    for cell in cells:
        match = _DAY_MONTH.match(cell)
        if match is not None:
            day_first |= int(match.group(1)) > 12
            month_first |= int(match.group(2)) > 12
    if day_first and month_first:
        raise StatementError("the dates mix day-first and month-first orders")
    return True if day_first else False if month_first else None
