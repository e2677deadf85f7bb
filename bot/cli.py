"""Argument parsing for the `watchdesk` command; each subcommand hands off to the stage it names."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import sys
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from bot.errors import BUG_REPLY, RemoteError, UserError

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
    try:
        configure_logging(args)  # a bad WATCHDESK_LOG_FORMAT is a UserError like any other
        if not hasattr(args, "handler"):
            parser.print_help()
            return 2
        return int(args.handler(args) or 0)
    except UserError as exc:
        print(f"watchdesk: {exc}", file=sys.stderr)
        return 2
    except RemoteError as exc:
        print(f"watchdesk: {exc} (a remote failure: try again later)", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130
    except Exception:  # a bug: one log line with the traceback, one sentence for the person
        log.exception("bug in %s", getattr(getattr(args, "handler", None), "__name__", "a command"))
        print(f"watchdesk: {BUG_REPLY}", file=sys.stderr)
        return 1


QUIET_LIBRARIES = ("httpx", "httpcore", "alembic", "pymorphy3", "apscheduler.executors.default")


def configure_logging(args: argparse.Namespace) -> None:
    """Our own INFO lines for the worker; libraries only speak up for warnings. Text or JSON
    (``WATCHDESK_LOG_FORMAT``), secrets redacted either way: see `bot.ops.logs`."""
    from bot.ops.logs import configure_logging as install

    level = logging.DEBUG if args.verbose else getattr(args, "log_level", logging.INFO)
    install(level, quiet=() if args.verbose else QUIET_LIBRARIES)
    if args.verbose:  # -v after the subcommand (`watch … -v`): the libraries speak up again
        for name in QUIET_LIBRARIES:
            logging.getLogger(name).setLevel(logging.NOTSET)


def _common_options() -> argparse.ArgumentParser:
    """--config and -v, accepted before or after any subcommand."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        default=argparse.SUPPRESS,
        help="config file (default: WATCHDESK_CONFIG, else ./watchdesk.toml, else the "
        "shipped defaults)",
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
    _verdicts_parser(sub)
    watch = sub.add_parser(
        "watch", parents=[COMMON], help="manage the watchlist: add|remove|list|test …"
    )
    watch.add_argument("words", nargs=argparse.REMAINDER)
    watch.set_defaults(handler=cmd_watch, log_level=logging.WARNING)

    why = sub.add_parser(
        "why", parents=[COMMON], help="where an article stopped on its way to an alert"
    )
    why.add_argument("target", help="the article's URL, or an alert number")
    why.set_defaults(handler=cmd_why, log_level=logging.WARNING)

    dbp = sub.add_parser("db", parents=[COMMON], help="database tools")
    db_sub = dbp.add_subparsers(metavar="ACTION", dest="action", required=True)
    up = db_sub.add_parser("upgrade", parents=[COMMON], help="apply schema migrations (Alembic)")
    up.set_defaults(handler=cmd_db_upgrade)
    prune = db_sub.add_parser(
        "prune", parents=[COMMON], help="delete what [retention] no longer keeps, in batches"
    )
    prune.add_argument("--dry-run", action="store_true", help="only count what would go, per kind")
    prune.set_defaults(handler=cmd_db_prune)

    init = sub.add_parser(
        "init", parents=[COMMON], help="write a starter watchdesk.toml (and the Slack manifest)"
    )
    init.add_argument("dir", nargs="?", type=Path, default=Path("."), help="default: here")
    init.add_argument("--force", action="store_true", help="overwrite files that exist")
    init.set_defaults(handler=cmd_init, log_level=logging.WARNING)

    status = sub.add_parser(
        "status",
        parents=[COMMON],
        help="feeds by state, last poll, outbox, alerts today (from the database)",
    )
    status.set_defaults(handler=cmd_status, log_level=logging.WARNING)

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


def _verdicts_parser(sub: Any) -> None:
    verdicts = sub.add_parser(
        "verdicts", parents=[COMMON], help="the desk's memory: ClaimReview import and export"
    )
    vs = verdicts.add_subparsers(metavar="ACTION", dest="action", required=True)
    imp = vs.add_parser(
        "import", parents=[COMMON], help="seed the memory with ClaimReview JSON-LD fact-checks"
    )
    imp.add_argument("file", type=Path)
    imp.set_defaults(handler=cmd_verdicts_import, log_level=logging.WARNING)
    exp = vs.add_parser(
        "export", parents=[COMMON], help="the desk's verdicts as ClaimReview JSON-LD or CSV"
    )
    exp.add_argument("--format", choices=("claimreview", "csv"), default="claimreview")
    exp.add_argument("--publisher", default="Watchdesk", help="the desk's name (publisher)")
    exp.add_argument("--base-url", help="where the desk publishes its reviews (each review's url)")
    exp.set_defaults(handler=cmd_verdicts_export, log_level=logging.WARNING)


# ---------------------------------------------------------------------------- helpers


def _settings(args: argparse.Namespace):  # noqa: ANN202 - Settings
    from bot.settings import load_settings

    return load_settings(args.config)


def _app(args: argparse.Namespace, *, migrate: bool = True):  # noqa: ANN202 - Watchdesk
    """The wired app; ``migrate=False`` for read-only commands, which must never change the
    schema or seed the store (an old database is a clear "run `watchdesk db upgrade`")."""
    from bot.app import Watchdesk
    from bot.chat.console import ConsoleSink

    settings = _settings(args)
    console = ConsoleSink(journal=settings.console_journal)
    return Watchdesk.build(settings, {"console": console}, migrate=migrate)


def _read_store(args: argparse.Namespace):  # noqa: ANN202 - Store
    """The store for commands that only list: no schema change, no seeding, no analyser."""
    from bot.startup import open_store

    return open_store(_settings(args), migrate=False)


def _analyser(args: argparse.Namespace):  # noqa: ANN202 - Analyser
    from bot.app import build_analyser

    settings = _settings(args)
    return build_analyser(settings, settings.config_entities())


# ---------------------------------------------------------------------------- run / demo


def cmd_run(args: argparse.Namespace) -> int:
    from bot.app import start_chat, start_ops
    from bot.scheduler import poll_tick, run_forever

    app = _app(args)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    chat = start_chat(app)
    ops = None
    try:
        ops = start_ops(app, chat)
        if args.once:
            poll_tick(app)
        else:
            log.info(
                "watchdesk running: %d feed(s), %d watched entit(ies), sinks: %s",
                len(app.store.feeds.list_feeds()),
                len(app.store.watchlist.active_entities()),
                ", ".join(sorted(app.outbox.sinks)),
            )
            run_forever(app, stop)
    finally:
        if ops is not None:
            ops.close()
        chat.stop()
        app.close()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    return run_demo(sys.stdout, args.config)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Upgrade the schema and seed the config's feeds and watchlist, under the schema lock."""
    from bot.startup import prepare_store
    from bot.store import db
    from bot.store.repo import Store

    settings = _settings(args)
    store = Store(db.make_engine(settings.database_url))
    try:
        prepare_store(store, settings)
    finally:
        store.engine.dispose()
    print(f"database at {db.safe_url(settings.database_url)} is up to date")
    return 0


def cmd_db_prune(args: argparse.Namespace) -> int:
    """Apply `[retention]` now (or, with --dry-run, count what it would delete)."""
    from bot.retention import prune
    from bot.startup import open_store

    settings = _settings(args)
    store = open_store(settings, migrate=False)  # schema must be current; nothing is seeded
    try:
        report = prune(store, settings.retention, dry_run=args.dry_run)
    finally:
        store.engine.dispose()
    for line in report.lines():
        print(line)
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from bot.settings import write_starter

    print(write_starter(args.dir, force=args.force))
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from bot.doctor import run_doctor

    problems = run_doctor(_settings(args), sys.stdout)
    return 1 if problems else 0


def cmd_status(args: argparse.Namespace) -> int:
    """The operator's table, read-only: no schema change, no worker needed."""
    from bot.ops.status import read_status, status_lines
    from bot.startup import open_store

    settings = _settings(args)
    store = open_store(settings, migrate=False)
    try:
        print("\n".join(status_lines(read_status(store, settings))))
    finally:
        store.engine.dispose()
    return 0


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
    feeds = _read_store(args).feeds.list_feeds()
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
            store=app.store.feeds,
            interval_s=given or app.settings.poll.interval_s,
        )
    print("\n".join(report.lines()))
    return 0


def cmd_feeds_export(args: argparse.Namespace) -> int:
    from bot.feeds.opml import OpmlFeed, write_opml

    feeds = _read_store(args).feeds.list_feeds()
    sys.stdout.write(
        write_opml([OpmlFeed(url=f.url, title=f.name) for f in feeds], title="Watchdesk feeds")
    )
    return 0


def cmd_verdicts_import(args: argparse.Namespace) -> int:
    """Read (bounded) before the database opens; encode with the configured encoder."""
    from bot.analysis.encoder import load_encoder
    from bot.desk.claimreview import import_claimreviews
    from bot.startup import open_store

    data = _read_bounded(args.file)
    settings = _settings(args)
    store = open_store(settings, migrate=True)
    try:
        report = import_claimreviews(
            data, str(args.file), store.memory, load_encoder(settings.analysis.encoder)
        )
    finally:
        store.engine.dispose()
    print("\n".join(report.lines()))
    return 0


def cmd_verdicts_export(args: argparse.Namespace) -> int:
    from bot.desk.claimreview import export_claimreview, export_csv

    store = _read_store(args)
    try:
        views = [v for i in store.alerts.verdicted_alerts() if (v := store.alerts.alert_view(i))]
    finally:
        store.engine.dispose()
    if args.format == "csv":
        sys.stdout.write(export_csv(views))
    else:
        sys.stdout.write(
            export_claimreview(views, publisher=args.publisher, base_url=args.base_url)
        )
    return 0


def _read_bounded(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UserError(
                f"{path} is {size // (1024 * 1024)} MB; at most "
                f"{MAX_FILE_BYTES // (1024 * 1024)} MB per file: split it"
            )
        return path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from exc


def cmd_watch(args: argparse.Namespace) -> int:
    words = _take_common_options(args, list(args.words))
    text = " ".join(_quote(w) for w in words)
    read_only = bool(words) and words[0].lower() in READ_ONLY_WATCH
    with contextlib.closing(_app(args, migrate=not read_only)) as app:
        return _print_reply(app.desk.run_text_command(_operator(), "watch", text))


READ_ONLY_WATCH = ("list", "test")
"""`watch` subcommands that only read: they never upgrade the schema or seed the store."""


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
            if not args.verbose:
                args.verbose = True
                configure_logging(args)  # the one place: now at debug level
        else:
            rest.append(word)
    return rest


def _quote(word: str) -> str:
    return f'"{word}"' if " " in word and not word.startswith('"') else word


def _operator():  # noqa: ANN202 - Actor
    from bot.app import OPERATOR

    return OPERATOR


def cmd_why(args: argparse.Namespace) -> int:
    """Read-only: the stored trace of one article (no migration, no analyser)."""
    from bot.desk.why import why_once
    from bot.startup import open_store

    settings = _settings(args)
    store = open_store(settings, migrate=False)
    try:
        return _print_reply(why_once(store, settings.fetch, args.target))
    finally:
        store.engine.dispose()


def _print_reply(reply: Any) -> int:
    """A desk reply on the terminal: success on stdout, a refusal on stderr with exit code 2."""
    if reply.ok:
        print(reply.text)
        return 0
    print(f"watchdesk: {reply.text}", file=sys.stderr)
    return 2


# ---------------------------------------------------------------------------- analysis


def cmd_check(args: argparse.Namespace) -> int:
    from bot.analysis import batch

    analyser = _analyser(args)
    if args.jsonl:
        _write_lines(batch.check_lines(analyser, sys.stdin))
        return 0
    if not args.paths:
        raise UserError("give one or more files to check, or --jsonl to read JSON lines on stdin")
    checked, problems = batch.check_files(analyser, args.paths)
    for problem in problems:
        print(f"watchdesk: {problem}", file=sys.stderr)
    if args.json:
        records = [batch.analysis_record(str(c.path), c.analysis) for c in checked]
        json.dump(records, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        for one in checked:
            print("\n".join(batch.check_report(one)))
    return 2 if problems and not checked else 0


def _write_lines(results: Iterable[Any]) -> None:
    """Each result's line on stdout as soon as it is ready (scripts stream through us), its
    problem on stderr."""
    for result in results:
        if result.problem:
            print(f"watchdesk: {result.problem}", file=sys.stderr)
        if result.output is not None:
            sys.stdout.write(result.output)
            sys.stdout.flush()


def cmd_claims_score(args: argparse.Namespace) -> int:
    from bot.analysis.batch import score_lines
    from bot.analysis.claims import ClaimScorer

    settings = _settings(args)
    scorer = ClaimScorer.load(
        model_name=settings.analysis.spacy_model, encoder=settings.analysis.encoder
    )
    for line in score_lines(scorer, sys.stdin, settings.analysis.claims_threshold):
        sys.stdout.write(line)
        sys.stdout.flush()
    return 0


def cmd_summarise(args: argparse.Namespace) -> int:
    from bot.analysis.batch import summarise_lines, summary_limits

    settings = _settings(args)
    a = settings.analysis
    n, budget = summary_limits(args.sentences, a.summary_sentences, a.summary_max_chars)
    _write_lines(summarise_lines(sys.stdin, n, budget))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
