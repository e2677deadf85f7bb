"""The fast parse path: lxml (libxml2) for the common, clean RSS 2.0, RSS 1.0 and Atom 1.0 shapes.

`fast_raw` maps a document to the same ``RawFeed`` the feedparser backend produces, or answers
None ("not mine") and `bot.feeds.parse` hands the bytes to feedparser. It answers None whenever
the two could disagree: before parsing (a charset feedparser would guess or override, a
DOCTYPE) and while mapping (not well-formed XML, an element feedparser would read into a
field we map but this module does not know, a field given twice, markup nested inside a text
field, base64 or xhtml content). Values are taken the way feedparser's strict parser takes them, with feedparser's
own helpers for what must match exactly (date parsing, URI joining, "does this look like
HTML", its cp1252/double-UTF-8 repairs). `tests/feeds/test_parse_equivalence.py` holds both
paths to the same result on every file of the shared corpus.

Why our own mapping and not a library: measured on the shared corpus, feedparser-rs and
fastfeedparser are fast but disagree with feedparser on titles, authors, dates and links in
about a fifth of real feeds (README, "Parsing"); lxml is already a dependency and its parser is
configured here to refuse DTDs, entities and network access, with libxml2's depth and size
limits left on (no ``huge_tree``).
"""

from __future__ import annotations

import codecs
import contextlib
import re
from collections.abc import Mapping
from typing import Any

from feedparser.datetimes import _parse_date
from feedparser.encodings import convert_to_utf8
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin, make_safe_absolute_uri
from lxml import etree

from bot.feeds.parse_types import RawEntry, RawFeed

ATOM = "http://www.w3.org/2005/Atom"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RSS1 = "http://purl.org/rss/1.0/"

_FEED_TYPES = frozenset(
    {"", "application/xml", "application/rss+xml", "application/atom+xml", "text/xml"}
)
_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([^\s;\"']+)", re.I)

# Which field an element feeds, keyed by feedparser's name for it (namespace prefix as
# feedparser maps it, "_", lower-cased local name; Atom's namespace and no namespace map to no
# prefix). "" = read nothing from it. An element with no entry here is feedparser's to read
# if feedparser has a handler for it, and ignored (as feedparser ignores it) if not.
_RSS_ITEM: dict[str, str] = {
    "title": "title",
    "link": "link",
    "description": "summary",
    "guid": "guid",
    "pubdate": "published",
    "author": "author",
    "category": "",
    "comments": "",
    "enclosure": "",
    "content_encoded": "content",
    "dc_creator": "author",
    "dc_title": "title",  # feedparser's _start_dc_title is _start_title; given twice: not mine
    "dc_date": "updated",
    "dc_subject": "",
    "dc_language": "",
    "dc_rights": "",
    "dcterms_issued": "published",
    "dcterms_modified": "updated",
    "media_content": "",
    "media_group": "",
    "media_thumbnail": "",
    "media_keywords": "",
    "media_category": "",
    "media_credit": "",
    "media_player": "",
    "media_rating": "",
    "media_restriction": "",
    "media_license": "",
    "itunes_author": "author",
    "itunes_summary": "summary",
    "itunes_duration": "",
    "itunes_explicit": "",
    "itunes_image": "",
    "itunes_keywords": "",
    "itunes_block": "",
    "wfw_commentrss": "",
    "wfw_comment": "",
    "slash_comments": "",
    "feedburner_origlink": "",
    "itunes_subtitle": "",
    "itunes_episodetype": "",
    "itunes_episode": "",
    "itunes_season": "",
    "georss_point": "",
    "dc_publisher": "",
    "copyright": "",
    "source": "",  # RSS <source url>: read into entry.source, which we don't map
    "image": "",  # a non-standard item <image>: read into entry.image, which we don't map
    "updated": "updated",
    "published": "published",
}
_ATOM_ENTRY: dict[str, str] = {
    **{k: v for k, v in _RSS_ITEM.items() if "_" in k},
    "id": "guid",
    "title": "title",
    "summary": "summary",
    "content": "content",
    "published": "published",
    "updated": "updated",
    "link": "link",
    "author": "atomauthor",
    "category": "",
    "rights": "",
}
_RSS_VERSIONS = {"2.0": "rss20", "0.91": "rss091u", "0.92": "rss092"}
_ATOM_PERSON_PARTS = frozenset({"name", "email", "uri"})
# Elements with a feedparser handler that may sit inside a skipped one.
_INERT_INSIDE = frozenset(
    {
        "media_content",  # inside media:group; read into media_content, which we don't map
        "media_thumbnail",
        "media_credit",
        "media_keywords",
        "media_category",
        "media_rating",
        "media_player",
        "itunes_category",
    }
)
# A media:title nested in media:content or media:group sits deeper than the entry's own
# title; feedparser keeps the shallowest title (its title depth and per-property depth
# rules), so with an own title present, in either order, the nested one never shows.
_INERT_INSIDE_TITLED = _INERT_INSIDE | {"media_title"}
_PREFIXES = {uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()}
_TEXT_TYPES = {"text": False, "text/plain": False, "html": True, "text/html": True}
_HTML_LINK_TYPES = frozenset({"text/html", "application/xhtml+xml", "html", "xhtml"})
_looks_like_html = _FeedParserMixin.looks_like_html


class _NotMine(Exception):
    """This document is feedparser's to read."""


class TooDeep(Exception):
    """The document nests elements deeper than libxml2's limit (256). No feed does; handing
    it on would let feedparser's loose parser spend minutes on it (87 s were measured)."""


def _parser() -> etree.XMLParser:
    # No DTD loading, no entity resolution, no network; libxml2's default depth (256) and
    # text-size limits stay on. Strict: a document that needs recovering is feedparser's.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        recover=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )


def _is_utf8(name: str) -> bool:
    try:
        return codecs.lookup(name).name == "utf-8"
    except LookupError:
        return False


def _plain_utf8(body: bytes, content_type: str | None) -> bool:
    """True when feedparser, too, must read ``body`` as UTF-8.

    feedparser weighs the Content-Type (text/* without a charset means US-ASCII to it), BOMs
    and the XML declaration; the fast path takes only the case where all of them agree on
    UTF-8 and the bytes really are UTF-8.
    """
    media, _, params = (content_type or "").partition(";")
    media = media.strip().lower()
    if media not in _FEED_TYPES:
        return False
    charset = _CHARSET.search(params)
    if charset is None and media.startswith("text/"):
        return False
    if charset is not None and not _is_utf8(charset.group(1)):
        return False
    text = body.removeprefix(codecs.BOM_UTF8)
    declared = _XML_DECL.match(text)
    if declared is not None and not _is_utf8(declared.group(1).decode("ascii")):
        return False
    try:
        text.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _as_feedparser_decodes(body: bytes, content_type: str | None) -> bytes | None:
    """``body`` re-encoded as UTF-8 by feedparser's own charset logic (HTTP charset, RFC 3023
    defaults, BOM, XML declaration), or None unless that logic found the declared encoding
    right: a Russian feed in windows-1251 or KOI8-R, a Latin-1 blog, UTF-16 with a BOM. An
    override or a guess (feedparser flags those bozo) stays feedparser's whole."""
    result: dict[str, Any] = {}
    converted = convert_to_utf8({"content-type": content_type or "application/xml"}, body, result)
    if result.get("bozo") or not result.get("encoding"):
        return None
    return converted


def _fp_name(element: Any) -> str:
    """The name feedparser dispatches ``element`` by (see its strict parser's startElementNS)."""
    qname = etree.QName(element)
    namespace = (qname.namespace or "").lower()
    if "backend.userland.com/rss" in namespace:
        namespace = "http://backend.userland.com/rss"
    prefix = _PREFIXES.get(namespace, element.prefix)
    local = qname.localname.lower()
    return f"{prefix.lower()}_{local}" if prefix else local


def _has_handler(name: str) -> bool:
    return hasattr(_FeedParserMixin, f"_start_{name}") or hasattr(_FeedParserMixin, f"_end_{name}")


def _repair(text: str) -> str:
    """feedparser's last steps on every text value it expects: UTF-8 read as Latin-1 is put
    back, and C1 controls become the cp1252 characters they were meant to be."""
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        text = text.encode("iso-8859-1").decode("utf-8")
    # str.translate walks every character through a dict: only worth it when one can change.
    return text.translate(_cp1252) if _C1_CONTROLS.search(text) else text


def _text(element: Any) -> str:
    """The stripped text of a leaf element (markup inside one is feedparser's to rebuild)."""
    if len(element):
        raise _NotMine
    return (element.text or "").strip()


def _attr(element: Any, name: str) -> str | None:
    """An attribute by lower-cased name, as feedparser sees attributes."""
    for key, value in element.attrib.items():
        if etree.QName(key).localname.lower() == name:
            return value
    return None


def _text_construct(element: Any, *, atom: bool) -> tuple[str, bool]:
    """(value, is_html) of a title/summary/content, or _NotMine for base64, xhtml or a
    source reference. Outside Atom, feedparser guesses whether plain text is HTML."""
    kind = (_attr(element, "type") or "text").lower()
    if kind not in _TEXT_TYPES or _attr(element, "mode") or _attr(element, "src"):
        raise _NotMine
    raw = _text(element)
    is_html = _TEXT_TYPES[kind] or (not atom and _looks_like_html(raw))
    return _repair(raw), is_html


# feedparser's cp1252 table maps exactly these code points (checked in the tests).
_C1_CONTROLS = re.compile("[\x80-\x9f]")
_XML_NS = "http://www.w3.org/XML/1998/namespace"


def _base_attr(element: Any) -> str | None:
    """The element's xml:base (or a bare ``base`` attribute, which feedparser honours too)."""
    value = element.get(f"{{{_XML_NS}}}base")
    return value if value is not None else element.get("base")


def _base_for(element: Any, doc_base: str) -> str:
    """Where a link in ``element`` resolves: the document base, moved by every xml:base from
    the root down, as feedparser tracks it (an unsafe scheme leaves the base as it was)."""
    base = doc_base
    for node in (*reversed(list(element.iterancestors())), element):
        value = _base_attr(node)
        if value:
            base = make_safe_absolute_uri(base, value) or base
    return base


class _Fields:
    """What one item (or the channel) has said so far; a second value for a field is
    feedparser's to arbitrate (links excepted: feedparser keeps the last, and so do we)."""

    def __init__(self, doc_base: str, has_bases: bool) -> None:
        self.doc_base = doc_base
        self.has_bases = has_bases
        self.values: dict[str, Any] = {}
        self.contents: list[str] = []
        self.guid_link: str | None = None

    def put(self, field: str, value: Any) -> None:
        if field in self.values:
            raise _NotMine
        self.values[field] = value

    def guid(self, element: Any) -> None:
        """feedparser's guid/id: resolved when it may be a link, and the link when none came
        before it."""
        is_link = (_attr(element, "ispermalink") or "true") == "true"
        value = _text(element)
        if is_link and value:
            value = _urljoin(self.base(element), value)
        value = _repair(value)
        self.put("guid", value)
        if is_link and "link" not in self.values:
            self.guid_link = value

    def base(self, element: Any) -> str:
        return _base_for(element, self.doc_base) if self.has_bases else self.doc_base

    def link(self, element: Any) -> None:
        """A link element, RSS style (text) or Atom style (href); the last one counts."""
        href = _attr(element, "href")
        if href is None:
            if _attr(element, "url") is not None or _attr(element, "uri") is not None:
                raise _NotMine
            value = _text(element)
            self.values["link"] = _repair(_urljoin(self.base(element), value) if value else value)
            return
        if len(element):
            raise _NotMine
        rel = _attr(element, "rel") or "alternate"
        kind = (_attr(element, "type") or "text/html").lower()
        if rel == "alternate" and kind in _HTML_LINK_TYPES:
            self.values["link"] = _urljoin(self.base(element), href)

    def atom_author(self, element: Any) -> None:
        parts: dict[str, str] = {}
        for child in element:
            key = _fp_name(child)
            if key not in _ATOM_PERSON_PARTS:
                if _has_handler(key):
                    raise _NotMine
                continue
            if key in parts:
                raise _NotMine
            parts[key] = _text(child)
        name, email = parts.get("name"), parts.get("email")
        if name and email:
            value: str | None = f"{name} ({email})"
        else:
            value = name or email or None
        self.values["author"] = value  # the last author element wins, as in feedparser

    def date(self, field: str, element: Any) -> None:
        self.put(field, _parse_date(_repair(_text(element))))


def _read_entry(item: Any, table: Mapping[str, str], fields: _Fields, atom: bool) -> RawEntry:
    inert = _INERT_INSIDE_TITLED if _has_own_title(item, table) else _INERT_INSIDE
    for child in item:
        if not isinstance(child.tag, str):
            continue
        key = _fp_name(child)
        field = table.get(key)
        if field is None:
            if _has_handler(key):
                raise _NotMine
            _check_inert(child, inert)
            continue
        if field == "":
            _check_inert(child, inert)
        elif field == "guid":
            fields.guid(child)
        elif field == "link":
            fields.link(child)
        elif field == "atomauthor":
            fields.atom_author(child)
        elif field in ("published", "updated"):
            fields.date(field, child)
        elif field == "title":
            fields.put("title", _text_construct(child, atom=atom))
        elif field == "summary":
            fields.put("summary", _text_construct(child, atom=atom)[0])
        elif field == "content":
            fields.contents.append(_text_construct(child, atom=atom)[0])
        else:  # author, dc:creator, itunes:author: feedparser keeps the last one
            fields.values["author"] = _repair(_text(child))
    values = fields.values
    title, title_is_html = values.get("title", (None, False))
    link = values.get("link", fields.guid_link)
    return RawEntry(
        guid=values.get("guid"),
        link=link,
        title=title,
        title_is_html=title_is_html,
        # feedparser copies the first content to the summary when there is no summary
        summary=values.get("summary", fields.contents[0] if fields.contents else None),
        contents=fields.contents,
        published=values.get("published") or values.get("updated"),
        author=values.get("author"),
    )


def _has_own_title(item: Any, table: Mapping[str, str]) -> bool:
    """Whether the entry has a title element of its own (a direct child)."""
    return any(isinstance(c.tag, str) and table.get(_fp_name(c)) == "title" for c in item)


def _check_inert(element: Any, inert: frozenset[str]) -> None:
    """An element we skip must hold nothing feedparser would read into a field (``inert``:
    the handled elements that cannot change a field here)."""
    for inner in element.iterdescendants():
        if not isinstance(inner.tag, str):
            continue
        key = _fp_name(inner)
        if _has_handler(key) and key not in inert:
            raise _NotMine


# Channel/feed children that feedparser reads into the feed's title or link.
_RSS_CHANNEL = {"title": "title", "link": "link"}
_ATOM_FEED = {"title": "title", "link": "link", "id": "guid"}
_FEED_TITLE_ALIASES = frozenset({"dc_title", "media_title", "dcterms_title", "itunes_title"})


def _read_feed_fields(
    container: Any, table: Mapping[str, str], entry_tag: Any, fields: _Fields, atom: bool
) -> tuple[Any, bool, Any]:
    for child in container:
        if not isinstance(child.tag, str) or child.tag == entry_tag:
            continue
        key = _fp_name(child)
        if key in _FEED_TITLE_ALIASES:
            raise _NotMine
        field = table.get(key)
        if field == "title":
            fields.put("title", _text_construct(child, atom=atom))
        elif field == "link":
            fields.link(child)
        elif field == "guid":
            fields.guid(child)
    title, title_is_html = fields.values.get("title", (None, False))
    return title, title_is_html, fields.values.get("link", fields.guid_link)


def _count_entries(root: Any) -> int:
    """Elements feedparser starts an entry at, wherever they are (it takes any "item" or
    "entry" in a namespace it reads as its own)."""
    return sum(
        1
        for element in root.iter("{*}item", "{*}entry", "item", "entry")
        if _fp_name(element) in ("item", "entry")
    )


def _map(root: Any, base: str, *, has_bases: bool) -> RawFeed:
    if root.tag == "rss" and root.get("version") in _RSS_VERSIONS:
        channels = root.findall("channel")
        if len(channels) != 1:
            raise _NotMine
        channel, entry_tag, table, atom = channels[0], "item", _RSS_ITEM, False
        version = _RSS_VERSIONS[root.get("version")]
    elif root.tag == f"{{{ATOM}}}feed":
        channel, entry_tag, atom, version = root, f"{{{ATOM}}}entry", True, "atom10"
        table = _ATOM_ENTRY
    elif root.tag == f"{{{RDF}}}RDF":
        return _map_rss10(root, base, has_bases=has_bases)
    else:
        raise _NotMine
    items = channel.findall(entry_tag)
    if _count_entries(root) != len(items):
        raise _NotMine  # entries elsewhere in the tree: feedparser reads those too
    feed_table = _ATOM_FEED if atom else _RSS_CHANNEL
    title, title_is_html, link = _read_feed_fields(
        channel, feed_table, entry_tag, _Fields(base, has_bases), atom
    )
    return RawFeed(
        version=version,
        title=title,
        title_is_html=title_is_html,
        link=link,
        entries=[_read_entry(item, table, _Fields(base, has_bases), atom) for item in items],
        bozo=False,
        bozo_reason=None,
    )


def _map_rss10(root: Any, base: str, *, has_bases: bool) -> RawFeed:
    """RSS 1.0 (RDF): the channel and its items are siblings under rdf:RDF, and an item's
    rdf:about is its id, taken as it is (feedparser's `_start_item`). What sits outside the
    channel and the items (image, textinput) feedparser reads into no field we map."""
    channels = root.findall(f"{{{RSS1}}}channel")
    if len(channels) != 1:
        raise _NotMine
    items = root.findall(f"{{{RSS1}}}item")
    if _count_entries(root) != len(items):
        raise _NotMine
    title, title_is_html, link = _read_feed_fields(
        channels[0], _RSS_CHANNEL, f"{{{RSS1}}}item", _Fields(base, has_bases), False
    )
    entries = []
    for item in items:
        if item.get("lastmod") is not None or item.get("href") is not None:
            raise _NotMine  # CDF attributes feedparser reads as a date and a link
        fields = _Fields(base, has_bases)
        about = item.get(f"{{{RDF}}}about")
        if about:
            fields.put("guid", about)
        entries.append(_read_entry(item, _RSS_ITEM, fields, False))
    return RawFeed(
        version="rss10",
        title=title,
        title_is_html=title_is_html,
        link=link,
        entries=entries,
        bozo=False,
        bozo_reason=None,
    )


def fast_raw(body: bytes, base: str, headers: Mapping[str, str]) -> RawFeed | None:
    """The document as a RawFeed, or None when feedparser must read it instead; TooDeep
    when nobody should read it.

    ``base`` is where relative links resolve (as given to feedparser); ``headers`` are the
    response headers with lower-case names.
    """
    if not _plain_utf8(body, headers.get("content-type")):
        converted = _as_feedparser_decodes(body, headers.get("content-type"))
        if converted is None:
            return None
        body = converted
    head = body[:4096]
    if b"<!DOCTYPE" in head or b"<!doctype" in head:
        return None
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as exc:
        if "Excessive depth" in str(exc):
            raise TooDeep(str(exc)) from None
        return None
    try:
        return _map(root, base, has_bases=b"base" in body)
    except _NotMine:
        return None
