"""The batch use cases behind `watchdesk check`, `summarise` and `claims score`: items in,
result records and report lines out. The CLI only reads its arguments and prints these.

The JSON shapes are contracts: scripts zip input lines with output lines and read exactly
these keys, so one bad input line gives a message and (for `check`) an empty result, never a
missing line or the end of the run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bot.analysis.documents import read_document
from bot.analysis.summary import summarise
from bot.analysis.text import input_problem, split_sentences
from bot.errors import UserError
from bot.models import Analysis

if TYPE_CHECKING:  # scikit-learn loads only for the commands that score claims
    from bot.analysis.claims import ClaimScorer

EMPTY = Analysis(False, (), (), ())
SCORE_BATCH = 256
MAX_SUMMARY_SENTENCES = 10


class FullAnalyser(Protocol):
    def analyse_fully(self, title: str, text: str, url: str | None = None) -> Analysis: ...


@dataclass(frozen=True)
class LineResult:
    """One output line for one non-blank input line, and what was wrong with the input."""

    output: str | None  # the JSON line to write (None: write nothing for this input)
    problem: str | None = None  # e.g. 'stdin line 3: item 7 has no "text"'


@dataclass(frozen=True)
class Checked:
    """One file `check` read and analysed."""

    path: Path
    title: str
    analysis: Analysis


def analysis_record(item_id: object, analysis: Analysis) -> dict[str, Any]:
    """The `check --jsonl` contract: exactly these keys, scripts rely on them."""
    return {
        "id": item_id,
        "matched": analysis.matched,
        "entities": [
            {
                "name": m.name,
                "salience": round(m.salience, 4),
                "hits": [{"text": h.text, "sentence": h.sentence} for h in m.hits],
            }
            for m in analysis.entities
        ],
        "summary": list(analysis.summary),
        "claims": [
            {
                "n": c.n,
                "text": c.text,
                "score": round(c.score, 4),
                "kinds": [str(k) for k in c.kinds],
            }
            for c in analysis.claims
        ],
    }


def _json_line(value: object) -> str:
    return json.dumps(value, ensure_ascii=False) + "\n"


def check_files(analyser: FullAnalyser, paths: Sequence[Path]) -> tuple[list[Checked], list[str]]:
    """Every readable file analysed, plus one message per file that could not be read."""
    checked, problems = [], []
    for path in paths:
        try:
            title, text = read_document(path)
        except UserError as exc:
            problems.append(str(exc))
            continue
        checked.append(Checked(path, title, analyser.analyse_fully(title, text)))
    return checked, problems


def check_lines(analyser: FullAnalyser, lines: Iterable[str]) -> Iterator[LineResult]:
    """`check --jsonl`: {"id", "title"?, "text"} per line → one contract record per line."""
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        item_id, analysis, problem = None, EMPTY, None
        try:
            item = _object(line, '"id" and "text"')
            item_id = item.get("id")
            if "text" not in item:
                raise ValueError(f'item {item_id!r} has no "text"')
            text, title = str(item.get("text") or ""), str(item.get("title") or "")
            if not (input_problem(text) and not title):
                analysis = analyser.analyse_fully(title, text)
        except ValueError as exc:
            problem = f"stdin line {lineno}: {exc}"
        yield LineResult(_json_line(analysis_record(item_id, analysis)), problem)


def summary_limits(sentences: int | None, default_n: int, default_chars: int) -> tuple[int, int]:
    """(sentence count, character budget) for `summarise`: asking for more sentences than the
    configured budget holds widens the budget (250 characters a sentence) instead of cutting."""
    n = default_n if sentences is None else sentences
    if not 1 <= n <= MAX_SUMMARY_SENTENCES:
        raise UserError(f"--sentences must be between 1 and {MAX_SUMMARY_SENTENCES}, got {n}")
    return n, default_chars if sentences is None else max(default_chars, 250 * n)


def summarise_lines(lines: Iterable[str], n: int, max_chars: int) -> Iterator[LineResult]:
    """`summarise --jsonl`: {"id", "title"?, "article"} per line → {"id", "summary"}; a line
    that is not a JSON object gets a message and no output line."""
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = _object(line, '"id" and "article"')
        except ValueError as exc:
            yield LineResult(None, f"stdin line {lineno}: {exc}")
            continue
        article = str(item.get("article") or "")
        title = str(item.get("title") or "") or None
        summary: tuple[str, ...] = ()
        if not input_problem(article):
            summary = summarise(split_sentences(article), title=title, n=n, max_chars=max_chars)
        yield LineResult(_json_line({"id": item.get("id"), "summary": list(summary)}))


def _object(line: str, keys: str) -> dict[str, Any]:
    item = json.loads(line)
    if not isinstance(item, dict):
        raise ValueError(f"each line must be an object with {keys}")
    return item


def score_lines(scorer: ClaimScorer, lines: Iterable[str], threshold: float) -> Iterator[str]:
    """`claims score`: one sentence per line → "SCORE<TAB>FLAG" per line, scored in batches
    (the model is much faster on a batch than sentence by sentence)."""
    batch: list[str] = []
    for line in lines:
        batch.append(line.rstrip("\n"))
        if len(batch) >= SCORE_BATCH:
            yield from _scored(scorer, batch, threshold)
            batch = []
    if batch:
        yield from _scored(scorer, batch, threshold)


def _scored(scorer: ClaimScorer, batch: list[str], threshold: float) -> Iterator[str]:
    for score in scorer.score(batch):
        yield f"{score:.4f}\t{1 if score >= threshold else 0}\n"


def check_report(checked: Checked) -> list[str]:
    """The human-readable `check` report of one file."""
    analysis = checked.analysis
    lines = [f"== {checked.path}: {checked.title or '(no headline)'}"]
    if not analysis.matched:
        lines.append("   no watched entity matched")
    for m in analysis.entities:
        lines.append(f"   MATCH {m.name} (salience {m.salience:.2f}, {len(m.hits)} hit(s))")
        lines += [f"     “{h.text}” [{h.section}] in: {h.sentence}" for h in m.hits[:3]]
    if analysis.summary:
        lines.append("   SUMMARY")
        lines += [f"     {sentence}" for sentence in analysis.summary]
    if analysis.claims:
        lines.append("   CLAIMS TO CHECK")
    for c in analysis.claims:
        kinds = ", ".join(str(k) for k in c.kinds) or "claim"
        cues = f" — cues: {', '.join(c.cues)}" if c.cues else ""
        lines.append(f"     {c.n}. [{kinds}] ({c.score:.2f}) {c.text}{cues}")
    lines.append("")
    return lines
