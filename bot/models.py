"""Plain data passed between the pipeline's stages; no I/O, no library types.

Every stage speaks these types so that feedparser, spaCy, SQLAlchemy and the chat SDKs stay
confined to the one module that needs each of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

# --------------------------------------------------------------------------- destinations

PLATFORMS = ("console", "slack", "discord")


@dataclass(frozen=True, order=True)
class Destination:
    """Where a message goes: a platform and that platform's channel id ("" for the console).

    The text form ``"slack:C0123"`` / ``"discord:1234"`` / ``"console"`` is what config files
    and the database hold; `parse` is the only place that reads it. Whether a channel id is
    well-formed for its platform is that platform adapter's call (see `bot.chat`).
    """

    platform: str
    channel: str = ""

    def __post_init__(self) -> None:
        if self.platform not in PLATFORMS:
            raise ValueError(f"unknown platform {self.platform!r}")
        if (self.platform == "console") != (self.channel == ""):
            raise ValueError("the console has no channels; every other platform needs one")

    @classmethod
    def parse(cls, text: str) -> Destination:
        """ "slack:C0123" → Destination("slack", "C0123"); raises ValueError otherwise."""
        platform, sep, channel = text.strip().partition(":")
        if platform == "console" and not sep:
            return CONSOLE
        if not sep or not channel:
            raise ValueError(f"{text!r} is not <platform>:<channel id>")
        return cls(platform, channel)

    def __str__(self) -> str:
        return self.platform if self.platform == "console" else f"{self.platform}:{self.channel}"


CONSOLE = Destination("console")

# --------------------------------------------------------------------------- feeds


@dataclass(frozen=True)
class FetchResult:
    """What the guarded fetcher got for one URL.

    ``status`` is "ok" (``body`` holds the checked bytes), "not_modified" (a 304: nothing to
    parse) or "error" (``error`` says why, in words a user can act on).
    """

    url: str
    status: str
    final_url: str | None = None
    body: bytes | None = None
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    http_status: int | None = None
    error: str | None = None
    # Headers a parser needs to pick the right encoding (content-type, content-location...).
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FeedEntry:
    """One item of a parsed feed, with every field already length-capped."""

    guid: str | None
    link: str | None
    title: str
    summary: str
    content: str
    published: datetime | None = None
    author: str | None = None


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    link: str | None
    entries: tuple[FeedEntry, ...]
    bozo: bool = False
    bozo_reason: str | None = None


@dataclass(frozen=True)
class FeedInfo:
    """A watched feed as the store holds it: where it is, when it is due, how polls went."""

    id: int
    url: str
    name: str | None
    label: str | None
    interval_s: int
    state: str
    channels: tuple[str, ...]
    etag: str | None
    last_modified: str | None
    next_poll_at: datetime
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    error_count: int
    disabled_reason: str | None
    primed: bool
    body_hash: str | None = None  # sha256 of the last body parsed: the same body is not re-parsed


@dataclass(frozen=True)
class NewEntry:
    """A parsed entry with its per-feed identity and its cross-feed article key."""

    identity: str
    key: str
    entry: FeedEntry
    # "content:<sha256>" of the normalised title and body (`identity.content_identity`), or
    # None when the entry has no body: how a re-published copy with a new guid and link is
    # recognised within its feed.
    content_identity: str | None = None


@dataclass(frozen=True)
class StoredState:
    """What the store already knows about a poll's entries: the identities this feed has shown
    before, and the article keys stored from any feed."""

    seen: frozenset[str] = frozenset()
    known_keys: frozenset[str] = frozenset()


@dataclass(frozen=True)
class NewArticle:
    entry: NewEntry
    alertable: bool


@dataclass(frozen=True)
class Decision:
    """What one poll adds (`bot.feeds.decide.decide`): entries this feed shows for the first
    time (recorded as seen, each linked to its article) and the articles nobody stored yet,
    each marked whether it may alert. The store applies it as given."""

    unseen: tuple[NewEntry, ...] = ()
    new_articles: tuple[NewArticle, ...] = ()
    # unseen entries whose content identity this feed already showed (or that an earlier entry
    # of this poll carries): a re-published copy, linked to that article, never a new one
    republished: tuple[NewEntry, ...] = ()
    # Entries under an identity this feed already showed (or showed earlier in this document)
    # but at an address no article has: a story republished with a new link and the same guid.
    # Never an article of their own; the store records the address against the first one, so
    # `/why <new address>` can say what happened to it.
    relinked: tuple[NewEntry, ...] = ()


@dataclass(frozen=True)
class PollSuccess:
    """A feed that answered (200 or 304): what to remember about it until the next poll."""

    feed_id: int
    now: datetime
    next_poll_at: datetime
    etag: str | None
    last_modified: str | None
    primed: bool = True
    body_hash: str | None = None


# --------------------------------------------------------------------------- watchlist


@dataclass(frozen=True)
class Entity:
    """A watched thing: the name users see, every surface form that should match it, forms that
    must not, and the destinations its alerts go to (e.g. "slack:C0123", "discord:4567",
    "console")."""

    name: str
    aliases: tuple[str, ...] = ()
    exclusions: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()


# --------------------------------------------------------------------------- analysis


class Section(StrEnum):
    HEADLINE = "headline"
    LEAD = "lead"
    BODY = "body"


@dataclass(frozen=True)
class Sentence:
    """A sentence of an article, with character offsets into the text it came from."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Hit:
    text: str
    sentence: str
    section: Section


@dataclass(frozen=True)
class EntityMatch:
    """Why an article matched one watched entity: the hits and how prominent they are (0..1)."""

    name: str
    salience: float
    hits: tuple[Hit, ...]
    channels: tuple[str, ...] = ()


class ClaimKind(StrEnum):
    STATISTIC = "statistic"
    QUOTE = "quote"
    ATTRIBUTION = "attribution"
    CAUSAL = "causal"
    COMPARISON = "comparison"
    STATUS = "status"
    PREDICTION = "prediction"


@dataclass(frozen=True)
class Claim:
    """A check-worthy sentence; ``n`` numbers flagged claims 1.. in article order and is what
    users type in verdict replies. ``cues`` are the words that made it check-worthy."""

    n: int
    text: str
    score: float
    kinds: tuple[ClaimKind, ...]
    cues: tuple[str, ...] = ()


TITLE_ROW = -1  # `SentenceVectors.sentences` label of the article's title


@dataclass(frozen=True)
class SentenceVectors:
    """An article's sentence vectors, encoded once and reused (claims now; stories, recall).

    Not every sentence has a vector: the analyser encodes the title, the lead sentence, the
    claim candidates and every flagged claim. ``data`` is ``rows`` x ``dim`` little-endian
    float16, rows L2-normalised; ``sentences[i]`` says which sentence row i encodes (its index
    in the article's split text, or `TITLE_ROW` for the title), ascending; ``encoder`` names
    the vector space (never compare rows of different encoders); ``claim_rows[j]`` is the row
    of ``Analysis.claims[j]``. ``bot.analysis.encoder.vectors_array`` makes the matrix."""

    encoder: str
    rows: int
    dim: int
    data: bytes
    claim_rows: tuple[int, ...] = ()
    sentences: tuple[int, ...] = ()

    def row_of(self, sentence: int) -> int | None:
        """The row holding sentence ``sentence`` (or `TITLE_ROW`), None when not encoded."""
        try:
            return self.sentences.index(sentence)
        except ValueError:
            return None


@dataclass(frozen=True)
class TermTrace:
    """One watched entity's outcome for one article, as `/why` tells it later: the alias that
    was found (or came closest), the salience, and, for a near miss, why it did not count
    ("salience 0.18 below min_salience 0.30", "inside exclusion 'Viktor Lukashenko'", "only
    part of the name: 'Khrenin'")."""

    entity: str
    alias: str
    salience: float
    reason: str = ""


@dataclass(frozen=True)
class AnalysisTrace:
    """What the gate decided about one article: the entities it matched, and when none did,
    the closest miss (None: no watched word appeared at all). Stored with the article."""

    matched: tuple[TermTrace, ...] = ()
    near_miss: TermTrace | None = None


@dataclass(frozen=True)
class Analysis:
    matched: bool
    entities: tuple[EntityMatch, ...]
    summary: tuple[str, ...]
    claims: tuple[Claim, ...]
    vectors: SentenceVectors | None = None  # None without an encoder or when nothing matched
    trace: AnalysisTrace | None = None  # for `/why`; None when the gate did not run


# --------------------------------------------------------------------------- verdicts and alerts


class Verdict(StrEnum):
    UNCHECKED = "unchecked"
    TRUE = "true"
    FALSE = "false"
    MISLEADING = "misleading"
    UNPROVEN = "unproven"


@dataclass(frozen=True)
class CheckerVerdict:
    """One checker's current verdict on a claim (their latest; verdicts are kept as history)."""

    verdict: Verdict
    checked_by: str
    checked_at: datetime | None = None
    source_url: str | None = None


@dataclass(frozen=True)
class ClaimView:
    """A claim as an alert shows it: its latest verdict and who gave it, and ``disagreements``:
    other checkers whose own latest verdict differs from it (shown, never overwritten)."""

    n: int
    text: str
    kinds: tuple[str, ...]
    verdict: Verdict = Verdict.UNCHECKED
    checked_by: str | None = None
    checked_at: datetime | None = None
    source_url: str | None = None
    note: str | None = None
    disagreements: tuple[CheckerVerdict, ...] = ()
    # earlier checks this claim resembles (the desk's memory), closest first
    recall: tuple[RecallView, ...] = ()
    # who said "I'm on it" (until a verdict, or the assignment times out)
    assigned_to: str | None = None


@dataclass(frozen=True)
class EntityView:
    name: str
    why: str


@dataclass(frozen=True)
class AlertView:
    """Everything a chat adapter needs to render one alert. Text here is raw feed text: each
    adapter escapes it for its own markup, last, exactly once."""

    alert_id: int
    title: str
    url: str | None
    source: str
    published: datetime | None
    entities: tuple[EntityView, ...]
    summary: tuple[str, ...]
    claims: tuple[ClaimView, ...]
    # the story this alert opened: how many articles report it and their outlets (first
    # first); 1 and () until another outlet's copy joins it
    story_sources: int = 1
    story_outlets: tuple[str, ...] = ()

    @property
    def story_header(self) -> str | None:
        """ "3 sources: A, B, C" once more than one article reports the story (raw text: each
        adapter escapes it), else None."""
        if self.story_sources <= 1:
            return None
        return f"{self.story_sources} sources: {', '.join(self.story_outlets)}"


@dataclass(frozen=True)
class MessageRef:
    """Where a delivered alert lives on its platform, so it can be edited and threaded."""

    destination: str
    message_id: str
    thread_id: str | None = None


# --------------------------------------------------------------------------- the desk's memory


@dataclass(frozen=True)
class FactCheck:
    """A fact-check the desk trusts, imported from schema.org ClaimReview: the claim as the
    checker worded it, their textual rating (``reviewRating.alternateName``, e.g. "False"),
    the page of the review, who checked it, when, and who made the claim
    (``itemReviewed.author``)."""

    claim: str
    rating: str
    url: str
    checker: str
    published: datetime | None = None
    claimant: str | None = None


@dataclass(frozen=True)
class RecallView:
    """An earlier check a new claim resembles, as the alert shows it on that claim.

    ``level`` is "close" (at or above ``[memory] recall_threshold``: "already checked") or
    "near" (at or above ``near_threshold``: "similar to", for a human to confirm); ``ref`` is
    what a checker types to confirm or reject it ("#14:3" for claim 3 of alert 14, "#f7" for
    imported fact-check 7); ``state`` is "suggested", "confirmed" or "rejected"."""

    ref: str
    level: str
    score: float
    text: str
    rating: str
    checker: str
    checked_at: datetime | None
    source_url: str | None
    alert_id: int | None = None
    alert_url: str | None = None
    message: MessageRef | None = None
    state: str = "suggested"
