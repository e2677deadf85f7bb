"""The pure step between parse and store: what a poll adds, decided without a database.

Like lemon24/reader's updater, the decision is a function of what the store already holds (the
identities this feed has shown, the article keys stored from any feed, whether the feed has been
polled before, how many of a first poll's items may alert) and of the parsed entries. The store
only applies the result (`ArticleRepository.apply_decision`), so every rule about "new" lives and
is tested here.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.feeds.identity import article_key, content_identity, entry_identity
from bot.models import Decision, FeedEntry, NewArticle, NewEntry, StoredState


def identify(entries: Sequence[FeedEntry]) -> list[NewEntry]:
    """Give every entry its per-feed identity, its cross-feed article key and its content
    identity."""
    identified = []
    for entry in entries:
        identity = entry_identity(entry)
        key = article_key(entry) or identity
        identified.append(NewEntry(identity, key, entry, content_identity(entry)))
    return identified


def alertable_limit(primed: bool, backfill: int) -> int | None:
    """How many new articles of this poll may alert: all of them (None) once the feed has been
    polled before; on its first poll only ``backfill`` (0: what a new feed holds is history)."""
    return None if primed else max(0, backfill)


def decide(
    entries: Sequence[NewEntry], state: StoredState, *, primed: bool, backfill: int
) -> Decision:
    """What this poll adds.

    - An entry is *unseen* when this feed never showed its identity (the first of duplicates
      within one document wins).
    - An unseen entry whose key no feed stored yet is a *new article*; one whose key is stored
      (the same story through another feed) is only linked to it and never alerts again.
    - An unseen entry whose content identity (normalised title + body) this feed showed before,
      or an earlier entry of this document carries, is *republished*: the same article under a
      new guid and link, linked to it and never a new article.
    - New articles may alert, in document order, up to `alertable_limit`.
    - An entry whose identity was already seen (before, or earlier in this document) but whose
      key no article has is *relinked*: the same story under a new address; it never alerts.
    """
    unseen: dict[str, NewEntry] = {}
    relinked: dict[str, NewEntry] = {}
    for item in entries:
        first = unseen.get(item.identity)
        if item.identity not in state.seen and first is None:
            unseen[item.identity] = item
        elif item.key not in state.known_keys and (first is None or first.key != item.key):
            relinked.setdefault(item.key, item)
    limit = alertable_limit(primed, backfill)
    fresh: dict[str, NewArticle] = {}
    republished: list[NewEntry] = []
    contents: set[str] = set()
    alertable = 0
    for item in unseen.values():
        content = item.content_identity
        if content is not None and (content in state.seen or content in contents):
            republished.append(item)
            continue
        if content is not None:
            contents.add(content)
        if item.key in state.known_keys or item.key in fresh:
            continue
        may_alert = limit is None or alertable < limit
        alertable += may_alert
        fresh[item.key] = NewArticle(item, may_alert)
    return Decision(
        tuple(unseen.values()),
        tuple(fresh.values()),
        republished=tuple(republished),
        relinked=tuple(relinked.values()),
    )
