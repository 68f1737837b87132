"""The OFX header, normalised before ofxtools validates it.

ofxtools' v1 header regex wants all nine fields in the spec's order, ``CHARSET``
included; Brazilian banks send files without ``CHARSET`` (or ``COMPRESSION``), with
fields in another order, on one line, with ``ENCODING:UTF8`` or ``CHARSET:WINDOWS-1252``,
and some send no header at all (the file starts at ``<OFX>``). We read whatever
``KEY:VALUE`` pairs are there, fill the rest with the spec's defaults, map the known
synonyms, and hand ofxtools a canonical header to validate.

The declared character set is a hint, not a fact: files that say UTF-8 are often
cp1252. ``OfxHeader.codecs`` lists what to try, in order: UTF-8 first (it fails loudly
on cp1252 accents, while any byte string "decodes" as cp1252), then the declared
single-byte set, cp1252 when none is declared.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import cast

from ofxtools.header import OFXHeaderError, OFXHeaderV1, OFXHeaderV2

from shared.statements.model import StatementError

HEAD_BYTES = 65_536  # the header must end within this many bytes

_BOM = b"\xef\xbb\xbf"
_V1_PAIR = re.compile(r"([A-Za-z]+)[ \t]*:[ \t]*([^\s<]*)")
_ATTRIBUTE = re.compile(r"([A-Za-z]+)\s*=\s*[\"']([^\"']*)[\"']")
_PI = re.compile(r"<\?(xml|OFX)\b(.*?)\?>", re.DOTALL | re.IGNORECASE)
_CHARSETS = {
    "1252": "1252",
    "CP1252": "1252",
    "WINDOWS-1252": "1252",
    "ISO-8859-1": "ISO-8859-1",
    "8859-1": "ISO-8859-1",
    "ISO8859-1": "ISO-8859-1",
    "LATIN1": "ISO-8859-1",
    "LATIN-1": "ISO-8859-1",
    "NONE": "NONE",
    "UTF-8": "NONE",
    "UTF8": "NONE",
}
_ENCODINGS = {"UTF8": "UTF-8", "UTF-8": "UTF-8", "USASCII": "USASCII", "UNICODE": "UNICODE"}
_V1_ORDER = (
    ("OFXHEADER", "100"),
    ("DATA", "OFXSGML"),
    ("VERSION", "102"),
    ("SECURITY", "NONE"),
    ("ENCODING", "USASCII"),
    ("CHARSET", "NONE"),
    ("COMPRESSION", "NONE"),
    ("OLDFILEUID", "NONE"),
    ("NEWFILEUID", "NONE"),
)
_V2_VERSIONS = frozenset({200, 201, 202, 203, 210, 211, 220})


@dataclass(frozen=True, slots=True)
class OfxHeader:
    version: int  # 102, 103, 151, 160 (SGML) or 200..230 (XML)
    codecs: tuple[str, ...]  # Python codecs to try for the body, in order
    body_offset: int  # where the body (``<OFX>``) starts, in bytes from the file's start
    body_line: int  # the 1-based line it starts on


def looks_like_ofx(head: bytes) -> bool:
    text = head.removeprefix(_BOM).lstrip()[:512].upper()
    return text.startswith((b"OFXHEADER", b"<?XML", b"<?OFX", b"<OFX>"))


def read_header(head: bytes) -> OfxHeader:
    """The header of the file that starts with ``head`` (at least its first 64 KiB)."""
    start = len(_BOM) if head.startswith(_BOM) else 0
    text = head.decode("latin-1")  # a byte per character: offsets stay byte offsets
    first = len(text) - len(text[start:].lstrip())
    if text.startswith("<?", first):
        return _xml_header(text, first)
    body = text.find("<", first)
    if body < 0:
        raise StatementError("not an OFX file: no <OFX> element in the first 64 KiB")
    return _sgml_header(text, first, body)


def _sgml_header(text: str, first: int, body: int) -> OfxHeader:
    pairs = {k.upper(): v.upper() for k, v in _V1_PAIR.findall(text[first:body])}
    if body > first and "OFXHEADER" not in pairs:
        raise StatementError("not an OFX file: the header has no OFXHEADER field")
    encoding, charset = pairs.get("ENCODING", "USASCII"), pairs.get("CHARSET", "NONE")
    pairs["ENCODING"] = _ENCODINGS.get(encoding, encoding)
    pairs["CHARSET"] = _CHARSETS.get(charset, charset)
    canonical = "\n".join(f"{key}:{pairs.get(key) or default}" for key, default in _V1_ORDER)
    try:
        parsed, _ = OFXHeaderV1.parse(canonical)
    except (OFXHeaderError, ValueError, KeyError) as err:
        raise StatementError(f"invalid OFX header: {err}") from None
    header = cast(OFXHeaderV1, parsed)
    declared = str(header.codec)
    legacy = "cp1252" if declared == "utf_8" else declared
    return OfxHeader(int(header.version), ("utf_8", legacy), body, text.count("\n", 0, body) + 1)


def _xml_header(text: str, first: int) -> OfxHeader:
    codec, end, attributes = "utf_8", first, dict[str, str]()
    for match in _PI.finditer(text, first):
        if text[end : match.start()].strip():
            break
        end = match.end()
        found = {k.upper(): v for k, v in _ATTRIBUTE.findall(match.group(2))}
        if match.group(1).lower() == "xml":
            codec = found.get("ENCODING", "utf-8").lower().replace("-", "_")
        else:
            attributes = found
    try:
        codec = codecs.lookup(codec).name
    except LookupError:
        raise StatementError(f"unknown character encoding {codec!r}") from None
    if not attributes:
        raise StatementError("not an OFX file: no <?OFX ...?> declaration after <?xml ...?>")
    version = attributes.get("VERSION", "")
    # ofxtools knows 2.0.0-2.2.0; 2.3 only added messages a bank statement does not use.
    checked = version if version.isdigit() and int(version) in _V2_VERSIONS else "220"
    canonical = (
        f'<?OFX OFXHEADER="{attributes.get("OFXHEADER", "200")}" VERSION="{checked}" '
        f'SECURITY="{attributes.get("SECURITY", "NONE")}" '
        f'OLDFILEUID="{attributes.get("OLDFILEUID", "NONE")}" '
        f'NEWFILEUID="{attributes.get("NEWFILEUID", "NONE")}"?>'
    )
    try:
        OFXHeaderV2.parse(canonical)
    except (OFXHeaderError, ValueError, KeyError) as err:
        raise StatementError(f"invalid OFX header: {err}") from None
    tried = ("utf_8",) if codec == "utf-8" else ("utf_8", codec)
    number = int(version) if version.isdigit() else 220
    return OfxHeader(number, tried, end, text.count("\n", 0, end) + 1)
