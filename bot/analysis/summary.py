"""Owns the extractive summary an alert shows: 2-4 of the article's own sentences, in article
order, within a chat-sized character budget.

Extractive on purpose: a fact-checking desk must be able to quote the summary back to the
article word for word, and nothing here may invent a claim. News puts its most important facts
first, so position carries most of the score; how central a sentence is to the article (shared
content words), how well it matches the headline, and whether it mentions a watched entity
(``focus``, from the matching stage) decide among the rest. Boilerplate (bylines, datelines,
photo credits, "Read more") is never chosen. Deterministic: same input, same output.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bot.models import Sentence


def _wordset(words: str) -> frozenset[str]:
    """A frozenset from a whitespace-separated word list (keeps long lists readable)."""
    return frozenset(words.split())


DEFAULT_SENTENCES = 3
DEFAULT_MAX_CHARS = 700

# Only the first sentences compete (plus any focus sentence further down): news is front-loaded,
# and this bounds the cost on a runaway input.
_MAX_CANDIDATES = 120
# A sentence longer than this is a run-on (captions glued to a paragraph, a table, a page with
# no punctuation): it only wins when nothing else is there, and is then cut to the budget.
_RUN_ON_CHARS = 600
# Only this much of a sentence is looked at, so a 10 MB "sentence" costs no more than a long one.
_MAX_SENTENCE_CHARS = 3000
# Fewer words (numbers count) than this is a fragment: "No wonder.", "Many died."
_MIN_WORDS = 4

# Score weights. Position dominates (news is written lead first); centrality and the headline
# break ties between body sentences; focus pulls a watched entity's sentence into the summary.
_W_POSITION = 1.0
_W_CENTRALITY = 0.3
_W_TITLE = 0.4
_W_FOCUS = 0.5
_NO_END_PUNCT_PENALTY = 0.3
_RUN_ON_PENALTY = 0.5
# Two sentences sharing more than this share of the shorter one's content words say the same.
_REDUNDANCY = 0.6

_WORD_RE = re.compile(r"[^\W\d_][^\W_]*", re.UNICODE)
_TOKEN_RE = re.compile(r"[^\W_]+", re.UNICODE)
_STEM_CHARS = 6

_STOPWORDS = _wordset("""
    a an the and or but if then so than that this these those there here of to in on at by for
    from with without into onto over under about after before during since until while as is
    are was were be been being has have had do does did will would shall should can could may
    might must not no nor it its it's he she they we you i me him her them us our your their his
    my who whom whose which what when where why how all any both each few more most other some
    such only own same too very just also said says say told according one two new
    и в во на по с со к ко у о об из за до от при после для но а что это как так же не ни ли
    бы был была было были быть есть он она оно они мы я вы его ее её их ему ей им нам вам
    этот эта эти тот та те то все всё уже еще ещё также или если когда где который которая
    которые которое заявил заявила сказал сообщил сообщает
    і ў у з са да ад пры пасля для але што гэта як не ні ён яна яно яны мы я вы яго яе іх
    гэты гэтая гэтыя той тая тыя усе ўсе ужо яшчэ таксама або калі дзе які якая якія заявіў
    """)

# Boilerplate that is never a summary sentence: by its opening words (some only as a label,
# "Photo: ...", since "Video footage shows..." is news)...
_JUNK_START_RE = re.compile(
    r"(?:last updated|click here|read more|read the full|continue reading|sign up|subscribe to|"
    r"share this|follow us|читайте также|читать далее|подписывайтесь|смотрите также|"
    r"чытайце таксама|падпісвайцеся)\b"
    r"|(?:published|updated|posted|related|see also|watch|video|photo|image|picture|pictured|"
    r"caption|copyright|source|автор|фото|видео|источник|фота|відэа|аўтар|крыніца)\s*:",
    re.IGNORECASE,
)
# ...or by a credit anywhere in it.
_JUNK_ANYWHERE_RE = re.compile(
    r"getty images|\bap photo\b|afp photo|reuters/|©|all rights reserved", re.IGNORECASE
)
# "By John Smith", "By Jane Doe and Ann Roe for MailOnline": two or more capitalised words after
# "By" and then nothing, a separator or "and"/"for" ("By Sunday, troops..." is a sentence).
_BYLINE_RE = re.compile(
    r"By\s*\.?\s+[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){1,3}(?:\s*$|\s*[|,.]|\s+(?:and|for)\s)"
)
# A dateline or agency tag before the lead ("MINSK (Reuters) -", "(CNN)", "LONDON --"):
# cut from the shown text, the rest of the sentence is kept.
_DATELINE_RE = re.compile(
    r"(?:[A-ZА-ЯЁІЎ][A-ZА-ЯЁІЎ .'’-]{1,40}(?:,\s*[A-ZА-ЯЁІЎ][\w.]{2,9}\s+\d{1,2})?\s*)?"
    r"\((?:CNN|Reuters|AP|AFP|BBC|РИА Новости|ТАСС|БелТА|Интерфакс|Interfax|BelTA|[A-Z]{2,10})\)"
    r"\s*(?:[-–—]+\s*)?"
    r"|[A-ZА-ЯЁІЎ][A-ZА-ЯЁІЎ.'’]{2,20}(?:[ -][A-ZА-ЯЁІЎ.'’]{2,20}){0,2}\s[-–—]{1,2}\s+"
    r"|(?i:scroll down for video)\s+"
)
_END_PUNCT_RE = re.compile(r"[.!?…][\"'”’»)\]]*$")


@dataclass
class _Candidate:
    index: int
    text: str
    terms: frozenset[str]
    score: float = 0.0


def summarise(
    sentences: Sequence[Sentence | str],
    *,
    title: str | None = None,
    focus: Sequence[int] = (),
    n: int = DEFAULT_SENTENCES,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> tuple[str, ...]:
    """Up to ``n`` sentences of the article, in article order, joined length <= ``max_chars``.

    ``focus`` holds indices into ``sentences`` of sentences that mention a watched entity;
    such sentences are preferred. Returns () when no sentence is usable (empty or all
    boilerplate). If even the best sentence alone is over budget it is cut at a word boundary
    and ends with "…", so an alert always says something when the article did."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if max_chars < 20:
        raise ValueError(f"max_chars must be at least 20, got {max_chars}")
    title_terms = _terms(title) if title else frozenset()
    candidates = [
        c for c in _candidates(sentences, set(focus)) if not _restates(c.terms, title_terms)
    ]
    if not candidates:
        return ()
    _score(candidates, title_terms, set(focus))
    chosen = _select(candidates, n, max_chars)
    return tuple(c.text for c in sorted(chosen, key=lambda c: c.index))


def clean_sentence(text: str) -> str:
    """The sentence as an alert shows it: dateline/agency tag and stray whitespace removed."""
    text = " ".join(text.split())
    m = _DATELINE_RE.match(text)
    return text[m.end() :].strip() if m else text


def is_boilerplate(text: str) -> bool:
    """Bylines, photo credits, "Read more" and fragments too short to say anything."""
    if _JUNK_START_RE.match(text) or _BYLINE_RE.match(text) or _JUNK_ANYWHERE_RE.search(text):
        return True
    return len(_TOKEN_RE.findall(text, 0, 200)) < _MIN_WORDS


def _terms(text: str) -> frozenset[str]:
    """Content-word stems: lower-cased, stopwords dropped, cut to six characters (a crude stem
    that works alike for English, Russian and Belarusian inflection)."""
    out = set()
    for w in _WORD_RE.findall(text.lower().replace("ё", "е")):
        if len(w) > 2 and w not in _STOPWORDS:
            out.add(w[:_STEM_CHARS])
    return frozenset(out)


def _candidates(sentences: Sequence[Sentence | str], focus: set[int]) -> list[_Candidate]:
    indices = list(range(min(len(sentences), _MAX_CANDIDATES)))
    indices += sorted(i for i in focus if _MAX_CANDIDATES <= i < len(sentences))
    out: list[_Candidate] = []
    for i in indices:
        raw = sentences[i]
        text = raw.text if isinstance(raw, Sentence) else str(raw)
        text = clean_sentence(text[:_MAX_SENTENCE_CHARS])
        if not text or is_boilerplate(text):
            continue
        out.append(_Candidate(i, text, _terms(text)))
    return out


def _restates(terms: frozenset[str], title_terms: frozenset[str]) -> bool:
    """The sentence is the headline again (extractors often keep the <h1> as the first line);
    the alert shows the headline already."""
    if not terms or not title_terms:
        return False
    common = len(terms & title_terms)
    return common >= 0.8 * len(terms) and common >= 0.8 * len(title_terms)


def _score(candidates: list[_Candidate], title_terms: frozenset[str], focus: set[int]) -> None:
    df = Counter(t for c in candidates for t in c.terms)
    centrality = [
        sum(math.log(df[t]) for t in c.terms) / len(c.terms) if c.terms else 0.0 for c in candidates
    ]
    top = max(centrality) or 1.0
    for rank, (c, cent) in enumerate(zip(candidates, centrality, strict=True)):
        position = 1.0 / (1.0 + rank)
        score = _W_POSITION * position + _W_CENTRALITY * cent / top
        if title_terms:
            score += _W_TITLE * len(c.terms & title_terms) / len(title_terms)
        if c.index in focus:
            score += _W_FOCUS
        if not _END_PUNCT_RE.search(c.text):
            score -= _NO_END_PUNCT_PENALTY
        if len(c.text) > _RUN_ON_CHARS:
            score -= _RUN_ON_PENALTY
        c.score = score


def _select(candidates: list[_Candidate], n: int, max_chars: int) -> list[_Candidate]:
    ranked = sorted(candidates, key=lambda c: (-c.score, c.index))
    chosen: list[_Candidate] = []
    used = 0
    for c in ranked:
        if len(chosen) == n:
            break
        cost = len(c.text) + (1 if chosen else 0)
        if used + cost > max_chars or _redundant(c, chosen):
            continue
        chosen.append(c)
        used += cost
    if not chosen:
        best = ranked[0]
        chosen = [_Candidate(best.index, _truncate(best.text, max_chars), best.terms)]
    return chosen


def _redundant(c: _Candidate, chosen: list[_Candidate]) -> bool:
    for other in chosen:
        shorter = min(len(c.terms), len(other.terms))
        if shorter and len(c.terms & other.terms) / shorter > _REDUNDANCY:
            return True
    return False


def _truncate(text: str, max_chars: int) -> str:
    cut = text[: max_chars - 1]
    space = cut.rfind(" ")
    if space > max_chars // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—") + "…"
