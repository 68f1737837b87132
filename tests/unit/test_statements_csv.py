"""CSV statements: the common bank export shapes, the fingerprint of rows without ids,
bad rows by line, and a 50,000-row file streamed."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from shared.domain.money import Currency
from shared.statements import (
    BadRowError,
    CsvOptions,
    FitidSource,
    StatementError,
    StatementFormat,
    StatementRow,
    csv_rows,
    fingerprint,
    open_statement,
)

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "statements"


def rows_of(
    text: str | bytes, currency: Currency = Currency.BRL, **options: object
) -> list[StatementRow]:
    data = text.encode() if isinstance(text, str) else text
    csv_options = CsvOptions(**options)  # type: ignore[arg-type]
    return list(open_statement(data, currency=currency, csv_options=csv_options).rows())


def amounts(rows: list[StatementRow]) -> list[int]:
    return [row.amount for row in rows]


def test_a_csv_file_is_parsed_as_csv_not_as_ofx() -> None:
    statement = open_statement(
        b"Data;Descricao;Valor\n15/01/2025;PADARIA;-10,50\n", currency=Currency.BRL
    )
    (row,) = list(statement.rows())
    assert statement.info.format is StatementFormat.CSV
    assert (row.amount, row.memo, row.kind) == (-1050, "PADARIA", "DEBIT")


def test_a_csv_statement_needs_the_accounts_currency() -> None:
    with pytest.raises(StatementError, match="currency"):
        open_statement(b"Data;Descricao;Valor\n15/01/2025;PADARIA;-10,50\n")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Data;Histórico;Valor\n02/01/2025;A;-1.234,56\n03/01/2025;B;7,5\n", [-123456, 750]),
        ('Data,Descrição,Valor\n02/01/2025,A,"-1.234,56"\n03/01/2025,B,"7,50"\n', [-123456, 750]),
        ('Date,Description,Amount\n01/02/2025,A,"-1,234.56"\n01/03/2025,B,7.5\n', [-123456, 750]),
        (
            "Date\tDescription\tAmount\n2025-01-02\tA\t-1234.56\n2025-01-03\tB\t7.50\n",
            [-123456, 750],
        ),
        ("Data;Descrição;Valor\n02/01/2025;A;R$ -10,00\n03/01/2025;B;(5,00)\n", [-1000, -500]),
        ("Data;Descrição;Valor\n02/01/2025;A;10,00 D\n03/01/2025;B;10,00 C\n", [-1000, 1000]),
        ("Data;Descrição;Valor\n02/01/2025;A;10,00-\n03/01/2025;B;+3\n", [-1000, 300]),
    ],
)
def test_delimiters_and_decimal_marks_are_detected(text: str, expected: list[int]) -> None:
    assert amounts(rows_of(text)) == expected


def test_day_first_dates_in_a_portuguese_export() -> None:
    rows = rows_of("Data;Descrição;Valor\n05/01/2025;A;1\n06/01/2025;B;1\n")
    assert [row.posted_at.date() for row in rows] == [date(2025, 1, 5), date(2025, 1, 6)]


def test_month_first_dates_in_an_english_export() -> None:
    rows = rows_of("Date,Description,Amount\n01/05/2025,A,1\n01/06/2025,B,1\n", Currency.USD)
    assert [row.posted_at.date() for row in rows] == [date(2025, 1, 5), date(2025, 1, 6)]


def test_a_day_above_12_decides_the_order_against_the_language_default() -> None:
    rows = rows_of("Date,Description,Amount\n05/01/2025,A,1\n25/01/2025,B,1\n", Currency.USD)
    assert [row.posted_at.date() for row in rows] == [date(2025, 1, 5), date(2025, 1, 25)]


def test_the_date_order_can_be_forced() -> None:
    rows = rows_of("Data;Descrição;Valor\n01/05/2025;A;1\n", day_first=False)
    assert rows[0].posted_at.date() == date(2025, 1, 5)


def test_iso_dates_with_time_and_offset_are_converted_to_utc() -> None:
    text = (
        "Date,Description,Amount\n2025-01-15T23:30:00-03:00,A,1\n"
        "2025-01-16 08:00,B,2\n2025-01-17,C,3\n"
    )
    rows = rows_of(text, Currency.USD)
    assert [row.posted_at for row in rows] == [
        datetime(2025, 1, 16, 2, 30, tzinfo=UTC),
        datetime(2025, 1, 16, 8, tzinfo=UTC),
        datetime(2025, 1, 17, tzinfo=UTC),
    ]


def test_dates_without_time_are_midnight_in_the_callers_zone() -> None:
    brt = timezone(timedelta(hours=-3))
    (row,) = rows_of("Data;Descrição;Valor\n15/01/2025;A;1\n", tz=brt)
    assert row.posted_at == datetime(2025, 1, 15, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    "header",
    [
        "Data Lançamento;Histórico;Valor (R$)",
        "DATA DO MOVIMENTO;DESCRIÇÃO;VALOR EM R$",
        "Posting Date;Transaction Description;Transaction Amount",
        "Transaction Date;Payee;Amount",
        "dt;Estabelecimento;Quantia",
    ],
)
def test_header_aliases_in_portuguese_and_english(header: str) -> None:
    (row,) = rows_of(f"{header}\n15/01/2025;LOJA X;-9,90\n", delimiter=";", day_first=True)
    assert (row.memo, row.amount, row.posted_at.date()) == ("LOJA X", -990, date(2025, 1, 15))


def test_debit_and_credit_columns_make_debits_negative_whatever_their_sign() -> None:
    rows = rows_of((FIXTURES / "debit-credit-tab.csv").read_bytes())
    assert amounts(rows) == [-123456, 200000, -20000]
    assert [row.fitid for row in rows] == ["000123", "000124", "000125"]
    assert {row.fitid_source for row in rows} == {FitidSource.BANK}


def test_a_row_with_both_debit_and_credit_is_a_bad_row() -> None:
    with pytest.raises(BadRowError) as raised:
        rows_of("Data;Descrição;Débito;Crédito\n15/01/2025;A;1,00;\n16/01/2025;B;1,00;2,00\n")
    assert raised.value.line == 3


def test_a_type_column_signs_the_amount() -> None:
    rows = rows_of("Data;Descrição;Valor;Tipo\n15/01/2025;A;10,00;D\n15/01/2025;B;10,00;C\n")
    assert amounts(rows) == [-1000, 1000]


def test_a_cp1252_export_with_preamble_and_balance_lines() -> None:
    statement = open_statement((FIXTURES / "itau-cp1252.csv").read_bytes(), currency=Currency.BRL)
    rows = list(statement.rows())
    assert statement.encoding == "cp1252"
    assert [(row.line, row.memo, row.amount) for row in rows] == [
        (6, "PIX TRANSF JOÃO S02/01", -15000),
        (7, "TAR PACOTE ITAÚ", -3990),
        (8, "REND PAGO APLIC AUT MAIS", 42),
        (9, "SISPAG SALARIO", 725000),
    ]


def test_a_us_card_export_with_two_description_columns() -> None:
    rows = rows_of((FIXTURES / "chase-card.csv").read_bytes(), Currency.USD)
    assert [(row.memo, row.amount) for row in rows] == [
        ("TRADER JOE S #552", -5423),
        ("UBER *TRIP", -1840),
        ("AUTOMATIC PAYMENT - THANK", 125000),
        ("NETFLIX.COM", -1549),
    ]
    assert rows[0].posted_at.date() == date(2025, 1, 5)


def test_rows_without_an_id_get_the_documented_fingerprint() -> None:
    rows = rows_of((FIXTURES / "nubank.csv").read_bytes())
    coffee_1, coffee_2 = rows[3], rows[4]
    assert [row.fitid_source for row in rows[:3]] == [FitidSource.BANK] * 3
    assert coffee_1.fitid_source is FitidSource.FINGERPRINT
    memo = "Compra no débito - Café do Ponto"
    assert coffee_1.fitid == fingerprint(date(2025, 1, 4), -1200, memo, 0)
    assert coffee_2.fitid == fingerprint(date(2025, 1, 4), -1200, memo, 1)
    assert coffee_1.fitid != coffee_2.fitid


def test_the_fingerprint_survives_reexport_with_other_spacing_case_and_layout() -> None:
    first = rows_of("Data;Descrição;Valor\n04/01/2025;Café  do PONTO;-12,00\n")
    again = rows_of("Date,Description,Amount\n2025-01-04,café do ponto,-12.00\n", Currency.BRL)
    assert first[0].fitid == again[0].fitid
    assert first[0].fitid.startswith("csv1:")


def test_the_fingerprint_changes_with_date_amount_memo_and_occurrence() -> None:
    base = fingerprint(date(2025, 1, 4), -1200, "cafe", 0)
    others = {
        fingerprint(date(2025, 1, 5), -1200, "cafe", 0),
        fingerprint(date(2025, 1, 4), -1201, "cafe", 0),
        fingerprint(date(2025, 1, 4), -1200, "cafe 2", 0),
        fingerprint(date(2025, 1, 4), -1200, "cafe", 1),
    }
    assert base not in others
    assert len(others) == 4


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("32/01/2025;C;1,00", "not a date"),
        ("2025-02-30;C;1,00", "not a date"),
        ("03/01/2025;C;abc", "not an amount"),
        ("03/01/2025;C;1,005", "decimal places"),
        ("03/01/2025;C;", "no amount"),
        ("03/01/2025;C;99999999999,00", "limit"),
    ],
)
def test_a_bad_row_fails_the_whole_file_with_its_line(bad: str, message: str) -> None:
    text = f"Data;Descrição;Valor\n01/01/2025;A;1,00\n02/01/2025;B;2,00\n{bad}\n04/01/2025;D;4,00\n"
    with pytest.raises(BadRowError) as raised:
        open_statement(text.encode(), currency=Currency.BRL)
    assert raised.value.line == 4
    assert message in raised.value.message
    assert str(raised.value).startswith("line 4: ")


def test_a_quoted_multiline_memo_keeps_later_line_numbers_right() -> None:
    text = 'Data;Descrição;Valor\n01/01/2025;"A\nB";1,00\n02/01/2025;C;x\n'
    with pytest.raises(BadRowError) as raised:
        open_statement(text.encode(), currency=Currency.BRL)
    assert raised.value.line == 4


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"just some text\nwithout a header\n",
        b"\x00\x01\x02" * 100,
        b"Data;Descricao;Valor\n01/01/2025;\x00;1\n",
    ],
)
def test_files_that_are_no_statement_are_statement_errors(data: bytes) -> None:
    with pytest.raises(StatementError):
        list(open_statement(data, currency=Currency.BRL).rows())


def test_a_50000_row_csv_streams_and_rows_come_again_in_order() -> None:
    count = 50_000
    start = date(2020, 1, 1)
    lines = ["Data;Descrição;Valor\n"]
    lines += [
        f"{start + timedelta(days=i // 40):%d/%m/%Y};LOJA {i % 300};-{i % 1000},{i % 100:02d}\n"
        for i in range(count)
    ]
    statement = open_statement(io.BytesIO("".join(lines).encode()), currency=Currency.BRL)
    assert statement.summary.rows == count
    seen = 0
    for seen, row in enumerate(statement.rows(), 1):
        assert row.line == seen + 1
    assert seen == count
    assert statement.summary.total == -sum((i % 1000) * 100 + i % 100 for i in range(count))


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("chunk", [3, 256 * 1024])
def test_any_line_ending_even_cut_between_chunks(
    monkeypatch: pytest.MonkeyPatch, newline: str, chunk: int
) -> None:
    monkeypatch.setattr(csv_rows, "CHUNK_BYTES", chunk)
    lines = ["Data;Descrição;Valor", "15/01/2025;PADARIA;-10,50", '16/01/2025;"A', 'B";1,00']
    rows = rows_of(newline.join(lines) + newline)
    assert [(row.line, row.memo, row.amount) for row in rows] == [
        (2, "PADARIA", -1050),
        (3, "A B", 100),
    ]
