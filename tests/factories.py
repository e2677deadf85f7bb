"""Small builders for test data (real dataclasses, no mocks)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.feeds.poll import record_entries
from bot.models import (
    Analysis,
    Claim,
    ClaimKind,
    EntityMatch,
    FeedEntry,
    Hit,
    NewEntry,
    Section,
    Verdict,
)
from bot.store.outbox import Intent, IntentKind
from bot.store.repo import Store


def entry(n: int, **overrides: object) -> FeedEntry:
    values: dict[str, object] = {
        "guid": f"guid-{n}",
        "link": f"https://news.example/a/{n}",
        "title": f"Story {n}",
        "summary": f"Summary {n}",
        "content": f"Content {n}",
        "published": datetime(2026, 1, 1, tzinfo=UTC),
    }
    values.update(overrides)
    return FeedEntry(**values)  # type: ignore[arg-type]


def analysis(channels: tuple[str, ...] = (), claims: int = 3) -> Analysis:
    hit = Hit("Lukashenko", "Lukashenko met the delegation in Minsk.", Section.LEAD)
    return Analysis(
        True,
        (EntityMatch("Lukashenko", 0.8, (hit,), channels),),
        ("Lukashenko met the delegation in Minsk.", "The talks lasted two hours."),
        tuple(
            Claim(i, f"Claim number {i} with 52 prisoners.", 0.9, (ClaimKind.STATISTIC,))
            for i in range(1, claims + 1)
        ),
    )


def stored_alert(
    store: Store, n: int = 1, destinations: tuple[str, ...] = ("console",), claims: int = 3
) -> int:
    """A feed, an article and its alert with outbox rows, as a poll would leave them."""
    url = f"https://feeds.example/{n}.xml"
    feed = store.feeds.get_feed(url) or store.feeds.add_feed(url, interval_s=600, name=f"Feed {n}")
    [article_id] = record_entries(
        store.articles,
        feed.id,
        [NewEntry(f"guid:{n}", f"link:{n}", entry(n))],
        primed=True,
        backfill=0,
    )
    return store.alerts.create_alert(
        article_id,
        source=feed.name or url,
        analysis=analysis(claims=claims),
        destinations=destinations,
    )


def give_verdict(
    store: Store,
    alert_id: int,
    claim: int,
    verdict: Verdict,
    by: str = "Ann",
    source_url: str | None = None,
    note: str | None = None,
) -> None:
    """A team member's verdict, as a thread reply would record it."""
    store.alerts.record_verdicts(
        alert_id,
        [claim],
        verdict,
        platform="slack",
        user_id=f"U-{by}",
        user_name=by,
        source_url=source_url,
        note=note,
    )


def settings_for_test(database_url: str, extra_toml: str = "", env: dict[str, str] | None = None):  # noqa: ANN201
    """Settings for a test: the desk's real default watchlist, loopback feeds allowed, no chat."""
    import tomllib

    from bot.settings import DEFAULT_CONFIG, settings_from_mapping

    raw = tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    raw.pop("feeds", None)
    raw["database_url"] = database_url
    raw["fetch"] = {**raw.get("fetch", {}), "allow_private_hosts": ["127.0.0.1"], "timeout": "5s"}
    extra = tomllib.loads(extra_toml)
    for key, value in extra.items():
        raw[key] = {**raw[key], **value} if isinstance(value, dict) and key in raw else value
    return settings_from_mapping(raw, env or {}, "test config")


def build_app(database_url: str, sinks: dict | None = None, extra_toml: str = "", **kw: object):  # noqa: ANN201
    import io

    from bot.app import Watchdesk
    from bot.chat.console import ConsoleSink

    settings = settings_for_test(database_url, extra_toml)
    return Watchdesk.build(settings, sinks or {"console": ConsoleSink(io.StringIO())}, **kw)


def posts_of(store: Store, alert_id: int) -> list[Intent]:
    """The alert's post intents, one per destination (where and whether it was posted)."""
    return store.outbox.intents_for_alert(alert_id, IntentKind.POST_ALERT)


def claims_analysis(texts: tuple[str, ...], encoder=None) -> Analysis:  # noqa: ANN001 - Encoder
    """An analysis flagging exactly ``texts`` as claims 1.., with the encoder's real vectors
    for them (as the analyser stores them: one sentence row per claim)."""
    from bot.analysis.encoder import pack_vectors

    base = analysis(claims=0)
    claims = tuple(
        Claim(i, text, 0.9, (ClaimKind.STATISTIC,)) for i, text in enumerate(texts, start=1)
    )
    vectors = (
        pack_vectors(encoder.id, encoder.encode(list(texts)), claim_rows=range(len(texts)))
        if encoder is not None
        else None
    )
    return Analysis(True, base.entities, base.summary, claims, vectors)


def stored_alert_with_claims(
    store: Store,
    n: int,
    texts: tuple[str, ...],
    encoder=None,  # noqa: ANN001 - Encoder
    destinations: tuple[str, ...] = ("console",),
) -> int:
    """Like `stored_alert`, with these claim texts and their real sentence vectors."""
    url = f"https://feeds.example/{n}.xml"
    feed = store.feeds.get_feed(url) or store.feeds.add_feed(url, interval_s=600, name=f"Feed {n}")
    [article_id] = record_entries(
        store.articles,
        feed.id,
        [NewEntry(f"guid:{n}", f"link:{n}", entry(n))],
        primed=True,
        backfill=0,
    )
    return store.alerts.create_alert(
        article_id,
        source=feed.name or url,
        analysis=claims_analysis(texts, encoder),
        destinations=destinations,
    )
