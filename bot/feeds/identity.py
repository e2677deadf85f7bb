"""Entry identity: what makes two sightings of a feed item "the same", within and across feeds.

``entry_identity`` keys an entry within its feed (guid, else canonical link, else a content
hash); ``article_key`` recognises one article reached through two feeds; ``content_identity``
recognises a feed re-publishing an item it showed before under a new guid and link. Dates never take part:
feeds rewrite pubDate on every build, and an identity that moves re-alerts old news.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot.analysis.text import strip_html
from bot.models import FeedEntry

# A body shorter than this (after normalising) says too little to recognise an article by:
# "Live updates" or "Read more" repeated under different guids are different items.
MIN_CONTENT_CHARS = 40
_NON_WORD_RE = re.compile(r"[\W_]+")

# Query parameters that only say how a reader arrived (campaigns, click ids, mail tools).
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "rb_clickid",
        "s_cid",
        "ncid",
        "cmpid",
        "at_medium",
        "at_campaign",
        "ito",
        "guccounter",
        "guce_referrer",
        "guce_referrer_sig",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "itm_")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """``url`` written one way: lower-case scheme and host, no default port, no fragment,
    no tracking parameters, remaining parameters sorted, "/" for an empty path.

    A string that does not parse as a URL comes back stripped but otherwise unchanged.
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if not scheme or not host:
        return text
    if ":" in host:
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = (f"{userinfo}@" if userinfo else "") + host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc += f":{port}"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = urlencode(sorted((k, v) for k, v in pairs if not _is_tracking(k)))
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def entry_identity(entry: FeedEntry) -> str:
    """Per-feed identity: "guid:<guid>", else "link:<canonical link>", else "hash:<sha256>"."""
    guid = (entry.guid or "").strip()
    if guid:
        return f"guid:{guid}"
    link = (entry.link or "").strip()
    if link:
        return f"link:{canonical_url(link)}"
    digest = hashlib.sha256(
        f"{entry.title.strip()}\x1f{entry.content.strip()}".encode()
    ).hexdigest()
    return f"hash:{digest}"


def article_key(entry: FeedEntry) -> str | None:
    """The canonical link, with http and https folded together, or None without a link.

    Two feeds often carry one story with different tracking parameters or schemes; the key
    lets the second sighting be recognised as the same article.
    """
    link = (entry.link or "").strip()
    if not link:
        return None
    canonical = canonical_url(link)
    if canonical.startswith("http://"):
        canonical = "https://" + canonical[len("http://") :]
    return canonical


def normalised_text(text: str) -> str:
    """Text reduced to what a reader reads: HTML dropped, NFKC, case folded, and every run of
    punctuation or whitespace one space. Typography (curly quotes, dashes, non-breaking spaces)
    and markup therefore never make two copies differ."""
    plain = strip_html(text) if ("<" in text or "&" in text) else text
    folded = unicodedata.normalize("NFKC", plain).casefold()
    return _NON_WORD_RE.sub(" ", folded).strip()


def content_identity(entry: FeedEntry) -> str | None:
    """ "content:<sha256>" of the normalised title and body (content, else summary), or None
    when the body is too short to tell articles apart. Links and guids take no part: a feed
    that re-publishes an item mints new ones."""
    body = normalised_text(entry.content or entry.summary or "")
    if len(body) < MIN_CONTENT_CHARS:
        return None
    title = normalised_text(entry.title or "")
    digest = hashlib.sha256(f"{title}\x1f{body}".encode()).hexdigest()
    return f"content:{digest}"
