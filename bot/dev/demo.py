"""``python -m bot demo``: the real app in a terminal, on the built-in sandbox.

The same listeners and builders as in Slack run here: each line typed becomes a signed
slash-command request dispatched through the Bolt app, and the reply is whatever the app
posts to its ``response_url`` or opens as a modal, received by a local stand-in for Slack and
drawn in the terminal. Buttons are numbered; typing a number clicks one. While the lookup
form is open, a line typed is what the agent types into it, and it is submitted.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import count
from typing import Any

import uvicorn
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot import ids
from bot.dev.console import render_for_terminal
from bot.dev.slack_requests import (
    block_actions_body,
    button_click,
    lookup_form_values,
    modal_click_body,
    signed_headers,
    slash_command_body,
    view_submission_body,
)
from bot.dev.slack_standin import Received, SlackStandIn
from bot.national_ids import Country
from bot.settings import Settings
from bot.slack.app import OFFLINE_SIGNING_SECRET, create_app, create_ropo_client, create_services

INTRO = """\
Ropo Invoices — demo console. This is the real app, answering from {source}.
Try:  {examples}
Type a button's number to click it; "quit" or Ctrl-D to leave.
"""
# The sandbox's customers (bot/ropo/sandbox_data.py) worth trying first, per ROPO_COUNTRY.
EXAMPLES = {
    Country.FI: ("131052-308T", "C-1001 all", "C-1200", "help"),
    Country.SE: ("811228-9841", "701063-2391", "C-1001 all", "help"),
    Country.NO: ("15108695088 all", "41018036736", "C-1001 all", "help"),
}
VIEW_METHODS = frozenset({"views.open", "views.update", "views.push"})


@dataclass(frozen=True, slots=True)
class Button:
    """A clickable button of the last reply, and the block it sits in."""

    element: dict[str, Any]
    block_id: str
    in_view: dict[str, Any] | None = None  # the modal it is in; None for a message


class DemoConsole:
    """Drives one Bolt app through signed requests and shows what it answers."""

    def __init__(
        self,
        app: AsyncApp,
        standin: SlackStandIn,
        base_url: str,
        timeout_s: float,
        country: Country = Country.FI,
    ):
        self._country = country
        self._app = app
        self._standin = standin
        self._base_url = base_url
        self._timeout_s = timeout_s
        self._tokens = count(1)
        self.buttons: list[Button] = []
        self.view: dict[str, Any] | None = None  # the modal on screen, as the app last sent it

    async def handle_line(self, line: str) -> str:
        """Run one typed line (a command, a button number, or form input) and return the output."""
        line = line.strip()
        if line.isdigit() and 1 <= int(line) <= len(self.buttons):
            return await self._click(self.buttons[int(line) - 1])
        form_open = self.view is not None and self.view.get("callback_id") == ids.VIEW_LOOKUP
        if form_open and not line.startswith("/"):
            return await self._submit_form(line)
        self.view = None  # a new command closes the modal, as it would in Slack
        if line.startswith("/invoices"):
            line = line.removeprefix("/invoices")
        token = f"demo-{next(self._tokens)}"
        body = slash_command_body(line.strip(), self._response_url(token))
        return await self._dispatch(body, token)

    async def _click(self, button: Button) -> str:
        element = button.element
        token = f"demo-{next(self._tokens)}"
        click = button_click(element, button.block_id)
        if button.in_view is not None:
            body = modal_click_body(click, button.in_view)
        else:
            body = block_actions_body(click, self._response_url(token))
        if "url" in element:  # a link: Slack opens the browser and sends the click to ack
            await self._send(body)
            return f"(opens {element['url']} in the browser)\n"
        return await self._dispatch(body, token)

    async def _submit_form(self, text: str) -> str:
        assert self.view is not None
        words = text.split()
        include_paid = bool(words) and words[-1].lower() in {"all", "--all", "kaikki", "alla"}
        typed = " ".join(words[:-1] if include_paid else words)
        body = view_submission_body(self.view, lookup_form_values(typed, include_paid=include_paid))
        return await self._dispatch(body, token="")

    async def _dispatch(self, body: str, token: str) -> str:
        seen = len(self._standin.received)
        ack_body = await self._send(body)
        if ack_body:
            ack = json.loads(ack_body)
            if ack.get("response_action") == "errors":
                return "Form: " + " ".join(ack["errors"].values()) + "\n"
            if ack.get("response_action") == "update":
                self.view = ack["view"]
            else:
                return self._show(ack)
        try:
            async with asyncio.timeout(self._timeout_s):
                while True:  # until a message for this request, or a modal that is no spinner
                    received = await self._standin.next_received_async(seen)
                    seen += 1
                    shown = self._answer_in(received, token)
                    if shown is not None:
                        return shown
        except TimeoutError:
            return "(no reply arrived; see the log above)\n"

    def _answer_in(self, received: Received, token: str) -> str | None:
        if received.kind == "response_url" and received.name == token:
            self.view = None
            return self._show(received.body)
        if received.kind == "api" and received.name in VIEW_METHODS:
            view = received.body.get("view")
            shown = json.loads(view) if isinstance(view, str) else view
            if not isinstance(shown, dict):
                return None
            self.view = shown
            if not any(b.get("block_id") == ids.BLOCK_LOADING for b in shown["blocks"]):
                return self._show_view(shown)
        return None

    def _show_view(self, view: dict[str, Any]) -> str:
        shown = self._show(view, in_view=view)
        if view.get("callback_id") == ids.VIEW_LOOKUP:
            shown += (
                f"Type the {self._country.code_name} or customer number "
                '(add "all" for paid ones) to submit.\n'
            )
        return shown

    async def _send(self, body: str) -> str:
        request = AsyncBoltRequest(body=body, headers=signed_headers(OFFLINE_SIGNING_SECRET, body))
        response = await self._app.async_dispatch(request)
        if response.status != 200:
            return json.dumps({"text": f"(the app answered HTTP {response.status})"})
        return response.body

    def _show(self, payload: dict[str, Any], in_view: dict[str, Any] | None = None) -> str:
        self.buttons = list(_buttons(payload.get("blocks", []), in_view))
        numbered = "".join(
            f"  [{n}] {b.element['text']['text']}" for n, b in enumerate(self.buttons, 1)
        )
        text = render_for_terminal(payload, color=sys.stdout.isatty())
        return text + (f"\nButtons:{numbered}\n" if numbered else "\n")

    def _response_url(self, token: str) -> str:
        return f"{self._base_url}/response/{token}"


def _buttons(blocks: list[dict[str, Any]], in_view: dict[str, Any] | None) -> Iterator[Button]:
    for block in blocks:
        accessory = block.get("accessory")
        if accessory and accessory.get("type") == "button":
            yield Button(accessory, block.get("block_id", ""), in_view)
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("type") == "button":
                yield Button(element, block.get("block_id", ""), in_view)


async def run_demo(
    settings: Settings,
    *,
    once: str | None = None,
    read_line: Callable[[str], str] = input,
    write: Callable[[str], Any] = print,
) -> int:
    """Start the stand-in and the app; answer ``once`` or every line typed; return an exit code."""
    standin = SlackStandIn()
    server = uvicorn.Server(
        uvicorn.Config(
            standin.app,
            host="127.0.0.1",
            port=0,
            log_config=None,
            log_level="warning",  # the stand-in's own chatter is not part of the demo
            access_log=False,
            lifespan="off",
        )
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            return 1
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    offline = settings.model_copy(
        update={
            "slack_bot_token": None,
            "slack_signing_secret": None,
            "slack_app_token": None,
            "slack_api_url": f"{base_url}/api/",
        }
    )
    ropo = create_ropo_client(offline)
    services = create_services(offline, ropo)
    app = create_app(offline, services)
    console = DemoConsole(
        app, standin, base_url, settings.ropo_timeout_s + 5, country=settings.country
    )
    source = (
        "the built-in Ropo One sandbox (fake data)"
        if settings.uses_sandbox
        else (f"Ropo One {settings.ropo_environment.value} ({settings.ropo_base_url})")
    )
    try:
        if once is not None:
            write(await console.handle_line(once))
            return 0
        examples = "    ".join(f"{ids.COMMAND} {example}" for example in EXAMPLES[settings.country])
        write(INTRO.format(source=source, examples=examples))
        while True:
            try:
                line = await asyncio.to_thread(read_line, "> ")
            except (EOFError, KeyboardInterrupt):
                write("")
                return 0
            if line.strip().lower() in {"quit", "exit", "q"}:
                return 0
            if line.strip():
                write(await console.handle_line(line))
    finally:
        await services.finish_lookups()  # a reply's delivery is audited just after it is shown
        await services.aclose()
        await ropo.aclose()
        server.should_exit = True
        await serving
