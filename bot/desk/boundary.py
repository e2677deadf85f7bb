"""The one boundary between an entry point (a Slack listener, a Discord handler, the desk's own
commands, the console) and everything behind it, as errbot has one.

Three kinds of failure and nothing else (see `bot.errors`):

* `UserError`: the person asked for something that can't be done as asked; they see its
  message (or a `Refusal`'s parts), which says what to do instead.
* `RemoteError`: a feed server or chat API failed; they see what failed and to try later.
* anything else is a bug: logged here once, with its traceback and what was being done, and the
  person sees exactly `bot.errors.BUG_REPLY`.

Every entry point runs its work through `run`, so the split and the texts exist once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.desk.replies import Refusal, Reply
from bot.errors import BUG_REPLY, RemoteError, UserError

log = logging.getLogger(__name__)


def refusal_reply(exc: UserError) -> Reply:
    """The reply for a user's mistake: its message, commands and examples kept structured."""
    if isinstance(exc, Refusal):
        return Reply(*exc.parts, ok=False)
    return Reply(str(exc), ok=False)


def remote_reply(exc: RemoteError) -> Reply:
    """The reply for a failed remote: what failed, and whether trying again can help."""
    reason = str(exc).rstrip(".") or "A remote service failed"
    if exc.permanent:
        return Reply(
            f"{reason}. Trying again will not help; check the address or access.", ok=False
        )
    wait = (
        f" in {max(1, round(exc.retry_after))} s"
        if exc.retry_after is not None and exc.retry_after < 3600
        else " later"
    )
    return Reply(f"{reason}; that is on their side, try again{wait}.", ok=False)


def bug_reply() -> Reply:
    return Reply(BUG_REPLY, ok=False)


def run(action: Callable[[], Reply | None], what: str) -> Reply | None:
    """Run ``action`` (one user's request); never raises for anything but BaseExceptions such as
    KeyboardInterrupt. ``what`` names the request in the log line of a bug."""
    try:
        return action()
    except UserError as exc:
        return refusal_reply(exc)
    except RemoteError as exc:
        log.info("%s: remote failure: %s", what, exc)
        return remote_reply(exc)
    except Exception:
        log.exception("bug while handling %s", what)
        return bug_reply()


def answer(action: Callable[[], Reply], what: str) -> Reply:
    """`run` for requests that always answer (slash commands)."""
    reply = run(action, what)
    return reply if reply is not None else Reply("Done.")
