"""Which language the app answers an agent in, decided once per request before anything answers.

The agent's own choice (the App Home select, kept in the app's store) comes first; then
Slack's language for them, when it is one the app speaks (a payload's ``locale`` if Slack
sent one, else the account access has read, asked with ``include_locale``: no Slack call);
then ``DEFAULT_LANGUAGE``. The choice is held in a context variable (:mod:`bot.i18n`) for
the rest of the request, and the work it hands on after the acknowledgement copies it.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.i18n import language_of, set_language, territory_of
from bot.services import Services
from bot.store.base import StoreUnavailable

logger = logging.getLogger(__name__)

LANGUAGE_KEY = "language"
"""The agent setting that holds the chosen language (``fi``)."""


def agent_of(context: AsyncBoltContext) -> tuple[str, str] | None:
    """Whose settings a request reads: (workspace, user), or None when it names no user."""
    if not context.user_id:
        return None
    installed = context.authorize_result.team_id if context.authorize_result else None
    return installed or context.team_id or "", context.user_id


async def chosen_language(services: Services, agent: tuple[str, str] | None) -> str | None:
    """The language the agent chose on App Home, or None (never chosen, or unreadable)."""
    if agent is None or services.agent_settings is None:
        return None
    try:
        return language_of(await services.agent_settings.get(*agent, LANGUAGE_KEY))
    except (sqlite3.Error, StoreUnavailable):  # the default language is fine; a lost reply is not
        logger.exception("the language of %s could not be read: answering in the default", agent[1])
        return None


async def language_for(
    services: Services, body: dict[str, Any], agent: tuple[str, str] | None
) -> str:
    """The language to answer this request in (see the module's docstring for the order)."""
    chosen = await chosen_language(services, agent)
    if chosen is not None:
        return chosen
    sent = body.get("locale") or (body.get("user") or {}).get("locale")
    from_slack = language_of(sent if isinstance(sent, str) else None)
    if from_slack is None and agent is not None:
        from_slack = language_of(services.access.user_locale(agent[1]))
    return from_slack or services.settings.default_language


class LanguageMiddleware(AsyncMiddleware):
    """Sets the request's language, then lets the request through."""

    def __init__(self, services: Services) -> None:
        self._services = services

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse | None]],
    ) -> BoltResponse | None:
        """Answer in the agent's language everything this request leads to.

        Set, not scoped to ``next()``: Bolt runs the listeners after the whole middleware
        chain has returned, in the same task. Every request sets it afresh, so a task that
        dispatches several (Socket Mode) never answers one in another's language.
        """
        language = await language_for(self._services, req.body, agent_of(req.context))
        set_language(language, territory_of(self._services.settings.locale))
        return await next()
