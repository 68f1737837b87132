"""OFX statements: the contract's fixture and vectors, each defect of the original fixed,
bad rows reported by line, and a 50,000-row file streamed."""

from __future__ import annotations

import io
import random
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest
from ofxtools.models.bank.stmt import TRNTYPES
from ofxtools.Parser import ParseError, TreeBuilder

from shared.domain.accounts import AccountType
from shared.domain.money import Currency
from shared.statements import (
    BadRowError,
    FitidSource,
    StatementError,
    StatementFormat,
    StatementRow,
    UnsupportedCurrencyError,
    ofx,
    open_statement,
    reader,
)
from tests.unit.test_statements_robustness import mutated

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "statements"
CONTRACT_FIXTURE = ROOT / "tests" / "fixtures" / "statements" / "ofx-fake.ofx"  # the original's

V1_HEADER = (
    "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\n"
    "CHARSET:1252\nCOMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n"
)


def sgml(
    transactions: str,
    currency: str = "BRL",
    fid: str = "123",
    header: str = V1_HEADER,
    dtstart: str = "20240101",
) -> bytes:
    """A one-statement OFX 1.02 document around ``transactions`` (SGML, no end tags)."""
    body = (
        "<OFX>\n<SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS>\n"
        f"<DTSERVER>20240401<LANGUAGE>POR<FI><ORG>Banco Teste<FID>{fid}</FI></SONRS>\n"
        "</SIGNONMSGSRSV1>\n<BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO\n"
        f"</STATUS><STMTRS><CURDEF>{currency}\n"
        "<BANKACCTFROM><BANKID>0001<BRANCHID>12<ACCTID>999-1<ACCTTYPE>CHECKING</BANKACCTFROM>\n"
        f"<BANKTRANLIST><DTSTART>{dtstart}<DTEND>20240331\n"
        f"{transactions}"
        "</BANKTRANLIST><LEDGERBAL><BALAMT>0.00<DTASOF>20240331</LEDGERBAL>\n"
        "</STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n"
    )
    return (header + body).encode("cp1252")


def trn(fitid: str, posted: str, amount: str, memo: str = "X", kind: str = "DEBIT") -> str:
    return (
        f"<STMTTRN>\n<TRNTYPE>{kind}\n<DTPOSTED>{posted}\n<TRNAMT>{amount}\n"
        f"<FITID>{fitid}\n<MEMO>{memo}\n</STMTTRN>\n"
    )


def rows_of(data: bytes, currency: Currency | None = None) -> list[StatementRow]:
    return list(open_statement(data, currency=currency).rows())


def test_contract_fixture_parses_as_the_original_parser_test_expects() -> None:
    with CONTRACT_FIXTURE.open("rb") as upload:
        statement = open_statement(upload)
        first, last = list(statement.rows())
    info = statement.info
    assert info.format is StatementFormat.OFX
    assert info.currency is Currency.BRL
    # The original dropped the [-3:BRT] offset; midnight in Brasília is 03:00 UTC.
    assert info.start == datetime(2025, 1, 1, 3, tzinfo=UTC)
    assert info.end == datetime(2025, 1, 31, 3, tzinfo=UTC)
    assert (first.kind, first.amount, first.fitid) == ("CREDIT", 123456, "1")
    assert first.memo == "Test Credit Transaction"
    assert first.posted_at == datetime(2025, 1, 15, 3, tzinfo=UTC)
    assert (last.kind, last.amount, last.fitid) == ("DEBIT", -7890, "2")
    assert last.memo == "Test Debit Transaction"
    assert first.fitid_source is FitidSource.BANK
    account = info.account
    assert account is not None
    assert (account.bank_id, account.bank_name, account.number) == ("123", "Test Bank", "12345-6")
    assert (account.branch, account.type) == ("1", AccountType.CHECKING)
    assert info.ledger is not None
    assert info.ledger.amount == 115566
    assert statement.summary.rows == 2
    assert statement.summary.total == 115566  # the balance increment the contract expects


def test_contract_fixture_rows_point_at_their_stmttrn_lines() -> None:
    lines = CONTRACT_FIXTURE.read_text().splitlines()
    rows = rows_of(CONTRACT_FIXTURE.read_bytes())
    assert [lines[row.line - 1] for row in rows] == ["<STMTTRN>", "<STMTTRN>"]


def test_vector_a_amount_125_is_12500_minor_units_on_its_day() -> None:
    (row,) = rows_of(sgml(trn("FIT123", "20240110", "125")))
    assert (row.fitid, row.amount, row.posted_at.date()) == (
        "FIT123",
        12500,
        datetime(2024, 1, 10).date(),
    )


def test_vector_b_usd_credit_300_50_is_30050() -> None:
    statement = open_statement(sgml(trn("FIT999", "20240201", "+300.50", kind="CREDIT"), "USD"))
    (row,) = list(statement.rows())
    assert statement.info.currency is Currency.USD
    assert (row.fitid, row.amount) == ("FIT999", 30050)


def test_vector_c_eur_500_00_is_50000_on_the_same_day() -> None:
    statement = open_statement(sgml(trn("FIT123", "20240315120000[-3:BRT]", "500.00"), "EUR"))
    (row,) = list(statement.rows())
    assert statement.info.currency is Currency.EUR
    assert (row.amount, row.posted_at) == (50000, datetime(2024, 3, 15, 15, tzinfo=UTC))


def test_amounts_are_exact_decimals_never_floats() -> None:
    rows = rows_of(sgml(trn("1", "20240101", "0.29") + trn("2", "20240101", "-1234567.89")))
    assert [row.amount for row in rows] == [29, -123456789]


def test_an_amount_with_three_decimals_is_a_bad_row_not_a_rounding() -> None:
    data = sgml(trn("1", "20240101", "10.00") + trn("2", "20240102", "1.005"))
    with pytest.raises(BadRowError) as raised:
        open_statement(data)
    assert "decimal places" in raised.value.message
    assert data.decode("cp1252").splitlines()[raised.value.line - 1] == "<STMTTRN>"


@pytest.mark.parametrize("kind", sorted(TRNTYPES))
def test_every_ofx_transaction_type_is_accepted_with_the_amounts_sign(kind: str) -> None:
    rows = rows_of(
        sgml(trn("1", "20240101", "-5.00", kind=kind) + trn("2", "20240101", "7", kind=kind))
    )
    assert [(row.kind, row.amount) for row in rows] == [(kind, -500), (kind, 700)]


def test_an_unknown_or_lower_case_type_is_kept_as_sent_not_rejected() -> None:
    rows = rows_of(
        sgml(trn("1", "20240101", "-1", kind="pix") + trn("2", "20240101", "1", kind="pos"))
    )
    assert [(row.kind, row.amount) for row in rows] == [("PIX", -100), ("POS", 100)]


@pytest.mark.parametrize(
    ("posted", "utc"),
    [
        ("20250115000000[-3:BRT]", datetime(2025, 1, 15, 3, tzinfo=UTC)),
        ("20250115233000[-3:BRT]", datetime(2025, 1, 16, 2, 30, tzinfo=UTC)),
        ("20250115120000.000[-5:EST]", datetime(2025, 1, 15, 17, tzinfo=UTC)),
        ("20250115120000[+5.30:IST]", datetime(2025, 1, 15, 6, 30, tzinfo=UTC)),
        ("20250115120000[0:GMT]", datetime(2025, 1, 15, 12, tzinfo=UTC)),
        ("20250115", datetime(2025, 1, 15, tzinfo=UTC)),
    ],
)
def test_date_offsets_are_honoured(posted: str, utc: datetime) -> None:
    (row,) = rows_of(sgml(trn("1", posted, "1")))
    assert row.posted_at == utc
    assert row.posted_at.tzinfo is UTC


@pytest.mark.parametrize("fid", ["0260", "341-7", "756012345", "12345678901234567890"])
def test_long_or_zero_padded_bank_ids_are_kept_as_text(fid: str) -> None:
    statement = open_statement(sgml(trn("1", "20240101", "1"), fid=fid))
    list(statement.rows())
    assert statement.info.account is not None
    assert statement.info.account.bank_id == fid


def test_a_header_without_charset_is_read() -> None:
    header = V1_HEADER.replace("CHARSET:1252\n", "").replace("COMPRESSION:NONE\n", "")
    (row,) = rows_of(sgml(trn("1", "20240101", "-3.50", memo="PADARIA SÃO JOÃO"), header=header))
    assert (row.amount, row.memo) == (-350, "PADARIA SÃO JOÃO")


def test_a_header_in_another_order_on_one_line_or_absent_is_read() -> None:
    one_line = "OFXHEADER:100 DATA:OFXSGML VERSION:102 ENCODING:UTF-8 CHARSET:NONE\n"
    for header in (one_line, ""):
        (row,) = rows_of(sgml(trn("7", "20240101", "2"), header=header))
        assert (row.fitid, row.amount) == ("7", 200)


def test_fixture_without_charset_from_a_cooperative_bank() -> None:
    statement = open_statement((FIXTURES / "sicoob-no-charset.ofx").read_bytes())
    rows = list(statement.rows())
    assert [(r.kind, r.amount, r.memo) for r in rows] == [
        ("POS", -3520, "COMPRA CARTÃO PADARIA PÃO DOURADO"),
        ("XFER", -20000, "PIX ENVIADO JOSÉ"),
    ]
    assert rows[0].posted_at == datetime(2025, 1, 20, 15, tzinfo=UTC)
    assert statement.info.account is not None
    assert statement.info.account.bank_id == "756012345"


def test_cp1252_sgml_fixture_with_accents_comma_amount_and_fee() -> None:
    statement = open_statement((FIXTURES / "bb-1.02-cp1252.ofx").read_bytes())
    rows = list(statement.rows())
    assert statement.encoding == "cp1252"
    assert [(r.kind, r.amount) for r in rows] == [
        ("DEBIT", -8990),
        ("CREDIT", 500000),
        ("FEE", -1250),
    ]
    assert rows[1].memo == "SALÁRIO JANEIRO \u2013 AÇÚCAR & CIA"  # an en dash: cp1252 0x96
    assert statement.summary.total == 489760


def test_xml_2_2_fixture_with_name_memo_and_escapes() -> None:
    statement = open_statement((FIXTURES / "bank-2.2.ofx").read_bytes(), currency=Currency.USD)
    rows = list(statement.rows())
    assert [r.kind for r in rows] == ["PAYMENT", "XFER", "POS", "DIRECTDEP"]
    assert rows[0].memo == "ONLINE PMT ELECTRIC BILL & GAS"
    assert rows[0].payee == "CON EDISON"
    assert rows[1].memo == "TRANSFER FROM CHECKING"  # NAME stands in for a missing MEMO
    assert rows[1].posted_at == datetime(2025, 2, 5, 15, 30, tzinfo=UTC)
    assert statement.info.account is not None
    assert statement.info.account.type is AccountType.SAVINGS


def test_unknown_tags_and_tags_out_of_order_do_not_reject_a_row() -> None:
    odd = (
        "<STMTTRN>\n<TRNTYPE>DEBIT\n<DTPOSTED>20240105\n<TRNAMT>-9.99\n<MEMO>LOJA\n"
        "<FITID>77\n<BANCO.EXTRA>whatever\n<CHECKNUM>12\n</STMTTRN>\n"
    )
    (row,) = rows_of(sgml(odd))
    assert (row.fitid, row.amount, row.memo) == ("77", -999, "LOJA")


def test_a_statement_in_an_unsupported_currency_is_refused() -> None:
    with pytest.raises(UnsupportedCurrencyError):
        open_statement(sgml(trn("1", "20240101", "1"), currency="JPY"))


def test_a_statement_in_another_currency_than_the_account_is_refused() -> None:
    with pytest.raises(StatementError, match="BRL, not USD"):
        open_statement(sgml(trn("1", "20240101", "1")), currency=Currency.USD)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (trn("3", "2024-13-01", "1"), "invalid transaction"),
        (trn("3", "20240103", "abc"), "invalid transaction"),
        ("<STMTTRN>\n<TRNTYPE>DEBIT\n<DTPOSTED>20240103\n<TRNAMT>1\n</STMTTRN>\n", "FITID"),
        (trn("3", "20240103", "1", memo="A\x00B"), ""),
    ],
)
def test_a_bad_row_fails_the_whole_file_with_its_line(bad: str, message: str) -> None:
    data = sgml(trn("1", "20240101", "1") + trn("2", "20240102", "2") + bad)
    with pytest.raises(StatementError) as raised:
        open_statement(data)
    error = raised.value
    assert message in error.message
    assert error.line is not None
    lines = data.decode("cp1252").splitlines()
    starts = [number for number, text in enumerate(lines, 1) if text == "<STMTTRN>"]
    assert error.line == starts[2]  # the third transaction's, not the first's or the file's


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"OFXHEADER:100\nDATA:OFXSGML\n",
        V1_HEADER.encode() + b"<OFX><BANKMSGSRSV1></OFX>",
        V1_HEADER.encode() + b"<OFX></STMTTRN></OFX>",
        b"<?xml version='1.0'?>\n<OFX></OFX>",
    ],
)
def test_malformed_files_are_statement_errors_not_crashes(data: bytes) -> None:
    with pytest.raises(StatementError):
        list(open_statement(data, currency=Currency.BRL).rows())


def test_a_truncated_file_is_refused() -> None:
    data = sgml(trn("1", "20240101", "1") + trn("2", "20240102", "2"))
    with pytest.raises(StatementError):
        open_statement(data[: data.index(b"</BANKTRANLIST>")])


def test_a_50000_row_statement_streams_twice_with_the_same_rows() -> None:
    count = 50_000
    body = "".join(
        trn(f"F{i}", f"2024{1 + i % 12:02d}15", f"-{i % 997}.{i % 100:02d}") for i in range(count)
    )
    data = sgml(body)
    statement = open_statement(io.BytesIO(data))
    assert statement.summary.rows == count
    rows = statement.rows()
    first = next(rows)
    assert (first.fitid, first.amount) == ("F0", 0)
    seen = 1 + sum(1 for _ in rows)
    assert seen == count
    assert statement.summary.total == -sum((i % 997) * 100 + i % 100 for i in range(count))


def test_a_statement_beyond_keep_rows_is_read_again_from_its_source(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reader, "KEEP_ROWS", 10)
    data = sgml("".join(trn(f"F{i}", "20240101", f"-{i}.00") for i in range(30)))
    kept = list(open_statement(data).rows())
    source = io.BytesIO(data)
    statement = open_statement(source)
    source.seek(0, io.SEEK_END)  # rows() must seek back to the start by itself
    assert list(statement.rows()) == kept
    assert [row.fitid for row in kept] == [f"F{i}" for i in range(30)]


def test_a_file_changed_between_the_passes_fails_the_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reader, "KEEP_ROWS", 1)
    data = sgml(trn("1", "20240101", "-1.00") + trn("2", "20240102", "-2.00"))
    source = io.BytesIO(data)
    statement = open_statement(source)
    source.seek(0)
    source.write(data.replace(b"<TRNAMT>-2.00", b"<TRNAMT>-9.00"))
    with pytest.raises(StatementError, match="changed"):
        list(statement.rows())


def test_a_file_that_claims_utf8_but_is_cp1252_is_read_as_cp1252() -> None:
    header = V1_HEADER.replace("ENCODING:USASCII", "ENCODING:UTF-8").replace(
        "CHARSET:1252", "CHARSET:NONE"
    )
    (row,) = rows_of(sgml(trn("1", "20240101", "-1", memo="AÇÚCAR & CIA"), header=header))
    assert row.memo == "AÇÚCAR & CIA"


def test_a_credit_card_statement_is_read_as_a_credit_account() -> None:
    data = (
        V1_HEADER + "<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS>"
        "<DTSERVER>20240401<LANGUAGE>POR</SONRS></SIGNONMSGSRSV1><CREDITCARDMSGSRSV1>"
        "<CCSTMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS><CCSTMTRS><CURDEF>BRL"
        "<CCACCTFROM><ACCTID>5555XXXX1234</CCACCTFROM><BANKTRANLIST><DTSTART>20240301"
        "<DTEND>20240331\n" + trn("C1", "20240310", "-59.90", memo="PAG*IFOOD") + "</BANKTRANLIST>"
        "<LEDGERBAL><BALAMT>-59.90<DTASOF>20240331</LEDGERBAL></CCSTMTRS></CCSTMTTRNRS>"
        "</CREDITCARDMSGSRSV1></OFX>\n"
    ).encode()
    statement = open_statement(data)
    (row,) = list(statement.rows())
    assert (row.fitid, row.amount, row.memo) == ("C1", -5990, "PAG*IFOOD")
    account = statement.info.account
    assert account is not None
    assert (account.type, account.ofx_type, account.number) == (
        AccountType.CREDIT,
        "CREDITCARD",
        "5555XXXX1234",
    )
    assert account.bank_id is None  # no FI in the signon


@pytest.mark.parametrize(
    "body",
    [
        "<TRNTYPE>DEBIT</TRNTYPE><FITID> 1 </FITID><MEMO>a</MEMO><MEMO>b</MEMO>",
        "<TRNTYPE></TRNTYPE><NAME>n</NAME><FITID>2</FITID><FITID>3</FITID>",
        "<CURRENCY><CURRATE>1</CURRATE></CURRENCY><CURRENCY><CURSYM>USD</CURSYM></CURRENCY>",
        "<CURRENCY><CURSYM></CURSYM><CURSYM>EUR</CURSYM></CURRENCY>",
        "<ORIGCURRENCY><CURSYM>USD</CURSYM></ORIGCURRENCY><CURRENCY></CURRENCY>",
        "",
    ],
)
def test_a_rows_fields_are_read_as_findtext_reads_them(body: str) -> None:
    """One pass over a transaction's children stands for ``find``/``findtext``: the same
    first child of each tag, and the first CURSYM of any CURRENCY."""
    import xml.etree.ElementTree as ET

    from shared.statements.ofx import _children, _text

    element = ET.fromstring(f"<STMTTRN>{body}</STMTTRN>")
    first, cursym = _children(element)
    for tag in ("TRNTYPE", "FITID", "MEMO", "NAME", "DTPOSTED", "CURRENCY"):
        assert first.get(tag) is element.find(tag)
        assert _text(first, tag) == (element.findtext(tag) or "").strip()
    assert cursym == (element.findtext("CURRENCY/CURSYM") or "")


class _Reference(ofx._Builder):
    """Our builder fed by ofxtools' own ``TreeBuilder.feed``."""

    feed = TreeBuilder.feed


def _built(builder: ofx._Builder, text: str) -> tuple[object, ...]:
    """What feeding ``text`` as ``OfxReader`` does (a piece per transaction) builds: the
    closed transactions, the currency and the tree, or the error and what came before."""
    closed: list[tuple[int, bytes]] = []
    try:
        first, *rest = text.split("<STMTTRN>")
        for piece in [first, *("<STMTTRN>" + piece for piece in rest)]:
            builder.feed(piece)
            closed += [(line, ET.tostring(element)) for line, element in builder.closed]
            builder.closed.clear()
        root = builder.close()
    except (ParseError, ET.ParseError, StatementError) as error:
        return ("error", type(error), str(error), closed, builder.currency)
    return ("tree", None if root is None else ET.tostring(root), closed, builder.currency)


_FEED_CASES = [
    "<OFX><A>1</A><B> two words </B><C><D>x<E>y</C></OFX>",
    "<OFX><A><![CDATA[ <kept> as is ]]></A></OFX>",
    "<OFX><A>1</A> tail text</OFX>",
    "<OFX><A>1</A></B></OFX>",
    "<OFX></A>text</OFX>",
    "<OFX><A></A><B>   </B><C>\n</C></OFX>",
    "<OFX><CURDEF>XYZ</OFX>",
    "<OFX><CURDEF></CURDEF></OFX>",
    "<OFX><STMTTRN><FITID>1</STMTTRN></STMTTRN></OFX>",
    "<OFX><BANKTRANLIST><STMTTRN>text<FITID>1</STMTTRN></BANKTRANLIST></OFX>",
    "<OFX><BANKTRANLIST><STMTTRN>text</STMTTRN><STMTTRN></STMTTRN></BANKTRANLIST></OFX>",
    "<OFX><CURDEF>BRL<STMTTRN>x</OFX>",
    "no tags at all",
    "<OFX><a>lower</a></OFX>",
]


@pytest.mark.parametrize("text", _FEED_CASES)
def test_our_feed_builds_what_ofxtools_feed_builds(text: str) -> None:
    assert _built(ofx._Builder(), text) == _built(_Reference(), text)


@pytest.mark.parametrize("sample", sorted(FIXTURES.glob("*.ofx")), ids=lambda path: path.name)
def test_our_feed_equals_ofxtools_feed_on_mutated_statements(sample: Path) -> None:
    """Seeded mutations of every OFX fixture: the same tree, rows and currency, or the
    same error after the same rows, as ofxtools' ``TreeBuilder.feed`` builds."""
    rng = random.Random(sample.name)
    original = sample.read_bytes()
    kinds = set()
    for data in [original, *(mutated(original, rng) for _ in range(200))]:
        text = data.decode("cp1252", errors="replace")
        if rng.random() < 0.5:  # text after a tag: an aggregate opened as a leaf
            tags = [i for i, c in enumerate(text) if c == ">"] or [0]
            at = rng.choice(tags) + 1
            text = text[:at] + rng.choice(["x", " ", "</A>", "<B>y", "\n"]) + text[at:]
        ours = _built(ofx._Builder(), text)
        assert ours == _built(_Reference(), text)
        kinds.add(ours[0])
    assert kinds == {"tree", "error"}  # both outcomes were compared
