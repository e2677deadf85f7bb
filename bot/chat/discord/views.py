"""The quick-verdict buttons under each alert, which keep working across restarts.

All state lives in the component's custom_id (``wd:v:<alert id>:<claim>:<verdict>`` for a
button, ``wd:s:<alert id>`` for the select with ``<claim>:<verdict>`` option values), and the
items are `discord.ui.DynamicItem` classes registered on the client at start: an interaction
on a message posted by an earlier process is matched by its custom_id template, not by an
in-memory view.

Layout (Discord allows 5 rows of 5 buttons): one row per claim with its four verdicts for up
to five claims; with more, rows for claims 1–4 and a select on the fifth row for claims 5–10.
Claims past that are judged by a thread reply or /verdict.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import discord

from bot.chat.discord.actions import answer_verdict
from bot.chat.discord.embeds import VERDICT_ICON, clip, one_line
from bot.models import AlertView, ClaimView, Verdict

QUICK_VERDICTS: tuple[Verdict, ...] = (
    Verdict.TRUE,
    Verdict.FALSE,
    Verdict.MISLEADING,
    Verdict.UNPROVEN,
)
_VERDICT_WORDS = "|".join(v.value for v in QUICK_VERDICTS)
BUTTON_TEMPLATE = (
    rf"wd:v:(?P<alert_id>[0-9]{{1,18}}):(?P<claim>[0-9]{{1,4}}):(?P<verdict>{_VERDICT_WORDS})"
)
SELECT_TEMPLATE = r"wd:s:(?P<alert_id>[0-9]{1,18})"
_OPTION_RE = re.compile(rf"^(?P<claim>[0-9]{{1,4}}):(?P<verdict>{_VERDICT_WORDS})$")
ALERT_ID_IN_CUSTOM_ID = re.compile(r"^wd:[vs]:([0-9]{1,18})(?::|$)")

MAX_ROWS = 5
BUTTON_ROW_CLAIMS = 4  # with more than MAX_ROWS claims, rows for these and a select on the last
SELECT_CLAIMS = 6  # 6 claims × 4 verdicts = 24 options (Discord allows 25)

_STYLE: dict[Verdict, discord.ButtonStyle] = {
    Verdict.TRUE: discord.ButtonStyle.success,
    Verdict.FALSE: discord.ButtonStyle.danger,
    Verdict.MISLEADING: discord.ButtonStyle.secondary,
    Verdict.UNPROVEN: discord.ButtonStyle.secondary,
}


def button_custom_id(alert_id: int, claim: int, verdict: Verdict) -> str:
    return f"wd:v:{alert_id}:{claim}:{verdict.value}"


def select_custom_id(alert_id: int) -> str:
    return f"wd:s:{alert_id}"


def alert_id_from_custom_id(custom_id: str | None) -> int | None:
    """The alert id carried by one of our components' custom_id, else None."""
    match = ALERT_ID_IN_CUSTOM_ID.match(custom_id or "")
    return int(match.group(1)) if match else None


class VerdictButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=BUTTON_TEMPLATE):
    """One click = one verdict on one claim."""

    def __init__(self, alert_id: int, claim: int, verdict: Verdict, *, row: int | None = None):
        super().__init__(
            discord.ui.Button(
                label=f"{claim} {verdict.value}",
                emoji=VERDICT_ICON[verdict],
                style=_STYLE[verdict],
                custom_id=button_custom_id(alert_id, claim, verdict),
            ),
            row=row,
        )
        self.alert_id = alert_id
        self.claim = claim
        self.verdict = verdict

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> VerdictButton:
        return cls(int(match["alert_id"]), int(match["claim"]), Verdict(match["verdict"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await answer_verdict(interaction, self.alert_id, (self.claim,), self.verdict)


class VerdictSelect(discord.ui.DynamicItem[discord.ui.Select[Any]], template=SELECT_TEMPLATE):
    """A verdict for claims that got no button row; the chosen option names claim and verdict."""

    def __init__(self, item: discord.ui.Select[Any], alert_id: int):
        super().__init__(item, row=item.row)
        self.alert_id = alert_id

    @classmethod
    def for_claims(cls, alert_id: int, claims: Sequence[ClaimView], *, row: int) -> VerdictSelect:
        options = [
            discord.SelectOption(
                label=f"Claim {claim.n}: {verdict.value}",
                value=f"{claim.n}:{verdict.value}",
                emoji=VERDICT_ICON[verdict],
                description=clip(one_line(claim.text), 100) or None,
            )
            for claim in claims
            for verdict in QUICK_VERDICTS
        ]
        select: discord.ui.Select[Any] = discord.ui.Select(
            custom_id=select_custom_id(alert_id),
            placeholder=f"Verdict on claims {claims[0].n}–{claims[-1].n}…",
            options=options[:25],
            row=row,
        )
        return cls(select, alert_id)

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> VerdictSelect:
        if not isinstance(item, discord.ui.Select):
            raise TypeError(f"{match.string!r} is a select custom_id on a {type(item).__name__}")
        return cls(item, int(match["alert_id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        values = self.item.values
        choice = _OPTION_RE.match(values[0]) if values else None
        if choice is None:
            return
        await answer_verdict(
            interaction, self.alert_id, (int(choice["claim"]),), Verdict(choice["verdict"])
        )


def alert_view(alert: AlertView) -> discord.ui.View | None:
    """The buttons (and select) for an alert; None when it has no claims to judge.

    Must be called on the event loop (a View needs the running loop).
    """
    claims = alert.claims
    if not claims:
        return None
    view = discord.ui.View(timeout=None)
    with_buttons = claims if len(claims) <= MAX_ROWS else claims[:BUTTON_ROW_CLAIMS]
    for row, claim in enumerate(with_buttons):
        for verdict in QUICK_VERDICTS:
            view.add_item(VerdictButton(alert.alert_id, claim.n, verdict, row=row))
    rest = claims[len(with_buttons) :][:SELECT_CLAIMS]
    if rest:
        view.add_item(VerdictSelect.for_claims(alert.alert_id, rest, row=BUTTON_ROW_CLAIMS))
    return view
