"""Argument parsing for the `watchdesk` command; each subcommand hands off to the stage it names."""

from __future__ import annotations

import argparse
import codecs
import contextlib
import json
import logging
import re
import signal
import sys
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from bot.errors import UserError
from bot.models import Analysis

log = logging.getLogger("watchdesk")

MAX_FILE_BYTES = 10 * 1024 * 1024


def main(argv: Sequence[str] | None = None) -> int:
    # stdin too: JSON lines and sentences are UTF-8 whatever the locale, and one bad byte in a
    # batch must not end the run with a UnicodeDecodeError.
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8", errors="replace")
    parser = build_parser()
    args = parser.parse_args(argv)
    args.config = getattr(args, "config", None)  # SUPPRESS-ed: absent unless given somewhere
    args.verbose = getattr(args, "verbose", False)
    configure_logging(args)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except UserError as exc:
        print(f"watchdesk: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


QUIET_LIBRARIES = ("httpx", "httpcore", "alembic", "pymorphy3", "apscheduler.executors.default")


def configure_logging(args: argparse.Namespace) -> None:
    """Our own INFO lines for the worker; libraries only speak up for warnings."""
    level = logging.DEBUG if args.verbose else getattr(args, "log_level", logging.INFO)
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not args.verbose:
        for name in QUIET_LIBRARIES:
            logging.getLogger(name).setLevel(logging.WARNING)


def _common_options() -> argparse.ArgumentParser:
    """--config and -v, accepted before or after any subcommand."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        default=argparse.SUPPRESS,
        help="config file (default: WATCHDESK_CONFIG or config/watchdesk.toml)",
    )
    common.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="debug logging"
    )
    return common


COMMON = _common_options()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="watchdesk", description=__doc__, parents=[COMMON])
    sub = parser.add_subparsers(metavar="COMMAND")

    run = sub.add_parser(
        "run", parents=[COMMON], help="the long-running worker: poll, alert, serve chat"
    )
    run.add_argument("--once", action="store_true", help="run one poll cycle and exit")
    run.set_defaults(handler=cmd_run)

    demo = sub.add_parser(
        "demo", parents=[COMMON], help="a self-contained demo on loopback feeds, no tokens needed"
    )
    demo.set_defaults(handler=cmd_demo, log_level=logging.WARNING)

    check = sub.add_parser(
        "check", parents=[COMMON], help="analyse text/HTML files against the watchlist"
    )
    check.add_argument("paths", nargs="*", type=Path)
    check.add_argument("--json", action="store_true", help="one JSON document for all files")
    check.add_argument(
        "--jsonl",
        action="store_true",
        help='read {"id","title"?,"text"} lines on stdin, write one JSON line each',
    )
    check.set_defaults(handler=cmd_check, log_level=logging.WARNING)

    claims = sub.add_parser("claims", parents=[COMMON], help="check-worthiness tools")
    claims_sub = claims.add_subparsers(metavar="ACTION", dest="action", required=True)
    score = claims_sub.add_parser(
        "score", parents=[COMMON], help="one sentence per stdin line → SCORE<TAB>FLAG"
    )
    score.set_defaults(handler=cmd_claims_score, log_level=logging.WARNING)

    summ = sub.add_parser(
        "summarise", parents=[COMMON], aliases=["summarize"], help="summarise JSON lines"
    )
    summ.add_argument(
        "--jsonl",
        action="store_true",
        required=True,
        help='read {"id","title"?,"article"} lines on stdin',
    )
    summ.add_argument("--sentences", type=int, default=None)
    summ.set_defaults(handler=cmd_summarise, log_level=logging.WARNING)

    _feeds_parser(sub)
    watch = sub.add_parser(
        "watch", parents=[COMMON], help="manage the watchlist: add|remove|list|test …"
    )
    watch.add_argument("words", nargs=argparse.REMAINDER)
    watch.set_defaults(handler=cmd_watch, log_level=logging.WARNING)

    dbp = sub.add_parser("db", parents=[COMMON], help="database tools")
    db_sub = dbp.add_subparsers(metavar="ACTION", dest="action", required=True)
    up = db_sub.add_parser("upgrade", parents=[COMMON], help="apply schema migrations (Alembic)")
    up.set_defaults(handler=cmd_db_upgrade)

    doctor = sub.add_parser(
        "doctor", parents=[COMMON], help="check config, database, spaCy model and chat tokens"
    )
    doctor.set_defaults(handler=cmd_doctor)
    return parser


def _feeds_parser(sub: Any) -> None:
    feeds = sub.add_parser("feeds", parents=[COMMON], help="manage feeds")
    fs = feeds.add_subparsers(metavar="ACTION", dest="action", required=True)
    add = fs.add_parser("add", parents=[COMMON], help="add a feed (HTML pages get 'did you mean')")
    add.add_argument("url")
    add.add_argument("--interval", help="poll interval, e.g. 10m (default from config)")
    add.add_argument("--name")
    add.set_defaults(handler=cmd_feeds_add, log_level=logging.WARNING)
    lst = fs.add_parser(
        "list", parents=[COMMON], help="feeds with state, last success, last error, next poll"
    )
    lst.set_defaults(handler=cmd_feeds_list, log_level=logging.WARNING)
    rm = fs.add_parser("remove", parents=[COMMON], help="remove a feed")
    rm.add_argument("url")
    rm.set_defaults(handler=cmd_feeds_remove, log_level=logging.WARNING)
    en = fs.add_parser("enable", parents=[COMMON], help="re-enable a disabled feed")
    en.add_argument("url")
    en.set_defaults(handler=cmd_feeds_enable, log_level=logging.WARNING)
    imp = fs.add_parser("import", parents=[COMMON], help="import an OPML file")
    imp.add_argument("file", type=Path)
    imp.add_argument("--interval")
    imp.set_defaults(handler=cmd_feeds_import, log_level=logging.WARNING)
    exp = fs.add_parser("export", parents=[COMMON], help="write the feeds as OPML to stdout")
    exp.set_defaults(handler=cmd_feeds_export, log_level=logging.WARNING)


# ---------------------------------------------------------------------------- helpers


def _settings(args: argparse.Namespace):  # noqa: ANN202 - Settings
    from bot.settings import load_settings

    return load_settings(args.config)


def _app(args: argparse.Namespace, sinks: dict[str, Any] | None = None):  # noqa: ANN202
    from bot.app import Watchdesk
    from bot.chat.console import ConsoleSink

    settings = _settings(args)
    console = ConsoleSink(journal=settings.console_journal)
    return Watchdesk.build(settings, sinks or {"console": console})


def _analyser(args: argparse.Namespace):  # noqa: ANN202 - Analyser
    from bot.app import build_analyser

    settings = _settings(args)
    return build_analyser(settings, settings.watchlist)


# ---------------------------------------------------------------------------- run / demo


def cmd_run(args: argparse.Namespace) -> int:
    from bot.app import start_chat
    from bot.scheduler import poll_tick, run_forever

    app = _app(args)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    chat = start_chat(app)
    try:
        if args.once:
            poll_tick(app)
        else:
            log.info(
                "watchdesk running: %d feed(s), %d watched entit(ies), sinks: %s",
                len(app.store.list_feeds()),
                len(app.store.active_entities()),
                ", ".join(sorted(app.outbox.sinks)),
            )
            run_forever(app, stop)
    finally:
        chat.stop()
        app.close()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    return run_demo(sys.stdout, args.config)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from bot.store import db

    settings = _settings(args)
    db.upgrade(db.make_engine(settings.database_url))
    print(f"database at {db.safe_url(settings.database_url)} is up to date")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from bot.doctor import run_doctor

    problems = run_doctor(_settings(args), sys.stdout)
    return 1 if problems else 0


# ---------------------------------------------------------------------------- feeds / watch


def _interval(value: str | None) -> int | None:
    """``--interval`` in seconds, checked before anything is fetched; None when not given.

    The same floor as ``[poll] interval``: polling a publisher more often than every 30 s is
    impolite and gets a desk's address blocked."""
    from bot.settings import MIN_INTERVAL_S, parse_duration

    if value is None:
        return None
    seconds = int(parse_duration(value, "--interval"))
    if seconds < MIN_INTERVAL_S:
        raise UserError(
            f"--interval: {value!r} is too often; poll a feed at most every {MIN_INTERVAL_S}s"
        )
    return seconds


def cmd_feeds_add(args: argparse.Namespace) -> int:
    interval = _interval(args.interval)
    with contextlib.closing(_app(args)) as app:
        return _print_reply(
            app.desk.feeds_add(_operator(), args.url, interval_s=interval, name=args.name)
        )


def cmd_feeds_list(args: argparse.Namespace) -> int:
    """Every feed: chat replies stop at 50 lines, the terminal is where the whole list is seen."""
    feeds = _app(args).store.list_feeds()
    if not feeds:
        print("No feeds yet. Add one with `watchdesk feeds add URL`.")
        return 0
    from bot.desk.commands import Desk

    print(f"{len(feeds)} feed(s):")
    for feed in feeds:
        print(Desk.describe_feed(feed))
    return 0


def cmd_feeds_remove(args: argparse.Namespace) -> int:
    return _print_reply(_app(args).desk.feeds_remove(_operator(), args.url))


def cmd_feeds_enable(args: argparse.Namespace) -> int:
    return _print_reply(_app(args).desk.feeds_enable(_operator(), args.url))


def cmd_feeds_import(args: argparse.Namespace) -> int:
    """Check and add the OPML file's feeds; the file is read and bounded before the database
    is opened."""
    from bot.desk.feed_import import import_feeds, read_import

    given = _interval(args.interval)
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {args.file}: {exc.strerror}") from exc
    outlines = read_import(data, str(args.file))
    with contextlib.closing(_app(args)) as app:
        report = import_feeds(
            outlines,
            source=str(args.file),
            checker=app.checker,
            store=app.store,
            interval_s=given or app.settings.poll.interval_s,
        )
    print("\n".join(report.lines()))
    return 0


def cmd_feeds_export(args: argparse.Namespace) -> int:
    from bot.feeds.opml import OpmlFeed, write_opml

    feeds = _app(args).store.list_feeds()
    sys.stdout.write(
        write_opml([OpmlFeed(url=f.url, title=f.name) for f in feeds], title="Watchdesk feeds")
    )
    return 0


def cmd_watch(args: argparse.Namespace) -> int:
    words = _take_common_options(args, list(args.words))
    text = " ".join(_quote(w) for w in words)
    with contextlib.closing(_app(args)) as app:
        return _print_reply(app.desk.run_text_command(_operator(), "watch", text))


def _take_common_options(args: argparse.Namespace, words: list[str]) -> list[str]:
    """`watch` keeps the rest of the line verbatim; still honour --config/-v typed after it."""
    rest: list[str] = []
    it = iter(words)
    for word in it:
        if word == "--config":
            args.config = next(it, None)
        elif word.startswith("--config="):
            args.config = word.partition("=")[2]
        elif word in ("-v", "--verbose"):
            args.verbose = True
            logging.getLogger().setLevel(logging.DEBUG)
        else:
            rest.append(word)
    return rest


def _quote(word: str) -> str:
    return f'"{word}"' if " " in word and not word.startswith('"') else word


def _operator():  # noqa: ANN202 - Actor
    from bot.app import OPERATOR

    return OPERATOR


def _print_reply(reply: Any) -> int:
    """A desk reply on the terminal: success on stdout, a refusal on stderr with exit code 2."""
    if reply.ok:
        print(reply.text)
        return 0
    print(f"watchdesk: {reply.text}", file=sys.stderr)
    return 2


# ---------------------------------------------------------------------------- analysis


def analysis_json(item_id: object, analysis: Analysis) -> dict[str, Any]:
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


_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.IGNORECASE)
LEGACY_ENCODING = "cp1251"


def decode_document(data: bytes) -> str:
    """The text of a file in the encodings a desk's files come in: a BOM (Notepad's "Unicode"
    is UTF-16), UTF-8, the charset an HTML page declares, else Windows-1251 (Russian and
    Belarusian files from older Windows tools). Decoding everything as UTF-8 would turn those
    into U+FFFD soup that silently matches nothing."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    codec = LEGACY_ENCODING
    if match := _META_CHARSET.search(data[:4096]):
        with contextlib.suppress(LookupError):
            codec = codecs.lookup(match.group(1).decode("ascii")).name
    return data.decode(codec, errors="replace")


def read_document(path: Path) -> tuple[str, str]:
    """(headline, text) of a .txt (first line is the headline) or HTML file."""
    from bot.analysis.text import html_to_text, input_problem

    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise UserError(f"{path}: larger than 10 MB; not an article")
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot read it ({exc.strerror})") from exc
    raw = decode_document(data)
    problem = input_problem(raw)
    if problem:
        raise UserError(f"{path}: {problem}")
    if path.suffix.lower() in (".html", ".htm") or raw.lstrip()[:15].lower().startswith(
        ("<!doctype", "<html")
    ):
        return _html_title(raw), html_to_text(raw)
    headline, _, body = raw.strip().partition("\n")
    return headline.strip(), body.strip()


def _html_title(raw: str) -> str:
    from bot.analysis.text import strip_html

    match = re.search(r"<title[^>]*>(.*?)</title>", raw, re.IGNORECASE | re.DOTALL)
    return strip_html(match.group(1)) if match else ""


def cmd_check(args: argparse.Namespace) -> int:
    analyser = _analyser(args)
    if args.jsonl:
        return _check_jsonl(analyser, sys.stdin, sys.stdout)
    if not args.paths:
        raise UserError("give one or more files to check, or --jsonl to read JSON lines on stdin")
    results, failed = [], 0
    for path in args.paths:
        try:
            title, text = read_document(path)
        except UserError as exc:
            print(f"watchdesk: {exc}", file=sys.stderr)
            failed += 1
            continue
        analysis = analyser.analyse_fully(title, text)
        results.append((path, title, analysis))
    if args.json:
        json.dump(
            [analysis_json(str(p), a) for p, _, a in results],
            sys.stdout,
            ensure_ascii=False,
            indent=2,
        )
        sys.stdout.write("\n")
    else:
        for path, title, analysis in results:
            _print_check(path, title, analysis)
    return 2 if failed and not results else 0


def _check_jsonl(analyser: Any, stdin: TextIO, stdout: TextIO) -> int:
    """One output line per non-blank input line, always, so scripts can zip input and output;
    a line that can't be read gets an empty result (and a message on stderr)."""
    from bot.analysis.text import input_problem

    empty = Analysis(False, (), (), ())
    for lineno, line in enumerate(stdin, 1):
        if not line.strip():
            continue
        item_id, analysis = None, empty
        try:
            item = json.loads(line)
            if not isinstance(item, dict):
                raise ValueError('each line must be an object with "id" and "text"')
            item_id = item.get("id")
            if "text" not in item:
                raise ValueError(f'item {item_id!r} has no "text"')
            text, title = str(item.get("text") or ""), str(item.get("title") or "")
            if not (input_problem(text) and not title):
                analysis = analyser.analyse_fully(title, text)
        except ValueError as exc:
            print(f"watchdesk: stdin line {lineno}: {exc}", file=sys.stderr)
        stdout.write(json.dumps(analysis_json(item_id, analysis), ensure_ascii=False) + "\n")
        stdout.flush()
    return 0


def _print_check(path: Path, title: str, analysis: Analysis) -> None:
    print(f"== {path}: {title or '(no headline)'}")
    if not analysis.matched:
        print("   no watched entity matched")
    for m in analysis.entities:
        print(f"   MATCH {m.name} (salience {m.salience:.2f}, {len(m.hits)} hit(s))")
        for hit in m.hits[:3]:
            print(f"     “{hit.text}” [{hit.section}] in: {hit.sentence}")
    if analysis.summary:
        print("   SUMMARY")
        for sentence in analysis.summary:
            print(f"     {sentence}")
    if analysis.claims:
        print("   CLAIMS TO CHECK")
    for c in analysis.claims:
        kinds = ", ".join(str(k) for k in c.kinds) or "claim"
        cues = f" — cues: {', '.join(c.cues)}" if c.cues else ""
        print(f"     {c.n}. [{kinds}] ({c.score:.2f}) {c.text}{cues}")
    print()


def cmd_claims_score(args: argparse.Namespace) -> int:
    from bot.analysis.claims import ClaimScorer

    settings = _settings(args)
    scorer = ClaimScorer.load(model_name=settings.analysis.spacy_model)
    threshold = settings.analysis.claims_threshold
    for batch in _batches((line.rstrip("\n") for line in sys.stdin), 256):
        for score in scorer.score(batch):
            sys.stdout.write(f"{score:.4f}\t{1 if score >= threshold else 0}\n")
        sys.stdout.flush()
    return 0


def _batches(lines: Iterable[str], size: int) -> Iterable[list[str]]:
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def cmd_summarise(args: argparse.Namespace) -> int:
    from bot.analysis.summary import summarise
    from bot.analysis.text import input_problem, split_sentences

    settings = _settings(args)
    given = args.sentences is not None
    n = args.sentences if given else settings.analysis.summary_sentences
    if not 1 <= n <= 10:
        raise UserError(f"--sentences must be between 1 and 10, got {n}")
    budget = (
        max(settings.analysis.summary_max_chars, 250 * n)
        if given
        else settings.analysis.summary_max_chars
    )
    for lineno, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if not isinstance(item, dict):
                raise ValueError('each line must be an object with "id" and "article"')
        except ValueError as exc:
            print(f"watchdesk: stdin line {lineno}: {exc}", file=sys.stderr)
            continue
        article = str(item.get("article") or "")
        title = str(item.get("title") or "") or None
        summary: tuple[str, ...] = ()
        if not input_problem(article):
            summary = summarise(split_sentences(article), title=title, n=n, max_chars=budget)
        sys.stdout.write(
            json.dumps({"id": item.get("id"), "summary": list(summary)}, ensure_ascii=False) + "\n"
        )
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
