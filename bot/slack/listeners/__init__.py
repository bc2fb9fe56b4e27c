"""Bolt listeners, one module per listener type (commands, actions, views); thin by design."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.listeners import actions, commands, views
from bot.slack.services import Services


def register(app: App, services: Services) -> None:
    commands.register(app, services)
    actions.register(app, services)
    views.register(app, services)
