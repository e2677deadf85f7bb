"""The two kinds of failure: a user's mistake (shown to them, with what to do) and everything
else (logged with context). Only `UserError` text ever reaches a chat reply verbatim."""


class UserError(Exception):
    """Something the user asked for can't be done as asked; the message says what to do."""


class ConfigError(UserError):
    """The configuration file or environment is wrong; names the file, the key and the fix."""
