"""The pure decider: what a poll adds, from stored state and parsed entries, with no database."""

from __future__ import annotations

from bot.feeds.decide import alertable_limit, decide, identify
from bot.models import NewEntry, StoredState
from tests.factories import entry


def entries(*ns: int) -> list[NewEntry]:
    return identify([entry(n) for n in ns])


def test_identity_is_the_guid_and_the_key_the_canonical_link() -> None:
    [item] = entries(1)
    assert item.identity != item.key
    assert "guid-1" in item.identity and "news.example/a/1" in item.key


def test_a_primed_feed_alerts_on_everything_it_has_not_shown() -> None:
    items = entries(1, 2, 3)
    seen = StoredState(seen=frozenset({items[0].identity}))
    decision = decide(items, seen, primed=True, backfill=0)
    assert [e.identity for e in decision.unseen] == [items[1].identity, items[2].identity]
    assert [(a.entry.key, a.alertable) for a in decision.new_articles] == [
        (items[1].key, True),
        (items[2].key, True),
    ]


def test_a_first_poll_records_everything_and_alerts_only_the_backfill() -> None:
    items = entries(1, 2, 3)
    none = decide(items, StoredState(), primed=False, backfill=0)
    assert len(none.unseen) == 3 and not any(a.alertable for a in none.new_articles)
    two = decide(items, StoredState(), primed=False, backfill=2)
    assert [a.alertable for a in two.new_articles] == [True, True, False]
    assert alertable_limit(True, 5) is None and alertable_limit(False, -3) == 0


def test_an_article_known_from_another_feed_is_linked_never_alerted_again() -> None:
    items = entries(1, 2)
    state = StoredState(known_keys=frozenset({items[0].key}))
    decision = decide(items, state, primed=True, backfill=0)
    assert len(decision.unseen) == 2  # both become this feed's seen entries
    assert [a.entry.key for a in decision.new_articles] == [items[1].key]


def test_duplicates_within_one_document_are_one_entry_and_one_article() -> None:
    [first] = entries(1)
    same_identity = NewEntry(first.identity, "link:elsewhere", entry(9))
    same_key = NewEntry("guid:other", first.key, entry(1))
    decision = decide([first, same_identity, same_key], StoredState(), primed=True, backfill=0)
    assert [e.identity for e in decision.unseen] == [first.identity, "guid:other"]
    assert [a.entry for a in decision.new_articles] == [first]


def test_nothing_new_decides_nothing() -> None:
    items = entries(1, 2)
    state = StoredState(
        seen=frozenset(e.identity for e in items), known_keys=frozenset(e.key for e in items)
    )
    decision = decide(items, state, primed=True, backfill=0)
    assert decision.unseen == () and decision.new_articles == ()
