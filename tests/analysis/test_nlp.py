"""The spaCy loader (model resolution, rule-only fallback, caching) and the gate tokenizer."""

from __future__ import annotations

import logging
import uuid

import pytest
from spacy.language import Language
from spacy.tokens import Doc

from bot.analysis.nlp import (
    RULE_ONLY,
    SMALL_ENGLISH_MODELS,
    GateTokenizer,
    clean_text,
    fold_text,
    gate_tokenizer,
    load_pipeline,
    loaded_pipelines,
    pipeline_info,
)

# --------------------------------------------------------------------------- folding


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Lukašenka", "lukasenka"),
        ("Łukašenka", "lukasenka"),
        ("Zapadoslovenská", "zapadoslovenska"),
        ("Всё ещё Ёлка", "все еще елка"),
        ("Беларусі", "беларуси"),
        ("Мінск і Гомель", "минск и гомель"),
        ("Лукашэнка наведаў", "лукашэнка наведау"),
        ("Lukashenko’s", "lukashenko's"),
        ("«Запад-2025»", '"запад-2025"'),
        ("„Захад“ — учения", '"захад" - учения'),
    ],
)
def test_fold_text_folds_case_diacritics_quotes_and_dashes(raw: str, folded: str) -> None:
    assert fold_text(raw) == folded


def test_fold_text_keeps_short_i_and_length() -> None:
    assert fold_text("Йошкар-Ола, Бахмут й") == "йошкар-ола, бахмут й"
    for text in ("İstanbul Lukašenka", "ﬁnance ß Ǆ", "emoji 🇧🇾 Беларусь", "x\u0301y"):
        assert len(fold_text(text)) == len(text)


def test_clean_text_never_raises_on_junk() -> None:
    assert clean_text(None) == ""
    assert clean_text(b"\xff\xfe Belarus \x00").endswith("Belarus \x00")
    assert clean_text("lone \ud800 surrogate") == "lone ? surrogate"
    assert clean_text("Lukas\u030cenka") == "Lukašenka"  # decomposed input is composed
    assert clean_text(123) == "123"


# --------------------------------------------------------------------------- gate tokenizer


def test_gate_tokenizer_splits_cyrillic_latin_and_keeps_offsets() -> None:
    tok = GateTokenizer()
    text = "Учения «Запад-2025» прошли у Лукашэнкі; Lukashenko’s U.S.-Belarus talks."
    doc = tok(text)
    assert isinstance(doc, Doc)
    words = [t.text for t in doc]
    assert words[:7] == ["учения", '"', "запад", "-", "2025", '"', "прошли"]
    assert "лукашэнки" in words and "lukashenko" in words and "belarus" in words
    for token, (start, end) in zip(doc, doc.user_data["offsets"], strict=True):
        assert fold_text(text[start:end]) == token.text
    assert tok.words(text) == words


def test_gate_tokenizer_never_joins_a_term_into_a_longer_word() -> None:
    words = gate_tokenizer().words("Belarusbank and Zapadoslovenská, not Belarus-based")
    assert "belarusbank" in words and "belarus" in words and "zapadoslovenska" in words


def test_gate_tokenizer_is_shared() -> None:
    assert gate_tokenizer() is gate_tokenizer()


# --------------------------------------------------------------------------- model pipelines


def test_default_pipeline_is_a_small_english_model_and_is_cached() -> None:
    nlp = load_pipeline()
    assert load_pipeline() is nlp
    info = pipeline_info()
    assert info.loaded in SMALL_ENGLISH_MODELS, info
    assert not info.rule_only and info.warning is None
    assert {"parser", "ner"} <= set(info.components)
    assert load_pipeline("en_core_web_sm") is not None  # the configured name resolves too
    doc = nlp("Alexander Lukashenko met officials in Minsk. The drills began on Friday.")
    assert len(list(doc.sents)) == 2
    assert any(ent.label_ in {"PERSON", "GPE", "ORG"} for ent in doc.ents)
    assert info in loaded_pipelines()


def test_missing_model_falls_back_to_rule_only_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    name = f"watchdesk_missing_model_{uuid.uuid4().hex[:8]}"
    with caplog.at_level(logging.WARNING, logger="bot.analysis.nlp"):
        nlp = load_pipeline(name)
        again = load_pipeline(name)
    assert again is nlp and isinstance(nlp, Language)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert name in message and "pip install" in message and "rule-only" in message
    info = pipeline_info(name)
    assert info.rule_only and info.loaded == RULE_ONLY and info.requested == name
    doc = nlp("Lukashenko spoke in Minsk. Then the drills began! Did NATO watch?")
    assert [s.text for s in doc.sents] == [
        "Lukashenko spoke in Minsk.",
        "Then the drills began!",
        "Did NATO watch?",
    ]
