"""OPML import and export of feed subscriptions.

Uploaded OPML is untrusted XML: it is read with expat directly, refusing any DTD internal
subset or entity declaration and never loading anything external.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

from bot.errors import UserError

MAX_OPML_BYTES = 5_000_000
# Encodings expat decodes itself; anything else is transcoded to UTF-8 first.
_EXPAT_ENCODINGS = frozenset({"utf-8", "utf-16", "iso8859-1", "ascii"})
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)""")
# Characters XML 1.0 cannot carry at all (even escaped).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class OpmlError(UserError):
    """The uploaded file is not OPML we can import; the message says what is wrong."""


@dataclass(frozen=True)
class OpmlFeed:
    url: str
    title: str | None = None


class _Reader:
    """Collects feed outlines (any depth) from an expat parse of one OPML document."""

    def __init__(self, unique: bool) -> None:
        self.feeds: list[OpmlFeed] = []
        self.root: str | None = None
        self._unique = unique
        self._seen: set[str] = set()

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if self.root is None:
            self.root = name
            if name.lower() != "opml":
                raise OpmlError(
                    f"this is not an OPML file (its root element is <{name}>, not <opml>); "
                    "export your subscriptions as OPML and upload that"
                )
        if name.lower() != "outline":
            return
        fields = {k.lower(): v.strip() for k, v in attrs.items()}
        url = fields.get("xmlurl", "")
        if not url or (self._unique and url in self._seen):
            return
        self._seen.add(url)
        title = " ".join((fields.get("title") or fields.get("text") or "").split()) or None
        self.feeds.append(OpmlFeed(url=url, title=title))


def _refuse_dtd(*_args: object) -> NoReturn:
    raise OpmlError("refused: the OPML file declares entities (<!ENTITY>); remove its DTD")


def _doctype(_name: str, system: str | None, public: str | None, has_subset: int) -> None:
    """OPML never needs a DTD; one that defines or points at entities is an attack vector."""
    if has_subset:
        raise OpmlError(
            "refused: the OPML file has an internal DTD subset (<!DOCTYPE [...]>); remove it"
        )
    if system or public:
        raise OpmlError(
            "refused: the OPML file refers to an external DTD (<!DOCTYPE ... SYSTEM>); remove it"
        )


def _prepare(data: bytes) -> tuple[bytes, str | None]:
    """Bytes for expat, plus an encoding override when they had to be transcoded."""
    match = _DECLARED_ENCODING.match(data[:512])
    if match is None:
        return data, None
    try:
        name = codecs.lookup(match.group(1).decode("ascii")).name
    except LookupError as exc:
        raise OpmlError(
            f"the OPML file declares an unknown encoding {match.group(1).decode()!r}"
        ) from exc
    if name in _EXPAT_ENCODINGS or name.startswith("utf-16"):
        return data, None
    return data.decode(name, "replace").encode("utf-8"), "utf-8"


def read_opml(data: bytes, *, unique: bool = True) -> list[OpmlFeed]:
    """The feeds an OPML file subscribes to, nested folders flattened, each URL once (or, with
    ``unique=False``, as often as the file lists it: an import reports duplicates)."""
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(f"the OPML file is larger than {MAX_OPML_BYTES // 1_000_000} MB")
    payload, override = _prepare(data)
    reader = _Reader(unique)
    parser = expat.ParserCreate(override)
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _doctype
    parser.EntityDeclHandler = _refuse_dtd
    parser.UnparsedEntityDeclHandler = _refuse_dtd
    parser.ExternalEntityRefHandler = _refuse_dtd
    parser.StartElementHandler = reader.start
    try:
        parser.Parse(payload, True)
    except expat.ExpatError as exc:
        raise OpmlError(
            f"this file is not well-formed XML ({expat.ErrorString(exc.code)} at line "
            f"{exc.lineno}, column {exc.offset}); is it really an OPML export?"
        ) from exc
    if reader.root is None:
        raise OpmlError("the OPML file is empty")
    return reader.feeds


def _xml_text(value: str) -> str:
    return _XML_ILLEGAL.sub("", value)


def write_opml(feeds: Sequence[OpmlFeed], title: str) -> str:
    """An OPML 2.0 document subscribing to ``feeds`` (flat, in the order given)."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        "  <head>",
        f"    <title>{escape(_xml_text(title))}</title>",
        "  </head>",
        "  <body>",
    ]
    for feed in feeds:
        name = _xml_text(feed.title or feed.url)
        lines.append(
            f'    <outline type="rss" text={quoteattr(name)} title={quoteattr(name)} '
            f"xmlUrl={quoteattr(_xml_text(feed.url))}/>"
        )
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)
