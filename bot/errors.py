"""The three kinds of failure, and nothing else.

- `UserError`: a refusal safe to show the person who asked, saying what to do instead.
- `RemoteError`: a feed server or chat API failed; carries ``retry_after`` (seconds, when the
  remote said) and ``permanent`` (retrying cannot help). Retried within `bot.retry`'s bounds.
- anything else is a bug: logged once with its traceback at the entry point's boundary, never
  counted against a feed, never retried forever, and shown to a chat user only as `BUG_REPLY`.
"""

from __future__ import annotations

BUG_REPLY = "Something went wrong on our side; it has been logged for the operator."
"""The one sentence a chat user sees for a bug (the traceback goes to the log)."""


class UserError(Exception):
    """Something the user asked for can't be done as asked; the message says what to do."""


class ConfigError(UserError):
    """The configuration file or environment is wrong; names the file, the key and the fix."""


class RemoteError(Exception):
    """A remote system (a feed's server, Slack, Discord) refused or failed a request.

    ``retry_after`` is the remote's own wait (e.g. HTTP 429 Retry-After) in seconds;
    ``permanent`` means retrying cannot help (channel not found, feed gone, no access).
    """

    def __init__(self, message: str, *, retry_after: float | None = None, permanent: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent
