"""GuardedFetcher against hostile URLs and servers, all on loopback."""

from __future__ import annotations

import asyncio
import codecs
import ipaddress
import socket
import ssl
import threading
import time
import tracemalloc
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.feeds.client import HttpClient
from bot.feeds.fetch import (
    ENTITY_REFUSAL,
    FetchRefused,
    GuardedFetcher,
    address_kind,
    entity_refusal,
    normalise_url,
)
from bot.models import FetchResult
from bot.settings import FetchSettings
from tests.loopback import LoopbackServer, gzip_bomb

FEED = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>T</title>'
    b"<item><title>One</title><link>https://example.com/1</link></item></channel></rss>\n"
)
LOOPBACK_ONLY = ("127.0.0.1",)


def policy(**changes: Any) -> FetchSettings:
    base: dict[str, Any] = {"allow_private_hosts": LOOPBACK_ONLY, "timeout_s": 5.0}
    return FetchSettings(**{**base, **changes})


def fetch(url: str, pol: FetchSettings | None = None, **kwargs: Any) -> FetchResult:
    """One fetch the way synchronous callers make it: through an `HttpClient`."""
    with HttpClient(pol or policy()) as http:
        return http.fetch(url, **kwargs)


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as srv:
        srv.add("/feed.xml", FEED, headers=[("Content-Type", "application/rss+xml")])
        yield srv


# --------------------------------------------------------------------------- schemes and URLs


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("file:///etc/passwd", "file"),
        ("ftp://example.com/feed.xml", "ftp"),
        ("gopher://example.com/", "gopher"),
        ("javascript:alert(1)", "javascript"),
        ("data:text/xml,<rss/>", "data"),
    ],
)
def test_only_http_and_https_are_fetched(url: str, scheme: str) -> None:
    result = fetch(url)
    assert result.status == "error"
    assert result.error == f"refused: scheme '{scheme}' is not allowed (only http and https)"


def test_relative_or_schemeless_urls_are_refused_with_advice() -> None:
    result = fetch("example.com/feed.xml")
    assert result.status == "error"
    assert "not an absolute URL" in (result.error or "")


@pytest.mark.parametrize("prefix", ["feed://", "feed:http://", "FEED:http://"])
def test_feed_scheme_urls_are_rewritten_to_http(server: LoopbackServer, prefix: str) -> None:
    result = fetch(f"{prefix}127.0.0.1:{server.port}/feed.xml")
    assert result.status == "ok", result.error
    assert result.body == FEED
    assert result.final_url == server.url("/feed.xml")


def test_normalise_url_raises_a_user_error() -> None:
    with pytest.raises(FetchRefused, match="scheme 'file'"):
        normalise_url("file:///etc/passwd")
    assert str(normalise_url("feed:https://example.com/x")) == "https://example.com/x"


# --------------------------------------------------------------------------- addresses


@pytest.mark.parametrize(
    ("host", "kind", "address"),
    [
        ("10.0.0.5", "private", "10.0.0.5"),
        ("192.168.1.1", "private", "192.168.1.1"),
        ("172.16.0.1", "private", "172.16.0.1"),
        ("127.0.0.1", "loopback", "127.0.0.1"),
        ("127.1", "loopback", "127.0.0.1"),
        ("2130706433", "loopback", "127.0.0.1"),
        ("0x7f000001", "loopback", "127.0.0.1"),
        ("localhost", "loopback", ""),
        ("[::ffff:127.0.0.1]", "loopback", "127.0.0.1"),
        ("169.254.169.254", "link-local", "169.254.169.254"),
        ("100.64.0.1", "shared (CGNAT)", "100.64.0.1"),
        ("[::1]", "loopback", "::1"),
        ("[fc00::1]", "private", "fc00::1"),
        ("[fe80::1]", "link-local", "fe80::1"),
        ("0.0.0.0", "unspecified", "0.0.0.0"),
        ("224.0.0.1", "multicast", "224.0.0.1"),
        ("[2002:7f00:1::]", "loopback", "127.0.0.1"),  # 6to4 wrapping 127.0.0.1
        ("[64:ff9b::a00:5]", "private", "10.0.0.5"),  # NAT64 wrapping 10.0.0.5
    ],
)
def test_non_public_addresses_are_refused(host: str, kind: str, address: str) -> None:
    # No allow-list at all: nothing here may be contacted.
    result = fetch(f"http://{host}/feed.xml", FetchSettings(timeout_s=5))
    assert result.status == "error"
    assert result.error is not None
    assert result.error.startswith("refused: ")
    assert f" {kind} address {address}" in result.error


def test_allow_list_matches_the_host_as_written_not_its_address(server: LoopbackServer) -> None:
    # 127.0.0.1 is allowed; "localhost" and "127.1" reach the same socket but are not.
    assert fetch(server.url("/feed.xml")).status == "ok"
    for host in ("localhost", "127.1"):
        result = fetch(server.url("/feed.xml", host=host))
        assert result.status == "error"
        assert "loopback address 127.0.0.1" in (result.error or "")
    named = fetch(
        server.url("/feed.xml", host="localhost"),
        policy(allow_private_hosts=("localhost",)),
    )
    assert named.status == "ok", named.error


class FakeDNS:
    """Stands in for the resolver: fixed answers per name, and a count of lookups."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.lookups: list[str] = []

    async def getaddrinfo(self, host: str, port: int, **_: object) -> list[Any]:
        self.lookups.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        family = {4: socket.AF_INET, 6: socket.AF_INET6}
        return [
            (family[ipaddress.ip_address(a).version], socket.SOCK_STREAM, 6, "", (a, port))
            for a in self.answers[host]
        ]


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    dns = FakeDNS({})

    async def getaddrinfo(loop: object, host: str, port: int, **kwargs: object) -> list[Any]:
        return await dns.getaddrinfo(host, port, **kwargs)

    monkeypatch.setattr(asyncio.BaseEventLoop, "getaddrinfo", getaddrinfo)
    return dns


def test_every_resolved_address_must_be_public(fake_dns: FakeDNS) -> None:
    fake_dns.answers["mixed.example"] = ["93.184.216.34", "10.0.0.5"]
    result = fetch("http://mixed.example/feed.xml")
    assert result.error is not None
    assert "mixed.example resolves to a private address 10.0.0.5" in result.error


def test_the_connection_goes_to_the_address_that_was_checked(
    server: LoopbackServer, fake_dns: FakeDNS
) -> None:
    # One lookup per connection, and the socket layer is handed the checked IP: a second
    # lookup (where a rebinding DNS server could answer differently) never happens.
    fake_dns.answers["feeds.example"] = ["127.0.0.1"]
    pol = policy(allow_private_hosts=("feeds.example",))
    result = fetch(server.url("/feed.xml", host="feeds.example"), pol)
    assert result.status == "ok", result.error
    assert fake_dns.lookups == ["feeds.example"]
    assert server.requests("/feed.xml")[-1].headers["host"] == f"feeds.example:{server.port}"


def test_address_kind_passes_public_addresses() -> None:
    for text in ("93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "2002:5db8:d822::"):
        assert address_kind(ipaddress.ip_address(text)) is None, text
    assert address_kind(ipaddress.ip_address("198.18.0.1")) is not None  # benchmarking range


def test_a_redirect_to_a_disallowed_host_is_refused_at_that_hop(server: LoopbackServer) -> None:
    server.redirect("/to-localhost", server.url("/feed.xml", host="localhost"))
    server.redirect("/to-127-0-0-2", f"http://127.0.0.2:{server.port}/feed.xml")
    server.redirect("/to-metadata", "http://169.254.169.254/latest/meta-data/")
    before = server.hits("/feed.xml")
    for path, shown in [
        ("/to-localhost", "localhost resolves to a loopback address 127.0.0.1"),
        ("/to-127-0-0-2", "loopback address 127.0.0.2"),
        ("/to-metadata", "link-local address 169.254.169.254"),
    ]:
        result = fetch(server.url(path))
        assert result.status == "error"
        assert shown in (result.error or "")
        assert "after a redirect to" in (result.error or "")
    assert server.hits("/feed.xml") == before


def test_a_redirect_to_another_scheme_is_refused(server: LoopbackServer) -> None:
    server.redirect("/to-file", "file:///etc/passwd")
    result = fetch(server.url("/to-file"))
    assert result.error == "refused: redirect to scheme 'file' is not allowed (only http and https)"


# --------------------------------------------------------------------------- redirects


def _chain(server: LoopbackServer, name: str, length: int) -> str:
    for i in range(length):
        server.redirect(f"/{name}/{i}", f"/{name}/{i + 1}" if i + 1 < length else "/feed.xml", 301)
    return server.url(f"/{name}/0")


def test_five_redirects_are_followed(server: LoopbackServer) -> None:
    result = fetch(_chain(server, "five", 5))
    assert result.status == "ok", result.error
    assert result.final_url == server.url("/feed.xml")
    assert result.url.endswith("/five/0")


def test_more_than_five_redirects_are_refused(server: LoopbackServer) -> None:
    result = fetch(_chain(server, "six", 6))
    assert result.error == "refused: more than 5 redirects"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_every_redirect_status_and_relative_locations(server: LoopbackServer, status: int) -> None:
    server.redirect(f"/dir/r{status}", f"../feed.xml?from={status}", status)
    result = fetch(server.url(f"/dir/r{status}"))
    assert result.status == "ok", result.error
    assert result.final_url == server.url(f"/feed.xml?from={status}")


def test_redirect_without_location_is_an_error(server: LoopbackServer) -> None:
    server.add("/nowhere", status=302)
    assert fetch(server.url("/nowhere")).error == "HTTP 302 Found without a Location header"


# --------------------------------------------------------------------------- hostile servers


def test_slow_loris_stops_at_the_deadline(server: LoopbackServer) -> None:
    server.add("/drip", FEED, drip_s=0.05)  # ~9 s in full
    started = time.monotonic()
    result = fetch(server.url("/drip"), policy(timeout_s=1.0))
    elapsed = time.monotonic() - started
    assert result.error == "timed out after 1 s"
    assert elapsed < 2.5


def test_a_server_that_never_answers_stops_at_the_deadline(server: LoopbackServer) -> None:
    server.add("/silent", FEED, delay_s=6)
    started = time.monotonic()
    result = fetch(server.url("/silent"), policy(timeout_s=1))
    assert result.error == "timed out after 1 s"
    assert time.monotonic() - started < 4


def test_gzip_bomb_is_cut_at_the_cap_without_inflating_it(server: LoopbackServer) -> None:
    bomb = gzip_bomb(100_000_000)
    assert len(bomb) < 200_000
    server.add("/bomb", bomb, headers=[("Content-Encoding", "gzip")])
    tracemalloc.start()
    try:
        result = fetch(server.url("/bomb"), policy(max_bytes=1_000_000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.error == "refused: response exceeds 1 MB after decompression"
    assert peak < 8_000_000, f"peak Python allocation {peak:,} bytes"


def test_gzip_and_deflate_bodies_are_decoded_within_the_cap(server: LoopbackServer) -> None:
    import gzip
    import zlib

    # over the smallest cap settings allow (1 KB), so the exact-cap checks below are real
    feed = FEED + b"<!--" + b"padding " * 300 + b"-->\n"
    server.add("/gz", gzip.compress(feed), headers=[("Content-Encoding", "gzip")])
    server.add("/zlib", zlib.compress(feed), headers=[("Content-Encoding", "deflate")])
    raw = zlib.compressobj(wbits=-15)
    server.add("/raw", raw.compress(feed) + raw.flush(), headers=[("Content-Encoding", "deflate")])
    server.add("/plain-labelled-gzip", feed, headers=[("Content-Encoding", "gzip")])
    for path in ("/gz", "/zlib", "/raw", "/plain-labelled-gzip"):
        result = fetch(server.url(path))
        assert result.body == feed, path
        assert "content-encoding" not in result.headers
    exact = fetch(server.url("/gz"), policy(max_bytes=len(feed)))
    assert exact.status == "ok"
    over = fetch(server.url("/gz"), policy(max_bytes=len(feed) - 1))
    assert over.error == f"refused: response exceeds {len(feed) - 1} bytes after decompression"


def test_oversized_plain_body_is_refused(server: LoopbackServer) -> None:
    server.add("/big", b"<rss>" + b" " * 2_000_000 + b"</rss>")
    result = fetch(server.url("/big"), policy(max_bytes=1_000_000))
    assert result.error is not None
    assert result.error.startswith("refused: response exceeds 1 MB")


def test_unsupported_content_encoding_is_an_error(server: LoopbackServer) -> None:
    server.add("/br", b"\x8b\x02\x80", headers=[("Content-Encoding", "br")])
    result = fetch(server.url("/br"))
    assert result.status == "error"
    assert "unsupported Content-Encoding 'br'" in (result.error or "")


BOMB_HEAD = '<?xml version="1.0"?>\n<!DOCTYPE rss [\n <!ENTITY a "{}">\n]>\n'
ENTITY_BOMB = (
    BOMB_HEAD.format("x" * 10_000)
    + '<rss version="2.0"><channel><title>'
    + "&a;" * 2_000
    + "</title></channel></rss>"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-16-be", "utf-32"])
def test_entity_declarations_are_refused_in_any_encoding(
    server: LoopbackServer, encoding: str
) -> None:
    body = ENTITY_BOMB.replace('version="1.0"?', f'version="1.0" encoding="{encoding}"?').encode(
        encoding
    )
    if encoding == "utf-16-be":
        body = codecs.BOM_UTF16_BE + body
    server.add(f"/entities-{encoding}", body, headers=[("Content-Type", "application/xml")])
    result = fetch(server.url(f"/entities-{encoding}"))
    assert result.error == ENTITY_REFUSAL
    assert entity_refusal(body) == ENTITY_REFUSAL


def test_entity_guard_reads_a_declared_non_ascii_charset() -> None:
    # UTF-7 may spell "<" as "+ADw-": the bytes never contain "<!ENTITY".
    body = ENTITY_BOMB.replace("<", "+ADw-").encode("ascii")
    assert body.decode("utf-7") == ENTITY_BOMB
    assert b"<!ENTITY" not in body
    assert entity_refusal(body, "application/xml; charset=utf-7") == ENTITY_REFUSAL


def test_entity_guard_spares_plain_doctypes_and_text_mentioning_entities() -> None:
    netscape = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"'
        b' "http://my.netscape.com/publish/formats/rss-0.91.dtd">\n<rss version="0.91"><channel>'
        b"<description>How &lt;!ENTITY&gt; works: <![CDATA[<!ENTITY x 'y'>]]></description>"
        b"</channel></rss>"
    )
    assert entity_refusal(netscape) is None
    # An entity hidden after a comment that looks like an element is still in the prolog.
    sneaky = b"<!-- <a --><!DOCTYPE rss [<!ENTITY a 'x'>]><rss/>"
    assert entity_refusal(sneaky) == ENTITY_REFUSAL


# --------------------------------------------------------------------------- HTTP semantics


def test_conditional_get_returns_not_modified_and_sends_validators(server: LoopbackServer) -> None:
    etag, modified = '"v42"', "Wed, 21 Oct 2015 07:28:00 GMT"
    server.add(
        "/cond.xml",
        FEED,
        headers=[
            ("Content-Type", "application/rss+xml"),
            ("ETag", etag),
            ("Last-Modified", modified),
        ],
    )
    first = fetch(server.url("/cond.xml"))
    assert (first.status, first.etag, first.last_modified) == ("ok", etag, modified)
    by_etag = fetch(server.url("/cond.xml"), etag=first.etag)
    by_date = fetch(server.url("/cond.xml"), last_modified=first.last_modified)
    for result in (by_etag, by_date):
        assert result.status == "not_modified"
        assert result.body is None
        assert result.http_status == 304
        assert result.etag == etag
    seen = server.requests("/cond.xml")
    assert "if-none-match" not in seen[0].headers
    assert seen[1].headers["if-none-match"] == etag
    assert seen[2].headers["if-modified-since"] == modified
    stale = fetch(server.url("/cond.xml"), etag='"old"')
    assert stale.status == "ok"


def test_304_to_an_unconditional_request_is_an_error(server: LoopbackServer) -> None:
    server.add("/always-304", status=304)
    result = fetch(server.url("/always-304"))
    assert result.status == "error"
    assert "sent no validators" in (result.error or "")


@pytest.mark.parametrize(
    ("status", "words"),
    [(404, "HTTP 404 Not Found"), (410, "HTTP 410 Gone"), (500, "HTTP 500 Internal Server Error")],
)
def test_error_statuses_are_named(server: LoopbackServer, status: int, words: str) -> None:
    server.add(f"/status/{status}", b"nope", status=status)
    result = fetch(server.url(f"/status/{status}"))
    assert (result.status, result.error, result.http_status) == ("error", words, status)


def test_request_headers_and_returned_headers(server: LoopbackServer) -> None:
    server.add(
        "/hdr.xml",
        FEED,
        headers=[("Content-Type", "text/xml; charset=utf-8"), ("Content-Location", "/elsewhere")],
    )
    result = fetch(server.url("/hdr.xml"), policy(user_agent="Watchdesk-test/1"))
    sent = server.requests("/hdr.xml")[-1].headers
    assert sent["user-agent"] == "Watchdesk-test/1"
    assert sent["accept-encoding"] == "gzip, deflate"
    assert "application/rss+xml" in sent["accept"]
    assert result.content_type == "text/xml; charset=utf-8"
    assert result.headers["content-location"] == "/elsewhere"
    assert "content-length" not in result.headers


def test_per_host_concurrency_is_capped(server: LoopbackServer) -> None:
    async def run(urls: list[str]) -> tuple[list[FetchResult], int]:
        probe = LoopbackServer().start()
        try:
            for i, _ in enumerate(urls):
                probe.add(f"/slow/{i}", FEED, delay_s=0.3)
            pol = policy(per_host_limit=2, allow_private_hosts=("127.0.0.1", "localhost"))
            async with GuardedFetcher(pol) as fetcher:
                results = await asyncio.gather(
                    *(fetcher.fetch(probe.url(f"/slow/{i}", host=h)) for i, h in enumerate(urls))
                )
            return results, probe.peak_concurrency
        finally:
            probe.stop()

    results, peak = asyncio.run(run(["127.0.0.1"] * 6))
    assert all(r.status == "ok" for r in results)
    assert peak == 2
    # The cap is per host name: two names, two slots each.
    results, peak = asyncio.run(run(["127.0.0.1", "localhost"] * 4))
    assert all(r.status == "ok" for r in results), [r.error for r in results]
    assert peak == 4


# --------------------------------------------------------------------------- the deadline


def gather_fetches(urls: list[str], pol: FetchSettings) -> list[FetchResult]:
    async def run() -> list[FetchResult]:
        async with GuardedFetcher(pol) as fetcher:
            return list(await asyncio.gather(*(fetcher.fetch(u) for u in urls)))

    return asyncio.run(run())


def test_waiting_for_a_host_slot_does_not_spend_the_deadline() -> None:
    """Six fetches of one host, one slot: the last waits ~5 × 0.5 s for its turn, far past
    the 2 s timeout, and still succeeds because only its own request is timed."""
    with LoopbackServer() as probe:
        urls = [probe.add(f"/queued/{i}", FEED, delay_s=0.5) for i in range(6)]
        results = gather_fetches(urls, policy(per_host_limit=1, timeout_s=2.0))
        assert [r.error for r in results] == [None] * 6
        assert probe.peak_concurrency == 1


def test_a_redirects_second_hop_queued_behind_other_fetches_keeps_its_budget() -> None:
    """The failure seen under load: every first hop answers a redirect at once, then the
    second hops queue for the host's one slot. A deadline fixed at the first hop ran out
    while the later ones were still waiting ("timed out after 2 s")."""
    with LoopbackServer() as probe:
        urls = []
        for i in range(6):
            probe.add(f"/moved/{i}", FEED, delay_s=0.5)
            urls.append(probe.redirect(f"/old/{i}", f"/moved/{i}"))
        results = gather_fetches(urls, policy(per_host_limit=1, timeout_s=2.0))
        assert [r.error for r in results] == [None] * 6
        assert [r.final_url for r in results] == [probe.url(f"/moved/{i}") for i in range(6)]


def test_the_budget_is_shared_by_every_hop_of_one_fetch(server: LoopbackServer) -> None:
    """Each hop of a chain is quick enough alone; together they exceed the timeout. A slow
    redirect chain cannot hold a worker longer than one slow server could."""
    for i in range(3):
        target = f"/slow-chain/{i + 1}" if i < 2 else "/feed.xml"
        server.add(f"/slow-chain/{i}", status=302, headers=[("Location", target)], delay_s=0.6)
    started = time.monotonic()
    result = fetch(server.url("/slow-chain/0"), policy(timeout_s=1.0))
    assert result.error == "timed out after 1 s"
    assert time.monotonic() - started < 3


# --------------------------------------------------------------------------- one shared client


def test_sync_callers_on_many_threads_share_one_pool_and_its_host_slots() -> None:
    """`feeds add` from Slack, `/watch test` from Discord and the analyser's page fetches all
    call the one client from their own threads: the per-host limit holds across them."""
    with LoopbackServer() as probe, HttpClient(policy(per_host_limit=1)) as http:
        urls = [probe.add(f"/page/{i}", FEED, delay_s=0.3) for i in range(4)]
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(http.fetch, urls))
        assert [r.status for r in results] == ["ok"] * 4
        assert probe.peak_concurrency == 1
        threads = {t.name for t in threading.enumerate()}
        assert sum(name == "watchdesk-http" for name in threads) == 1


def test_the_client_refuses_to_block_its_own_loop(server: LoopbackServer) -> None:
    """Blocking on the loop from the loop would wait forever; it fails at once instead."""
    with HttpClient(policy()) as http:

        async def nested() -> str:
            try:
                http.fetch(server.url("/feed.xml"))
            except RuntimeError as exc:
                return str(exc)
            return "no error"

        assert "await the fetcher instead" in http.run(nested())
        assert http.fetch(server.url("/feed.xml")).status == "ok"  # still usable


# --------------------------------------------------------------------------- never raises


def test_broken_servers_come_back_as_errors(server: LoopbackServer) -> None:
    server.add("/garbage", raw=b"this is not HTTP at all\r\n\r\n")
    server.add("/hangup", raw=b"")
    server.add("/short", raw=b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n<rss>")
    server.add(
        "/corrupt-gz",
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage-garbage",
        headers=[("Content-Encoding", "gzip")],
    )
    expected = {
        "/garbage": "malformed HTTP response",
        "/hangup": "malformed HTTP response",
        "/short": "malformed HTTP response",
        "/corrupt-gz": "corrupt gzip data",
    }
    for path, words in expected.items():
        result = fetch(server.url(path))
        assert result.status == "error", path
        assert words in (result.error or ""), (path, result.error)


def test_unreachable_and_invalid_urls_come_back_as_errors() -> None:
    with LoopbackServer() as closed:
        url = closed.url("/x")
    refused = fetch(url)  # the port is closed now
    assert refused.status == "error"
    assert (refused.error or "").startswith("could not connect")
    # (none of these may reach a DNS server: tests stay on this machine)
    for bad in ["http:///nohost", "", "http://xn--/", "http://[::1", "https://:80/"]:
        result = fetch(bad)
        assert result.status == "error", bad
        assert result.error and "unexpectedly" not in result.error, result.error


def test_a_redirect_to_a_malformed_host_is_an_error(server: LoopbackServer) -> None:
    server.redirect("/to-bad-idna", "http://xn--a.com/")
    result = fetch(server.url("/to-bad-idna"))
    assert result.status == "error"
    assert "invalid URL" in (result.error or "")


def _self_signed(tmp: Path) -> ssl.SSLContext:
    """A server context with a throwaway self-signed certificate for "localhost"."""
    crypto = pytest.importorskip("cryptography")
    del crypto
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    (tmp / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp / "cert.pem", tmp / "key.pem")
    return context


def test_https_certificates_are_verified(tmp_path: Path) -> None:
    with LoopbackServer(ssl_context=_self_signed(tmp_path)) as tls:
        tls.add("/feed.xml", FEED)
        result = fetch(tls.url("/feed.xml"))
    assert result.status == "error"
    assert (result.error or "").startswith("TLS handshake failed")
    assert "certificate verify failed" in (result.error or "")
