"""`make bench-parse`: rows/s parsing a generated 50,000-row OFX (SGML and XML) and CSV
statement, one pass (``OfxReader``/``CsvReader``) and validated (``open_statement`` then
``rows()``: one pass up to ``reader.KEEP_ROWS`` rows, two beyond; ``--rows 70000`` shows
the second). ``--memory`` adds the peak memory each allocated (tracemalloc,
which slows parsing several times over, so rates are timed in a separate, untraced run)."""

from __future__ import annotations

import argparse
import io
import random
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import date, timedelta

from shared.domain.money import Currency
from shared.statements import CsvOptions, open_statement
from shared.statements.csv_rows import CsvReader
from shared.statements.ofx import OfxReader

MEMOS = (
    "COMPRA CARTAO PADARIA PAO DOURADO",
    "PIX ENVIADO JOSÉ DA SILVA",
    "PAG*IFOOD SAO PAULO",
    "UBER *TRIP HELP.UBER.COM",
    "TARIFA PACOTE SERVIÇOS",
    "SALARIO EMPRESA EXEMPLO",
)
TYPES = ("DEBIT", "POS", "XFER", "PAYMENT", "CREDIT", "FEE")
_SGML_HEAD = (
    "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\n"
    "CHARSET:1252\nCOMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n"
)
_XML_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<?OFX OFXHEADER="200" VERSION="220" '
    'SECURITY="NONE" OLDFILEUID="NONE" NEWFILEUID="NONE"?>\n'
)
_ENVELOPE = (
    "<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS>"
    "<DTSERVER>20250201</DTSERVER><LANGUAGE>POR</LANGUAGE><FI><ORG>Bench Bank</ORG>"
    "<FID>999</FID></FI></SONRS></SIGNONMSGSRSV1><BANKMSGSRSV1><STMTTRNRS><TRNUID>1</TRNUID>"
    "<STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS><STMTRS><CURDEF>BRL</CURDEF>"
    "<BANKACCTFROM><BANKID>999</BANKID><ACCTID>1-2</ACCTID><ACCTTYPE>CHECKING</ACCTTYPE>"
    "</BANKACCTFROM><BANKTRANLIST><DTSTART>20200101</DTSTART><DTEND>20250101</DTEND>\n"
)
_TAIL = (
    "</BANKTRANLIST><LEDGERBAL><BALAMT>0.00</BALAMT><DTASOF>20250101</DTASOF></LEDGERBAL>"
    "</STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n"
)


def _rows(count: int, seed: int) -> Iterator[tuple[date, int, str, str]]:
    rng = random.Random(seed)
    day = date(2020, 1, 1)
    for _ in range(count):
        day += timedelta(days=rng.random() < 0.1)
        yield day, rng.randint(-500_000, 500_000), rng.choice(MEMOS), rng.choice(TYPES)


def ofx_bytes(count: int, seed: int = 7, xml: bool = False) -> bytes:
    closing = "</{}>" if xml else ""
    parts = [_XML_HEAD if xml else _SGML_HEAD, _ENVELOPE]
    for i, (day, amount, memo, kind) in enumerate(_rows(count, seed)):
        fields = (
            ("TRNTYPE", kind),
            ("DTPOSTED", f"{day:%Y%m%d}120000[-3:BRT]"),
            ("TRNAMT", _decimal(amount)),
            ("FITID", f"F{i:07d}"),
            ("MEMO", memo),
        )
        body = "".join(f"<{tag}>{value}{closing.format(tag)}\n" for tag, value in fields)
        parts.append(f"<STMTTRN>\n{body}</STMTTRN>\n")
    parts.append(_TAIL)
    return "".join(parts).encode("utf-8" if xml else "cp1252")


def _decimal(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    return f"{sign}{abs(minor) // 100}.{abs(minor) % 100:02d}"


def csv_bytes(count: int, seed: int = 7) -> bytes:
    lines = ["Data;Descrição;Valor\n"]
    for day, amount, memo, _ in _rows(count, seed):
        value = _decimal(amount).replace(".", ",")
        lines.append(f"{day:%d/%m/%Y};{memo};{value}\n")
    return "".join(lines).encode("utf-8")


def _measure(name: str, rows: int, run: Callable[[], int], memory: bool) -> None:
    # CPU seconds beside wall seconds: on a shared 2-core machine the wall rate swings
    # with the neighbours' load, the CPU rate much less.
    started, cpu = time.perf_counter(), time.process_time()
    parsed = run()
    elapsed, used = time.perf_counter() - started, time.process_time() - cpu
    assert parsed == rows, (parsed, rows)
    line = (
        f"{name:<34} {rows / elapsed:>10,.0f} rows/s  {elapsed:6.2f} s wall  "
        f"{rows / used:>10,.0f} rows/CPU-s"
    )
    if memory:
        tracemalloc.start()
        run()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        line += f"  peak {peak / 2**20:6.1f} MiB"
    print(line, flush=True)


def _one_pass_ofx(data: bytes, encoding: str) -> int:
    return sum(1 for _ in OfxReader(io.BytesIO(data), encoding).rows())


def _one_pass_csv(data: bytes) -> int:
    return sum(1 for _ in CsvReader(io.BytesIO(data), Currency.BRL, CsvOptions(), "utf-8").rows())


def _validated(data: bytes) -> int:
    statement = open_statement(io.BytesIO(data), currency=Currency.BRL)
    return sum(1 for _ in statement.rows())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--memory", action="store_true", help="also trace peak memory (slow)")
    args = parser.parse_args()
    sgml, xml, csv = ofx_bytes(args.rows), ofx_bytes(args.rows, xml=True), csv_bytes(args.rows)
    print(
        f"{args.rows:,} rows: OFX SGML {len(sgml) / 2**20:.1f} MiB, OFX XML "
        f"{len(xml) / 2**20:.1f} MiB, CSV {len(csv) / 2**20:.1f} MiB"
    )
    _measure(
        "OFX 1.02 SGML, one pass", args.rows, lambda: _one_pass_ofx(sgml, "cp1252"), args.memory
    )
    _measure("OFX 2.2 XML, one pass", args.rows, lambda: _one_pass_ofx(xml, "utf-8"), args.memory)
    _measure("CSV, one pass", args.rows, lambda: _one_pass_csv(csv), args.memory)
    _measure("OFX 1.02 SGML, validated + rows", args.rows, lambda: _validated(sgml), args.memory)
    _measure("OFX 2.2 XML, validated + rows", args.rows, lambda: _validated(xml), args.memory)
    _measure("CSV, validated + rows", args.rows, lambda: _validated(csv), args.memory)


if __name__ == "__main__":
    main()
