"""OPML import/export: flattening, round trips and refusing hostile or foreign files."""

from __future__ import annotations

import pytest

from bot.feeds.opml import MAX_OPML_BYTES, OpmlError, OpmlFeed, read_opml, write_opml

NESTED = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>Subscriptions</title></head>
  <body>
    <outline text="News" title="News">
      <outline text="BBC" title="BBC News" type="rss" xmlUrl="https://feeds.bbci.co.uk/news/rss.xml" htmlUrl="https://www.bbc.co.uk/news"/>
      <outline text="Regional">
        <outline text="Belsat" type="rss" xmlUrl="https://belsat.eu/feed/"/>
      </outline>
    </outline>
    <outline text="No feed here" htmlUrl="https://example.org/"/>
    <outline text="Dup" xmlurl="https://belsat.eu/feed/"/>
    <outline TEXT="Upper" XMLURL="https://upper.example.org/rss"/>
  </body>
</opml>"""


def test_nested_outlines_are_flattened_once_each() -> None:
    assert read_opml(NESTED) == [
        OpmlFeed("https://feeds.bbci.co.uk/news/rss.xml", "BBC News"),
        OpmlFeed("https://belsat.eu/feed/", "Belsat"),
        OpmlFeed("https://upper.example.org/rss", "Upper"),
    ]


def test_an_import_can_see_every_listing_duplicates_included() -> None:
    assert read_opml(NESTED, unique=False) == [
        OpmlFeed("https://feeds.bbci.co.uk/news/rss.xml", "BBC News"),
        OpmlFeed("https://belsat.eu/feed/", "Belsat"),
        OpmlFeed("https://belsat.eu/feed/", "Dup"),
        OpmlFeed("https://upper.example.org/rss", "Upper"),
    ]


def test_write_then_read_round_trips_awkward_titles() -> None:
    feeds = [
        OpmlFeed(
            "https://example.org/rss?a=1&b=2", 'Q&A: "quotes" <tags> \u041c\u0456\u043d\u0441\u043a'
        ),
        OpmlFeed("https://example.org/atom", None),
        OpmlFeed("https://example.org/ctl", "bell\x07and\x00nul"),
    ]
    text = write_opml(feeds, "Desk & co")
    assert "<title>Desk &amp; co</title>" in text
    back = read_opml(text.encode("utf-8"))
    assert back == [
        feeds[0],
        OpmlFeed("https://example.org/atom", "https://example.org/atom"),
        OpmlFeed("https://example.org/ctl", "bellandnul"),
    ]


def test_other_encodings_are_read() -> None:
    latin = '<?xml version="1.0" encoding="windows-1251"?><opml><body><outline text="Навіны" xmlUrl="https://nn.by/rss"/></body></opml>'
    assert read_opml(latin.encode("windows-1251")) == [OpmlFeed("https://nn.by/rss", "Навіны")]
    utf16 = '<?xml version="1.0" encoding="utf-16"?><opml><body><outline text="x" xmlUrl="https://x.org/f"/></body></opml>'
    assert read_opml(utf16.encode("utf-16")) == [OpmlFeed("https://x.org/f", "x")]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
            b'<opml><body><outline text="&b;" xmlUrl="https://x.org/"/></body></opml>',
            "internal DTD subset",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE opml SYSTEM "http://169.254.169.254/evil.dtd">'
            b'<opml><body><outline text="&ext;" xmlUrl="https://x.org/"/></body></opml>',
            "external DTD",
        ),
        (b"<rss version='2.0'><channel/></rss>", "root element is <rss>"),
        (b"this is not xml", "not well-formed"),
        (
            b"<opml><body><outline text='&nbsp;' xmlUrl='https://x.org/'/></body></opml>",
            "undefined entity",
        ),
        (b"", "not well-formed"),
        (b'<?xml version="1.0" encoding="klingon"?><opml/>', "unknown encoding"),
    ],
)
def test_hostile_or_foreign_files_raise_a_user_error(data: bytes, words: str) -> None:
    with pytest.raises(OpmlError, match=words):
        read_opml(data)


def test_an_oversized_file_is_refused_before_parsing() -> None:
    with pytest.raises(OpmlError, match="larger than"):
        read_opml(b" " * (MAX_OPML_BYTES + 1))


def test_an_opml_without_feeds_is_an_empty_list() -> None:
    assert read_opml(b"<opml version='2.0'><head/><body/></opml>") == []
