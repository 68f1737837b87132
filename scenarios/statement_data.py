"""Statement files for tests and ``make bench-import``: OFX 1.02 (SGML) and CSV bytes
from a list of rows, shaped like real bank exports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Row:
    fitid: str
    day: date
    amount: int  # minor units, signed
    memo: str
    kind: str = ""  # TRNTYPE; default from the sign


def _major(amount: int) -> str:
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount) // 100}.{abs(amount) % 100:02d}"


def ofx(
    rows: list[Row],
    *,
    currency: str = "BRL",
    fid: str = "123",
    org: str = "Test Bank",
    acctid: str = "12345-6",
    server: str = "20250612141049",
    offset: str = "[-3:BRT]",
) -> bytes:
    """An OFX 1.02 statement like the contract's fixture (``server`` varies the bytes
    without changing a row: the same statement as another file)."""
    lines = [
        "OFXHEADER:100", "DATA:OFXSGML", "VERSION:102", "SECURITY:NONE", "ENCODING:UTF-8",
        "CHARSET:NONE", "COMPRESSION:NONE", "OLDFILEUID:NONE", "NEWFILEUID:NONE", "<OFX>",
        "<SIGNONMSGSRSV1><SONRS><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS>",
        f"<DTSERVER>{server}[0:GMT]</DTSERVER><LANGUAGE>POR</LANGUAGE>",
        f"<FI><ORG>{org}</ORG><FID>{fid}</FID></FI></SONRS></SIGNONMSGSRSV1>",
        "<BANKMSGSRSV1><STMTTRNRS><TRNUID>1</TRNUID>",
        "<STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS><STMTRS>",
        f"<CURDEF>{currency}</CURDEF>",
        "<BANKACCTFROM><BANKID>0000</BANKID><BRANCHID>1</BRANCHID>",
        f"<ACCTID>{acctid}</ACCTID><ACCTTYPE>CHECKING</ACCTTYPE></BANKACCTFROM>",
        "<BANKTRANLIST>",
    ]  # fmt: skip
    days = [r.day for r in rows] or [date(2025, 1, 1)]
    lines.append(f"<DTSTART>{min(days):%Y%m%d}000000{offset}</DTSTART>")
    lines.append(f"<DTEND>{max(days):%Y%m%d}000000{offset}</DTEND>")
    for r in rows:
        kind = r.kind or ("CREDIT" if r.amount >= 0 else "DEBIT")
        lines += [
            "<STMTTRN>",
            f"<TRNTYPE>{kind}</TRNTYPE>",
            f"<DTPOSTED>{r.day:%Y%m%d}000000{offset}</DTPOSTED>",
            f"<TRNAMT>{_major(r.amount)}</TRNAMT>",
            f"<FITID>{r.fitid}</FITID>",
            f"<MEMO>{r.memo}</MEMO>",
            "</STMTTRN>",
        ]
    total = sum(r.amount for r in rows)
    lines += [
        "</BANKTRANLIST>",
        f"<LEDGERBAL><BALAMT>{_major(total)}</BALAMT>",
        f"<DTASOF>{max(days):%Y%m%d}000000{offset}</DTASOF></LEDGERBAL>",
        "</STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>",
    ]
    return ("\n".join(lines) + "\n").encode()


def csv(rows: list[Row]) -> bytes:
    """A Brazilian bank export: ``;`` delimited, day-first dates, decimal comma."""
    out = ["Data;Descrição;Valor"]
    for r in rows:
        value = _major(r.amount).replace(".", ",")
        out.append(f"{r.day:%d/%m/%Y};{r.memo};{value}")
    return ("\n".join(out) + "\n").encode()


def many(count: int, *, start: date = date(2024, 1, 1), prefix: str = "T") -> list[Row]:
    """``count`` distinct rows over a year, credits and debits, varied memos."""
    memos = ("PAG*IFOOD", "COMPRA CARTAO MERCADO LIVRE", "PIX RECEBIDO", "UBER *TRIP", "SALARIO")
    return [
        Row(
            fitid=f"{prefix}{i:08d}",
            day=start + timedelta(days=i % 365),
            amount=(i % 9973 + 1) * (1 if i % 5 == 4 else -1),
            memo=f"{memos[i % len(memos)]} {i}",
        )
        for i in range(count)
    ]
