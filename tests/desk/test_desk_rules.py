"""The desk's rules through a real app on both backends: control characters refused
everywhere, aliases and routes removed one at a time, re-adding a watched name, verdicts kept as
history with disagreements shown, the verdict role, routing stated in the reply."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from bot.app import Watchdesk
from bot.chat.console import ConsoleSink
from bot.desk.commands import Actor, Desk
from bot.desk.inbound import ChannelRef, InboundText, MentionRef
from bot.desk.replies import CommandRef
from bot.models import Destination, Verdict
from tests.factories import build_app, stored_alert
from tests.loopback import LoopbackServer

EDITOR = Actor("slack", "U_EDITOR", "Edna Editor", channel="C1", is_platform_admin=True)
ANN = Actor("slack", "U_ANN", "Ann", channel="C1")
BOB = Actor("discord", "42", "Bob", channel="7", groups=("999",))
NEWS = Destination("slack", "C0NEWS123")


@pytest.fixture
def app(database_url: str) -> Iterator[Watchdesk]:
    out = io.StringIO()
    app = build_app(database_url, {"console": ConsoleSink(out)})
    app.out = out  # type: ignore[attr-defined]
    yield app
    app.close()


def names(app: Watchdesk) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    return {e.name: (e.aliases, e.channels) for e in app.store.watchlist.active_entities()}


# --------------------------------------------------------------------------- control characters

CONTROLS = ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\u202e", "\u2066", "\ufdd0"]


@pytest.mark.parametrize("ch", CONTROLS)
def test_control_characters_are_refused_in_every_command(app: Watchdesk, ch: str) -> None:
    code = f"U+{ord(ch):04X}"
    before = names(app)
    for reply in (
        app.desk.run_text_command(EDITOR, "watch", f"add Khre{ch}nin"),
        app.desk.watch_add(EDITOR, f"Khre{ch}nin"),  # Discord's options path
        app.desk.watch_add(EDITOR, "Khrenin", [f"Хре{ch}нин"]),
        app.desk.run_text_command(EDITOR, "feeds", f"add https://x.example/{ch}rss"),
        app.desk.feeds_add(EDITOR, f"https://x.example/{ch}rss"),
    ):
        assert not reply.ok and code in reply.text and "control character" in reply.text, reply
    assert names(app) == before and app.store.feeds.list_feeds() == []


@pytest.mark.parametrize("ch", ["\x00", "\u202e"])
def test_control_characters_are_refused_in_verdict_notes(app: Watchdesk, ch: str) -> None:
    alert_id = stored_alert(app.store)
    app.run_outbox_once()
    reply = app.desk.handle_thread_reply(
        ANN, "console", f"console-{alert_id}", f"2 false because the{ch} numbers differ"
    )
    assert reply is not None and not reply.ok and f"U+{ord(ch):04X}" in reply.text
    refused = app.desk.record_verdict(ANN, alert_id, [1], Verdict.TRUE, note=f"ok{ch}")
    assert not refused.ok and "control character" in refused.text
    assert app.store.alerts.verdict_history(alert_id) == []


def test_sources_that_are_not_web_links_are_refused_from_options(app: Watchdesk) -> None:
    alert_id = stored_alert(app.store)
    for source in ("javascript:alert(1)", "file:///etc/passwd", "https://"):
        reply = app.desk.record_verdict(ANN, alert_id, [1], Verdict.TRUE, source_url=source)
        assert not reply.ok and "can't be a source" in reply.text
    long_note = app.desk.record_verdict(ANN, alert_id, [1], Verdict.TRUE, note="n" * 501)
    assert not long_note.ok and "501 characters" in long_note.text
    assert app.store.alerts.verdict_history(alert_id) == []


# --------------------------------------------------------------------------- aliases and routes


def test_remove_of_an_alias_asks_which_was_meant(app: Watchdesk) -> None:
    assert app.desk.watch_add(EDITOR, "Viktor Khrenin", ["Хренин", "Khrenin"]).ok
    reply = app.desk.run_text_command(EDITOR, "watch", "remove Хренин")
    assert not reply.ok
    assert reply.text == (
        "“Хренин” is a spelling of Viktor Khrenin, not a watched name itself. Which did you mean?\n"
        "• stop matching only that spelling: /watch unalias Хренин\n"
        '• stop watching Viktor Khrenin entirely: /watch remove "Viktor Khrenin"'
    )
    commands = [p for p in reply.parts if isinstance(p, CommandRef)]
    assert [(c.command, c.sub, c.args[0].value) for c in commands] == [
        ("watch", "unalias", "Хренин"),
        ("watch", "remove", "Viktor Khrenin"),
    ]
    assert names(app)["Viktor Khrenin"][0] == ("Хренин", "Khrenin")
    unalias = app.desk.run_text_command(EDITOR, "watch", "unalias хренин")
    assert unalias.ok and unalias.text == (
        "Viktor Khrenin no longer matches “хренин”; its spellings are now: Khrenin."
    )
    assert names(app)["Viktor Khrenin"][0] == ("Khrenin",)
    not_alias = app.desk.watch_unalias(EDITOR, "Viktor Khrenin")
    assert not not_alias.ok and "/watch remove" in not_alias.text
    assert app.desk.run_text_command(EDITOR, "watch", "remove Viktor Khrenin").ok
    assert "Viktor Khrenin" not in names(app)


def test_a_route_is_added_to_and_removed_from_one_name(app: Watchdesk) -> None:
    add = app.desk.run_text_command(
        EDITOR, "watch", InboundText(("add Belavia ", ChannelRef(NEWS, "news")))
    )
    assert (
        add.ok
        and (
            "Alerts for articles that match Belavia now go to slack:C0NEWS123 — also when an "
            "article matches other watched names too; they no longer go to the default channels "
            "(console). To post them to the default channels as well: /watch add Belavia "
            "#C0NEWS123 +default"
        )
        in add.text
    )
    assert names(app)["Belavia"][1] == ("slack:C0NEWS123",)
    keep = app.desk.run_text_command(
        EDITOR, "watch", InboundText(("add Belavia ", ChannelRef(NEWS), " +default"))
    )
    assert keep.ok and "Belavia was already watched." in keep.text
    assert names(app)["Belavia"][1] == ("slack:C0NEWS123", "console")
    removed = app.desk.run_text_command(
        EDITOR, "watch", InboundText(("remove Belavia ", ChannelRef(NEWS)))
    )
    assert removed.ok and removed.text == (
        "Belavia is no longer routed to slack:C0NEWS123; its alerts now go to console."
    )
    assert names(app)["Belavia"][1] == ("console",)
    again = app.desk.watch_remove(EDITOR, "Belavia", [NEWS])
    assert not again.ok and "Belavia is not routed to slack:C0NEWS123" in again.text


def test_re_adding_a_watched_name_says_so_and_suggests_only_new_spellings(app: Watchdesk) -> None:
    first = app.desk.watch_add(EDITOR, "Viktor Khrenin", ["Хренин"])
    assert first.ok and first.text.startswith("Now watching Viktor Khrenin (aliases: Хренин).")
    again = app.desk.run_text_command(EDITOR, "watch", 'add "Viktor Khrenin" Хренин')
    assert again.ok and again.text.startswith(
        "Viktor Khrenin is already watched, with aliases: Хренин."
    )
    assert "Updated" not in again.text
    proposals = next(
        ln for ln in again.text.splitlines() if ln.startswith("Other spellings you may want: ")
    )
    suggested = proposals.removeprefix("Other spellings you may want: ").split(", ")
    assert suggested and all(s.casefold() not in {"viktor khrenin", "хренин"} for s in suggested)
    # the re-add by one of its spellings names the entity and adds only the new alias
    more = app.desk.run_text_command(EDITOR, "watch", "add Хренин Хрэнін")
    assert more.ok and more.text.startswith(
        "Viktor Khrenin was already watched (Хренин is one of its spellings).\n"
        "Added spellings: Хрэнін."
    )
    assert names(app)["Viktor Khrenin"][0] == ("Хренин", "Хрэнін")


def test_a_mention_is_not_a_name(app: Watchdesk) -> None:
    reply = app.desk.run_text_command(EDITOR, "watch", InboundText(("add ", MentionRef("@anna"))))
    assert not reply.ok and reply.text.startswith("@anna is a mention, not a name")


# --------------------------------------------------------------------------- verdicts


def test_all_true_keeps_other_checkers_verdicts_and_disagreements_show(app: Watchdesk) -> None:
    alert_id = stored_alert(app.store, claims=3)
    app.run_outbox_once()
    ref = f"console-{alert_id}"
    assert app.desk.handle_thread_reply(BOB, "console", ref, "2 false https://b.example/r").ok
    reply = app.desk.handle_thread_reply(ANN, "console", ref, "all true")
    assert reply is not None and reply.ok
    assert reply.text == (
        "Recorded: claims 1, 3 → true (by Ann).\n"
        "Claim 2 keeps Bob's false; to record yours next to it, reply 2 true."
    )
    view = app.store.alerts.alert_view(alert_id)
    assert view is not None
    assert [c.verdict for c in view.claims] == [Verdict.TRUE, Verdict.FALSE, Verdict.TRUE]
    assert view.claims[1].source_url == "https://b.example/r"  # Bob's source survives
    assert view.claims[1].disagreements == ()
    explicit = app.desk.handle_thread_reply(ANN, "console", ref, "2 true")
    assert explicit is not None and explicit.text == (
        "Recorded: claim 2 → true (by Ann).\n"
        "Claim 2: this disagrees with Bob's false; the alert shows the disagreement."
    )
    view = app.store.alerts.alert_view(alert_id)
    assert view is not None and view.claims[1].verdict is Verdict.TRUE
    [other] = view.claims[1].disagreements
    assert (other.verdict, other.checked_by) == (Verdict.FALSE, "Bob")
    history = app.store.alerts.verdict_history(alert_id)
    assert [(n, v, who) for n, v, who, _ in history] == [
        (2, "false", "Bob"),
        (1, "true", "Ann"),
        (3, "true", "Ann"),
        (2, "true", "Ann"),
    ]
    assert "disagrees: Bob said false" in app.out.getvalue()  # type: ignore[attr-defined]


def test_a_verdict_role_can_be_required(app: Watchdesk) -> None:
    desk = Desk(
        app.store,
        app.outbox,
        app.analyser,
        app.checker,
        app.settings.permissions,
        600,
        verdict_groups=("999",),
    )
    alert_id = stored_alert(app.store)
    refused = desk.record_verdict(ANN, alert_id, [1], Verdict.TRUE)
    assert not refused.ok and "[permissions] verdict_groups" in refused.text
    assert desk.record_verdict(BOB, alert_id, [1], Verdict.TRUE).ok  # has the role
    assert desk.record_verdict(EDITOR, alert_id, [2], Verdict.TRUE).ok  # editors may
    assert [v for _, v, _, _ in app.store.alerts.verdict_history(alert_id)] == ["true", "true"]


# --------------------------------------------------------------------------- feeds


def test_did_you_mean_says_how_to_add_the_suggestion(app: Watchdesk) -> None:
    with LoopbackServer() as server:
        server.add("/rss.xml", b"<rss/>", headers=[("Content-Type", "application/rss+xml")])
        page = server.add(
            "/",
            b'<html><head><link rel="alternate" type="application/rss+xml" '
            b'title="All news" href="/rss.xml"></head><body>Hi</body></html>',
            headers=[("Content-Type", "text/html")],
        )
        reply = app.desk.feeds_add(EDITOR, page)
    feed = page + "rss.xml"
    assert not reply.ok and reply.text == (
        f"{page} is a web page, not a feed. Did you mean:\n"
        f"• {feed} (All news) — add it with /feeds add {feed}"
    )
    [command] = [p for p in reply.parts if isinstance(p, CommandRef)]
    assert (command.command, command.sub, command.args[0].value) == ("feeds", "add", feed)
