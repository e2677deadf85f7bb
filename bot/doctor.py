"""`watchdesk doctor`: checks that the config, database, models and chat connections work, and
says exactly what is missing and how to fix it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from sqlalchemy.exc import SQLAlchemyError

from bot.errors import ConfigError
from bot.settings import Settings
from bot.store import db


class Checklist:
    def __init__(self, out: TextIO):
        self.out = out
        self.problems = 0

    def good(self, text: str) -> None:
        self.out.write(f"  ok   {text}\n")

    def bad(self, text: str) -> None:
        self.problems += 1
        self.out.write(f"  FIX  {text}\n")

    def section(self, title: str) -> None:
        self.out.write(f"{title}\n")


def check_database(settings: Settings, checks: Checklist) -> None:
    checks.section(f"Database ({db.safe_url(settings.database_url)})")
    try:
        engine = db.make_engine(settings.database_url)
        current, head = db.current_revision(engine), db.head_revision()
    except ConfigError as exc:  # a URL that points nowhere: the line already says the fix
        checks.bad(str(exc))
        return
    except SQLAlchemyError as exc:
        checks.bad(
            f"cannot connect: {exc.__class__.__name__}: {str(exc).splitlines()[0]}; "
            f"check DATABASE_URL and that the server is up"
        )
        return
    if current == head:
        checks.good(f"reachable, schema at revision {head}")
    else:
        checks.bad(
            f"schema at {current or 'nothing'}, code expects {head}: run "
            f"`watchdesk db upgrade` (`watchdesk run` also does it on start)"
        )


def check_analysis(settings: Settings, checks: Checklist) -> None:
    from bot.analysis.claims import ClaimScorer
    from bot.analysis.nlp import pipeline_info

    checks.section("Analysis")
    info = pipeline_info(settings.analysis.spacy_model)
    if info.rule_only:
        checks.bad(f"no spaCy model: rule-only pipeline in use ({info.warning})")
    else:
        checks.good(
            f"spaCy model {info.loaded} {info.version or ''} ({', '.join(info.components)})"
        )
    from bot.analysis.encoder import describe_encoder

    encoder_lines = describe_encoder(settings.analysis.encoder)
    unavailable = " unavailable: " in encoder_lines[0]
    for line in encoder_lines:
        (checks.bad if unavailable else checks.good)(line)
    try:
        ClaimScorer.load(
            model_name=settings.analysis.spacy_model, encoder=settings.analysis.encoder
        ).score(["Unemployment fell 3%."])
        checks.good("check-worthiness model loads")
    except Exception as exc:  # report, don't crash the doctor
        checks.bad(f"check-worthiness model failed to load: {exc}")
    checks.good(
        f"{len(settings.watchlist)} watched entit(ies) and {len(settings.feeds)} feed(s) "
        f"in {settings.source}"
    )


def run_doctor(
    settings: Settings, out: TextIO, extra: tuple[Callable[[Settings, Checklist], None], ...] = ()
) -> int:
    """Run every check; returns the number of problems found."""
    from bot.app import chat_checks

    checks = Checklist(out)
    checks.section(f"Config: {settings.source}")
    checks.good("parsed and validated")
    check_database(settings, checks)
    check_analysis(settings, checks)
    for check in (*chat_checks(settings), *extra):
        check(settings, checks)
    out.write("All good.\n" if not checks.problems else f"{checks.problems} thing(s) to fix.\n")
    return checks.problems
