"""Guarded HTTP fetching of untrusted feed URLs: the only code that opens connections for feeds.

Feed URLs come from chat users, so every fetch is treated as hostile input:

* only http/https (``feed:`` URLs are rewritten), and every address a host resolves to must be
  publicly routable unless the host is named in ``FetchSettings.allow_private_hosts``;
* the socket connects to exactly the address that was checked (a custom httpcore network
  backend resolves, checks and connects in one step, so DNS rebinding cannot slip a second,
  private answer in between), and every redirect hop goes through the same check;
* one deadline per fetch, ``timeout_s``, spent only while talking to servers: every hop's
  connect, send, wait and read draw on the same budget (a server dripping a byte a second, or
  a chain of slow redirects, cannot hold a worker), while waiting for a per-host slot does
  not count (queueing behind the desk's other fetches of one host is not that host's fault);
* gzip/deflate are decoded here, incrementally and with a hard cap on decompressed bytes;
* documents declaring XML entities are refused before any parser sees them.

``GuardedFetcher.fetch`` never raises for network or remote problems: they come back as a
``FetchResult`` with status "error" and a message a user can act on.
"""

from __future__ import annotations

import asyncio
import codecs
import http
import ipaddress
import logging
import re
import socket
import ssl
import zlib
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import TracebackType
from typing import Any, Self

import httpcore
import httpx

from bot.errors import UserError
from bot.models import FetchResult
from bot.settings import FetchSettings

log = logging.getLogger(__name__)

DEFAULT_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/feed+json;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
# Only codings this module decodes itself (with a cap); advertising br/zstd would hand
# decompression to code that cannot be bounded.
_ACCEPT_ENCODING = "gzip, deflate"
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_ALLOWED_SCHEMES = ("http", "https")
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
# Response headers that describe the wire form, not the decoded body handed on.
_WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding", "set-cookie"})


class FetchRefused(UserError):
    """A URL or response was refused on purpose (unsafe address, scheme, size, entities...)."""


class FetchFailed(Exception):
    """A network problem described in words; raised inside the transport, turned into a result."""


# --------------------------------------------------------------------------- addresses

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address tunnels to (mapped, NAT64, 6to4, Teredo), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def address_kind(ip: IPAddress) -> str | None:
    """Why ``ip`` must not be fetched ("loopback", "private"...), or None if it is public."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None and (kind := address_kind(inner)) is not None:
            return kind
    checks: tuple[tuple[str, bool], ...] = (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("shared (CGNAT)", ip in _CGNAT),
        ("multicast", ip.is_multicast),
        ("site-local", isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("non-public", not ip.is_global),
    )
    return next((kind for kind, hit in checks if hit), None)


def _normalise_host(host: str) -> str:
    """Lower-case a host and write IP literals canonically, for allow-list comparison."""
    bare = host.strip().strip("[]").lower()
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        return bare


def _refusal(host: str, ip: IPAddress, kind: str) -> str:
    shown = str(ip)
    if isinstance(ip, ipaddress.IPv6Address) and (inner := _embedded_ipv4(ip)) is not None:
        shown = f"{inner} (as {ip})" if address_kind(inner) else shown
    extra = " (cloud metadata range)" if kind == "link-local" and ip.version == 4 else ""
    article = "an" if kind[0] in "aeiou" else "a"
    where = (
        "the URL points at"
        if _normalise_host(host) == _normalise_host(str(ip))
        else f"{host} resolves to"
    )
    return (
        f"refused: {where} {article} {kind} address {shown}{extra}; "
        "only public internet addresses may be fetched"
    )


async def resolve_checked(host: str, port: int, allowed: frozenset[str]) -> list[str]:
    """Resolve ``host`` once and return its addresses, refusing if any is not public.

    Every address must pass, not just the first: a name with one public and one private
    answer would otherwise reach the private one on a retry.
    """
    name = host.strip("[]")
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
        raise FetchFailed(f"could not resolve host {host!r}: {reason}") from exc
    addresses: list[IPAddress] = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise FetchFailed(f"could not resolve host {host!r}: no addresses")
    if _normalise_host(host) not in allowed:
        for ip in addresses:
            if (kind := address_kind(ip)) is not None:
                raise FetchRefused(_refusal(host, ip, kind))
    return [str(ip) for ip in addresses]


class _CheckedBackend(httpcore.AsyncNetworkBackend):
    """Network backend that resolves, checks and connects to the checked address in one step."""

    def __init__(self, allowed: frozenset[str]) -> None:
        self._allowed = allowed
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await resolve_checked(host, port, self._allowed)
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise FetchRefused("refused: unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


# --------------------------------------------------------------------------- transport

_HTTPCORE_TO_HTTPX: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextmanager
def _httpx_errors() -> Iterator[None]:
    """Re-raise httpcore errors as their httpx counterparts (most specific first)."""
    try:
        yield
    except httpcore.ProxyError as exc:
        raise httpx.ProxyError(str(exc)) from exc
    except Exception as exc:
        for source, target in _HTTPCORE_TO_HTTPX:
            if isinstance(exc, source):
                raise target(str(exc)) from exc
        raise


class _Stream(httpx.AsyncByteStream):
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors():
            async for part in self._inner:
                yield part

    async def aclose(self) -> None:
        if hasattr(self._inner, "aclose"):
            await self._inner.aclose()


class _CheckedTransport(httpx.AsyncBaseTransport):
    """httpx transport over an httpcore pool whose every TCP connect is address-checked.

    Connections stay keyed by host name, so TLS verifies the real name and a pooled
    connection is never reused for a different host that happens to share an address.
    """

    def __init__(self, allowed_private_hosts: frozenset[str], max_connections: int) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=max_connections,
            max_keepalive_connections=min(20, max_connections),
            keepalive_expiry=5.0,
            http1=True,
            http2=False,
            network_backend=_CheckedBackend(allowed_private_hosts),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            response = await self._pool.handle_async_request(core_request)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Stream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


# --------------------------------------------------------------------------- body decoding


def _size(n: int) -> str:
    if n >= 1_000_000 and n % 100_000 == 0:
        return f"{n / 1_000_000:g} MB"
    if n >= 1_000 and n % 100 == 0:
        return f"{n / 1_000:g} KB"
    return f"{n} bytes"


class _TooBig(Exception):
    pass


class _Decoder:
    """Incremental Content-Encoding decoder that never yields more than the byte budget.

    zlib's ``max_length`` bounds each step, so a 100 KB gzip bomb stops at the cap instead of
    inflating 100 MB first. Mislabelled bodies (gzip/deflate headers on plain data) pass
    through unchanged, as feedparser tolerates them too.
    """

    def __init__(self, coding: str) -> None:
        self._coding = coding  # "identity", "gzip" or "deflate"
        self._zlib: Any = None
        self._pending = b""
        self._decided = coding == "identity"

    def feed(self, data: bytes, budget: int) -> bytes:
        if not self._decided:
            self._pending += data
            if len(self._pending) < 2:
                return b""
            data, self._pending = self._pending, b""
            self._decide(data)
        if self._zlib is None:
            if len(data) > budget:
                raise _TooBig
            return data
        return self._inflate(data, budget)

    def finish(self, budget: int) -> bytes:
        if not self._decided:
            data, self._pending = self._pending, b""
            self._decided = True
            return self.feed(data, budget) if data else b""
        if self._zlib is None:
            return b""
        tail = self._zlib.flush()
        if len(tail) > budget:
            raise _TooBig
        return tail

    def _decide(self, head: bytes) -> None:
        self._decided = True
        if self._coding == "gzip":
            if head.startswith(b"\x1f\x8b"):
                self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif head[0] & 0x0F == 8 and ((head[0] << 8) | head[1]) % 31 == 0:
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS)
        else:
            probe = zlib.decompressobj(-zlib.MAX_WBITS)
            try:
                probe.decompress(head, 4096)
            except zlib.error:
                return  # not deflate at all: identity
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)

    def _inflate(self, data: bytes, budget: int) -> bytes:
        out = bytearray()
        while data:
            try:
                chunk = self._zlib.decompress(data, budget - len(out) + 1)
            except zlib.error as exc:
                raise FetchFailed(f"the server sent corrupt {self._coding} data: {exc}") from exc
            out += chunk
            if len(out) > budget:
                raise _TooBig
            data = self._zlib.unconsumed_tail
            if self._zlib.eof:
                rest = self._zlib.unused_data
                if self._coding == "gzip" and rest.startswith(b"\x1f\x8b"):
                    self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    data = rest
                else:
                    break  # trailing garbage after the stream is ignored
        return bytes(out)


def _content_coding(value: str | None) -> str:
    codings = [c.strip().lower() for c in (value or "").split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return "identity"
    if len(codings) == 1 and codings[0] in ("gzip", "x-gzip", "deflate"):
        return "deflate" if codings[0] == "deflate" else "gzip"
    raise FetchFailed(
        f"the server used an unsupported Content-Encoding {value!r} (only gzip and deflate)"
    )


# --------------------------------------------------------------------------- entity guard

_ENTITY_DECL = re.compile(r"<!ENTITY", re.IGNORECASE)
_FIRST_ELEMENT = re.compile(r"<\w")
_XML_ENCODING = re.compile(r"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)""")
_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.IGNORECASE)
# Codecs in which "<!ENTITY" can only be spelled in ASCII (utf-7 and EBCDIC are not among them).
_ASCII_SUPERSETS = ("utf-8", "ascii", "iso8859-", "cp125", "koi8-", "mac-")
ENTITY_REFUSAL = (
    "refused: document declares an internal DTD subset (<!ENTITY>), a known entity-expansion attack"
)


def _prolog_end(text: str) -> int:
    """Offset where the XML prolog (declaration, comments, PIs, DOCTYPE) ends."""
    pos, n = 0, len(text)
    while pos < n:
        while pos < n and text[pos] in " \t\r\n\ufeff":
            pos += 1
        if text.startswith("<?", pos):
            end = text.find("?>", pos) + 1
        elif text.startswith("<!--", pos):
            end = text.find("-->", pos) + 2
        elif text[pos : pos + 9].upper() == "<!DOCTYPE":
            end = _doctype_end(text, pos)
        else:
            return pos
        if end <= pos:
            return n
        pos = end + 1
    return n


def _doctype_end(text: str, pos: int) -> int:
    """Index of the ``>`` closing a DOCTYPE, skipping quoted strings and the [...] subset."""
    depth, quote = 0, ""
    for i in range(pos + 9, len(text)):
        ch = text[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == ">" and depth <= 0:
            return i
    return -1


def _text_views(body: bytes, content_type: str | None) -> Iterator[str]:
    """The document as text in every encoding a parser might read it in, as cheaply as possible.

    Stripping NULs turns UTF-16/UTF-32 markup into ASCII; a declared non-ASCII-compatible
    charset (utf-7, EBCDIC...) gets a real decode.
    """
    yield body.decode("latin-1")
    if b"\x00" in body[:64]:
        yield body.replace(b"\x00", b"").decode("latin-1")
    if body.startswith(b"\x4c\x6f\xa7\x94"):
        yield body.decode("cp037", errors="replace")
    declared = _XML_ENCODING.match(body[:1024].replace(b"\x00", b"").decode("latin-1"))
    header = _CHARSET.search(content_type or "")
    for match in (declared, header):
        if match is None:
            continue
        try:
            name = codecs.lookup(match.group(1)).name
        except LookupError:
            continue
        if not name.startswith(_ASCII_SUPERSETS):
            yield body.decode(name, errors="replace")


def entity_refusal(body: bytes, content_type: str | None = None) -> str | None:
    """Why ``body`` must not reach a parser (it declares XML entities), or None.

    Checks both the real prolog and feedparser's notion of it (everything before the first
    ``<\\w``), since feedparser re-inserts "safe" entities it finds there; one such entity
    referenced many times expanded 103 KB into a 100 MB title in its loose parser.
    """
    for text in _text_views(body, content_type):
        first = _FIRST_ELEMENT.search(text)
        head_end = max(_prolog_end(text), first.start() if first else len(text))
        if _ENTITY_DECL.search(text, 0, head_end):
            return ENTITY_REFUSAL
    return None


# --------------------------------------------------------------------------- URLs


def normalise_url(url: str) -> httpx.URL:
    """Turn a user-supplied feed URL into an http(s) URL, or raise FetchRefused saying why."""
    text = url.strip()
    lowered = text.lower()
    if lowered.startswith("feed://"):
        text = "http://" + text[len("feed://") :]
    elif lowered.startswith("feed:"):
        text = text[len("feed:") :]
    match = _SCHEME_RE.match(text)
    if match is None:
        raise FetchRefused(
            f"refused: {url!r} is not an absolute URL; start it with https:// or http://"
        )
    scheme = match.group(1).lower()
    if scheme not in _ALLOWED_SCHEMES:
        raise FetchRefused(f"refused: scheme {scheme!r} is not allowed (only http and https)")
    try:
        parsed = httpx.URL(text)
        parsed.host  # noqa: B018 - httpx decodes IDNA lazily and raises here on bad punycode
    except (httpx.InvalidURL, ValueError) as exc:
        raise FetchRefused(f"refused: {url!r} is not a valid URL ({exc})") from exc
    if not parsed.raw_host:
        raise FetchRefused(f"refused: {url!r} has no host name")
    return parsed


# --------------------------------------------------------------------------- fetcher


class _HostSlots:
    """One semaphore per host, created on demand and dropped when idle."""

    def __init__(self, limit: int) -> None:
        self._limit = max(1, limit)
        self._slots: dict[str, tuple[asyncio.Semaphore, int]] = {}

    @asynccontextmanager
    async def hold(self, host: str) -> AsyncIterator[None]:
        semaphore, users = self._slots.get(host, (asyncio.Semaphore(self._limit), 0))
        self._slots[host] = (semaphore, users + 1)
        try:
            async with semaphore:
                yield
        finally:
            semaphore, users = self._slots[host]
            if users <= 1:
                del self._slots[host]
            else:
                self._slots[host] = (semaphore, users - 1)


class _Budget:
    """The request time one fetch may still spend, across all of its redirect hops.

    Only time inside `spend` counts, and the fetcher enters it once it holds the hop's host
    slot: a redirect's second hop queueing behind other fetches of its host keeps the budget
    it had left, instead of timing out before it is sent (as a single wall-clock deadline
    set at the first hop did on a busy machine)."""

    def __init__(self, seconds: float) -> None:
        self.left = seconds

    @asynccontextmanager
    async def spend(self) -> AsyncIterator[None]:
        """Run the block under what is left; raises TimeoutError when that runs out."""
        if self.left <= 0:
            raise TimeoutError
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            async with asyncio.timeout(self.left):
                yield
        finally:
            self.left -= loop.time() - started


@dataclass
class _Hop:
    """Outcome of one request: either the next URL to follow or the final result."""

    next_url: httpx.URL | None = None
    result: FetchResult | None = None


def _phrase(status: int) -> str:
    try:
        return f"HTTP {status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def _describe(exc: BaseException) -> str:
    """A user-facing sentence for a transport exception."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        if isinstance(exc.__cause__, ssl.SSLError) or "SSL" in text or "certificate" in text:
            return f"TLS handshake failed: {text}"
        return f"could not connect: {text}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"the server sent a malformed HTTP response: {text}"
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return f"connection lost: {text}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {text}"
    return f"fetch failed: {text}"


class GuardedFetcher:
    """Fetches untrusted URLs with one shared connection pool; use ``async with``.

    The process normally has exactly one, owned by `bot.feeds.client.HttpClient`, so feeds,
    feed checks and article pages share the pool and the per-host slots.
    """

    def __init__(
        self, settings: FetchSettings | None = None, *, max_connections: int = 100
    ) -> None:
        """``max_connections`` should be at least the number of fetches in flight at once: a
        fetch waiting for a pooled connection is spending its deadline."""
        self.settings = settings or FetchSettings()
        self._slots = _HostSlots(self.settings.per_host_limit)
        allowed = frozenset(_normalise_host(h) for h in self.settings.allow_private_hosts)
        self._client = httpx.AsyncClient(
            transport=_CheckedTransport(allowed, max_connections),
            follow_redirects=False,
            trust_env=False,  # an env proxy would bypass the address checks
            timeout=httpx.Timeout(self.settings.timeout_s),
            headers={"User-Agent": self.settings.user_agent, "Accept-Encoding": _ACCEPT_ENCODING},
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = DEFAULT_ACCEPT,
    ) -> FetchResult:
        """GET ``url`` under the settings; problems come back as status "error", never raised."""
        try:
            start = normalise_url(url)
            return await self._follow(url, start, etag, last_modified, accept)
        except (FetchRefused, FetchFailed) as exc:
            return FetchResult(url=url, status="error", error=str(exc))
        except (TimeoutError, httpx.TimeoutException):
            return FetchResult(
                url=url, status="error", error=f"timed out after {self.settings.timeout_s:g} s"
            )
        except (httpx.HTTPError, OSError) as exc:
            return FetchResult(url=url, status="error", error=_describe(exc))
        except Exception as exc:  # the contract is "never raises": log loudly instead
            log.exception("unexpected error fetching %s", url)
            return FetchResult(url=url, status="error", error=f"fetch failed unexpectedly: {exc!r}")

    async def _follow(
        self,
        original: str,
        current: httpx.URL,
        etag: str | None,
        last_modified: str | None,
        accept: str,
    ) -> FetchResult:
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        budget = _Budget(self.settings.timeout_s)
        for hop in range(self.settings.max_redirects + 1):
            async with self._slots.hold(current.raw_host.decode("ascii", "replace").lower()):
                try:
                    async with budget.spend():
                        outcome = await self._request(original, current, headers)
                except FetchRefused as exc:
                    if hop == 0:
                        raise
                    raise FetchRefused(f"{exc} (after a redirect to {current})") from exc
            if outcome.result is not None:
                return outcome.result
            assert outcome.next_url is not None
            current = outcome.next_url
        raise FetchRefused(f"refused: more than {self.settings.max_redirects} redirects")

    @asynccontextmanager
    async def _open(self, url: httpx.URL, headers: dict[str, str]) -> AsyncIterator[httpx.Response]:
        """``client.stream`` with httpx's eager redirect bookkeeping made harmless.

        httpx pre-builds the next request of every 3xx even with follow_redirects=False, and
        a Location with bad punycode makes that raise a bare ValueError (IDNAError).
        """
        async with AsyncExitStack() as stack:
            try:
                response = await stack.enter_async_context(
                    self._client.stream("GET", url, headers=headers)
                )
            except ValueError as exc:
                raise FetchFailed(f"redirect to an invalid URL: {exc}") from exc
            yield response

    async def _request(self, original: str, url: httpx.URL, headers: dict[str, str]) -> _Hop:
        async with self._open(url, headers) as response:
            status = response.status_code
            if status in _REDIRECT_STATUSES:
                return _Hop(next_url=self._redirect_target(url, response))
            common: dict[str, Any] = {
                "url": original,
                "final_url": str(url),
                "http_status": status,
                "etag": response.headers.get("etag"),
                "last_modified": response.headers.get("last-modified"),
            }
            if status == 304:
                if "If-None-Match" not in headers and "If-Modified-Since" not in headers:
                    raise FetchFailed(f"{_phrase(304)} to a request that sent no validators")
                return _Hop(
                    result=FetchResult(
                        status="not_modified",
                        **{
                            **common,
                            "etag": common["etag"] or headers.get("If-None-Match"),
                            "last_modified": common["last_modified"]
                            or headers.get("If-Modified-Since"),
                        },
                    )
                )
            if not 200 <= status < 300:
                return _Hop(result=FetchResult(status="error", error=_phrase(status), **common))
            body = await self._read_body(response)
            content_type = response.headers.get("content-type")
            if (reason := entity_refusal(body, content_type)) is not None:
                raise FetchRefused(reason)
            kept = {
                k.lower(): v for k, v in response.headers.items() if k.lower() not in _WIRE_HEADERS
            }
            return _Hop(
                result=FetchResult(
                    status="ok", body=body, content_type=content_type, headers=kept, **common
                )
            )

    def _redirect_target(self, url: httpx.URL, response: httpx.Response) -> httpx.URL:
        location = response.headers.get("location")
        if not location:
            raise FetchFailed(f"{_phrase(response.status_code)} without a Location header")
        try:
            target = url.join(location.strip())
            target.host  # noqa: B018 - see normalise_url
        except (httpx.InvalidURL, ValueError) as exc:
            raise FetchFailed(f"redirect to an invalid URL {location!r}: {exc}") from exc
        if target.scheme not in _ALLOWED_SCHEMES:
            raise FetchRefused(
                f"refused: redirect to scheme {target.scheme!r} is not allowed "
                "(only http and https)"
            )
        if not target.raw_host:
            raise FetchFailed(f"redirect to a URL without a host: {location!r}")
        return target

    async def _read_body(self, response: httpx.Response) -> bytes:
        cap = self.settings.max_bytes
        too_big = f"refused: response exceeds {_size(cap)} after decompression"
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise FetchRefused(
                f"refused: response exceeds {_size(cap)} (Content-Length {declared})"
            )
        decoder = _Decoder(_content_coding(response.headers.get("content-encoding")))
        body = bytearray()
        received = 0
        try:
            async for chunk in response.aiter_raw():
                received += len(chunk)
                if received > cap:
                    raise _TooBig
                body += decoder.feed(chunk, cap - len(body))
            body += decoder.finish(cap - len(body))
        except _TooBig:
            raise FetchRefused(too_big) from None
        return bytes(body)
