"""Files for `watchdesk check`: encodings and HTML titles."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.analysis.documents import decode_document, html_title, read_document
from bot.errors import UserError


@pytest.mark.parametrize(
    ("raw", "title"),
    [
        (
            "<html><head><title>Minsk &amp; Moscow</title></head><body></body></html>",
            "Minsk & Moscow",
        ),
        ("<html><head><title>\n  Two\n  lines </title></head></html>", "Two lines"),
        # A commented-out or scripted <title> is not the page's title (a regex took them).
        (
            "<html><head><!-- <title>Draft</title> --><title>Final</title></head></html>",
            "Final",
        ),
        (
            "<html><head><script>var t = '<title>Fake</title>';</script>"
            "<title>Real</title></head></html>",
            "Real",
        ),
        ("<html><body><p>No title here</p></body></html>", ""),
        ("", ""),
    ],
)
def test_html_title(raw: str, title: str) -> None:
    assert html_title(raw) == title


def test_declared_charset_is_used_when_the_bytes_are_not_utf8() -> None:
    page = '<html><head><meta charset="koi8-r"><title>Минск</title></head></html>'
    assert decode_document(page.encode("koi8-r")) == page
    assert decode_document("Минск".encode("cp1251")) == "Минск"  # undeclared: Windows-1251


def test_read_document_splits_headline_and_body(tmp_path: Path) -> None:
    text = tmp_path / "a.txt"
    text.write_text("Headline\n\nBody line one.\nBody line two.\n", encoding="utf-8")
    assert read_document(text) == ("Headline", "Body line one.\nBody line two.")
    page = tmp_path / "a.html"
    page.write_text(
        "<html><head><title>Page</title></head><body><p>Lukashenko spoke.</p></body></html>",
        encoding="utf-8",
    )
    title, body = read_document(page)
    assert title == "Page" and "Lukashenko spoke." in body
    with pytest.raises(UserError, match=r"cannot read it"):
        read_document(tmp_path / "missing.txt")
