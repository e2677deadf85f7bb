"""Bolt listeners: Slack events and slash commands translated into `Desk` calls."""
