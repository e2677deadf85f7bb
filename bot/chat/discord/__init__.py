"""The Discord adapter: alerts as embeds with verdict buttons and threads, slash commands, and
thread replies, all translated to and from the platform-neutral Desk.

Entry points: `bot.chat.discord.runner.DiscordRunner` (start/stop the client in this process)
and `bot.chat.discord.sink.DiscordSink` (the outbox's Sink for "discord:<channel id>").
"""
