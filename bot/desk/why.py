"""`/why` and `watchdesk why`: where one article stopped on its way to an alert, in plain words.

Every sentence comes from stored state, never a re-run of the pipeline: the feeds that showed
the article (`feed_entries`, with the identity a duplicate was recognised by), when it was
stored, whether it could alert at all (a feed's first poll is history), the gate's outcome as
recorded when it was analysed (`articles.analysis_trace`: matched spellings, or the closest miss
and why), the alert and each delivery's outbox state. For a URL no feed listed, the only
network call: the page (then its site's home page) is fetched through the guarded client to
find a feed to suggest adding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from bot.desk.command_text import cmd
from bot.desk.replies import Arg, MessageLink, Part, Reply, lines
from bot.errors import UserError
from bot.feeds.client import HttpClient
from bot.feeds.discover import discover_feed_links
from bot.feeds.identity import article_key
from bot.feeds.subscribe import FeedChecker
from bot.models import FeedEntry, FeedInfo, MessageRef, TermTrace
from bot.settings import FetchSettings
from bot.store.articles import MAX_ANALYSIS_FAILURES, ArticleHistory, Sighting
from bot.store.outbox import Intent, IntentKind
from bot.store.repo import Store
from bot.store.stories import JoinedStory, thread_post_key

MAX_SUGGESTIONS = 3
_ALERT_RE = re.compile(r"#?(\d{1,12})")
_FOLDED = {
    "guid": "the same guid",
    "link": "the same canonical link",
    "content": "the same title and text (content hash)",
}


@dataclass(frozen=True)
class AlertNumber:
    n: int


@dataclass(frozen=True)
class ArticleUrl:
    url: str


Target = AlertNumber | ArticleUrl


def parse_target(text: str) -> Target:
    """``12`` / ``#12`` → an alert number; an http(s) address → an article; else `UserError`."""
    text = text.strip()
    number = _ALERT_RE.fullmatch(text)
    if number:
        return AlertNumber(int(number.group(1)))
    parts = urlsplit(text) if " " not in text else None
    if parts is not None and parts.scheme.lower() in ("http", "https") and parts.hostname:
        return ArticleUrl(text)
    raise UserError(
        f"“{text}” is neither an article's web address (https://…) nor an alert number (42)."
    )


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"


def feed_state(feed: FeedInfo) -> str:
    """A feed's health in words: disabled (and why), backing off after failures, or fine."""
    if feed.state == "disabled":
        return f"DISABLED: {feed.disabled_reason or feed.last_error or 'after repeated failures'}"
    if feed.state == "removed":
        return "removed (no longer polled)"
    if feed.error_count:
        return (
            f"backing off after {feed.error_count} failed poll(s) (last: {feed.last_error}); "
            f"next poll {when(feed.next_poll_at)}"
        )
    return f"active; last success {when(feed.last_success_at)}, next poll {when(feed.next_poll_at)}"


def _feed_name(feed: FeedInfo | None) -> str:
    if feed is None:
        return "a feed since removed"
    return f"{feed.name} ({feed.url})" if feed.name else feed.url


def _term(t: TermTrace) -> str:
    spelling = "" if t.alias == t.entity else f" as “{t.alias}”"
    return f"{t.entity}{spelling}"


class Why:
    """The `/why` use case; the desk and the CLI call `explain`."""

    def __init__(self, store: Store, checker: FeedChecker | None):
        self.store = store
        self.checker = checker

    def explain(self, text: str, platform: str = "") -> Reply:
        """The trace of the article at a URL or behind an alert number. ``platform`` puts the
        asker's own platform's message links first."""
        target = parse_target(text)
        if isinstance(target, AlertNumber):
            article_id = self.store.alerts.article_for_alert(target.n)
            if article_id is None:
                raise UserError(f"There is no alert #{target.n}.")
        else:
            key = article_key(FeedEntry(None, target.url, "", "", "")) or target.url
            found = self.store.articles.article_id_for(key, target.url.strip())
            if found is None:
                return Reply(*self._unknown(target.url))
            article_id = found
        history = self.store.articles.history(article_id)
        if history is None:  # deleted between the two reads
            raise UserError("That article is no longer stored.")
        return Reply(*self._trace(history, platform))

    # ------------------------------------------------------------------ a stored article

    def _trace(self, a: ArticleHistory, platform: str) -> tuple[Part, ...]:
        wanted = {a.feed_id or -1, *(s.feed_id for s in a.sightings)}
        feeds = {i: f for i in wanted if (f := self.store.feeds.feed_by_id(i)) is not None}
        rows: list[tuple[Part, ...] | Part] = [f"“{a.title or '(no title)'}” — {a.link or a.key}"]
        alert_id = self.store.alerts.alert_for_article(a.id)
        joined = self.store.stories.joined_story(a.id) if alert_id is None else None
        rows.append(self._joined(joined) if joined is not None else self._verdict(a, alert_id))
        rows.append(f"Stored {when(a.stored_at)} from {_feed_name(feeds.get(a.feed_id or -1))}.")
        rows.append("Feeds that list it:")
        rows.extend(self._sighting(s, feeds.get(s.feed_id)) for s in a.sightings)
        rows.extend(self._matching(a))
        if alert_id is not None:
            story = self.store.stories.sources(alert_id)
            if story.count > 1:
                rows.append(
                    f"Its story has {story.count} sources: {', '.join(story.outlets)}; later "
                    "copies were posted into the alert's thread."
                )
            rows.extend(self._deliveries(alert_id, platform))
        elif joined is not None:
            rows.extend(self._thread_posts(joined, a.id, platform))
        return lines(*rows)

    @staticmethod
    def _joined(joined: JoinedStory) -> str:
        return (
            f"Not alerted on its own: it reports the story of alert #{joined.alert_id} (matched "
            f"{when(joined.joined_at)}, as {joined.outlet}), so it was posted into that alert's "
            "thread (one alert per story; [stories] sets how alike two reports must be)."
        )

    def _thread_posts(
        self, joined: JoinedStory, article_id: int, platform: str
    ) -> list[tuple[Part, ...]]:
        prefix = thread_post_key(joined.story_id, article_id, "")
        posts = [
            i
            for i in self.store.outbox.intents_for_alert(joined.alert_id, IntentKind.THREAD_POST)
            if (i.idempotency_key or "").startswith(prefix)
        ]
        if not posts:
            return [("No thread post was queued for it.",)]
        posts.sort(key=lambda i: i.destination.platform != platform)
        rows: list[tuple[Part, ...]] = [(f"Thread post in alert #{joined.alert_id}:",)]
        rows.extend(_delivery(i, "open the thread post") for i in posts)
        return rows

    def _verdict(self, a: ArticleHistory, alert_id: int | None) -> str:
        """The one line that says where the article stopped."""
        if alert_id is not None:
            return f"Alerted as #{alert_id}; the deliveries are below."
        if not a.alertable:
            return (
                "Not alerted: it was already in the feed when Watchdesk first polled it, and "
                "what a new feed holds is recorded as history; only items that appear later "
                "alert ([poll] backfill lets a first poll alert on a few)."
            )
        if a.analysed_at is None:
            if a.analysis_failures >= MAX_ANALYSIS_FAILURES:
                return (
                    f"Not alerted: analysing it failed {a.analysis_failures} times (a bug, "
                    "logged with its traceback), so it is no longer retried."
                )
            tried = f" (failed {a.analysis_failures} time(s) so far)" if a.analysis_failures else ""
            return f"Not alerted yet: it waits for analysis in the next cycle{tried}."
        return "Not alerted: no watched name matched it."

    @staticmethod
    def _sighting(s: Sighting, feed: FeedInfo | None) -> str:
        state = f" — {feed_state(feed)}" if feed else ""
        if s.other_link is not None:
            how = (
                f"listed it again {when(s.seen_at)} under another address ({s.other_link}) "
                f"with {_FOLDED.get(s.folded_by or '', s.folded_by)}: recognised as this "
                "article, so it did not alert again"
            )
        elif s.folded_by is None:
            how = f"listed it first ({when(s.seen_at)}): this entry stored the article"
        else:
            how = (
                f"listed it {when(s.seen_at)} as a duplicate: recognised by "
                f"{_FOLDED.get(s.folded_by, s.folded_by)} as this article, so it did not alert "
                "again"
            )
        return f"• {_feed_name(feed)} {how}{state}"

    @staticmethod
    def _matching(a: ArticleHistory) -> list[str]:
        if a.analysed_at is None or not a.alertable:
            return []
        trace = a.trace
        if trace is None:
            return ["Matching: not recorded (analysed before Watchdesk kept the reason)."]
        if trace.matched:
            found = ", ".join(f"{_term(t)} (salience {t.salience:.2f})" for t in trace.matched)
            return [f"Matched: {found}."]
        miss = trace.near_miss
        if miss is None:
            return ["Matching: no watched name, spelling or part of a name appears in it."]
        return [f"Closest: {_term(miss)} — {miss.reason}."]

    def _deliveries(self, alert_id: int, platform: str) -> list[tuple[Part, ...]]:
        posts = self.store.outbox.intents_for_alert(alert_id, IntentKind.POST_ALERT)
        if not posts:
            return [("Routed nowhere: the alert has no deliveries.",)]
        posts.sort(key=lambda i: i.destination.platform != platform)
        destinations = ", ".join(str(i.destination) for i in posts)
        rows: list[tuple[Part, ...]] = [(f"Routed to {destinations}:",)]
        rows.extend(_delivery(i) for i in posts)
        return rows

    # ------------------------------------------------------------------ an unknown URL

    def _unknown(self, url: str) -> tuple[Part, ...]:
        feeds = self.store.feeds.list_feeds()
        host = (urlsplit(url).hostname or "").lower()
        rows: list[tuple[Part, ...] | Part] = [
            f"No feed Watchdesk polls has listed {url}: it was never stored, so it could not "
            f"alert ({len(feeds)} feed(s) polled)."
        ]
        same_site = [f for f in feeds if _same_site(urlsplit(f.url).hostname or "", host)]
        if same_site:
            rows.append(f"Feeds from {host} (the article is not in them):")
            rows.extend(f"• {_feed_name(f)} — {feed_state(f)}" for f in same_site)
        rows.extend(self._suggest(url, {f.url for f in feeds}))
        return lines(*rows)

    def _suggest(self, url: str, polled: set[str]) -> list[tuple[Part, ...] | Part]:
        """The feeds the page (or its site's home page) links to, each with its `/feeds add`."""
        if self.checker is None:
            return []
        parts = urlsplit(url.strip())
        home = urlunsplit((parts.scheme, parts.netloc, "/", "", ""))
        problem, fetched = "", False
        links: list[tuple[str, str | None]] = []
        for page in dict.fromkeys([url.strip(), home]):
            try:
                links = discover_feed_links(self.checker.fetch_page(page), page)
            except UserError as exc:
                problem = problem or str(exc)
                continue
            fetched = True
            if links:
                break
        fresh = [(link, title) for link, title in links if link not in polled]
        if not fresh:
            if links:
                return ["Its site's feed is already polled, and it does not list this article."]
            if not fetched:
                return [f"Looking for its site's feed: {problem}"]
            return ["Its page and its site's home page name no feed to add."]
        out: list[tuple[Part, ...] | Part] = ["Its site offers a feed; to poll it:"]
        for link, title in fresh[:MAX_SUGGESTIONS]:
            label = f" ({title})" if title else ""
            out.append((f"• {link}{label} — ", cmd("feeds", "add", Arg("url", link))))
        return out


def _same_site(a: str, b: str) -> bool:
    a, b = a.lower().removeprefix("www."), b.lower().removeprefix("www.")
    return bool(a) and a == b


def _delivery(i: Intent, label: str = "open the alert") -> tuple[Part, ...]:
    where = f"• {i.destination}: "
    tries = f"{i.attempts} attempt{'s' if i.attempts != 1 else ''}"
    if i.state == "sent":
        text = f"{where}sent {when(i.sent_at)} ({tries})"
        if i.message_id:
            ref = MessageRef(str(i.destination), i.message_id, i.thread_id)
            return (text + " · ", MessageLink(ref, label))
        return (text,)
    if i.state == "failed":
        return (f"{where}FAILED after {tries}; last error: {i.last_error or 'unknown'}",)
    if i.attempts == 0:
        return (f"{where}queued, not tried yet (due {when(i.next_attempt_at)})",)
    return (
        f"{where}retrying: {tries} so far, last error: {i.last_error or 'unknown'}; "
        f"next try {when(i.next_attempt_at)}",
    )


def why_once(store: Store, fetch: FetchSettings, target: str) -> Reply:
    """`watchdesk why`: one trace on the terminal, with its own guarded HTTP client (for the
    feed discovery of an unknown URL), closed afterwards. No analyser is loaded."""
    with HttpClient(fetch) as http:
        return Why(store, FeedChecker(http)).explain(target, "cli")
