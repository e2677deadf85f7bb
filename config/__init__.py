"""The shipped defaults: `watchdesk.toml` (the file users copy and edit) and the Slack app
manifest. Installed as the package `bot.defaults` (bot/defaults is a link to this folder), so a
wheel reads them with importlib.resources; see bot/settings.py."""
