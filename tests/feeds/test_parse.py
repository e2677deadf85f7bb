"""parse_feed: capping, cleaning, dropping, encodings and "this is not a feed"."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.errors import RemoteError, UserError
from bot.feeds.parse import (
    MAX_AUTHOR_CHARS,
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    MAX_URL_CHARS,
    FastPathRefused,
    FeedParseError,
    ParseBoundExceeded,
    ParsePath,
    parse_feed,
)

URL = "https://news.example.org/feeds/main.xml"


def rss(
    items: str, channel: str = "<title>Desk</title><link>https://news.example.org/</link>"
) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>{channel}'
        f"{items}</channel></rss>"
    ).encode()


def test_a_plain_rss_feed() -> None:
    feed = parse_feed(
        rss(
            "<item><title>Zapad drills begin</title><link>https://news.example.org/a?x=1</link>"
            "<guid isPermaLink='false'>a-1</guid><description>Short &lt;b&gt;lead&lt;/b&gt;</description>"
            "<pubDate>Tue, 10 Jun 2003 04:00:00 +0200</pubDate><author>desk@example.org (Desk)</author>"
            "</item>"
        ),
        url=URL,
    )
    assert (feed.title, feed.link, feed.bozo) == ("Desk", "https://news.example.org/", False)
    (entry,) = feed.entries
    assert entry.guid == "a-1"
    assert entry.link == "https://news.example.org/a?x=1"
    assert entry.title == "Zapad drills begin"
    assert entry.summary == "Short <b>lead</b>"
    assert entry.content == entry.summary  # no content:encoded, so the summary stands in
    assert entry.published == datetime(2003, 6, 10, 2, 0, tzinfo=UTC)
    assert entry.author == "desk@example.org (Desk)"


def test_content_is_the_longest_content_value() -> None:
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
      <entry><id>urn:x:1</id><title>t</title><summary>short</summary>
        <content type="text">medium body</content></entry>
      <entry><id>urn:x:2</id><title>t2</title><updated>2024-05-01T10:00:00-04:00</updated></entry>
    </feed>"""
    first, second = parse_feed(atom, url=URL).entries
    assert (first.summary, first.content) == ("short", "medium body")
    assert second.content == ""
    assert second.published == datetime(2024, 5, 1, 14, 0, tzinfo=UTC)  # updated stands in


def test_every_field_is_capped() -> None:
    long_link = "https://news.example.org/" + "p" * 5_000
    body = rss(
        f"<item><title>{'T' * 10_000}</title><link>{long_link}</link><guid>{'g' * 5_000}</guid>"
        f"<description>{'d' * 300_000}</description><author>{'a' * 1_000}</author>"
        f"<content:encoded xmlns:content='http://purl.org/rss/1.0/modules/content/'>"
        f"{'c' * 300_000}</content:encoded></item>",
        channel=f"<title>{'F' * 2_000}</title>",
    )
    feed = parse_feed(body, url=URL)
    (entry,) = feed.entries
    assert len(feed.title) == MAX_TITLE_CHARS
    assert len(entry.title) == MAX_TITLE_CHARS
    assert entry.link is not None and len(entry.link) == MAX_URL_CHARS
    assert entry.guid is not None and len(entry.guid) == MAX_URL_CHARS
    assert len(entry.summary) == MAX_TEXT_CHARS
    assert len(entry.content) == MAX_TEXT_CHARS
    assert entry.author is not None and len(entry.author) == MAX_AUTHOR_CHARS


def test_nuls_are_stripped() -> None:
    feed = parse_feed(
        rss(
            "<item><title>a\x00b</title><author>x\x00y</author><description>c\x00d</description></item>"
        ),
        url=URL,
    )
    (entry,) = feed.entries
    assert (entry.title, entry.author, entry.summary) == ("ab", "xy", "cd")
    assert feed.bozo  # NUL is not XML: feedparser fell back to its loose parser


def test_entries_with_nothing_to_identify_them_are_dropped() -> None:
    feed = parse_feed(
        rss(
            "<item><description>   </description></item>"
            "<item><title>only a title</title></item>"
            "<item><guid isPermaLink='false'>only-a-guid</guid></item>"
            "<item><description>only a body</description></item>"
        ),
        url=URL,
    )
    assert [(e.title, e.guid, e.content) for e in feed.entries] == [
        ("only a title", None, ""),
        ("", "only-a-guid", ""),
        ("", None, "only a body"),
    ]


def test_links_resolve_against_the_url_and_unsafe_links_go() -> None:
    feed = parse_feed(
        rss(
            "<item><title>rel</title><link>/story/1</link></item>"
            "<item><title>js</title><link>javascript:alert(1)</link></item>"
        ),
        url=URL,
    )
    assert [e.link for e in feed.entries] == ["https://news.example.org/story/1", None]
    moved = parse_feed(
        rss("<item><title>rel</title><link>story/2</link></item>"),
        url=URL,
        headers={"Content-Location": "https://mirror.example.net/x/feed"},
    )
    assert moved.entries[0].link == "https://mirror.example.net/x/story/2"


def test_relative_permalink_guids_are_resolved_against_the_url() -> None:
    # feedparser treats a guid without isPermaLink="false" (and an Atom id) as a link and
    # resolves it: the identity of such entries depends on the URL passed in.
    feed = parse_feed(
        rss("<item><guid>7</guid></item><item><guid>tag:x,2024:7</guid></item>"), url=URL
    )
    assert [e.guid for e in feed.entries] == ["https://news.example.org/feeds/7", "tag:x,2024:7"]


def test_html_titles_become_text() -> None:
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title type="html">A &lt;i&gt;b&lt;/i&gt;</title>
      <entry><id>1</id><title type="html">&lt;b&gt;Bold&lt;/b&gt; &amp;amp; plain</title></entry></feed>"""
    feed = parse_feed(atom, url=URL)
    assert feed.title == "A b"
    assert feed.entries[0].title == "Bold & plain"


def test_the_charset_header_decides_the_encoding() -> None:
    body = '<rss version="2.0"><channel><item><title>Лукашенко</title></item></channel></rss>'
    encoded = body.encode("windows-1251")
    with_header = parse_feed(
        encoded, url=URL, headers={"Content-Type": "text/xml; charset=windows-1251"}
    )
    assert with_header.entries[0].title == "Лукашенко"
    without = parse_feed(encoded, url=URL)
    assert without.entries[0].title != "Лукашенко"


def test_a_bozo_feed_with_entries_is_kept() -> None:
    feed = parse_feed(
        rss("<item><title>One</title><br></item><item><title>Two</title></item>"), url=URL
    )
    assert feed.bozo
    assert feed.bozo_reason is not None and "mismatched tag" in feed.bozo_reason
    assert [e.title for e in feed.entries] == ["One", "Two"]


def test_a_bare_ampersand_survives_the_loose_parser_mangled() -> None:
    # A measured feedparser quirk, kept visible: "AT&T" in a non-well-formed feed comes back
    # as "AT&T;". If this starts failing, feedparser fixed it.
    feed = parse_feed(rss("<item><title>AT&T wins</title></item>"), url=URL)
    assert feed.bozo
    assert [e.title for e in feed.entries] == ["AT&T; wins"]


def test_an_empty_but_valid_feed_is_not_an_error() -> None:
    feed = parse_feed(rss(""), url=URL)
    assert feed.entries == ()
    assert feed.title == "Desk"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (
            b"<!DOCTYPE html><html><head><title>Home</title></head><body>hi</body></html>",
            "web page",
        ),
        (b"", "empty"),
        (b"just some text", "not an RSS, Atom or RDF feed"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', "JSON Feed"),
        (b"<?xml version='1.0'?><note><to>x</to></note>", "not an RSS, Atom or RDF feed"),
    ],
)
def test_documents_that_are_not_feeds_raise_a_feed_parse_error(body: bytes, words: str) -> None:
    with pytest.raises(FeedParseError, match=words):
        parse_feed(body, url=URL)


def test_entity_declarations_are_refused_here_too() -> None:
    body = b'<!DOCTYPE rss [<!ENTITY e "boom">]><rss version="2.0"><channel><title>&e;</title></channel></rss>'
    with pytest.raises(FeedParseError, match="entity-expansion"):
        parse_feed(body, url=URL)


def test_a_body_that_names_a_local_file_is_not_read(tmp_path: Path) -> None:
    target = tmp_path / "secret.xml"
    target.write_bytes(rss("<item><title>secret</title></item>"))
    # feedparser.parse(bytes) would open this path; parse_feed must treat it as content.
    with pytest.raises(FeedParseError):
        parse_feed(str(target).encode(), url=URL)


def test_impossible_dates_do_not_break_parsing() -> None:
    feed = parse_feed(
        rss(
            # feedparser turns this one into year -1, which datetime cannot hold
            "<item><title>zeros</title><pubDate>0000-00-00T00:00:00Z</pubDate></item>"
            "<item><title>junk</title><pubDate>the day after tomorrow</pubDate></item>"
        ),
        url=URL,
    )
    assert [e.published for e in feed.entries] == [None, None]
    assert [e.title for e in feed.entries] == ["zeros", "junk"]


# --------------------------------------------------------------------------- the two paths

ATOM_FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://base.example.net/dir/">
  <title type="html">A &lt;i&gt;b&lt;/i&gt;</title><link href="/home"/>
  <entry><id>urn:x:1</id><title>First</title><link rel="self" href="self.xml"/>
    <link href="story/1"/><summary>short</summary>
    <content type="html">&lt;p&gt;body&lt;/p&gt;</content>
    <updated>2024-05-01T10:00:00-04:00</updated>
    <author><name>N</name><email>n@example.org</email></author></entry>
  <entry><id>7</id><title type="html">&lt;b&gt;Bold&lt;/b&gt; &amp;amp; plain</title>
    <published>2024-05-02T10:00:00Z</published></entry>
</feed>"""

RSS_FEED = rss(
    "<item><title>Don\u00e2\u0080\u0099t &lt;b&gt;x&lt;/b&gt;</title><link>/story/1</link>"
    "<guid>7</guid><pubDate>Tue, 10 Jun 2003 04:00:00 +0200</pubDate>"
    "<dc:creator xmlns:dc='http://purl.org/dc/elements/1.1/'>Desk</dc:creator>"
    "<content:encoded xmlns:content='http://purl.org/rss/1.0/modules/content/'>"
    "<![CDATA[<p>Body</p>]]></content:encoded></item>"
    "<item><guid isPermaLink='false'>a-1</guid><title>AT&amp;T</title>"
    "<description>d</description><dc:date xmlns:dc='http://purl.org/dc/elements/1.1/'>"
    "2024-01-02T03:04:05Z</dc:date></item>"
)


@pytest.mark.parametrize("body", [ATOM_FEED, RSS_FEED], ids=["atom", "rss"])
def test_the_fast_path_takes_clean_feeds_and_agrees_with_feedparser(body: bytes) -> None:
    fast = parse_feed(body, url=URL, path=ParsePath.FAST)
    assert fast == parse_feed(body, url=URL, path=ParsePath.FEEDPARSER)
    assert fast == parse_feed(body, url=URL)
    assert len(fast.entries) == 2


def test_fast_path_values_are_feedparsers() -> None:
    atom = parse_feed(ATOM_FEED, url=URL, path=ParsePath.FAST)
    assert (atom.title, atom.link) == ("A b", "https://base.example.net/home")
    first, second = atom.entries
    assert first.link == "https://base.example.net/dir/story/1"  # xml:base, not rel=self
    assert first.author == "N (n@example.org)"
    assert first.published == datetime(2024, 5, 1, 14, 0, tzinfo=UTC)
    assert second.guid == "https://base.example.net/dir/7"  # an Atom id may be a link
    assert second.link == second.guid
    assert second.title == "Bold & plain"
    rss_feed = parse_feed(RSS_FEED, url=URL, path=ParsePath.FAST)
    one, two = rss_feed.entries
    assert one.title == "Don\u2019t x"  # double-encoded UTF-8 repaired, html guessed
    assert (one.link, one.author) == ("https://news.example.org/story/1", "Desk")
    assert one.summary == one.content == "<p>Body</p>"  # content stands in for the summary
    assert (two.guid, two.link, two.title) == ("a-1", None, "AT&T")
    assert two.published == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


MEDIA = "xmlns:media='http://search.yahoo.com/mrss/'"


@pytest.mark.parametrize(
    "item",
    [
        f"<item><title>Own</title><media:content {MEDIA} url='https://cdn.example/a.jpg'>"
        "<media:title>Photo caption</media:title></media:content><guid>1</guid></item>",
        f"<item><media:group {MEDIA}><media:content url='https://cdn.example/a.jpg'>"
        "<media:title>Photo caption</media:title></media:content></media:group>"
        "<title>Own</title><guid>1</guid></item>",
    ],
    ids=["title-first", "media-first"],
)
def test_a_nested_media_title_beside_an_own_title_stays_on_the_fast_path(item: str) -> None:
    """Most news feeds caption their photos with a media:title inside media:content: the
    entry's own title wins in feedparser, in either order, so the fast path keeps them."""
    body = rss(item)
    fast = parse_feed(body, url=URL, path=ParsePath.FAST)
    assert fast == parse_feed(body, url=URL, path=ParsePath.FEEDPARSER)
    assert [e.title for e in fast.entries] == ["Own"]


DC = "xmlns:dc='http://purl.org/dc/elements/1.1/'"


@pytest.mark.parametrize(
    ("item", "title"),
    [
        (f"<item><dc:title {DC}>Only dc</dc:title><guid>1</guid></item>", "Only dc"),
        (
            "<item><title>Wire</title><source url='https://wire.example/rss'>Wire</source>"
            "<guid>1</guid></item>",
            "Wire",
        ),
        (
            "<item><title>Pic</title><image>https://cdn.example/a.jpg</image><guid>1</guid></item>",
            "Pic",
        ),
    ],
    ids=["dc-title", "rss-source", "item-image"],
)
def test_common_news_feed_extras_stay_on_the_fast_path(item: str, title: str) -> None:
    body = rss(item)
    fast = parse_feed(body, url=URL, path=ParsePath.FAST)
    assert fast == parse_feed(body, url=URL, path=ParsePath.FEEDPARSER)
    assert [e.title for e in fast.entries] == [title]


RSS10 = (
    b'<?xml version="1.0" encoding="utf-8"?>'
    b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    b'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
    b'<channel rdf:about="https://wire.example/"><title>Wire</title>'
    b"<link>https://wire.example/</link><items><rdf:Seq>"
    b'<rdf:li rdf:resource="https://wire.example/1"/></rdf:Seq></items></channel>'
    b'<item rdf:about="https://wire.example/1"><title>Minsk &amp; Zapad</title>'
    b"<link>/1</link><description>Text.</description>"
    b"<dc:date>2024-05-01T12:00:00Z</dc:date><dc:creator>Desk</dc:creator></item>"
    b"</rdf:RDF>"
)


def test_rss_1_0_is_read_by_the_fast_path_as_feedparser_reads_it() -> None:
    fast = parse_feed(RSS10, url=URL, path=ParsePath.FAST)
    assert fast == parse_feed(RSS10, url=URL, path=ParsePath.FEEDPARSER)
    (entry,) = fast.entries
    assert (fast.title, entry.guid, entry.title) == (
        "Wire",
        "https://wire.example/1",
        "Minsk & Zapad",
    )
    assert entry.link == "https://news.example.org/1"
    assert entry.published == datetime(2024, 5, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (
            "<rss version='2.0'><channel><item><title>Лукашэнка і Захад</title><guid>1</guid>"
            "</item></channel></rss>".encode("windows-1251"),
            {"Content-Type": "text/xml; charset=windows-1251"},
        ),
        (
            "<?xml version='1.0' encoding='koi8-r'?><rss version='2.0'><channel><item>"
            "<title>Учения Запад-2025</title><guid>1</guid></item></channel></rss>".encode(
                "koi8-r"
            ),
            {"Content-Type": "application/rss+xml"},
        ),
        (
            "\ufeff<?xml version='1.0' encoding='utf-16'?><rss version='2.0'><channel><item>"
            "<title>Minsk</title><guid>1</guid></item></channel></rss>".encode("utf-16-le"),
            {},
        ),
    ],
    ids=["cp1251-header", "koi8r-declared", "utf16-bom"],
)
def test_declared_non_utf8_feeds_stay_on_the_fast_path(
    body: bytes, headers: dict[str, str]
) -> None:
    """Russian and Belarusian sites still serve windows-1251 and KOI8-R: the fast path
    decodes them with feedparser's own charset logic whenever that logic trusts the
    declaration."""
    fast = parse_feed(body, url=URL, headers=headers, path=ParsePath.FAST)
    assert fast == parse_feed(body, url=URL, headers=headers, path=ParsePath.FEEDPARSER)
    assert fast.entries[0].title in ("Лукашэнка і Захад", "Учения Запад-2025", "Minsk")


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (rss("<item><title>One</title><br></item>"), {}),  # not well-formed
        (
            # declared UTF-8 but written in windows-1251: feedparser guesses (bozo)
            "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><item>"
            "<title>Ы ы</title></item></channel></rss>".encode("windows-1251"),
            {"Content-Type": "application/xml"},
        ),
        (
            rss(
                "<item><guid>g</guid><media:group xmlns:media='http://search.yahoo.com/mrss/'>"
                "<media:title>other</media:title></media:group></item>"
            ),
            {},
        ),  # the only title is a nested media:title: feedparser takes it as the title
        (rss("<item><title>a</title><title>b</title></item>"), {}),  # a field twice
        (rss(f"<item><title>a</title><dc:title {DC}>b</dc:title></item>"), {}),  # title twice
        (rss("<item><description><p>markup</p></description></item>"), {}),
        (
            b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>1</id>'
            b'<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">x</div></content>'
            b"</entry></feed>",
            {},
        ),
        (b"<!DOCTYPE rss SYSTEM 'x.dtd'><rss version='2.0'><channel/></rss>", {}),
        (RSS10.replace(b'<item rdf:about="', b'<item lastmod="2024-01-01" rdf:about="'), {}),
    ],
    ids=[
        "malformed",
        "encoding-override",
        "media-title",
        "twice",
        "dc-twice",
        "markup",
        "xhtml",
        "doctype",
        "cdf-lastmod",
    ],
)
def test_what_the_fast_path_is_unsure_of_goes_to_feedparser(
    body: bytes, headers: dict[str, str]
) -> None:
    with pytest.raises(FastPathRefused):
        parse_feed(body, url=URL, headers=headers, path=ParsePath.FAST)
    routed = parse_feed(body, url=URL, headers=headers)
    assert routed == parse_feed(body, url=URL, headers=headers, path=ParsePath.FEEDPARSER)


def test_entity_declarations_are_refused_on_every_path() -> None:
    body = b'<!DOCTYPE rss [<!ENTITY e "boom">]><rss version="2.0"><channel><title>&e;</title></channel></rss>'
    for path in ParsePath:
        with pytest.raises(FeedParseError, match="entity-expansion"):
            parse_feed(body, url=URL, path=path)


def test_a_deeply_nested_document_is_refused_before_feedparser_sees_it() -> None:
    depth = 100_000
    body = rss(
        f"<item><title>x</title><description>{'<div>' * depth}{'</div>' * depth}"
        "</description></item>"
    )
    with pytest.raises(ParseBoundExceeded, match="nests elements deeper"):
        parse_feed(body, url=URL)


def test_a_parse_refusal_is_a_remote_failure_not_a_user_error() -> None:
    with pytest.raises(FeedParseError) as caught:
        parse_feed(b"just some text", url=URL)
    assert isinstance(caught.value, RemoteError)
    assert not isinstance(caught.value, UserError)
    assert caught.value.permanent is False


def test_a_bug_in_parsing_code_propagates_as_itself() -> None:
    with pytest.raises(TypeError):
        parse_feed(rss(""), url=URL, headers={"content-type": 7})  # type: ignore[dict-item]


def test_the_cp1252_repair_shortcut_covers_feedparsers_whole_table() -> None:
    from feedparser.html import _cp1252

    assert set(_cp1252) <= set(range(0x80, 0xA0))
