"""Stories without chat: the pure pieces (shingles, figures, the same-story rule) and the use
case on a real store (SQLite and Postgres): opening, joining in one transaction (link, thread
posts per destination, re-armed edit, header), the window, and no double link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.desk.stories import (
    Similarity,
    Stories,
    contradictions,
    figures,
    jaccard,
    same_story,
    shingles,
)
from bot.feeds.poll import record_entries
from bot.models import FeedEntry, NewEntry
from bot.settings import StorySettings
from bot.store.outbox import IntentKind
from bot.store.repo import Store
from tests.factories import analysis

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
RULES = StorySettings()
WIRE = (
    "Lukashenko greeted officers from 23 countries at the Zapad-2025 drills near Borisov on "
    "Friday. The exercise ends on Tuesday, the defence ministry said."
)


def test_shingles_see_a_wire_copy_through_markup_and_case_but_not_another_story() -> None:
    copy = f"<p>{WIRE.upper()}</p><p>Reporting by Minsk Wire.</p>"
    other = "Fuel prices in Minsk rose by 3 per cent overnight, the state oil company said."
    assert jaccard(shingles(WIRE), shingles(copy)) >= RULES.text_threshold
    assert jaccard(shingles(WIRE), shingles(other)) == 0.0
    assert jaccard(frozenset(), shingles(WIRE)) == 0.0


def test_figures_meet_across_plural_forms_and_contradictions_need_disjoint_numbers() -> None:
    assert figures("officers from 23 countries and 1,200 troops") == {
        "countr": {"23"},
        "troops": {"1200"},
    }
    assert contradictions("from 23 countries", "from 25 countries") == [("countr", "23", "25")]
    assert contradictions("from 23 countries", "23 countries, not 25 countries") == []
    assert contradictions("7,000 troops", "officers from 25 countries") == []


def test_the_rule_has_its_own_threshold_across_languages() -> None:
    assert same_story(Similarity(RULES.text_threshold, None, False), RULES)
    assert not same_story(Similarity(0.0, None, False), RULES)
    between = (RULES.cross_language_threshold + RULES.vector_threshold) / 2
    assert same_story(Similarity(0.0, between, True), RULES)
    assert not same_story(Similarity(0.0, between, False), RULES)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def article(store: Store, n: int, title: str, body: str) -> int:
    url = f"https://feeds.example/{n}.xml"
    feed = store.feeds.add_feed(url, interval_s=600, name=f"Outlet {n}")
    item = FeedEntry(
        guid=f"g{n}", link=f"https://outlet{n}.example/a", title=title, summary="", content=body
    )
    [article_id] = record_entries(
        store.articles,
        feed.id,
        [NewEntry(f"guid:g{n}", f"link:{n}", item)],
        primed=True,
        backfill=0,
    )
    return article_id


def test_a_copy_joins_the_story_in_one_transaction_once(database_url: str) -> None:
    from bot.store import db

    engine = db.make_engine(database_url)
    db.upgrade(engine)
    clock = Clock()
    store = Store(engine, clock=clock)
    stories = Stories(store.stories, RULES, clock)  # no encoder: text similarity only
    lead_id = article(store, 1, "Lukashenko greets officers at Zapad-2025", WIRE)
    lead = store.articles.article(lead_id)
    assert lead is not None
    alert_id = store.alerts.create_alert(
        lead_id, source="Outlet 1", analysis=analysis(), destinations=("console", "slack:C0DESK01")
    )
    stories.open(alert_id, lead, WIRE, analysis(), "Outlet 1")

    copy_text = WIRE.replace("23 countries", "25 countries") + " Reporting by Outlet 2."
    copy_id = article(store, 2, "Zapad-2025: Lukashenko greets officers", copy_text)
    copy = store.articles.article(copy_id)
    assert copy is not None
    clock.now += timedelta(hours=3)
    joined = stories.join(copy, copy_text, analysis(claims=4), "Outlet 2")
    assert joined is not None and joined.alert_id == alert_id

    posts = store.outbox.intents_for_alert(alert_id, IntentKind.THREAD_POST)
    assert [str(p.destination) for p in posts] == ["console", "slack:C0DESK01"]
    assert posts[0].text == (
        "Also reported by Outlet 2: Zapad-2025: Lukashenko greets officers, "
        "https://outlet2.example/a\n"
        "Adds:\n"
        "• Claim number 4 with 52 prisoners.\n"
        "Note: Outlet 2 gives 25 countries where the story has 23 countries."
    )
    edits = store.outbox.intents_for_alert(alert_id, IntentKind.EDIT_ALERT)
    assert [(e.state, e.revision) for e in edits] == [("pending", 1), ("pending", 1)]
    view = store.alerts.alert_view(alert_id)
    assert view is not None and view.story_header == "2 sources: Outlet 1, Outlet 2"
    again = store.articles.article(copy_id)
    assert again is not None
    assert not store.stories.attach(joined.story_id, copy_id, outlet="Outlet 2", thread_text="x")
    assert len(store.outbox.intents_for_alert(alert_id, IntentKind.THREAD_POST)) == 2
    assert store.articles.articles_awaiting_analysis() == []  # the copy counts as handled

    clock.now += timedelta(seconds=RULES.window_s)  # the story has left the window
    late_id = article(store, 3, "Lukashenko greets officers at Zapad-2025", WIRE)
    late = store.articles.article(late_id)
    assert late is not None and stories.join(late, WIRE, analysis(), "Outlet 3") is None
    engine.dispose()


def test_revision_0006_adds_the_story_tables_and_walks_back(database_url: str) -> None:
    from alembic import command
    from sqlalchemy import inspect

    from bot.store import db

    engine = db.make_engine(database_url)
    db.upgrade(engine)
    assert {"stories", "story_articles"} <= set(inspect(engine).get_table_names())
    with engine.begin() as connection:
        config = db.alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
    names = set(inspect(engine).get_table_names())
    assert "stories" not in names and "story_articles" not in names and "alerts" in names
    db.upgrade(engine)
    assert {"stories", "story_articles"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_figures_read_thousands_groups_and_decimal_commas() -> None:
    assert figures("1 200 солдат и 1,2 миллиона тонн, 7,000 troops") == {
        "солдат": {"1200"},
        "миллио": {"1.2"},
        "troops": {"7000"},
    }


def test_a_number_inside_a_name_is_no_figure() -> None:
    assert figures("the Zapad-2025 drills began") == {}


def test_the_console_shows_the_story_sources_under_the_byline() -> None:
    from bot.chat.console import render_alert
    from bot.models import AlertView

    view = AlertView(1, "Zapad", None, "Minsk Wire", None, (), (), ())
    assert "sources" not in render_alert(view)
    joined = AlertView(
        1, "Zapad", None, "Minsk Wire", None, (), (), (), 2, ("Minsk Wire", "Зеркало")
    )
    assert render_alert(joined).splitlines()[2] == "   2 sources: Minsk Wire, Зеркало"
