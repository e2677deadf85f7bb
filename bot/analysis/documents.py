"""Files a desk hands to `watchdesk check`: bytes in whatever encoding they come in → (headline,
text), through the one HTML-to-text of `bot.analysis.text`."""

from __future__ import annotations

import codecs
import contextlib
import re
from pathlib import Path

from bot.analysis.text import html_to_text, input_problem
from bot.errors import UserError

MAX_FILE_BYTES = 10 * 1024 * 1024
LEGACY_ENCODING = "cp1251"

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Only the charset name, from the first 4 KB of bytes: the document is not text yet.
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.IGNORECASE)


def decode_document(data: bytes) -> str:
    """The text of a file in the encodings a desk's files come in: a BOM (Notepad's "Unicode"
    is UTF-16), UTF-8, the charset an HTML page declares, else Windows-1251 (Russian and
    Belarusian files from older Windows tools). Decoding everything as UTF-8 would turn those
    into U+FFFD soup that silently matches nothing."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    codec = LEGACY_ENCODING
    if match := _META_CHARSET.search(data[:4096]):
        with contextlib.suppress(LookupError):
            codec = codecs.lookup(match.group(1).decode("ascii")).name
    return data.decode(codec, errors="replace")


def read_document(path: Path) -> tuple[str, str]:
    """(headline, text) of a .txt file (its first line is the headline) or an HTML page;
    `UserError` naming the file when it can't be read or is not text."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise UserError(f"{path}: larger than 10 MB; not an article")
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot read it ({exc.strerror})") from exc
    raw = decode_document(data)
    problem = input_problem(raw)
    if problem:
        raise UserError(f"{path}: {problem}")
    if is_html(path, raw):
        return html_title(raw), html_to_text(raw)
    headline, _, body = raw.strip().partition("\n")
    return headline.strip(), body.strip()


def is_html(path: Path, raw: str) -> bool:
    return path.suffix.lower() in (".html", ".htm") or raw.lstrip()[:15].lower().startswith(
        ("<!doctype", "<html")
    )


def html_title(raw: str) -> str:
    """The page's <title>, entities decoded and whitespace collapsed; "" when it has none.
    Parsed with lxml like the body, so comments, CDATA and broken markup can't fool it."""
    from lxml import etree
    from lxml import html as lxml_html

    try:
        root = lxml_html.document_fromstring(raw)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return ""  # no parseable document, so no title either
    node = root.find(".//title")
    return " ".join(node.text_content().split()) if node is not None else ""
