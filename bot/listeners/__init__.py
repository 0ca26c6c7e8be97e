"""Thin Slack handlers, one module per surface, each with ``register(app, services)``."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.listeners import actions, commands, errors, home, shortcuts, views
from bot.services import Services


def register(app: AsyncApp, services: Services) -> None:
    """Attach every surface's listeners to ``app``."""
    errors.register(app, services)
    commands.register(app, services)
    actions.register(app, services)
    shortcuts.register(app, services)
    views.register(app, services)
    home.register(app, services)
