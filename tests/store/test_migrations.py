"""The Alembic migrations create exactly the schema the models describe, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from bot.analysis.encoder import pack_vectors
from bot.models import MessageRef
from bot.store import db
from bot.store.outbox import IntentKind
from bot.store.repo import Store
from bot.store.schema import Base
from tests.factories import stored_alert


def test_migrations_match_the_models(database_url: str) -> None:
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    db.upgrade(engine)  # idempotent: `run` upgrades at every start
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


def test_0002_moves_deliveries_and_notices_into_the_one_outbox(database_url: str) -> None:
    """Rows written by the 0001 schema arrive as intents with their state, and a delivery that
    still needed an edit arrives with a pending edit at its revision."""
    engine = db.make_engine(database_url)
    db.upgrade(engine, "0001")
    now = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO feeds (id, url, interval_s, state, channels, next_poll_at, "
                "error_count, primed, created_at) VALUES (1, 'https://f.example/', 600, "
                "'active', '[]', :now, 0, true, :now)"
            ),
            {"now": now},
        )
        c.execute(
            text(
                "INSERT INTO articles (id, key, feed_id, title, summary, content, alertable, "
                "analysis_failures, created_at) VALUES (1, 'k', 1, 't', '', '', true, 0, :now)"
            ),
            {"now": now},
        )
        c.execute(
            text(
                "INSERT INTO alerts (id, article_id, title, source, entities, summary, "
                "created_at) VALUES (7, 1, 't', 's', '[]', '[]', :now)"
            ),
            {"now": now},
        )
        for row in (
            (1, "slack:C1", "sent", 1, "111.1", True, 3),
            (2, "console", "pending", 2, None, False, 0),
            (3, "discord:99", "failed", 20, None, False, 0),
        ):
            c.execute(
                text(
                    "INSERT INTO deliveries (id, alert_id, destination, idempotency_key, state, "
                    "attempts, next_attempt_at, message_id, thread_id, needs_update, revision, "
                    "created_at) VALUES (:id, 7, :dest, :key, :state, :attempts, :now, :mid, "
                    ":mid, :nu, :rev, :now)"
                ),
                dict(
                    zip(("id", "dest", "state", "attempts", "mid", "nu", "rev"), row, strict=True),
                    key=f"alert-7@{row[1]}",
                    now=now,
                ),
            )
        c.execute(
            text(
                "INSERT INTO notices (destination, text, state, attempts, next_attempt_at, "
                "created_at) VALUES ('slack:C1', 'Feed disabled', 'pending', 1, :now, :now)"
            ),
            {"now": now},
        )
    db.upgrade(engine)
    store = Store(engine)
    posts = {
        str(i.destination): i for i in store.outbox.intents_for_alert(7, IntentKind.POST_ALERT)
    }
    assert {d: (i.state, i.attempts, i.message_id) for d, i in posts.items()} == {
        "slack:C1": ("sent", 1, "111.1"),
        "console": ("pending", 2, None),
        "discord:99": ("failed", 20, None),
    }
    assert store.outbox.posted_ref(7, "slack:C1") == MessageRef("slack:C1", "111.1", "111.1")
    [edit] = store.outbox.pending(kind=IntentKind.EDIT_ALERT)
    assert (str(edit.destination), edit.revision) == ("slack:C1", 3)
    [notice] = store.outbox.pending(kind=IntentKind.NOTICE)
    assert (str(notice.destination), notice.text, notice.attempts) == (
        "slack:C1",
        "Feed disabled",
        1,
    )
    assert store.alerts.alert_for_message("slack:C1", "111.1") == 7
    # the old tables are gone, and the migration can be walked back
    assert not {"deliveries", "notices"} & set(inspect(engine).get_table_names())
    _downgrade(engine, "0001")
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM deliveries")).scalar() == 3
        assert c.execute(
            text(
                "SELECT needs_update FROM deliveries WHERE id IS NOT NULL "
                "AND destination = 'slack:C1'"
            )
        ).scalar() in (True, 1)
        assert c.execute(text("SELECT count(*) FROM notices")).scalar() == 1
    engine.dispose()


def test_0003_adds_alert_vectors_and_walks_back(database_url: str) -> None:
    """0003 adds the table the store reads vectors from; walking back drops only that table."""
    engine = db.make_engine(database_url)
    db.upgrade(engine, "0002")
    assert "alert_vectors" not in inspect(engine).get_table_names()
    db.upgrade(engine, "0003")
    assert "alert_vectors" in inspect(engine).get_table_names()
    db.upgrade(engine)  # the store's models are the head's
    store = Store(engine)
    alert_id = stored_alert(store)
    vectors = pack_vectors("space", np.eye(3, 384, dtype=np.float32), claim_rows=[0, 1, 2])
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO alert_vectors (alert_id, encoder, rows, dim, data, claim_rows) "
                "VALUES (:id, 'space', 3, 384, :data, '[0, 1, 2]')"
            ),
            {"id": alert_id, "data": vectors.data},
        )
    assert store.alerts.alert_vectors(alert_id) == vectors
    _downgrade(engine, "0002")
    assert "alert_vectors" not in inspect(engine).get_table_names()
    with engine.connect() as c:  # the alert itself survives (the store reads the head schema)
        assert c.execute(text("SELECT id FROM alerts")).scalar_one() == alert_id
    db.upgrade(engine)
    assert store.alerts.alert_view(alert_id) is not None
    assert store.alerts.alert_vectors(alert_id) is None
    engine.dispose()


def _downgrade(engine: Engine, revision: str) -> None:
    config = db.alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_0004_adds_the_feed_body_hash_and_walks_back(database_url: str) -> None:
    engine = db.make_engine(database_url)
    db.upgrade(engine, "0003")
    assert "body_hash" not in {c["name"] for c in inspect(engine).get_columns("feeds")}
    db.upgrade(engine, "0004")
    assert "body_hash" in {c["name"] for c in inspect(engine).get_columns("feeds")}
    _downgrade(engine, "0003")
    assert "body_hash" not in {c["name"] for c in inspect(engine).get_columns("feeds")}
    engine.dispose()


def test_0009_adds_which_sentence_each_vector_row_is_and_walks_back(database_url: str) -> None:
    """Rows written before 0009 (no sentence numbers) read as row i = sentence i."""
    engine = db.make_engine(database_url)
    db.upgrade(engine, "0004")
    assert "sentences" not in {c["name"] for c in inspect(engine).get_columns("alert_vectors")}
    db.upgrade(engine, "0009")
    assert "sentences" in {c["name"] for c in inspect(engine).get_columns("alert_vectors")}
    store = Store(engine)
    alert_id = stored_alert(store)
    old = pack_vectors("space", np.eye(2, 384, dtype=np.float32), claim_rows=[1])
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO alert_vectors (alert_id, encoder, rows, dim, data, claim_rows) "
                "VALUES (:id, 'space', 2, 384, :data, '[1]')"
            ),
            {"id": alert_id, "data": old.data},
        )
    stored = store.alerts.alert_vectors(alert_id)
    assert stored is not None and stored.sentences == (0, 1) and stored == old
    _downgrade(engine, "0004")
    assert "sentences" not in {c["name"] for c in inspect(engine).get_columns("alert_vectors")}
    engine.dispose()


def test_0007_adds_the_desks_memory_and_walks_back(database_url: str) -> None:
    """0007 adds imported fact-checks and recall matches; walking back drops only those."""
    engine = db.make_engine(database_url)
    db.upgrade(engine, "0004")
    assert "factchecks" not in inspect(engine).get_table_names()
    db.upgrade(engine, "0007")
    tables = set(inspect(engine).get_table_names())
    assert {"factchecks", "recall_matches", "claim_assignments"} <= tables
    _downgrade(engine, "0004")
    assert {"factchecks", "recall_matches", "claim_assignments"}.isdisjoint(
        inspect(engine).get_table_names()
    )
    db.upgrade(engine)
    store = Store(engine)
    assert store.alerts.alert_view(stored_alert(store)) is not None
    engine.dispose()
