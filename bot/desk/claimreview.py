"""schema.org ClaimReview in and out: the desk's memory meets the fact-checking world.

In: `read_claimreviews` takes the JSON-LD fact-checkers publish (one ClaimReview object, a
list of them, an ``@graph``, a ``DataFeed`` of ``dataFeedElement`` items) or what Google's
Fact Check Tools give (the ``claims[].claimReview[]`` export of the Fact Check Explorer / Claim
Search API) and returns the records it could use plus one `Rejected` per record it could not
(which record, which field, what to fix), so a bad record never costs the good ones.
`import_claimreviews` encodes the claims and stores them as imported fact-checks.

Out: `export_claimreview` / `export_csv` write the desk's own verdicts, the latest per claim,
saying when checkers disagreed; each ClaimReview carries every property Google's structured-data
guidelines require (`REQUIRED`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from bot.analysis.encoder import Encoder, pack_vectors
from bot.errors import UserError
from bot.models import AlertView, ClaimView, FactCheck, Verdict

MAX_RECORDS = 20_000
MAX_CLAIM_CHARS = 2_000
# Google's required ClaimReview properties (developers.google.com/search/docs/appearance/
# structured-data/factcheck): reviewRating needs alternateName (or ratingValue).
REQUIRED = ("claimReviewed", "reviewRating", "url", "author", "datePublished", "itemReviewed")

RATING_NAMES = {
    Verdict.TRUE: ("True", 5),
    Verdict.MISLEADING: ("Misleading", 2),
    Verdict.UNPROVEN: ("Unproven", 3),
    Verdict.FALSE: ("False", 1),
}


@dataclass(frozen=True)
class Rejected:
    """A record left out: ``where`` locates it in the file (``$[2]``,
    ``$.claims[0].claimReview[1]``), ``field`` is the property at fault, ``fix`` says what to do."""

    where: str
    field: str
    fix: str

    def line(self) -> str:
        return f"rejected {self.where}: {self.field} {self.fix}"


@dataclass
class ReadResult:
    records: list[tuple[str, FactCheck]] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


# --------------------------------------------------------------------------- reading


def _types(node: dict[str, Any]) -> set[str]:
    kind = node.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {str(k).rsplit("/", 1)[-1] for k in kinds if isinstance(k, str)}


def _walk(node: object, where: str) -> Iterator[tuple[str, Any]]:
    """Every candidate record as (locator, node). A list, a feed or Google's claims hold only
    reviews, so a stranger there is rejected; an ``@graph`` also holds the page's other nodes
    (WebPage, Organization…), which are skipped."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            if isinstance(item, dict) and ("@graph" in item or "dataFeedElement" in item):
                yield from _walk(item, f"{where}[{i}]")
            else:
                yield f"{where}[{i}]", item
        return
    if not isinstance(node, dict):
        yield where, node
        return
    if isinstance(node.get("claims"), list) and "@type" not in node:  # Google Fact Check Tools
        for i, claim in enumerate(node["claims"]):
            reviews = claim.get("claimReview") if isinstance(claim, dict) else None
            if not isinstance(reviews, list) or not reviews:
                yield f"{where}.claims[{i}]", {"__google_claim__": claim}
                continue
            for j, review in enumerate(reviews):
                yield f"{where}.claims[{i}].claimReview[{j}]", _from_google(claim, review)
        return
    if "@graph" in node:
        graph = node["@graph"]
        for i, item in enumerate(graph if isinstance(graph, list) else [graph]):
            if isinstance(item, dict) and "ClaimReview" in _types(item):
                yield f"{where}.@graph[{i}]", item
        return
    if "dataFeedElement" in node:
        elements = node["dataFeedElement"]
        for i, element in enumerate(elements if isinstance(elements, list) else [elements]):
            items = element.get("item", element) if isinstance(element, dict) else element
            for j, item in enumerate(items if isinstance(items, list) else [items]):
                yield f"{where}.dataFeedElement[{i}].item[{j}]", item
        return
    yield where, node


def _from_google(claim: dict[str, Any], review: object) -> dict[str, Any]:
    """A Fact Check Tools claim + one of its reviews, as the ClaimReview properties."""
    if not isinstance(review, dict):
        return {"__google_claim__": claim}
    publisher = review.get("publisher") or {}
    return {
        "@type": "ClaimReview",
        "claimReviewed": claim.get("text"),
        "reviewRating": {"alternateName": review.get("textualRating")},
        "url": review.get("url"),
        "author": publisher.get("name") or publisher.get("site")
        if isinstance(publisher, dict)
        else None,
        "datePublished": review.get("reviewDate"),
        "itemReviewed": {"author": claim.get("claimant")},
        "__google__": True,
    }


def _name(value: object) -> str | None:
    """A Person/Organization as its name: a string, an object with ``name``, or the first of
    a list of either."""
    if isinstance(value, list):
        names = [n for n in (_name(v) for v in value) if n]
        return ", ".join(names) or None
    if isinstance(value, dict):
        value = value.get("name") or value.get("url")
    if isinstance(value, str) and value.strip():
        return " ".join(value.split())[:300]
    return None


def parse_date(value: object) -> datetime | None:
    """An ISO 8601 date or date-time as an aware UTC datetime (a date is its midnight UTC;
    a time without a zone is read as UTC); ValueError when it is neither."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(value)
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _record(node: object, google: bool) -> FactCheck | Rejected:
    if not isinstance(node, dict) or "__google_claim__" in node:
        if isinstance(node, dict):
            return Rejected("", "claimReview", "is missing: the claim has no review to import")
        return Rejected("", "record", "is not a JSON object: each record is one ClaimReview")
    if not google and "ClaimReview" not in _types(node) and "claimReviewed" not in node:
        return Rejected("", "@type", 'is not "ClaimReview": only ClaimReview records import')
    text_field = "claims[].text" if google else "claimReviewed"
    rating_field = "textualRating" if google else "reviewRating.alternateName"
    claim = node.get("claimReviewed")
    if not isinstance(claim, str) or not claim.strip():
        return Rejected("", text_field, "is missing or empty: give the claim as it was made")
    rating_node = node.get("reviewRating")
    rating = rating_node.get("alternateName") if isinstance(rating_node, dict) else None
    if isinstance(rating, list):
        rating = rating[0] if rating else None
    if not isinstance(rating, str) or not rating.strip():
        return Rejected("", rating_field, 'is missing: give the textual rating, e.g. "False"')
    url = node.get("url")
    if not isinstance(url, str) or urlsplit(url.strip()).scheme not in ("http", "https"):
        return Rejected("", "url", "is missing or not an http(s) link: give the review's page")
    checker = _name(node.get("author"))
    if checker is None:
        field_name = "publisher.name" if google else "author"
        return Rejected("", field_name, "is missing: name the fact-checker (author.name)")
    published = None
    if node.get("datePublished") not in (None, ""):
        try:
            published = parse_date(node["datePublished"])
        except (ValueError, TypeError):
            field_name = "reviewDate" if google else "datePublished"
            return Rejected(
                "", field_name, f"{node['datePublished']!r} is not a date: write 2024-03-12"
            )
    item = node.get("itemReviewed")
    claimant = _name(item.get("author")) if isinstance(item, dict) else None
    return FactCheck(
        claim=" ".join(claim.split())[:MAX_CLAIM_CHARS],
        rating=" ".join(rating.split())[:200],
        url=url.strip()[:2000],
        checker=checker,
        published=published,
        claimant=claimant,
    )


def read_claimreviews(data: bytes, source: str) -> ReadResult:
    """The usable records of a ClaimReview file and one `Rejected` per unusable one; a file
    that is not JSON at all, or holds more than `MAX_RECORDS`, is a `UserError`."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise UserError(f"{source} is not UTF-8 text (byte {exc.start}): save it as UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise UserError(
            f"{source} is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "ClaimReview files are JSON-LD"
        ) from exc
    result = ReadResult()
    for count, (where, node) in enumerate(_walk(document, "$"), start=1):
        if count > MAX_RECORDS:
            raise UserError(
                f"{source} holds more than {MAX_RECORDS} records: split it and import each part"
            )
        record = _record(node, isinstance(node, dict) and bool(node.get("__google__")))
        if isinstance(record, Rejected):
            result.rejected.append(Rejected(where, record.field, record.fix))
        else:
            result.records.append((where, record))
    return result


# --------------------------------------------------------------------------- importing


class FactCheckStore(Protocol):
    def save_factchecks(
        self,
        items: Sequence[tuple[FactCheck, bytes | None]],
        *,
        encoder: str | None,
        dim: int | None,
        origin: str,
    ) -> tuple[int, int]: ...


@dataclass(frozen=True)
class ImportReport:
    source: str
    added: int
    updated: int
    rejected: tuple[Rejected, ...]
    encoded: bool

    def lines(self) -> list[str]:
        head = f"{self.source}: imported {self.added} fact-check(s)"
        if self.updated:
            head += f", updated {self.updated} already there"
        if self.rejected:
            head += f", rejected {len(self.rejected)}"
        lines = [head]
        if not self.encoded and (self.added or self.updated):
            lines.append(
                "no sentence encoder ([analysis] encoder): stored without vectors, so recall "
                "cannot match them until they are imported again with one"
            )
        lines += [r.line() for r in self.rejected]
        return lines


def import_claimreviews(
    data: bytes, source: str, store: FactCheckStore, encoder: Encoder | None
) -> ImportReport:
    """Read, encode (one batch) and store the file's fact-checks; rejected records are
    reported, never stored, and never stop the others."""
    read = read_claimreviews(data, source)
    records = [r for _, r in read.records]
    vectors: list[bytes | None] = [None] * len(records)
    if encoder is not None and records:
        matrix = encoder.encode([r.claim for r in records])
        packed = pack_vectors(encoder.id, matrix)
        size = packed.dim * 2
        vectors = [packed.data[i * size : (i + 1) * size] for i in range(len(records))]
    added, updated = store.save_factchecks(
        list(zip(records, vectors, strict=True)),
        encoder=encoder.id if encoder is not None else None,
        dim=encoder.dim if encoder is not None else None,
        origin=source[:500],
    )
    return ImportReport(source, added, updated, tuple(read.rejected), encoder is not None)


# --------------------------------------------------------------------------- exporting


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def _checked(view: AlertView) -> Iterator[ClaimView]:
    return (c for c in view.claims if c.verdict is not Verdict.UNCHECKED)


def _disagreement_text(claim: ClaimView) -> str | None:
    if not claim.disagreements:
        return None
    others = "; ".join(
        f"{d.checked_by}: {d.verdict}" + (f" ({_iso(d.checked_at)})" if d.checked_at else "")
        for d in claim.disagreements
    )
    return f"Checkers disagreed: {claim.checked_by}: {claim.verdict} (latest); {others}"


def review_url(view: AlertView, claim: ClaimView, base_url: str | None) -> str:
    """The review's page: under ``--base-url`` when the desk publishes its reviews, else the
    verdict's source, else the article with the claim as a fragment."""
    if base_url:
        return f"{base_url.rstrip('/')}/alerts/{view.alert_id}#claim-{claim.n}"
    if claim.source_url:
        return claim.source_url
    return f"{view.url or ''}#watchdesk-alert-{view.alert_id}-claim-{claim.n}"


def claimreview(
    view: AlertView, claim: ClaimView, *, publisher: str, base_url: str | None
) -> dict[str, Any]:
    """One ClaimReview for the latest verdict on one claim."""
    name, value = RATING_NAMES[claim.verdict]
    appearance: dict[str, Any] = {"@type": "CreativeWork", "headline": view.title}
    if view.url:
        appearance["url"] = view.url
    if view.published:
        appearance["datePublished"] = _iso(view.published)
    review: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "url": review_url(view, claim, base_url),
        "claimReviewed": claim.text,
        "author": {"@type": "Person", "name": claim.checked_by or publisher},
        "publisher": {"@type": "Organization", "name": publisher},
        "datePublished": _iso(claim.checked_at),
        "reviewRating": {
            "@type": "Rating",
            "alternateName": name,
            "ratingValue": value,
            "bestRating": 5,
            "worstRating": 1,
        },
        "itemReviewed": {
            "@type": "Claim",
            "author": {"@type": "Organization", "name": view.source},
            "appearance": [appearance],
        },
        "identifier": f"watchdesk:alert:{view.alert_id}:claim:{claim.n}",
    }
    if claim.source_url:
        review["citation"] = claim.source_url
    body = " ".join(t for t in (claim.note, _disagreement_text(claim)) if t)
    if body:
        review["reviewBody"] = body
    return review


def export_claimreview(
    views: Sequence[AlertView], *, publisher: str, base_url: str | None = None
) -> str:
    """A JSON-LD array: one ClaimReview per checked claim, in alert and claim order."""
    reviews = [
        claimreview(v, c, publisher=publisher, base_url=base_url)
        for v in views
        for c in _checked(v)
    ]
    return json.dumps(reviews, ensure_ascii=False, indent=2) + "\n"


CSV_COLUMNS = (
    "alert",
    "claim",
    "claim_text",
    "verdict",
    "checker",
    "checked_at",
    "source_url",
    "note",
    "article_title",
    "article_url",
    "outlet",
    "disagreements",
)


def export_csv(views: Sequence[AlertView]) -> str:
    """One row per checked claim; ``disagreements`` lists other checkers' differing verdicts."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for view in views:
        for claim in _checked(view):
            writer.writerow(
                (
                    view.alert_id,
                    claim.n,
                    claim.text,
                    str(claim.verdict),
                    claim.checked_by or "",
                    _iso(claim.checked_at) or "",
                    claim.source_url or "",
                    claim.note or "",
                    view.title,
                    view.url or "",
                    view.source,
                    "; ".join(f"{d.checked_by}: {d.verdict}" for d in claim.disagreements),
                )
            )
    return out.getvalue()
