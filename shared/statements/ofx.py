"""OFX 1.x (SGML) and 2.x (XML) statements, streamed row by row through ofxtools.

ofxtools parses a whole document into one tree and then one model; a 50,000-row file
would be held three times over. We drive its parser (``ofxtools.Parser.TreeBuilder``)
ourselves instead (its ``feed``, the tag loop, is ours without its debug logging; equal
by test): the decoded body is fed in pieces that end after a ``</STMTTRN>``,
each transaction element is detached from the tree as soon as it closes and its few
fields are converted with ofxtools' element types (``Types.DateTime``: aware, offsets
applied; ``Types.Decimal``: exact, a decimal comma accepted). Converting each row
through ``STMTTRN.from_etree`` instead halved the rows/s for no gain: we read five
fields. The envelope, which is all that is left of the tree at the end, is converted
whole by ofxtools' models (signon, account, balances), after dropping the tags they do
not know and putting the rest in spec order (``_groomed``).

Mapping (the original's, with its defects fixed): every TRNTYPE is accepted, the spec's
and any other (kept upper-cased in ``kind``), and the amount's sign is kept as sent;
``[-3:BRT]`` offsets are applied; FID is kept as text whatever its length; ``memo`` is
MEMO, or NAME when there is no MEMO (``payee`` is NAME); CURDEF must be a ``Currency``.
Bank (STMTRS) and credit card (CCSTMTRS) statements are read; one statement per file.
"""

from __future__ import annotations

import codecs
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from typing import IO, Any
from xml.sax import saxutils

import ofxtools.models
from ofxtools import Types
from ofxtools.models.base import Aggregate
from ofxtools.Parser import ParseError, TreeBuilder

from shared.domain.accounts import AccountType
from shared.domain.money import Currency
from shared.domain.text import forbidden_character
from shared.statements.amounts import AmountError, minor_units
from shared.statements.model import (
    BadRowError,
    BankAccount,
    FitidSource,
    LedgerBalance,
    StatementError,
    StatementFormat,
    StatementInfo,
    StatementRow,
    UnsupportedCurrencyError,
)
from shared.statements.ofx_header import HEAD_BYTES, OfxHeader, read_header

CHUNK_BYTES = 256 * 1024
_OPEN, _CLOSE = "<STMTTRN>", "</STMTTRN>"
_ACCOUNT_TYPES = {
    "CHECKING": AccountType.CHECKING,
    "SAVINGS": AccountType.SAVINGS,
    "MONEYMRKT": AccountType.SAVINGS,
    "CD": AccountType.INVESTMENT,
    "CREDITLINE": AccountType.CREDIT,
    "CREDITCARD": AccountType.CREDIT,
}
_ENTITIES = {"&nbsp;": " ", "&apos;": "'", "&quot;": '"'}
_REQUIRED = ("TRNTYPE", "DTPOSTED", "TRNAMT", "FITID")
FITID_MAX = 255  # the spec's, and the column's
# ofxtools' own element types: its date formats (offsets applied, aware) and decimals
# (a decimal comma accepted, as Brazilian banks write TRNAMT).
_DATETIME = Types.DateTime(required=True)
_DECIMAL = Types.Decimal(required=True)
_GROUPS = ("tag", "cdata", "text", "closetag", "tail")  # of TreeBuilder.regex
_START, _END = ET.TreeBuilder.start, ET.TreeBuilder.end


@lru_cache(maxsize=4096)
def _posted(text: str) -> datetime:
    """DTPOSTED to aware UTC. Cached: a statement repeats its days, and ofxtools' parse of
    a date cost a quarter of a row's conversion."""
    return _utc(_DATETIME.convert(text))


def currency_of(text: str | None, line: int | None = None) -> Currency:
    code = (text or "").strip().upper()
    try:
        return Currency(code)
    except ValueError:
        known = ", ".join(c.value for c in Currency)
        raise UnsupportedCurrencyError(
            f"currency {code or '(none)'!r} is not supported (only {known})", line
        ) from None


class _Builder(TreeBuilder):
    """ofxtools' tree builder that hands each closed STMTTRN out instead of keeping it."""

    def __init__(self) -> None:
        super().__init__()
        self.line = 1  # the line the text being fed starts on
        self.closed: list[tuple[int, ET.Element]] = []
        self.currency: Currency | None = None
        self._open: list[ET.Element] = []

    def feed(self, data: str) -> None:
        """ofxtools' ``TreeBuilder.feed`` (its pattern, rules and error messages) without
        its logging: it formats four debug messages per tag whether or not they are
        logged, a third of what parsing a row cost. Equal to it by test, errors included.
        """
        for match in self.regex.finditer(data):
            tag, cdata, text, closetag, tail = match.group(*_GROUPS)
            try:
                if tail is not None and (tail := tail.strip()):
                    raise ParseError(f"Tail text '{tail}' in {match.string}")
                text = (None if text is None else text.strip() or None) if cdata is None else cdata
                # ofxtools' ``_feedmatch`` and ``_start``.
                if closetag is not None and closetag != tag:
                    raise ParseError(f"Mismatched tags: open='{tag}', close='{closetag}'")
                if tag[0] == "/":
                    if text:
                        raise ParseError(f"Tail text '{text}' after <{tag}>")
                    self.end(tag[1:])
                    continue
                if text:  # a data-bearing leaf, closed whether or not its end tag is written
                    self._leaf(tag, text)
                    continue
                self.start(tag, {})
                if closetag:  # an empty aggregate
                    self.end(tag)
            except ParseError as err:
                message = f"{err.args[0]} - position=[{match.start()}:{match.end()}]"
                raise ParseError(message) from None

    def _leaf(self, tag: str, text: str) -> None:
        """``start``, ``data`` and ``end`` of an element with text (most of them): it
        closes itself, so it is never on the stack of open ones."""
        _START(self, tag, {})
        self.data(text)
        self._closed(tag, _END(self, tag))

    def start(self, tag: str, attrs: dict[str, str]) -> ET.Element:
        element: ET.Element = super().start(tag, attrs)
        self._open.append(element)
        return element

    def end(self, tag: str) -> ET.Element:
        # ElementTree's C builder closes whatever is open; a stray or crossed end tag
        # must be an error here, not a silently reshaped tree.
        if not self._open or self._open[-1].tag != tag:
            raise ParseError(f"</{tag}> does not close an open <{tag}>")
        element: ET.Element = super().end(tag)
        self._open.pop()
        self._closed(tag, element)
        return element

    def _closed(self, tag: str, element: ET.Element) -> None:
        """A transaction is handed out (detached from its parent, the innermost open
        element); the currency is checked as soon as it is read (it precedes the
        transactions), so a statement in an unsupported currency fails before its first
        row."""
        if tag == "STMTTRN" and self._open:
            self._open[-1].remove(element)
            self.closed.append((self.line, element))
        elif tag == "CURDEF":
            self.currency = currency_of(element.text, self.line)


class OfxReader:
    """One pass over an OFX file: ``rows()`` streams them, then ``info`` is known.

    Errors are ``StatementError``s (``BadRowError`` with the line of the row's
    ``<STMTTRN>``). ``info`` raises until ``rows()`` has been read to the end, because
    the ledger balance follows the transactions in the file.
    """

    def __init__(self, source: IO[bytes], encoding: str | None = None) -> None:
        self._source = source
        head = source.read(HEAD_BYTES)
        self.header: OfxHeader = read_header(head)
        self.encoding = encoding or self.header.codecs[0]
        self._head_rest = head[self.header.body_offset :]
        self._info: StatementInfo | None = None

    @property
    def info(self) -> StatementInfo:
        if self._info is None:
            raise RuntimeError("the statement's info is known once its rows have been read")
        return self._info

    def rows(self) -> Iterator[StatementRow]:
        builder = _Builder()
        builder.line = self.header.body_line
        decoder = codecs.getincrementaldecoder(self.encoding)(errors="strict")
        buffer = decoder.decode(self._head_rest)
        while chunk := self._source.read(CHUNK_BYTES):
            buffer += decoder.decode(chunk)
            cut = buffer.rfind(_CLOSE)
            if cut >= 0:
                cut += len(_CLOSE)
                yield from self._feed(builder, buffer[:cut])
                buffer = buffer[cut:]
        yield from self._feed(builder, buffer + decoder.decode(b"", final=True))
        self._info = _envelope(builder)

    def _feed(self, builder: _Builder, text: str) -> Iterator[StatementRow]:
        first, *rest = text.split(_OPEN)
        _feed_piece(builder, first)
        for piece in rest:
            _feed_piece(builder, _OPEN + piece)
            for line, element in builder.closed:
                yield _row(line, element)
            builder.closed.clear()


def _feed_piece(builder: _Builder, text: str) -> None:
    try:
        builder.feed(text)
    except (ParseError, ET.ParseError) as err:
        raise StatementError(f"malformed OFX: {err}", builder.line) from None
    builder.line += text.count("\n")


def _clean_text(child: ET.Element | None) -> str | None:
    """A text element's text, unescaped, spaces collapsed (None if absent or empty).

    MEMO and NAME are read here rather than by ofxtools, whose length limits (255, 32)
    real banks exceed (the limits are the spec's, not the domain's).
    """
    if child is None:
        return None
    text = child.text or ""
    if "&" in text:  # most memos have no entity to unescape
        text = saxutils.unescape(text, _ENTITIES)
    text = " ".join(text.split())
    return text or None


def _children(element: ET.Element) -> tuple[dict[str, ET.Element], str]:
    """Each tag's first child, and ``findtext("CURRENCY/CURSYM")`` (the first CURSYM of
    any CURRENCY child, "" if none): one pass over the transaction (``find`` and
    ``findtext`` per field cost half of a row's conversion)."""
    first: dict[str, ET.Element] = {}
    cursym: str | None = None
    for child in element:
        tag = child.tag
        if tag not in first:
            first[tag] = child
        if tag == "CURRENCY" and cursym is None:
            cursym = next((s.text or "" for s in child if s.tag == "CURSYM"), None)
    return first, cursym or ""


def _text(first: dict[str, ET.Element], tag: str) -> str:
    """``findtext(tag)`` of the element, stripped ("" if absent)."""
    child = first.get(tag)
    return "" if child is None else (child.text or "").strip()


def _row(line: int, element: ET.Element) -> StatementRow:
    first, cursym = _children(element)
    memo, name = _clean_text(first.get("MEMO")), _clean_text(first.get("NAME"))
    fields = {tag: _text(first, tag) for tag in _REQUIRED}
    if missing := [tag for tag, text in fields.items() if not text]:
        raise BadRowError(f"the transaction has no {', '.join(missing)}", line)
    if foreign := cursym.strip():
        raise BadRowError(f"a transaction in {foreign} (not the statement's currency)", line)
    if len(fields["FITID"]) > FITID_MAX:
        raise BadRowError(f"the FITID is longer than {FITID_MAX} characters", line)
    try:
        posted = _posted(fields["DTPOSTED"])
        amount = minor_units(_DECIMAL.convert(fields["TRNAMT"]))
    except AmountError as err:
        raise BadRowError(str(err), line) from None
    except (ValueError, ArithmeticError) as err:  # OFXSpecError, decimal.InvalidOperation
        raise BadRowError(f"invalid transaction: {err}", line) from None
    for text in (memo, name):
        if text is not None and (bad := forbidden_character(text)):
            raise BadRowError(f"the memo contains the character {bad}", line)
    return StatementRow(
        line=line,
        fitid=fields["FITID"],
        fitid_source=FitidSource.BANK,
        posted_at=posted,
        amount=amount,
        memo=memo or name or "",
        kind=fields["TRNTYPE"].upper(),
        payee=name,
    )


def _groomed(element: ET.Element) -> ET.Element:
    """``element`` with the children ofxtools does not know dropped and the rest in spec order.

    Banks add their own tags and write known ones out of order (CHECKNUM after MEMO);
    ofxtools warns about the first and rejects the second, though neither changes what a
    transaction means. Applied to every aggregate ofxtools models, recursively.
    """
    model = getattr(ofxtools.models, element.tag, None)
    if not (isinstance(model, type) and issubclass(model, Aggregate)):
        return element
    spec = [name.upper() for name in model.spec]
    known = [child for child in element if child.tag in spec]
    known.sort(key=lambda child: spec.index(child.tag))  # stable: list members keep order
    groomed = ET.Element(element.tag, element.attrib)
    groomed.text = element.text
    groomed.extend(_groomed(child) for child in known)
    return groomed


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _envelope(builder: _Builder) -> StatementInfo:
    try:
        root = builder.close()
        document: Any = Aggregate.from_etree(_groomed(root))
        return _info(document)
    except StatementError:
        raise
    except AmountError as err:
        raise StatementError(f"ledger balance: {err}") from None
    except Exception as err:  # see _row; a missing aggregate surfaces on attribute access
        raise StatementError(f"malformed OFX: {err}") from None


def _info(document: Any) -> StatementInfo:
    statements = document.statements
    if len(statements) != 1:
        raise StatementError(f"the file holds {len(statements)} statements; one is expected")
    (statement,) = statements
    kind = type(statement).__name__
    if kind not in ("STMTRS", "CCSTMTRS"):
        raise StatementError(f"{kind} statements are not supported (bank and card only)")
    ledger, listed = statement.ledgerbal, statement.banktranlist
    balance = (
        None if ledger is None else LedgerBalance(minor_units(ledger.balamt), _utc(ledger.dtasof))
    )
    return StatementInfo(
        format=StatementFormat.OFX,
        currency=currency_of(statement.curdef),
        account=_account(document, statement, kind),
        start=None if listed is None else _utc(listed.dtstart),
        end=None if listed is None else _utc(listed.dtend),
        ledger=balance,
    )


def _account(document: Any, statement: Any, kind: str) -> BankAccount:
    fi = document.signon.fi if document.signon is not None else None
    account = statement.account
    ofx_type = "CREDITCARD" if kind == "CCSTMTRS" else str(account.accttype)
    return BankAccount(
        bank_id=None if fi is None or fi.fid is None else str(fi.fid),
        bank_name=None if fi is None else fi.org,
        routing=getattr(account, "bankid", None),
        branch=getattr(account, "branchid", None),
        number=str(account.acctid),
        type=_ACCOUNT_TYPES.get(ofx_type, AccountType.CHECKING),
        ofx_type=ofx_type,
    )
